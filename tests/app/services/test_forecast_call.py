"""Unit tests of app/services/forecast_call.py on tiny frames: a target's chance, coverage and gap; the
reps' call by category; commit at risk and upside; the track record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.components.format import Money
from app.services import forecast_call
from app.services.pipeline import QuarterFigures, WholeQuarter, headline_quarter

QUARTER = headline_quarter(pd.Timestamp("2026-08-14"))  # Q3 2026, p_close_in_quarter
# the whole quarter's revenue: 1,000 at q = 0.01 up to 99,000 at q = 0.99 (median 50,000)
GRID = pd.DataFrame({"q": np.round(np.arange(1, 100) / 100, 2), "revenue": np.arange(1, 100) * 1000.0})
WHOLE = WholeQuarter(new_expected=8_000.0, expected=78_000.0, p10=60_000.0, p50=77_000.0, p90=95_000.0)


def _figures(won: float | None, expected: float = 50_000.0, stored: bool = True) -> QuarterFigures:
    """Headline-quarter figures with ``won`` so far; a stored segment's have the whole quarter."""
    whole = WHOLE if stored and won is not None else None
    return QuarterFigures(expected, won, 10_000.0, 50_000.0, 90_000.0, "stored", ("all", None), 3, whole)


DEALS = pd.DataFrame(
    {
        "opportunity_id": ["A", "B", "C", "D", "E"],
        "account": ["a", "b", "c", "d", "e"],
        "sales_agent": ["Ann"] * 5,
        "deal_value": [1000.0, 2000.0, 3000.0, 4000.0, 5000.0],
        "p_close_in_quarter": [0.2, 0.5, 0.7, 0.9, np.nan],
        "rep_close_date": pd.to_datetime(
            ["2026-09-01", "2026-09-30", "2026-10-01", "2026-08-20", "2026-09-15"]
        ),
        "forecast_category": ["Commit", "Commit", "Best Case", "Pipeline", ""],
        "driver_1": ["d1", "d2", "d3", "d4", ""],
    }
)


def test_chance_coverage_and_gap() -> None:
    outlook = forecast_call.target_outlook(50_000.0, _figures(20_000.0), DEALS, GRID)
    assert outlook.chance == pytest.approx(0.5)  # the whole quarter's median, won so far included
    assert outlook.coverage == pytest.approx(15_000.0 / 30_000.0)  # open pipeline / (target - won)
    assert outlook.gap == pytest.approx(50_000.0 - 78_000.0)  # target - the whole quarter's expected
    assert forecast_call.chance_text(outlook.chance) == "50%"


def test_coverage_leaves_stale_deals_out_and_says_so() -> None:
    deals = DEALS.assign(stale=[False, False, False, True, True])  # 9,000 of the 15,000 is stale
    outlook = forecast_call.target_outlook(50_000.0, _figures(20_000.0), deals, GRID)
    assert (outlook.open_pipeline, outlook.stale_value) == (6_000.0, 9_000.0)
    assert outlook.coverage == pytest.approx(6_000.0 / 30_000.0)
    sentence = forecast_call.target_sentence(outlook, Money("USD"))
    assert "The open pipeline of $6,000 (not counting $9,000 in stale deals) is 0.2 times that." in sentence


def test_a_target_already_won_and_the_grids_edges() -> None:
    assert forecast_call.target_outlook(10_000.0, _figures(20_000.0), DEALS, GRID).chance == 1.0
    assert forecast_call.chance_text(1.0) == "Already reached"
    assert forecast_call.chance_text(0.99) == "99% or more"
    assert forecast_call.chance_text(0.01) == "1% or less"
    unknown = forecast_call.target_outlook(70_000.0, _figures(None), DEALS, GRID)
    assert (unknown.chance, unknown.coverage, unknown.gap) == (None, None, None)


