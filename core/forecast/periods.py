"""Forecast periods (weeks, months, quarters from the one containing as-of) and the day slices they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NEAR_QUARTER_END_DAYS = 14  # with fewer days of the quarter left, the quarter a leader works on is the next
WEEKS_AHEAD = 13
MONTHS_AHEAD = 6
QUARTERS_AHEAD = 2


@dataclass(frozen=True)
class ForecastCalendar:
    """Periods to report and the disjoint day slices (offsets from as-of) the simulation works on.

    ``periods``: period_type, period_start, period_end (inclusive dates). ``slice_first``/``slice_last``:
    day offsets after as-of (1 = the day after) of each slice; ``slice_month``: index of the calendar month
    of each slice; ``membership``: periods x slices 0/1 matrix (which slices make up each period).
    """

    as_of: pd.Timestamp
    periods: pd.DataFrame
    slice_first: np.ndarray
    slice_last: np.ndarray
    slice_month: np.ndarray
    membership: np.ndarray

    @property
    def horizon_days(self) -> int:
        """Last day offset the simulation covers."""
        return int(self.slice_last[-1]) if len(self.slice_last) else 0


def build_periods(as_of: pd.Timestamp) -> pd.DataFrame:
    """The reported periods: the week, month and quarter containing as-of plus 13, 6 and 2 ahead."""
    rows = []
    week0 = as_of - pd.Timedelta(days=as_of.weekday())
    for k in range(WEEKS_AHEAD + 1):
        start = week0 + pd.Timedelta(weeks=k)
        rows.append(("week", start, start + pd.Timedelta(days=6)))
    month0 = as_of.to_period("M")
    for k in range(MONTHS_AHEAD + 1):
        month = month0 + k
        rows.append(("month", month.start_time.normalize(), month.end_time.normalize()))
    quarter0 = as_of.to_period("Q")
    for k in range(QUARTERS_AHEAD + 1):
        quarter = quarter0 + k
        rows.append(("quarter", quarter.start_time.normalize(), quarter.end_time.normalize()))
    return pd.DataFrame(rows, columns=["period_type", "period_start", "period_end"])


def build_calendar(as_of: pd.Timestamp) -> ForecastCalendar:
    """Periods plus the day slices after as-of cut at every period boundary."""
    as_of = pd.Timestamp(as_of).normalize()
    periods = build_periods(as_of)
    horizon_end = periods["period_end"].max()
    cuts = {as_of + pd.Timedelta(days=1), horizon_end + pd.Timedelta(days=1)}
    for column in ("period_start", "period_end"):
        shift = 0 if column == "period_start" else 1
        for stamp in periods[column]:
            boundary = stamp + pd.Timedelta(days=shift)
            if as_of < boundary <= horizon_end:
                cuts.add(boundary)
    month_starts = pd.period_range(as_of + pd.Timedelta(days=1), horizon_end, freq="M").start_time.normalize()
    cuts.update(s for s in month_starts if as_of < s <= horizon_end)
    edges = sorted(cuts)
    first = np.array([(e - as_of).days for e in edges[:-1]], dtype=np.int64)
    last = np.array([(e - as_of).days - 1 for e in edges[1:]], dtype=np.int64)
    slice_start_dates = [as_of + pd.Timedelta(days=int(d)) for d in first]
    month_index = pd.Series([d.to_period("M") for d in slice_start_dates])
    month_codes = pd.factorize(month_index, sort=True)[0].astype(np.int64)
    starts = periods["period_start"].map(lambda d: (d - as_of).days).to_numpy()
    ends = periods["period_end"].map(lambda d: (d - as_of).days).to_numpy()
    membership = ((first[None, :] >= starts[:, None]) & (last[None, :] <= ends[:, None])).astype(np.float64)
    return ForecastCalendar(as_of, periods, first, last, month_codes, membership)


def headline_quarter(as_of: pd.Timestamp) -> pd.Period:
    """The quarter a leader works on at ``as_of``: the one holding it, or the next when fewer than
    ``NEAR_QUARTER_END_DAYS`` days of it remain."""
    quarter = as_of.to_period("Q")
    days_left = (quarter.end_time.normalize() - as_of).days
    return quarter + 1 if days_left < NEAR_QUARTER_END_DAYS else quarter


def headline_chance(as_of: pd.Timestamp) -> str:
    """The predictions' column of :func:`headline_quarter`: ``p_close_in_quarter`` or
    ``p_close_next_quarter``."""
    return "p_close_in_quarter" if headline_quarter(as_of) == as_of.to_period("Q") else "p_close_next_quarter"
