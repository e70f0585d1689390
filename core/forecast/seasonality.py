"""Quarter seasonality of wins: how much more (or less) often deals are won in month 1, 2 and 3 of a quarter.

The time-to-close curves know a deal's age, not the calendar; sales teams push deals into quarter ends
(MavenTech wins almost nothing in the first month of a quarter). The index for month-of-quarter ``k`` is
``(won_k + c) / (expected_k + c)`` over the complete months before as-of, where ``expected`` is what the
age-only curves predict for the deals open at each month start and ``c`` = 10 pseudo-wins shrinks it to 1
when history is short. A deal's remaining win-time distribution is then reweighted month by month by the
index and renormalised, so its total win probability is unchanged; only *when* it is won moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.forecast.timing import CloseTimingModel

PSEUDO_WINS = 10.0


@dataclass(frozen=True)
class QuarterSeasonality:
    """Win-hazard multipliers for month 1, 2 and 3 of a quarter, with the counts they came from."""

    index: tuple[float, float, float] = (1.0, 1.0, 1.0)
    won: tuple[float, float, float] = (0.0, 0.0, 0.0)
    expected: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "index_month_1_2_3": [round(v, 4) for v in self.index],
            "won": [round(v, 1) for v in self.won],
            "expected": [round(v, 1) for v in self.expected],
            "pseudo_wins": PSEUDO_WINS,
        }


def month_of_quarter(months: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """0, 1 or 2 for the first, second and third month of a quarter."""
    return (pd.DatetimeIndex(months).month.to_numpy() - 1) % 3


def fit_quarter_seasonality(monthly: pd.DataFrame) -> QuarterSeasonality:
    """Index from whole-pipeline monthly counts (columns month, won, expected)."""
    if monthly.empty:
        return QuarterSeasonality()
    k = month_of_quarter(monthly["month"])
    won = np.bincount(k, weights=monthly["won"].to_numpy(dtype=float), minlength=3)
    expected = np.bincount(k, weights=monthly["expected"].to_numpy(dtype=float), minlength=3)
    index = (won + PSEUDO_WINS) / (expected + PSEUDO_WINS)
    return QuarterSeasonality(
        tuple(float(v) for v in index), tuple(float(v) for v in won), tuple(float(v) for v in expected)
    )


def _month_edges(as_of: pd.Timestamp, horizon_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last day offsets of each month after as-of up to the horizon, and its month-of-quarter."""
    end = as_of + pd.Timedelta(days=max(horizon_days, 1))
    months = pd.period_range(as_of + pd.Timedelta(days=1), end, freq="M")
    first = np.array([max((m.start_time.normalize() - as_of).days, 1) for m in months], dtype=np.int64)
    last = np.array([(m.end_time.normalize() - as_of).days for m in months], dtype=np.int64)
    return first, last, month_of_quarter(months.start_time)


def seasonal_window_shares(
    timing: CloseTimingModel,
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    seasonality: QuarterSeasonality,
    first: np.ndarray,
    last: np.ndarray,
) -> np.ndarray:
    """Share of each deal's remaining win-time distribution inside day windows [first, last] after as-of.

    Every window must lie inside one calendar month. Reweighted by the month-of-quarter index and
    renormalised over the deal's whole remaining distribution (deals x windows).
    """
    first, last = np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    horizon = max(int(timing.max_close_age_) + 1, int(last.max()) if len(last) else 1)
    m_first, m_last, m_quarter = _month_edges(as_of, horizon)
    weights = np.asarray(seasonality.index)[m_quarter]
    month_shares = np.diff(timing.win_time_shares(deals, np.concatenate([[0], m_last])), axis=1)
    normaliser = month_shares @ weights
    window_month = np.searchsorted(m_last, first)
    if len(first) and (
        (window_month >= len(m_last)).any()
        or (last > m_last[np.minimum(window_month, len(m_last) - 1)]).any()
    ):
        raise ValueError("every window must lie inside one calendar month")
    window_shares = timing.win_time_shares(deals, np.concatenate([first - 1, last]))
    inside = window_shares[:, len(first) :] - window_shares[:, : len(first)]
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(
            normaliser[:, None] > 1e-12, inside * weights[window_month][None, :] / normaliser[:, None], 0.0
        )
    return np.clip(scaled, 0.0, 1.0)


def seasonal_median_days(
    timing: CloseTimingModel, deals: pd.DataFrame, as_of: pd.Timestamp, seasonality: QuarterSeasonality
) -> np.ndarray:
    """Days after as-of to the median of each deal's seasonally reweighted remaining win time (NaN if none).

    The month holding the median comes from the reweighted month shares; inside it the day follows the
    curves, since the reweighting is constant within a month.
    """
    m_first, m_last, _ = _month_edges(as_of, int(timing.max_close_age_) + 1)
    shares = seasonal_window_shares(timing, deals, as_of, seasonality, m_first, m_last)
    total = shares.sum(axis=1)
    cumulative = np.cumsum(shares, axis=1)
    month = np.minimum((cumulative < 0.5 * total[:, None] - 1e-12).sum(axis=1), len(m_first) - 1)
    rows = np.arange(len(deals))
    before = np.where(month > 0, cumulative[rows, np.maximum(month - 1, 0)], 0.0)
    inside = shares[rows, month]
    with np.errstate(invalid="ignore", divide="ignore"):
        in_month = np.clip(np.where(inside > 0, (0.5 * total - before) / inside, 0.0), 0.0, 1.0)
    start = m_first[month] - 1
    opened, closed, end = (
        timing.won_by(deals, d) for d in (start, m_last[month], np.full(len(deals), 10**6))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(end - opened > 1e-12, in_month * (closed - opened) / (end - opened), 0.0)
    days = timing.days_to_share(deals, start, fraction)
    return np.where(total > 1e-12, days, np.nan)
