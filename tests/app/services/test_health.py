"""Unit tests of the health-page logic."""

from __future__ import annotations

import pandas as pd
import pytest

from app.services.health import (
    backtest_table,
    calibration_by_age_table,
    feature_importance,
    forecast_trust,
    no_signal_warning,
    outcome_note,
    pooled_calibration_note,
    quality_table,
    quality_table_in_words,
    quality_warnings,
    reliability_bins,
    rows_left_out,
    signal_warning,
    trust_sentence,
)


def _metrics() -> dict:
    """Two backtest dates with one shared reliability bin."""
    scores = {"auc": 0.6, "brier": 0.2, "brier_skill": 0.05, "log_loss": 0.6, "ece": 0.02}
    return {
        "backtest": {
            "per_as_of": [
                {
                    "as_of": "2017-06-30",
                    "n": 10,
                    "base_rate": 0.5,
                    "model": scores,
                    "baseline_base_rate": scores,
                    "reliability": [
                        {
                            "bin_lower": 0.0,
                            "bin_upper": 0.5,
                            "n": 10,
                            "mean_predicted": 0.2,
                            "observed_rate": 0.1,
                        }
                    ],
                },
                {
                    "as_of": "2017-09-30",
                    "n": 30,
                    "base_rate": 0.5,
                    "model": scores,
                    "reliability": [
                        {
                            "bin_lower": 0.0,
                            "bin_upper": 0.5,
                            "n": 30,
                            "mean_predicted": 0.4,
                            "observed_rate": 0.5,
                        },
                        {
                            "bin_lower": 0.5,
                            "bin_upper": 1.0,
                            "n": 0,
                            "mean_predicted": 0.0,
                            "observed_rate": 0.0,
                        },
                    ],
                },
            ]
        }
    }


def test_backtest_table_has_a_row_per_date_and_model() -> None:
    table = backtest_table(_metrics())
    assert table[["as_of", "model"]].values.tolist() == [
        ["2017-06-30", "Model"],
        ["2017-06-30", "Baseline: base rate"],
        ["2017-09-30", "Model"],
    ]
    assert backtest_table({}).empty


def test_reliability_bins_pool_older_metrics_without_chance_ranges() -> None:
    bins = reliability_bins(_metrics())
    assert bins["n"].tolist() == [40]
    assert bins["mean_predicted"].tolist() == pytest.approx([0.35])
    assert bins["observed_rate"].tolist() == pytest.approx([0.4])
    assert "chance_low" not in bins  # the bars need one outcome per deal, which only the batch step has
    assert reliability_bins({}).empty and pooled_calibration_note(_metrics()) is None


def test_reliability_bins_and_note_come_from_the_backtests_pooled_table() -> None:
    metrics = _metrics()
    table = {"bin_lower": 0.0, "bin_upper": 0.5, "n": 40, "n_deals": 31, "mean_predicted": 0.35}
    table |= {"observed_rate": 0.4, "chance_low": 0.21, "chance_high": 0.49}
    metrics["backtest"]["summary"] = {
        "pooled": {
            "n": 40,
            "n_deals": 31,
            "ece": 0.05,
            "ece_if_calibrated": {"p05": 0.012, "median": 0.03, "p95": 0.071},
            "reliability": [table],
            "oracle_ece": 0.041,
        }
    }
    bins = reliability_bins(metrics)
    assert bins.to_dict("records") == [{k: v for k, v in table.items() if k != "n_deals"}]
    assert pooled_calibration_note(metrics) == (
        "Pooled over the dates (40 scores of 31 deals) the ECE is 0.050, within the 0.012-0.071 a perfectly "
        "calibrated model shows by chance (the true probabilities: 0.041)."
    )
    metrics["backtest"]["summary"]["pooled"]["ece"] = 0.08
    assert ", beyond the 0.012-0.071" in pooled_calibration_note(metrics)
    # a generated history export's run: 0.03329 against a p95 of 0.03324 read "0.033, beyond the 0.014-0.033"
    metrics["backtest"]["summary"]["pooled"].update(
        ece=0.033291352272757944, ece_if_calibrated={"p05": 0.014198772916631902, "p95": 0.03323608936763643}
    )
    assert "the ECE is 0.0333, beyond the 0.0142-0.0332 a perfectly" in pooled_calibration_note(metrics)


