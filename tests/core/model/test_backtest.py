"""The backtest's plain-language signal statement (what the app and the model card show a sales leader)."""

from __future__ import annotations

from core.model.backtest import signal_statement

ROWS = [{"as_of": "2017-05-01", "n": 1622}, {"as_of": "2017-09-01", "n": 2190}]


def _summary(worst: float) -> dict:
    return {
        "auc": 0.689,
        "brier": 0.216,
        "brier_skill": 0.292,
        "max_ece": 0.123,
        "worst_brier_vs_base_rate": worst,
        "baseline_stage_age": {"auc": 0.464, "brier": 0.286},
    }


def test_statement_says_better_at_every_date_in_words() -> None:
    text = signal_statement(_summary(-0.0389), ROWS)
    assert text.startswith(
        "Across 2 as-of dates (2017-05-01 to 2017-09-01, 3,812 scored deals) the model's AUC averages 0.689 "
        "and its Brier score is 29.2% better than the historical base rate (better at every date, by at "
        "least 0.0389 Brier; largest calibration error, ECE, 0.123)."
    )
    assert "-0.0389" not in text


def test_statement_names_a_date_where_the_model_is_worse() -> None:
    text = signal_statement(_summary(0.0042), ROWS)
    assert "(at its worst date 0.0042 Brier worse than it; largest calibration error, ECE, 0.123)" in text


def test_statement_names_the_dates_whose_ece_sampling_noise_does_not_explain() -> None:
    summary = {**_summary(-0.0389), "ece_beyond_sampling_noise": ["2017-09-01"]}
    text = signal_statement(summary, ROWS)
    assert (
        "Its ECE is larger than a perfectly calibrated forecaster's would be by chance (95th percentile of "
        "ECE with outcomes drawn from its own probabilities) at 1 of 2 dates (2017-09-01)"
    ) in text
    assert "at 0 of 2 dates" in signal_statement({**summary, "ece_beyond_sampling_noise": []}, ROWS)


def test_statement_without_the_sampling_check_claims_nothing_about_it() -> None:
    assert "by chance" not in signal_statement(_summary(-0.0389), ROWS)
