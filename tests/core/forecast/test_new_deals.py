"""Deals not yet created (core.forecast.new_deals) and the whole period they complete in forecast.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import core.forecast.new_deals as new_deals_module
from core.forecast.forecast import forecast_revenue
from core.forecast.new_deals import (
    RECENT_DAYS,
    creation_summary,
    creation_variance,
    new_deals,
    quarter_actuals,
)
from core.forecast.periods import build_calendar
from core.forecast.seasonality import QuarterSeasonality
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel

AS_OF = pd.Timestamp("2026-03-31")
TEMPLATE_AGES = (20, 30, 60, 90)  # days before the as-of date the recent deals were created


def _deals() -> pd.DataFrame:
    """100 deals of 2025 and 4 of the last 91 days, every one won exactly 10 days after its creation for
    1,000; one open deal the forecast gives no chance."""
    created = [pd.Timestamp("2025-06-01") + pd.Timedelta(days=i) for i in range(100)]
    created += [AS_OF - pd.Timedelta(days=age) for age in TEMPLATE_AGES]
    frame = pd.DataFrame({"engage_date": created})
    frame["close_date"] = frame["engage_date"] + pd.Timedelta(days=10)
    frame["deal_stage"] = "Won"
    frame["close_value"] = 1000.0
    opened = pd.DataFrame(
        {"engage_date": [AS_OF - pd.Timedelta(days=5)], "close_date": [pd.NaT], "deal_stage": ["Engaging"]}
    )
    frame = pd.concat([frame, opened], ignore_index=True)
    frame["is_won"] = frame["deal_stage"].eq("Won")
    frame["is_open"] = frame["close_date"].isna()
    frame["amount"] = 1000.0
    frame["list_price"] = np.nan
    frame["age_days"] = (AS_OF - frame["engage_date"]).dt.days.astype(float)
    frame["opportunity_id"] = [f"D{i}" for i in range(len(frame))]
    frame["product"], frame["sales_agent"] = "A", "Rep One"
    frame["manager"], frame["regional_office"] = "Boss", "East"
    return frame


def test_each_recent_deal_stands_for_future_ones_won_on_its_own_cycle() -> None:
    """A deal created ``age`` days before the as-of date stands for deals created ``91 - age`` days after it
    and every 91 days again up to the horizon; with every deal won on day 10, each future deal is won for
    sure in the slice holding its creation day + 10, and nowhere else."""
    deals = _deals()
    timing = CloseTimingModel().fit(deals, AS_OF)
    calendar = build_calendar(AS_OF)
    future = new_deals(deals, timing, AS_OF, calendar.slice_first, calendar.slice_last)
    horizon = calendar.horizon_days  # 2026-09-30: 183 days
    expected = sorted(
        RECENT_DAYS - age + RECENT_DAYS * k
        for age in (5, *TEMPLATE_AGES)  # the open deal was created in the window too
        for k in range(3)
        if RECENT_DAYS - age + RECENT_DAYS * k <= horizon
    )
    assert sorted(future.deals["created_offset"]) == expected
    for offset, chances in zip(future.deals["created_offset"], future.slice_probability, strict=True):
        won_on = offset + 10
        inside = (calendar.slice_first <= won_on) & (won_on <= calendar.slice_last)
        np.testing.assert_allclose(chances, inside.astype(float))


def test_the_whole_period_adds_won_open_and_new_deals(monkeypatch: pytest.MonkeyPatch) -> None:
    """forecast.csv: new_expected is each future deal's value x its chance inside the period, total_expected
    the sum of won so far, open and new; with no creation shock and sure wins the whole-period quantiles are
    exactly that sum."""
    deals = _deals()
    monkeypatch.setattr(new_deals_module, "creation_variance", lambda deals, as_of: 0.0)
    timing = CloseTimingModel().fit(deals, AS_OF)
    open_deals = deals[deals["is_open"]].assign(win_probability=0.0, stale=False)
    frame = forecast_revenue(open_deals, deals, timing, Dependence(), AS_OF, 200, seed=1)
    quarters = frame[frame["period_type"].eq("quarter") & frame["segment_type"].eq("all")].set_index(
        "period_start"
    )
    # Q1 (holds the as-of date): the four recent deals, won by 2026-03-21
    q1, q2, q3 = (quarters.loc[pd.Timestamp(d)] for d in ("2026-01-01", "2026-04-01", "2026-07-01"))
    assert (q1["closed_won"], q1["new_expected"], q1["total_p50"]) == (4000.0, 0.0, 4000.0)
    # created 1, 31, 61 and 71 days after the as-of date, won 10 days later inside Q2 (days 1-91); the one
    # created on day 86 (as the open deal was, 5 days before) is won on day 96, in Q3
    assert q2["new_expected"] == pytest.approx(4000.0)
    # with the copies 91 days on, won on days 102-172 (Q3); the third round (days 177, 183) is won beyond it
    assert q3["new_expected"] == pytest.approx(5000.0)
    for quarter in (q1, q2, q3):
        assert quarter["total_expected"] == pytest.approx(
            quarter["closed_won"] + quarter["expected"] + quarter["new_expected"]
        )
        assert quarter["total_p10"] == quarter["total_p50"] == quarter["total_p90"]
        assert quarter["total_p50"] == pytest.approx(quarter["total_expected"])
        assert quarter["p90"] == 0.0  # the open deals' own columns are unchanged: they win nothing
    by_rep = frame[frame["segment_type"].eq("sales_agent") & frame["period_type"].eq("quarter")]
    assert by_rep["new_expected"].tolist() == pytest.approx(quarters["new_expected"].tolist())


def test_creation_shock_is_the_over_dispersion_of_monthly_counts() -> None:
    """Counts that vary no more than chance give no creation shock; 10, 30, 10, 30 ... give
    ((var - mean) / mean^2) / 3 for a quarter."""
    steady = pd.DataFrame(
        {"engage_date": [pd.Timestamp("2025-04-01") + pd.DateOffset(months=m) for m in range(12)] * 20}
    )
    assert creation_variance(steady, AS_OF) == 0.0
    counts = [10, 30] * 6
    rows = [
        pd.Timestamp("2025-04-01") + pd.DateOffset(months=m) for m, n in enumerate(counts) for _ in range(n)
    ]
    uneven = pd.DataFrame({"engage_date": rows})
    mean, variance = 20.0, float(np.var(counts, ddof=1))
    assert creation_variance(uneven, AS_OF) == pytest.approx((variance - mean) / mean**2 / 3)
    summary = creation_summary(uneven, AS_OF)
    assert (summary["recent_created"], summary["previous_created"]) == (30 + 10 + 30, 10 + 30 + 10)


def test_quarter_actuals_are_the_revenue_won_in_each_complete_quarter() -> None:
    """The four complete quarters before the as-of quarter, per segment, zero where nothing was won."""
    deals = _deals()
    table = quarter_actuals(deals, AS_OF, ("all", "sales_agent"))
    alls = table[table["segment_type"].eq("all")].set_index("period_start")["won"]
    won = deals[deals["is_won"]]
    expected = {
        start: float(won.loc[won["close_date"].dt.to_period("Q").dt.start_time == start, "close_value"].sum())
        for start in pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"])
    }
    assert alls.to_dict() == expected
    assert expected[pd.Timestamp("2025-01-01")] == 0.0 and sum(expected.values()) == 100_000.0
    assert table[table["segment_type"].eq("sales_agent")]["won"].tolist() == list(expected.values())


def test_deals_not_yet_created_follow_the_quarter_seasonality() -> None:
    """Spread wins (ages 1..60) make room for timing to move: a heavier quarter's last day and third month
    move wins into them, and each future deal keeps its whole chance of being won."""
    deals = _deals()
    spread = np.arange(len(deals)) % 60 + 1
    deals["close_date"] = deals["engage_date"] + pd.to_timedelta(spread, unit="D")
    deals.loc[deals["is_open"], "close_date"] = pd.NaT
    timing = CloseTimingModel().fit(deals, AS_OF)
    calendar = build_calendar(AS_OF)
    plain = new_deals(deals, timing, AS_OF, calendar.slice_first, calendar.slice_last)
    seasonal = new_deals(
        deals,
        timing,
        AS_OF,
        calendar.slice_first,
        calendar.slice_last,
        QuarterSeasonality(index=(0.8, 1.0, 1.2), last_day=5.0),
    )
    june_30 = int(np.flatnonzero(calendar.slice_last == (pd.Timestamp("2026-06-30") - AS_OF).days)[0])
    assert seasonal.slice_probability[:, june_30].sum() > 2 * plain.slice_probability[:, june_30].sum() > 0
    # deals created early enough to be won inside the horizon keep their total chance
    early = plain.deals["created_offset"].to_numpy() <= 60
    np.testing.assert_allclose(
        seasonal.slice_probability[early].sum(axis=1), plain.slice_probability[early].sum(axis=1), rtol=1e-9
    )