def test_outcome_note_sums_how_each_outcome_was_known_over_the_dates() -> None:
    source = "stage in the export on 2026-08-14; ..."
    rows = [
        {"n": 1034, "label_source": source, "still_open_at_export_counted_not_won": 214},
        {"n": 1300, "still_open_at_export_counted_not_won": 292, "still_open_at_export_estimated": 160},
    ]
    note = outcome_note({"backtest": {"per_as_of": rows}})
    assert note == (
        "Outcomes: stage in the export on 2026-08-14; .... Of 2,334 scored deals: 506 still open and stale "
        "at the export, counted as not won; 160 still open there and scored against an estimated outcome."
    )
    truth = [{"n": 10, "label_source": "truth.csv (every deal's eventual outcome)"}]
    assert outcome_note({"backtest": {"per_as_of": truth}}).endswith(
        "Of 10 scored deals, every outcome is known."
    )
    assert outcome_note({}) is None and outcome_note({"backtest": {"per_as_of": [{"n": 3}]}}) is None


def test_feature_importance_is_mean_absolute_shap() -> None:
    shap = pd.DataFrame({"feature": ["a", "a", "b", "b"], "shap_value": [0.1, -0.3, 0.05, 0.05]})
    assert feature_importance(shap).to_dict("list") == {
        "feature": ["a", "b"],
        "mean_abs_shap": [0.2, 0.05],
        "label": ["a", "b"],
    }
    labelled = shap.assign(feature_label=["rep's win rate", "rep's win rate", "deal value", "deal value"])
    assert feature_importance(labelled)["label"].tolist() == ["rep's win rate", "deal value"]


def test_quality_warnings_state_count_share_and_action() -> None:
    report = {
        "items": [
            {
                "code": "blank_account",
                "file": "sales_pipeline.csv",
                "column": "account",
                "count": 34,
                "action": "kept; account features left unknown",
                "description": "open deal with a blank account",
                "examples": ["X"],
            }
        ]
    }
    assert quality_warnings(report, 50) == [
        "Open deal with no account in the CRM: 34 (68% of all 50 open deals, unscored included). Kept; "
        "scored without the account's history."
    ]
    report["items"][0].update(code="a_new_check", description="something new in sales_pipeline.csv")
    assert quality_warnings(report, 50) == [
        "Something new in sales_pipeline.csv: 34. Kept; account features left unknown."
    ]  # a finding the app has no words for keeps the report's own


def _report_with_rejected_rows() -> dict:
    """A repair (product spelling) found before two rules' rejected rows, as the batch step orders them."""
    rejected = {
        "code": "rejected_row",
        "file": "sales_pipeline.csv",
        "action": "set aside in rejected_rows.csv (--drop-invalid)",
    }
    return {
        "items": [
            {
                "code": "product_alias",
                "file": "sales_pipeline.csv",
                "column": "product",
                "count": 71,
                "action": "renamed to the products.csv spelling",
                "description": "product name spelled differently from products.csv",
                "examples": ["GTXPro -> GTX Pro"],
            },
            {
                **rejected,
                "column": "close_date",
                "count": 2,
                "description": "row breaks the data contract: close_date '...' is before engage_date",
                "examples": ["14", "90"],
            },
            {
                **rejected,
                "column": "deal_stage",
                "count": 1,
                "description": "row breaks the data contract: unknown stage '...'",
                "examples": ["7"],
            },
        ]
    }


def test_rejected_rows_come_first_and_are_said_in_words() -> None:
    report = _report_with_rejected_rows()
    table = quality_table(report)
    assert table["code"].tolist() == ["rejected_row", "rejected_row", "product_alias"]
    assert table["examples"].tolist() == ["14, 90", "7", "GTXPro -> GTX Pro"]
    text = rows_left_out(report, 3)
    assert text.startswith(
        "3 rows of the export broke the data contract and were rejected: set aside before anything was "
        "computed, so no figure counts them."
    )
    assert "rejected_rows.csv" in text and text.endswith("repaired or flagged as 'What was done' says.")
    assert rows_left_out(report, 0).startswith("3 rows")  # an older count: the findings still say it
    one = {"items": report["items"][2:]}
    assert rows_left_out(one, 1).startswith("1 row of the export broke the data contract and was rejected")
    assert rows_left_out({"items": report["items"][:1]}, 0) == (
        "No row of the export was rejected: every row was read. The findings below were kept, repaired or "
        "flagged as 'What was done' says."
    )
    assert quality_warnings(report, 50)[1] == (
        "Row breaks the data contract: close_date '...' is before engage_date: 2. Left out of every figure; "
        "each row and its reason are in rejected_rows.csv."
    )