def test_no_whole_quarter_no_chance_and_no_gap() -> None:
    """A selection that is no stored segment (a next quarter: won so far is known, 0) keeps its coverage."""
    outlook = forecast_call.target_outlook(30_000.0, _figures(0.0, stored=False), DEALS, GRID)
    assert (outlook.chance, outlook.gap) == (None, None)
    assert outlook.coverage == pytest.approx(15_000.0 / 30_000.0)
    assert forecast_call.target_sentence(outlook, Money("USD")) == (
        "To reach $30,000 the quarter needs all $30,000 from open deals and deals not yet created (nothing "
        "is won in it yet). The open pipeline of $15,000 is 0.5 times that. The model expects $50,000 from "
        "open deals; deals not yet created are forecast for the whole pipeline and one region, manager, rep "
        "or product only, so this selection has no expected whole quarter to set against the target."
    )


def test_the_target_sentence_uses_the_metrics_figures() -> None:
    outlook = forecast_call.target_outlook(80_000.0, _figures(20_000.0), DEALS, GRID)
    assert forecast_call.target_sentence(outlook, Money("USD")) == (
        "To reach $80,000 the quarter needs $60,000 more than the $20,000 already won. The open pipeline of "
        "$15,000 is 0.2 times that. The model expects $50,000 from open deals and $8,000 from deals not yet "
        "created, so the whole quarter's expected $78,000 is $2,000 short of the target. Chance of reaching "
        "it: 20%."
    )


def test_the_reps_call_by_category_for_deals_due_in_the_quarter() -> None:
    called = forecast_call.call_deals(DEALS, QUARTER)
    assert called["opportunity_id"].tolist() == ["A", "B", "D", "E"]  # C is due next quarter
    table = forecast_call.rep_call(called)
    assert table["category"].tolist() == ["Commit", "Pipeline", "Not set"]
    assert table["reps_rollup"].tolist() == [3000.0, 4000.0, 5000.0]
    assert table["model_expected"].tolist() == [1000 * 0.2 + 2000 * 0.5, 4000 * 0.9, 0.0]


def test_commit_at_risk_and_upside() -> None:
    called = forecast_call.call_deals(DEALS, QUARTER)
    assert forecast_call.commit_at_risk(called)["opportunity_id"].tolist() == ["A"]
    upside = forecast_call.upside(DEALS, QUARTER)
    assert upside["opportunity_id"].tolist() == ["D", "C"]  # most expected value first, any rep date
    assert forecast_call.has_categories(DEALS)
    assert not forecast_call.has_categories(DEALS.assign(forecast_category=""))


def test_the_track_record() -> None:
    accuracy = pd.DataFrame(
        {
            "as_of": ["2026-01-02", "2026-01-09", "2026-01-16", "2026-03-31"],
            "period_start": ["2026-01-01"] * 4,
            "p10": [80.0, 80.0, 80.0, 0.0],
            "p50": [100.0, 100.0, 100.0, 0.0],
            "p90": [120.0, 120.0, 120.0, 0.0],
            "actual": [90.0, 130.0, 110.0, 0.0],
            "total_p10": [900.0, 950.0, 1000.0, 1100.0],
            "total_p50": [1000.0, 1050.0, 1040.0, 1100.0],
            "total_p90": [1100.0, 1150.0, 1080.0, 1100.0],
            "total_actual": [1100.0] * 4,
            "rep_commit": [70.0, 70.0, np.nan, np.nan],
        }
    )
    record = forecast_call.track_record(accuracy)
    # the last week is the quarter's last day: nothing left to forecast, so it is not counted
    assert (record.weeks, record.inside, record.settled) == (3, 2, 1)
    assert record.mean_miss == pytest.approx((10 - 30 - 10) / 3)
    assert record.rep_mean_miss == pytest.approx((-20 - 60) / 2)
    assert forecast_call.track_record_sentence(record, Money("USD")) == (
        "In 2 of the 3 past weeks (67%) what the open deals went on to win fell inside the likely range (it "
        "aims to hold 80% of outcomes); on average the middle estimate was $10 (9%) below it. 1 more week, "
        "made on its quarter's last day, had nothing left to forecast and is not counted. The reps' Commit "
        "was on average $40 below it."
    )
    whole = forecast_call.track_record(accuracy, "total")
    assert (whole.weeks, whole.inside, whole.rep_mean_miss) == (3, 2, None)  # no Commit beside it
    assert whole.mean_miss == pytest.approx((-100 - 50 - 60) / 3)
    assert forecast_call.track_record_sentence(whole, Money("USD")).startswith(
        "In 2 of the 3 past weeks (67%) the quarter's whole revenue (won before that week, from deals open "
        "then and from deals created later) fell inside that week's likely range"
    )
    rows = forecast_call.track_record_rows(accuracy)
    assert rows["inside_p10_p90"].tolist() == [True, False, True, False]
    assert rows["total_inside_p10_p90"].tolist() == [True, True, False, False]


