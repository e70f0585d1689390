"""Unit tests of the pure page logic on three-row frames."""

from __future__ import annotations

import pandas as pd
import pytest

from app.services.pipeline import (
    DEAL_SORTS,
    STALE_CATEGORY,
    DealFilters,
    apply_filters,
    attention_tiers,
    backtest_windows_to_show,
    cumulative_quarter,
    deal_view,
    deal_view_csv,
    deals_needing_attention,
    forecast_segment,
    headline_quarter,
    ranked_deals,
    risk_by_segment,
    search_deals,
    split_finished_periods,
    tier_order,
)


def _deals() -> pd.DataFrame:
    """Three open deals."""
    return pd.DataFrame(
        {
            "opportunity_id": ["A1", "B2", "C3"],
            "account": ["Acme (Holdings)", "", "Zeta"],
            "sales_agent": ["Ann", "Bob", "Cy"],
            "manager": ["M1", "M1", "M2"],
            "regional_office": ["East", "West", "East"],
            "product": ["GTX Pro", "MG Special", "GTX Pro"],
            "sector": ["retail", "Unknown", "retail"],
            "risk_tier": ["Critical", "Low", "High"],
            "win_probability": [0.1, 0.8, 0.3],
            "deal_value": [1000.0, 50.0, 4000.0],
            "value_at_risk": [900.0, 10.0, 2800.0],
            "stale": [True, False, False],
        }
    )


def test_apply_filters_combines_dimensions_and_stale() -> None:
    deals = _deals()
    assert apply_filters(deals, DealFilters(regions=("East",)))["opportunity_id"].tolist() == ["A1", "C3"]
    assert apply_filters(deals, DealFilters(regions=("East",), stale="Exclude stale"))[
        "opportunity_id"
    ].tolist() == ["C3"]
    assert apply_filters(deals, DealFilters(stale="Stale only"))["opportunity_id"].tolist() == ["A1"]
    assert apply_filters(deals, DealFilters(products=("MG Special",), tiers=("Low",)))[
        "opportunity_id"
    ].tolist() == ["B2"]


def test_search_is_literal_and_case_insensitive() -> None:
    deals = _deals()
    assert search_deals(deals, "acme (")["opportunity_id"].tolist() == ["A1"]
    assert search_deals(deals, "m1")["opportunity_id"].tolist() == ["A1", "B2"]
    assert len(search_deals(deals, "  ")) == 3


def test_tiers_are_ordered_by_risk_and_attention_skips_stale() -> None:
    deals = _deals()
    assert tier_order(deals, None) == ["Critical", "High", "Low"]
    assert tier_order(deals, {"Low": "", "Critical": ""}) == [
        "Critical",
        "High",
        "Low",
    ]  # incomplete: by risk
    tiers = tier_order(deals, {"Critical": "", "High": "", "Medium": "", "Low": ""})
    assert tiers == ["Critical", "High", "Medium", "Low"]
    attention = attention_tiers(tiers)
    assert attention == ["Critical", "High"]
    assert deals_needing_attention(deals, attention)["opportunity_id"].tolist() == ["C3"]
    more = pd.concat(
        [deals, deals.iloc[[2]].assign(opportunity_id="D4", win_probability=0.01, value_at_risk=3960.0)]
    )
    # D4 has more value at risk but is all but lost: C3 (30%) has more value in play
    assert deals_needing_attention(more, attention)["opportunity_id"].tolist() == ["C3", "D4"]


def test_headline_quarter_moves_to_next_near_quarter_end() -> None:
    maventech = headline_quarter(pd.Timestamp("2017-12-31"))
    assert maventech.is_next and maventech.start == pd.Timestamp("2018-01-01")
    assert (
        maventech.end == pd.Timestamp("2018-03-31") and maventech.probability_column == "p_close_next_quarter"
    )
    mid = headline_quarter(pd.Timestamp("2026-08-14"))
    assert (
        not mid.is_next and mid.start == pd.Timestamp("2026-07-01") and mid.end == pd.Timestamp("2026-09-30")
    )


def test_forecast_segment_only_for_simulated_segments() -> None:
    assert forecast_segment(DealFilters()) == ("all", None)
    assert forecast_segment(DealFilters(managers=("M1",))) == ("manager", "M1")
    assert forecast_segment(DealFilters(managers=("M1", "M2"))) is None
    assert forecast_segment(DealFilters(regions=("East",), products=("GTX Pro",))) is None
    assert forecast_segment(DealFilters(sectors=("retail",))) is None