def _salesforce_report() -> dict:
    """The findings of a Salesforce Data Export as the batch step reports them: deleted records left out,
    amounts in other currencies converted, blank accounts kept, a file read as cp1252."""
    item = {"file": "Opportunity.csv", "examples": []}
    return {
        "items": [
            {
                **item,
                "code": "blank_account",
                "column": "account",
                "count": 518,
                "action": "kept; account features left unknown",
                "description": "open deal with a blank account",
            },
            {
                **item,
                "code": "other_currency",
                "column": "currency",
                "count": 1149,
                "action": "amounts converted to USD",
                "description": "deal in another currency than the corporate one",
                "examples": ["EUR", "GBP"],
            },
            {
                **item,
                "code": "deleted_record",
                "column": "",
                "count": 60,
                "action": "left out",
                "description": "row the export marks deleted",
            },
            {
                **item,
                "code": "not_utf8_file",
                "column": "",
                "count": 0,
                "action": "read as cp1252",
                "description": "file is not UTF-8; read as cp1252",
            },
        ]
    }


def test_rows_left_out_by_rule_are_said_beside_no_rejected_row() -> None:
    """A Salesforce export's 60 deleted records were "left out" in the table under a paragraph saying "every
    row was read" and every finding "kept, repaired or flagged"."""
    text = rows_left_out(_salesforce_report(), 0)
    assert text == (
        "No row of the export was rejected for breaking the data contract. 60 rows were left out on purpose, "
        "as the table below says (record deleted in the CRM, which the export still lists: 60). The other "
        "findings below were kept, repaired or flagged as 'What was done' says."
    )
    with_rejected = {"items": [*_salesforce_report()["items"], *_report_with_rejected_rows()["items"]]}
    assert "60 rows were left out on purpose" in rows_left_out(with_rejected, 3)


def test_the_health_table_words_findings_as_the_overview_does() -> None:
    table = quality_table_in_words(_salesforce_report()).set_index("code")
    assert table.loc["deleted_record", ["description", "action"]].tolist() == [
        "Record deleted in the CRM, which the export still lists",
        "left out of every figure",
    ]
    assert table.loc["other_currency", ["description", "action", "examples"]].tolist() == [
        "Deal in another currency than the corporate one",
        "amounts converted to USD",  # the report's own action names the currency
        "EUR, GBP",
    ]
    assert table.loc["blank_account", "description"] == "Open deal with no account in the CRM"
    assert pd.isna(table.loc["not_utf8_file", "count"])  # about the whole file: no "0 rows"
    assert table.loc["deleted_record", "count"] == 60
    warnings = quality_warnings(_salesforce_report(), 789)
    assert (
        "Record deleted in the CRM, which the export still lists: 60. Left out of every figure." in warnings
    )


def test_no_signal_warning_under_055_says_what_each_figure_measures() -> None:
    alone = signal_warning({"validation": {"auc": 0.486}})
    assert alone.startswith("Among recently closed deals the model ranks wins against losses no better than")
    assert "(held-out AUC 0.49; 0.5 is a coin flip)" in alone and "backtest" not in alone
    assert signal_warning({"validation": {"auc": 0.66}}) is None
    both = signal_warning({"validation": {"auc": 0.5}, "backtest": {"summary": {"auc": 0.689}}})
    assert both.endswith(
        "Its higher backtest AUC (0.69) comes from also scoring open deals that never close, which their age "
        "gives away."
    )
    assert signal_warning({}) is None


def test_trust_sentence_states_the_backtest_error_in_words() -> None:
    good = trust_sentence({"backtest": {"summary": {"ece": 0.03, "max_ece": 0.041}}})
    assert good == (
        "Backtested, the win probabilities were close to what happened: on average the predicted chances "
        "were 3 percentage points away from the share of deals actually won."
    )
    rough = trust_sentence({"backtest": {"summary": {"ece": 0.092}, "as_of_dates": ["2026-02-01"]}})
    assert rough == (
        "Backtested on 1 past date (2026-02-01), the win probabilities were only roughly right: on average "
        "the predicted chances were 9 percentage points away from the share of deals actually won."
    )
    assert trust_sentence({}).startswith("The win probabilities have not been replayed on past dates")


def test_trust_sentence_judges_the_error_against_chance() -> None:
    rows = [{"as_of": d} for d in ("2025-07-01", "2025-09-01", "2025-11-01", "2026-02-01")]

    def sentence(beyond: list[str], **extra: object) -> str:
        summary = {"ece": 0.034, "max_ece": 0.061, "ece_beyond_sampling_noise": beyond, **extra}
        return trust_sentence({"backtest": {"summary": summary, "per_as_of": rows}})

    where = "Backtested on 4 past dates (2025-07-01 to 2026-02-01), the win probabilities were"
    gap = (
        "on average the predicted chances were 3 percentage points away from the share of deals actually won"
    )
    assert sentence([]) == f"{where} close to what happened: {gap}, no more than chance explains."
    pooled = {"ece": 0.021, "ece_if_calibrated": {"p05": 0.007, "median": 0.012, "p95": 0.019}}
    assert sentence([], pooled=pooled) == (
        f"{where} close to what happened at each date ({gap}), though taken together a little further off "
        "than chance alone explains."
    )
    assert sentence(["2026-02-01"]) == (
        f"{where} mostly close to what happened: {gap} (6 at the worst date), more than chance explains at 1 "
        "of 4 dates (2026-02-01)."
    )
    miss = {"age_days": "31-60", "as_of": "2026-02-01", "mean_predicted": 0.578, "observed_rate": 0.214}
    assert sentence([r["as_of"] for r in rows], largest_age_miss=miss) == (
        f"{where} only roughly right: {gap} (6 at the worst date), more than chance explains at every date; "
        "the biggest miss: deals 31-60 days old on 2026-02-01 were given 58% on average and 21% were won."
    )
    for text in (sentence([]), sentence(["2026-02-01"]), sentence([], pooled=pooled)):
        assert "ECE" not in text and "calibrat" not in text


