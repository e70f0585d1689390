"""Quarter seasonality of wins: how much more (or less) often deals are won in month 1, 2 and 3 of a quarter.

The time-to-close curves know a deal's age, not the calendar; sales teams push deals into quarter ends
(MavenTech wins almost nothing in the first month of a quarter). The index for month-of-quarter ``k`` is
``(won_k + c) / (expected_k + c)`` over the complete months before as-of, where ``expected`` is what the
age-only curves predict for the deals open at each month start and ``c`` = 10 pseudo-wins shrinks it to 1
when history is short. A deal's remaining win-time distribution is then reweighted month by month by the
index and renormalised, so its total win probability is unchanged; only *when* it is won moves.

Inside the third month the quarter's last day may weigh more (teams book what they can before the quarter
closes): ``last_day`` is that day's wins per day against the month's other days, over the complete quarters
before as-of (``(W_last + c) / (E_last + c)``, E_last the last days' wins at the other days' rate, c = 10
pseudo-wins). The third month's index is then shared out between its other days and its last day in that
ratio, so the month keeps its total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
    last_day: float = 1.0  # the quarter's last day against the third month's other days, per day
    last_day_won: tuple[float, float] = (0.0, 0.0)  # wins on quarters' last days, and at the other days' rate

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "index_month_1_2_3": [round(v, 4) for v in self.index],
            "won": [round(v, 1) for v in self.won],
            "expected": [round(v, 1) for v in self.expected],
            "pseudo_wins": PSEUDO_WINS,
            "last_day": round(self.last_day, 4),
            "last_day_won_and_expected": [round(v, 1) for v in self.last_day_won],
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


def fit_last_day(
    seasonality: QuarterSeasonality, deals: pd.DataFrame, as_of: pd.Timestamp
) -> QuarterSeasonality:
    """``seasonality`` with its quarter's-last-day weight from the wins of the complete quarters before
    ``as_of`` (1 without any)."""
    won = deals.loc[deals["is_won"] & deals["close_date"].notna(), "close_date"]
    quarter_end = won.dt.to_period("Q").dt.end_time.dt.normalize()
    complete = quarter_end <= as_of
    third = (won.dt.month - 1) % 3 == 2
    if not complete.any():
        return seasonality
    on_last = float((complete & won.eq(quarter_end)).sum())
    other = float((complete & third & won.ne(quarter_end)).sum())
    ends = quarter_end[complete].drop_duplicates()
    other_days = float((ends.dt.day - 1).sum())  # the third months' days before their last
    expected = other / max(other_days, 1.0) * len(ends)  # the last days at the other days' rate
    weight = (on_last + PSEUDO_WINS) / (expected + PSEUDO_WINS)
    return replace(seasonality, last_day=float(weight), last_day_won=(on_last, expected))


def _segments(
    as_of: pd.Timestamp, horizon_days: int, seasonality: QuarterSeasonality
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day pieces after as-of up to the horizon in which the seasonal weight is constant: each month, and
    a third month split into its other days and its last day. The pieces' first and last day offsets and
    weights, and the last day offset of each month they lie in."""
    first, last, quarter = _month_edges(as_of, horizon_days)
    weights = np.asarray(seasonality.index)[quarter]
    pieces = []
    for a, b, k, w in zip(first, last, quarter, weights, strict=True):
        if k != 2 or seasonality.last_day == 1.0:
            pieces.append((a, b, w))
            continue
        days = int((as_of + pd.Timedelta(days=int(b))).day)  # the month's length
        body = w * days / (days - 1 + seasonality.last_day)  # the month keeps its index on a flat curve
        if a < b:
            pieces.append((a, b - 1, body))
        pieces.append((b, b, body * seasonality.last_day))
    a, b, w = (np.array(column) for column in zip(*pieces, strict=True))
    return a.astype(np.int64), b.astype(np.int64), w.astype(float), last


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

    Every window must lie inside one calendar month. Reweighted by the month-of-quarter index (and a third
    month's last day by ``last_day``) and renormalised over the deal's whole remaining distribution (deals x
    windows).
    """
    horizon = max(int(timing.max_close_age_) + 1, int(np.max(last)) if len(last) else 1)
    shares = reweighted_shares(
        lambda offsets: timing.win_time_shares(deals, offsets), as_of, seasonality, first, last, horizon
    )
    return np.clip(shares, 0.0, 1.0)


def reweighted_shares(
    cumulative: Callable[[np.ndarray], np.ndarray],
    as_of: pd.Timestamp,
    seasonality: QuarterSeasonality,
    first: np.ndarray,
    last: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """Seasonally reweighted share of each deal's win mass inside day windows [first, last] after as-of:
    ``cumulative(offsets)`` is its win mass by each day offset (deals x offsets), all of it by ``horizon``.
    Each window (inside one calendar month) is cut at the pieces of constant weight (``_segments``)."""
    first, last = np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    p_first, p_last, p_weight, m_last = _segments(as_of, horizon, seasonality)
    normaliser = np.diff(cumulative(np.concatenate([[0], p_last])), axis=1) @ p_weight
    window_month = np.searchsorted(m_last, first)
    if len(first) and (
        (window_month >= len(m_last)).any()
        or (last > m_last[np.minimum(window_month, len(m_last) - 1)]).any()
    ):
        raise ValueError("every window must lie inside one calendar month")
    cut_first, cut_last, cut_weight, cut_window = [], [], [], []
    for w, (a, b) in enumerate(zip(first, last, strict=True)):
        for k in np.flatnonzero((p_first <= b) & (p_last >= a)):
            cut_first.append(max(a, p_first[k]))
            cut_last.append(min(b, p_last[k]))
            cut_weight.append(p_weight[k])
            cut_window.append(w)
    cut_first, cut_last = np.array(cut_first, dtype=np.int64), np.array(cut_last, dtype=np.int64)
    mass = cumulative(np.concatenate([cut_first - 1, cut_last]))
    cut_inside = (mass[:, len(cut_first) :] - mass[:, : len(cut_first)]) * np.array(cut_weight)[None, :]
    into = np.zeros((len(cut_window), len(first)))
    into[np.arange(len(cut_window)), cut_window] = 1.0
    inside = cut_inside @ into  # each window's weighted pieces added up
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(normaliser[:, None] > 1e-12, inside / normaliser[:, None], 0.0)


def seasonal_median_days(
    timing: CloseTimingModel, deals: pd.DataFrame, as_of: pd.Timestamp, seasonality: QuarterSeasonality
) -> np.ndarray:
    """Days after as-of to the median of each deal's seasonally reweighted remaining win time (NaN if none).

    The piece (a month, or a third month's other days and last day) holding the median comes from the
    reweighted shares; inside it the day follows the curves, since the reweighting is constant within it.
    """
    m_first, m_last, _, _ = _segments(as_of, int(timing.max_close_age_) + 1, seasonality)
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
