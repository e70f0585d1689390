"""The backtest's labels and its plain-language signal statement (what the app and the model card show)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import CRMData, cut_at, read_crm
from core.model import WinProbabilityModel
from core.model.backtest import (
    default_as_of_dates,
    eventual_outcomes,
    outcome_estimates_at_export,
    signal_statement,
)
from models.evaluation.backtest import read_truth

DEMO = Path(__file__).resolve().parents[3] / "dataset"


def test_deals_the_export_has_not_resolved_get_estimates_that_keep_the_win_rate_unbiased() -> None:
    # The bundled demo export ends 2026-08-14; of the deals open at 2026-04-01, 160 are still open then and
    # not stale. They are the slow ones and mostly never won: dropping them overstates the win rate.
    full = read_crm(DEMO)
    crm = cut_at(full, "2026-04-01")
    truth = read_truth(DEMO).set_index("opportunity_id")["outcome"].eq("Won").astype(float)
    open_ids = crm.open_ids
    dropped, dropped_counts = eventual_outcomes(full, open_ids, None)
    labels, counts = eventual_outcomes(full, open_ids, None, outcome_estimates_at_export(full, seed=42))
    assert dropped_counts["excluded_still_open_at_export"] == counts["still_open_at_export_estimated"] == 160
    assert counts["excluded_still_open_at_export"] == 0 and len(labels) == counts["n_open"] == 1300
    assert "estimated chance of being won" in counts["label_source"]
    pending = labels.index.difference(dropped.index)
    assert labels.loc[dropped.index].equals(dropped)  # known outcomes are untouched
    assert labels[pending].between(0, 1).all() and not labels[pending].isin((0.0, 1.0)).all()
    true_rate = truth.reindex(labels.index).mean()
    assert abs(labels.mean() - true_rate) < 0.01
    assert dropped.mean() - true_rate > 0.03
    assert abs(labels[pending].mean() - truth.reindex(pending).mean()) < 0.05


def test_a_model_fitted_on_the_export_supplies_the_same_estimates(crm_at: CRMData, fitted) -> None:
    fresh = WinProbabilityModel(seed=5).estimated_outcomes(crm_at)
    assert len(fresh) > 50
    pd.testing.assert_series_equal(fitted.estimated_outcomes(crm_at), fresh)
    pd.testing.assert_series_equal(outcome_estimates_at_export(crm_at, 5), fresh)
    with pytest.raises(ValueError, match="censoring='hazard'"):
        WinProbabilityModel(censoring="closed_only").estimated_outcomes(crm_at)


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
    within = signal_statement({**summary, "ece_beyond_sampling_noise": []}, ROWS)
    assert (
        "Its ECE is within what chance gives a perfectly calibrated forecaster (95th percentile of ECE with "
        "outcomes drawn from its own probabilities) at every date."
    ) in within


def test_statement_without_the_sampling_check_claims_nothing_about_it() -> None:
    assert "by chance" not in signal_statement(_summary(-0.0389), ROWS)


def test_calibration_by_age_groups_deals_by_their_age_at_the_date() -> None:
    from core.model.backtest import calibration_by_age

    ids = list("abcdefg")
    ages = pd.Series([3, 14, 15, 400, None, -2, 60], index=ids)  # -2: engaged after the as-of date
    labels = pd.Series([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.4], index=ids)  # g: an estimated outcome
    predicted = pd.Series([0.0, 1.0, 1.0, 0.2, 0.5, 0.5, 0.9], index=ids)
    rows = calibration_by_age(ages, labels.iloc[::-1], predicted, seed=0)  # order of the deals is irrelevant
    assert [(r["age_days"], r["n"]) for r in rows] == [
        ("0-14", 2),
        ("15-30", 1),
        ("31-60", 1),
        ("over 365", 1),
        ("not engaged", 2),
    ]
    first, second, third = rows[0], rows[1], rows[2]
    assert (first["mean_predicted"], first["observed_rate"], first["over"]) == (0.5, 0.5, 0.0)
    assert (first["chance_low"], first["chance_high"]) == (0.5, 0.5)  # p of 0 and 1: no chance at all
    assert (second["chance_low"], second["chance_high"], second["over"]) == (1.0, 1.0, 0.0)
    assert third["observed_rate"] == 0.4 and third["over"] == pytest.approx(0.5)
    assert rows[4]["mean_predicted"] == 0.5 and (rows[4]["chance_low"], rows[4]["chance_high"]) == (0.0, 1.0)


def test_the_largest_miss_is_taken_from_dates_beyond_chance_and_named_in_the_statement() -> None:
    from core.model.backtest import largest_age_miss

    def group(age: str, over: float, observed: float) -> dict:
        return {
            "age_days": age,
            "n": 500,
            "mean_predicted": 0.55,
            "observed_rate": observed,
            "chance_low": 0.5,
            "chance_high": 0.6,
            "over": over,
        }

    rows = [
        {
            "as_of": "2017-08-01",
            "calibration_by_age": [group("0-14", 210.9, 0.208), group("15-30", 3.0, 0.54)],
        },
        {
            "as_of": "2017-09-01",
            "calibration_by_age": [group("31-60", -230.0, 0.99), group("61-90", 40.0, 0.47)],
        },
    ]
    assert largest_age_miss(rows, ["2017-08-01"])["age_days"] == "0-14"
    assert largest_age_miss(rows, ["2017-08-01", "2017-09-01"])["over"] == -230.0  # the size, either sign
    assert largest_age_miss(rows, []) is None  # a date within chance names no group
    inside = [{"as_of": "2017-08-01", "calibration_by_age": [group("15-30", 3.0, 0.54)]}]
    assert largest_age_miss(inside, ["2017-08-01"]) is None  # nor does a group within its range
    summary = {**_summary(-0.0389), "largest_age_miss": largest_age_miss(rows, ["2017-08-01"])}
    assert (
        ". The largest miss is at 2017-08-01 in deals 0-14 days old: 500 deals given 0.550 on average, of "
        "which 0.208 were won (a calibrated model: 0.500-0.600). Against a stage/age rate"
    ) in signal_statement(summary, ROWS)
    assert "largest miss" not in signal_statement({**summary, "largest_age_miss": None}, ROWS)


def test_a_backtest_where_every_deal_had_one_outcome_is_said_not_crashed() -> None:
    """An export dated far ahead by one bad record left backtest dates whose deals all lost: the AUC is
    undefined (None), which the statement used to format as a number (TypeError, exit 1)."""
    summary = {"auc": None, "brier_skill": None, "brier": 0.0}
    text = signal_statement(summary, [{"n": 12, "as_of": "2099-01-01"}])
    assert text.startswith("Across 1 as-of dates (12 scored deals) every deal had the same outcome")


def test_default_dates_of_a_cut_lie_before_its_as_of_date(full_export, crm_at) -> None:
    # a cut five months before the export's end: its default backtest dates were counted back from the
    # export's end, so predict.py --as-of at an early date stopped with "--backtest-dates ... is not before
    # the as-of date" on a cold run
    dates = default_as_of_dates(crm_at, 3)
    assert dates and all(d <= crm_at.as_of - pd.Timedelta(days=120) for d in dates)
    assert default_as_of_dates(full_export, 3)[-1] > crm_at.as_of - pd.Timedelta(
        days=120
    )  # the whole export's