def test_no_signal_warning_in_words_names_no_statistic() -> None:
    assert no_signal_warning({"validation": {"auc": 0.66}}) is None
    both = no_signal_warning({"validation": {"auc": 0.48}, "backtest": {"summary": {"auc": 0.689}}})
    assert both == (
        "Among recently closed deals the model tells wins from losses no better than a coin flip: do not "
        "read small differences between live deals' chances as meaningful. What it does tell is which open "
        "deals will never close, which their age gives away."
    )


def test_forecast_trust_says_how_often_the_range_held_and_how_it_compares() -> None:
    summary = {"coverage_p10_p90": 0.9538, "naive_coverage_p10_p90": 0.89, "windows": 65}
    summary.update(pinball=5140.77, naive_pinball=5303.87)
    assert forecast_trust(summary) == (
        "Replayed on 65 past periods, actual revenue landed inside the likely range 95% of the time (it aims "
        "to hold 80% of outcomes): the range is wider than it needs to be. Its misses were 3% smaller than "
        "those of the same forecast treating every deal as independent."
    )
    narrow = forecast_trust({"coverage_p10_p90": 0.55, "windows": 12})
    assert narrow == (
        "Replayed on 12 past periods, actual revenue landed inside the likely range 55% of "
        "the time (it aims to hold 80% of outcomes): the range is too narrow."
    )
    assert forecast_trust({}) is None


def test_forecast_trust_names_its_windows_and_defers_to_a_weekly_record_that_misses() -> None:
    summary = {"coverage_p10_p90": 0.9385, "windows": 65, "period_types": ["month", "quarter"]}
    summary.update(as_of_dates=["2026-04-30", "2026-03-31", "2026-06-30", "2026-05-31"])
    wide = forecast_trust(summary, weekly_share=0.85)
    assert wide == (
        "Replayed on 65 past month and quarter windows, forecast on 4 dates (2026-03-31 to 2026-06-30), "
        "actual revenue landed inside the likely range 94% of the time (it aims to hold 80% of outcomes): "
        "the range is wider than it needs to be."
    )
    missing = forecast_trust(summary, weekly_share=15 / 26)  # the demo run's track record: 15 of 26 weeks
    assert "wider than it needs to be" not in missing.replace("not wider than it needs to be", "")
    assert missing.endswith(
        "(it aims to hold 80% of outcomes). On these windows the range was wide enough, but the weekly "
        "track record shows it missing more often than it should, so it is not wider than it needs to be."
    )


def test_calibration_by_age_table_flags_groups_outside_their_chance_range() -> None:
    metrics = _metrics()
    metrics["backtest"]["per_as_of"][1]["calibration_by_age"] = [
        {
            "age_days": "0-14",
            "n": 553,
            "mean_predicted": 0.589,
            "observed_rate": 0.208,
            "chance_low": 0.559,
            "chance_high": 0.622,
            "over": 210.9,
        },
        {
            "age_days": "15-30",
            "n": 190,
            "mean_predicted": 0.485,
            "observed_rate": 0.505,
            "chance_low": 0.432,
            "chance_high": 0.542,
            "over": -3.8,
        },
    ]
    table = calibration_by_age_table(metrics)
    assert table.to_dict("records") == [
        {
            "as_of": "2017-09-30",
            "age_days": "0-14",
            "n": 553,
            "mean_predicted": 0.589,
            "observed_rate": 0.208,
            "chance": "55.9%-62.2%",
            "over": 210.9,
            "outside": True,
        },
        {
            "as_of": "2017-09-30",
            "age_days": "15-30",
            "n": 190,
            "mean_predicted": 0.485,
            "observed_rate": 0.505,
            "chance": "43.2%-54.2%",
            "over": -3.8,
            "outside": False,
        },
    ]
    assert calibration_by_age_table(_metrics()).empty  # metrics from before the grouping: no table
