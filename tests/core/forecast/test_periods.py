"""Forecast periods and the day slices that make them up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.forecast.periods import build_calendar


def test_quarter_end_as_of_periods_and_slices() -> None:
    calendar = build_calendar(pd.Timestamp("2017-12-31"))
    periods = calendar.periods
    assert periods["period_type"].value_counts().to_dict() == {"week": 14, "month": 7, "quarter": 3}
    first_week = periods[periods["period_type"].eq("week")].iloc[0]
    assert (first_week["period_start"], first_week["period_end"]) == (
        pd.Timestamp("2017-12-25"),
        pd.Timestamp("2017-12-31"),
    )
    quarters = periods[periods["period_type"].eq("quarter")]
    assert quarters["period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2017-10-01",
        "2018-01-01",
        "2018-04-01",
    ]
    assert calendar.slice_first[0] == 1
    assert calendar.horizon_days == (pd.Timestamp("2018-06-30") - pd.Timestamp("2017-12-31")).days
    # slices tile the horizon without gaps
    np.testing.assert_array_equal(calendar.slice_first[1:], calendar.slice_last[:-1] + 1)
    # the quarter containing as-of has no future days; the next quarter is covered exactly
    q_rows = calendar.membership[periods.index[periods["period_type"].eq("quarter")]]
    assert q_rows[0].sum() == 0
    covered = calendar.slice_last[q_rows[1] > 0] - calendar.slice_first[q_rows[1] > 0] + 1
    assert covered.sum() == 90


def test_mid_month_slices_split_at_weeks_and_months() -> None:
    calendar = build_calendar(pd.Timestamp("2024-03-13"))  # a Wednesday
    assert calendar.slice_first[0] == 1 and calendar.slice_last[0] == 4  # Thu..Sun
    assert calendar.slice_month[0] == 0
    march_31 = (pd.Timestamp("2024-03-31") - pd.Timestamp("2024-03-13")).days
    assert march_31 in calendar.slice_last
    weeks = calendar.periods["period_type"].eq("week").to_numpy()
    # every week period is an exact union of slices
    for row in np.flatnonzero(weeks):
        days = (calendar.slice_last - calendar.slice_first + 1)[calendar.membership[row] > 0].sum()
        start = (calendar.periods.loc[row, "period_start"] - pd.Timestamp("2024-03-13")).days
        assert days == (7 if start > 0 else 4)


def test_the_headline_quarter_is_the_next_one_in_a_quarters_last_two_weeks() -> None:
    """The quarter the app leads with, the attention plan works for and What Changed replays: MavenTech's
    as-of date, 2017-12-31, leads with 2018 Q1."""
    from core.forecast.periods import headline_chance, headline_quarter

    assert str(headline_quarter(pd.Timestamp("2017-12-31"))) == "2018Q1"
    assert str(headline_quarter(pd.Timestamp("2017-12-18"))) == "2018Q1"  # 13 days left
    assert str(headline_quarter(pd.Timestamp("2017-12-17"))) == "2017Q4"  # 14 days left
    assert headline_chance(pd.Timestamp("2017-12-31")) == "p_close_next_quarter"
    assert headline_chance(pd.Timestamp("2017-11-30")) == "p_close_in_quarter"