def test_categories_without_rep_close_dates_call_nothing_for_the_quarter() -> None:
    called = forecast_call.call_deals(DEALS.drop(columns="rep_close_date"), QUARTER)
    assert called.empty
    assert forecast_call.commit_at_risk(called).empty


def test_deal_lists_show_the_telling_driver_and_the_stale_flag() -> None:
    deals = DEALS.assign(
        driver_1=["up A", "up B", "up C", "down D", ""],
        driver_1_impact=[0.05, 0.10, 0.02, -0.01, np.nan],
        driver_2=["down A", "down B", "up2 C", "up D", ""],
        driver_2_impact=[-0.20, -0.01, 0.30, 0.02, np.nan],
        driver_3=["x A", "x B", "x C", "x D", ""],
        driver_3_impact=[-0.30, 0.0, -0.5, 0.01, np.nan],
        stale=[True, False, False, False, False],
    )
    at_risk = forecast_call.commit_at_risk(forecast_call.call_deals(deals, QUARTER))
    assert at_risk[["main_driver", "stale"]].values.tolist() == [["x A", True]]  # most negative, not driver_1
    upside = forecast_call.upside(deals, QUARTER)
    assert upside["main_driver"].tolist() == ["up D", "up2 C"]  # most positive
    assert upside["stale"].tolist() == [False, False]


def test_the_band_checks_sentence_says_what_each_check_replays() -> None:
    record = forecast_call.TrackRecord(
        weeks=26, inside=15, mean_miss=1.0, miss_share=0.06, rep_mean_miss=None
    )
    summary = {"coverage_p10_p90": 0.9385, "as_of_dates": ["2026-03-31", "2026-06-30"]}
    summary.update(segment_types=["all", "regional_office"], probability_source="curves")
    assert forecast_call.band_checks_sentence(record, summary) == (
        "The two checks replay different forecasts of the open deals: the track record above follows each "
        "Friday's forecast of what the deals open that day would win in its own quarter, made as the quarter "
        "went on (15 of 26 weeks inside the range, 58%); the backtest below replays month and quarter "
        "forecasts made on 2 past dates, for segments too (94% inside), with win probabilities from past "
        "deals' time to close rather than the model. For this quarter's call go by the track record: the "
        "open deals' range has missed more often than the 1 in 5 it allows, so what they bring in can fall "
        "outside it."
    )
    agreeing = forecast_call.band_checks_sentence(
        forecast_call.TrackRecord(26, 21, 1.0, 0.06, None), {"coverage_p10_p90": 0.85}
    )
    assert agreeing.endswith("(85% inside).")
    assert forecast_call.band_checks_sentence(None, summary) is None
    assert forecast_call.band_checks_sentence(record, {}) is None


def test_the_whole_period_backtest_in_words() -> None:
    assert forecast_call.whole_period_backtest_sentence({"total_coverage_p10_p90": 0.8125}) == (
        "On the same past windows the whole period's likely range (won already, open deals and deals not yet "
        "created) held everything the period won 81% of the time (it aims to hold 80% of outcomes)."
    )
    assert forecast_call.whole_period_backtest_sentence({"coverage_p10_p90": 0.8}) is None  # older backtests
