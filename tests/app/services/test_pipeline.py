"""Unit tests of the pure page logic on three-row frames."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from app.filters import STALE_CATEGORY, DealFilters, filters_from_query, filters_query
from app.services.pipeline import (
    DEAL_SORTS,
    NO_RISK_DRIVER,
    WholeQuarter,
    apply_filters,
    attention_tiers,
    backtest_windows_to_show,
    crm_stage,
    cumulative_quarter,
    deal_links,
    deal_view,
    deal_view_csv,
    deals_needing_attention,
    filter_options,
    headline_quarter,
    main_risk_driver,
    matching_segment,
    pipeline_summary,
    quarter_figures,
    ranked_deals,
    risk_by_segment,
    search_deals,
    split_finished_periods,
    tier_order,
    unscored_deals,
)
from core.risk import UNSCORED_TIER


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


def test_the_stage_is_the_crms_own_name_else_the_outcome_state() -> None:
    deals = pd.DataFrame(
        {"deal_stage": ["Engaging", "Engaging", "Prospecting"], "stage": ["Verhandlung", "", "Prospecting"]}
    )
    assert crm_stage(deals).tolist() == ["Verhandlung", "Engaging", "Prospecting"]
    assert crm_stage(deals.drop(columns="stage")).tolist() == ["Engaging", "Engaging", "Prospecting"]


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


def _segments() -> pd.DataFrame:
    """Five open deals: A1 stale, D4 unscored, the rest live; two reps per manager, two per region."""
    return pd.DataFrame(
        {
            "opportunity_id": ["A1", "B2", "C3", "D4", "E5"],
            "sales_agent": ["Ann", "Bob", "Cy", "Ann", "Dee"],
            "manager": ["M1", "M1", "M2", "M1", "M2"],
            "regional_office": ["East", "West", "East", "East", "West"],
            "product": ["GTX Pro", "MG Special", "GTX Pro", "GTX Pro", "MG Special"],
            "sector": ["retail", "retail", "tech", "tech", "tech"],
            "risk_tier": ["Critical", "High", "Low", UNSCORED_TIER, "High"],
            "stale": [True, False, False, False, False],
            "scored": [True, True, True, False, True],
            "deal_value": [1000.0, 200.0, 4000.0, 700.0, 300.0],
            "p_close_in_quarter": [0.0, 0.5, 0.25, float("nan"), 0.1],
            "p_close_next_quarter": [0.0, 0.2, 0.05, float("nan"), 0.3],
        }
    )


def test_matching_segment_is_judged_on_the_deals_not_the_widgets() -> None:
    deals = _segments()

    def match(filters: DealFilters, prefer: bool = True) -> tuple[str, str | None] | None:
        return matching_segment(deals, apply_filters(deals, filters), filters if prefer else None)

    assert match(DealFilters()) == ("all", None)
    assert match(DealFilters(stale="Exclude stale")) == ("all", None)  # stale deals add nothing
    assert match(DealFilters(include_unscored=True)) == ("all", None)  # nor do unscored ones
    assert match(DealFilters(regions=("East",))) == ("regional_office", "East")  # A1 stale, C3 live
    assert match(DealFilters(regions=("East",), reps=("Cy",))) == ("sales_agent", "Cy")  # region + its rep
    assert match(DealFilters(managers=("M1",), reps=("Bob",))) == ("sales_agent", "Bob")
    assert match(DealFilters(managers=("M1",))) == ("manager", "M1")  # M1's live deals are Bob's alone
    assert match(DealFilters(managers=("M1",)), prefer=False) == ("manager", "M1")  # broadest first
    assert match(DealFilters(tiers=("High",))) == ("regional_office", "West")  # B2 + E5: all of West
    assert match(DealFilters(reps=("Bob", "Cy"))) is None  # two regions, two managers, two products
    assert match(DealFilters(sectors=("tech",))) == ("manager", "M2")  # C3 + E5 happen to be all of M2
    assert match(DealFilters(tiers=("Critical",))) is None  # only a stale deal: nothing to forecast


def test_a_segment_whose_deals_add_nothing_is_the_segment_the_filters_name() -> None:
    """Ann's deals are stale or unscored: the deals cannot tell, so one rep named alone is that rep (her
    won so far and deals not yet created are forecast.csv's), and anything narrower is no segment."""
    deals = _segments()

    def match(filters: DealFilters) -> tuple[str, str | None] | None:
        return matching_segment(deals, apply_filters(deals, filters), filters)

    assert match(DealFilters(reps=("Ann",))) == ("sales_agent", "Ann")
    assert match(DealFilters(reps=("Ann",), stale="Exclude stale")) == ("sales_agent", "Ann")
    assert match(DealFilters(reps=("Ann",), stale="Stale only")) is None
    assert match(DealFilters(reps=("Ann",), tiers=("Critical",))) is None
    assert match(DealFilters(reps=("Ann",), regions=("East",))) is None
    assert match(DealFilters(reps=("Ann", "Bob"), stale="Stale only")) is None