def test_risk_by_segment_sums_value_at_risk() -> None:
    rows = risk_by_segment(_deals(), "regional_office", ["Critical", "High", "Low"])
    # A1 is a stale Critical deal: its 900 at risk sits in the stale category, not in the Critical tier
    assert rows.to_dict("list") == {
        "segment": ["East", "East", "West"],
        "category": ["High", STALE_CATEGORY, "Low"],
        "value_at_risk": [2800.0, 900.0, 10.0],
        "deals": [1, 1, 1],
    }


def test_cumulative_quarter_adds_weeks_and_ends_with_quarter_band() -> None:
    forecast = pd.DataFrame(
        {
            "period_type": ["week", "week", "quarter"],
            "segment_type": "all",
            "segment": "All",
            "period_start": pd.to_datetime(["2026-09-14", "2026-09-21", "2026-07-01"]),
            "period_end": pd.to_datetime(["2026-09-20", "2026-09-27", "2026-09-30"]),
            "expected": [10.0, 20.0, 50.0],
            "p10": [0.0, 0.0, 30.0],
            "p50": [9.0, 19.0, 48.0],
            "p90": [30.0, 40.0, 80.0],
            "closed_won": [5.0, 0.0, 100.0],
        }
    )
    quarter = headline_quarter(pd.Timestamp("2026-09-15"))
    points = cumulative_quarter(forecast, quarter, pd.Timestamp("2026-09-15"))
    assert points["cumulative"].tolist() == [100.0, 110.0, 130.0, 150.0]
    assert points.iloc[-1][["p10", "p90"]].tolist() == [130.0, 180.0]


def test_periods_ending_on_the_as_of_date_leave_the_fan_chart() -> None:
    rows = pd.DataFrame(
        {
            "period_start": pd.to_datetime(["2017-12-01", "2018-01-01"]),
            "period_end": pd.to_datetime(["2017-12-31", "2018-01-31"]),
            "p10": [0.0, 5.0],
            "p90": [0.0, 9.0],
            "closed_won": [100.0, 0.0],
        }
    )
    finished, ahead = split_finished_periods(rows, pd.Timestamp("2017-12-31"))
    assert finished["closed_won"].tolist() == [100.0]
    assert ahead["period_start"].tolist() == [pd.Timestamp("2018-01-01")]


def test_backtest_windows_shown_are_whole_pipeline_and_labelled() -> None:
    windows = pd.DataFrame(
        {
            "as_of": ["2017-07-31", "2017-07-31", "2017-06-30"],
            "period_type": ["month", "month", "month"],
            "period_start": ["2017-08-01", "2017-08-01", "2017-07-01"],
            "segment_type": ["all", "regional_office", "all"],
            "segment": ["All", "East", "All"],
            "actual": [1.0, 2.0, 3.0],
            "p10": 0.0,
            "p50": 1.0,
            "p90": 2.0,
        }
    )
    shown = backtest_windows_to_show(windows)
    assert shown["label"].tolist() == [
        "month from 2017-07-01, as of 2017-06-30",
        "month from 2017-08-01, as of 2017-07-31",
    ]


def test_ranking_puts_live_deals_before_stale_ones_when_asked() -> None:
    deals = _deals()  # A1 is stale with the second-largest value at risk
    assert ranked_deals(deals, "value_at_risk")["opportunity_id"].tolist() == ["C3", "A1", "B2"]
    live_first = ranked_deals(deals, "value_at_risk", live_first=True)
    assert live_first["opportunity_id"].tolist() == ["C3", "B2", "A1"]
    assert ranked_deals(deals, "value_at_risk", n=2, live_first=True)["opportunity_id"].tolist() == [
        "C3",
        "B2",
    ]


def test_deal_view_and_its_csv_hold_every_deal_in_one_order() -> None:
    deals = _deals()
    with pytest.raises(TypeError):  # a positional (column, ascending, live_first) tuple cannot land in n
        ranked_deals(deals, "value_at_risk", False, True)  # type: ignore[misc]
    in_play = deal_view(deals, DEAL_SORTS["Value in play (live deals first, as on the Overview)"])
    # value in play: C3 4000 x .3 x .7 = 840, B2 50 x .8 x .2 = 8, A1 (stale) 1000 x .1 x .9 = 90
    assert in_play["opportunity_id"].tolist() == ["C3", "B2", "A1"]
    assert in_play["value_in_play"].round(6).tolist() == [840.0, 8.0, 90.0]
    for sort in DEAL_SORTS.values():
        if sort.column not in deals and sort.column != "value_in_play":
            continue
        lines = deal_view_csv(deals, sort).splitlines()
        assert len(lines) == 1 + len(deals)
        assert [line.split(",")[0] for line in lines[1:]] == deal_view(deals, sort)["opportunity_id"].tolist()