def test_quarter_figures_add_won_so_far_to_the_filtered_deals_expectation() -> None:
    deals = _segments()
    this_quarter = headline_quarter(pd.Timestamp("2026-08-14"))
    stored = pd.Series(
        {
            "closed_won": 5000.0,
            "expected": 1030.0,
            "p10": 600.0,
            "p50": 1000.0,
            "p90": 1500.0,
            "new_expected": 400.0,
            "total_expected": 6430.0,
            "total_p10": 5900.0,
            "total_p50": 6400.0,
            "total_p90": 7000.0,
        }
    )
    figures = quarter_figures(deals, this_quarter, ("all", None), stored, None)
    # expected from open deals: 200 x .5 + 4000 x .25 + 300 x .1 (the stale and the unscored add nothing)
    assert figures.expected == 1130.0
    assert (figures.won_so_far, figures.won_and_open, figures.won_and_open_range) == (
        5000.0,
        6130.0,
        (5600.0, 6500.0),
    )
    assert figures.source == "stored" and figures.segment == ("all", None)
    assert figures.whole == WholeQuarter(400.0, 6430.0, 5900.0, 6400.0, 7000.0)  # forecast.csv's, as is
    computed = pd.DataFrame(
        {
            "quarter": ["as-of quarter", "next quarter"],
            "p10": [700.0, 80.0],
            "p50": [1100.0, 150.0],
            "p90": [1600.0, 260.0],
        }
    )
    mixed = quarter_figures(deals.iloc[[1, 2]], this_quarter, None, None, computed)
    assert mixed.expected == 1100.0 and (mixed.p10, mixed.p90) == (700.0, 1600.0)
    assert (mixed.won_so_far, mixed.won_and_open, mixed.won_and_open_range) == (None, None, None)
    assert mixed.source == "computed" and mixed.contributing == 2
    assert mixed.whole is None  # deals not yet created are forecast per stored segment only
    next_quarter = headline_quarter(pd.Timestamp("2026-09-30"))
    ahead = quarter_figures(deals.iloc[[1, 2]], next_quarter, None, None, computed)
    assert ahead.expected == 200.0 * 0.2 + 4000.0 * 0.05
    assert (ahead.won_so_far, ahead.won_and_open) == (0.0, ahead.expected)  # nothing won yet in it
    assert ahead.won_and_open_range == (80.0, 260.0) and ahead.whole is None


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
            "new_expected": [1.0, 2.0, 4.0],
            "total_expected": [16.0, 22.0, 154.0],
            "total_p10": [5.0, 0.0, 133.0],
            "total_p50": [15.0, 21.0, 152.0],
            "total_p90": [35.0, 42.0, 181.0],
        }
    )
    quarter = headline_quarter(pd.Timestamp("2026-09-15"))
    points = cumulative_quarter(forecast, quarter, pd.Timestamp("2026-09-15"))
    assert points["cumulative"].tolist() == [100.0, 110.0, 130.0, 150.0]  # won + open deals
    assert points["whole"].tolist() == [100.0, 111.0, 133.0, 154.0]  # and deals not yet created
    assert points.iloc[-1][["p10", "p90"]].tolist() == [133.0, 181.0]  # the whole quarter's range


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


def _with_unscored() -> pd.DataFrame:
    """The three deals plus D4, which the model could not score (blank numbers, tier "Unscored")."""
    deals = _deals().assign(
        p_close_in_quarter=[0.0, 0.5, 0.2], p_close_next_quarter=[0.0, 0.2, 0.05], expected_revenue=0.0
    )
    unscored = {
        "opportunity_id": "D4",
        "account": "Delta",
        "sales_agent": "Ann",
        "manager": "M1",
        "regional_office": "East",
        "product": "GTX Pro",
        "sector": "retail",
        "risk_tier": UNSCORED_TIER,
        "win_probability": float("nan"),
        "deal_value": 700.0,
        "value_at_risk": float("nan"),
        "stale": False,
        "p_close_in_quarter": float("nan"),
        "p_close_next_quarter": float("nan"),
        "expected_revenue": float("nan"),
    }
    frame = pd.concat([deals, pd.DataFrame([unscored])], ignore_index=True)
    return frame.assign(scored=[True, True, True, False])


def test_unscored_deals_stay_out_unless_included() -> None:
    deals = _with_unscored()
    assert apply_filters(deals, DealFilters())["opportunity_id"].tolist() == ["A1", "B2", "C3"]
    assert apply_filters(deals, DealFilters(regions=("East",)))["opportunity_id"].tolist() == ["A1", "C3"]
    included = apply_filters(deals, DealFilters(regions=("East",), include_unscored=True))
    assert included["opportunity_id"].tolist() == ["A1", "C3", "D4"]
    quarter = headline_quarter(pd.Timestamp("2026-08-14"))
    summary = pipeline_summary(included, ["Critical", "High"], quarter)
    # counts and pipeline value take D4; value at risk and expected revenue cannot (it has no probability)
    assert (summary["open_count"], summary["open_value"]) == (3, 5700.0)
    assert (summary["unscored_count"], summary["unscored_value"]) == (1, 700.0)
    assert summary["value_at_risk"] == 900.0 + 2800.0
    assert summary["expected_in_quarter"] == 4000.0 * 0.2
    left_out = unscored_deals(deals, DealFilters(regions=("East",)))
    assert (left_out.count, left_out.value, left_out.included) == (1, 700.0, False)
    assert unscored_deals(deals, DealFilters(regions=("West",))).count == 0
    every = _deals()  # no scored column: every deal is scored and nothing is dropped
    assert apply_filters(every, DealFilters()) is every
    assert unscored_deals(every, DealFilters()).count == 0


def test_tier_order_puts_unscored_last_and_never_among_attention_tiers() -> None:
    deals = _with_unscored()
    documented = {"Critical": "", "High": "", "Medium": "", "Low": ""}
    assert tier_order(deals, documented) == ["Critical", "High", "Medium", "Low", UNSCORED_TIER]
    assert tier_order(deals, None) == ["Critical", "High", "Low", UNSCORED_TIER]
    two = deals[deals["risk_tier"].isin(["Critical", UNSCORED_TIER])]
    assert attention_tiers(tier_order(two, None)) == ["Critical"]
    assert filter_options(deals, tier_order(deals, None), include_unscored=False)["tiers"] == [
        "Critical",
        "High",
        "Low",
    ]
    ranked = ranked_deals(deals, "value_at_risk")  # a blank value at risk sorts last
    assert ranked["opportunity_id"].tolist() == ["C3", "A1", "B2", "D4"]


def test_deal_links_carry_the_filters_and_read_back() -> None:
    filters = DealFilters(
        regions=("East", "West"), reps=("Ann & Co",), stale="Exclude stale", include_unscored=True
    )
    pairs = filters_query(filters)
    assert pairs == [
        ("region", "East"),
        ("region", "West"),
        ("rep", "Ann & Co"),
        ("stale", "exclude"),
        ("unscored", "1"),
    ]
    links = deal_links(pd.Series(["A1", "B/2"]), filters)
    assert links.tolist()[0] == "deal?deal=A1&region=East&region=West&rep=Ann+%26+Co&stale=exclude&unscored=1"
    assert links.tolist()[1].startswith("deal?deal=B%2F2&")
    parsed = parse_qs(urlsplit(links.iloc[0]).query)
    assert filters_from_query(parsed) == filters
    assert deal_links(pd.Series(["A1"]), DealFilters()).tolist() == ["deal?deal=A1"]
    assert filters_from_query({"deal": ["A1"]}) is None
    assert filters_from_query({"stale": ["bogus"], "tier": ["High"]}) == DealFilters(tiers=("High",))


def test_main_risk_driver_is_the_reason_that_lowers_the_chance_most() -> None:
    deals = pd.DataFrame(
        {
            "driver_1": ["Rep record raises it (+5 pts)", "Price raises it (+2 pts)", "Age (-1 pts)", ""],
            "driver_1_impact": [0.05, 0.02, -0.01, float("nan")],
            "driver_2": ["Sector lowers it (-2 pts)", "Stage raises it (+1 pts)", "Rep (-6 pts)", ""],
            "driver_2_impact": [-0.02, 0.01, -0.06, float("nan")],
            "driver_3": ["Age lowers it (-4 pts)", "Size raises it (+1 pts)", "Price (+3 pts)", ""],
            "driver_3_impact": [-0.04, 0.005, 0.03, float("nan")],
        }
    )
    assert main_risk_driver(deals).tolist() == [
        "Age lowers it (-4 pts)",  # the most negative, although driver_1 is the largest in size
        NO_RISK_DRIVER,  # every driver raises the chance: none is a reason it is at risk
        "Rep (-6 pts)",
        NO_RISK_DRIVER,  # an unscored deal has no drivers
    ]
    sentences_only = deals[["driver_1", "driver_2", "driver_3"]]  # an older run without impact columns
    assert main_risk_driver(sentences_only).tolist()[:2] == ["Sector lowers it (-2 pts)", NO_RISK_DRIVER]
