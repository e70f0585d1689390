"""Fit the size of the shared monthly shocks from how much more monthly won counts vary than independence allows.

For every complete calendar month before the as-of date (from the first month in which any deal closed),
take the deals open at the start of the month and their historical chance of being won inside it
(``CloseTimingModel.window_win_chance``). With independent deals the number won has mean ``E = sum q`` and
variance ``V = sum q (1 - q)``; a mean-1 shock with variance ``tau^2`` on every chance adds about
``tau^2 E^2``. The method-of-moments estimate is ``tau^2 = sum((W - E)^2 - V) / sum(E^2)`` (floored at 0),
once over the whole pipeline (market shock) and once per month and shock segment; the segment shock gets
what the segment-level over-dispersion adds beyond the market shock. Only data known at as-of is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel

MIN_OPEN_DEALS = 30
MAX_VARIANCE = 1.0


def _month_windows(deals: pd.DataFrame, as_of: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Complete calendar months ending by as-of, starting with the first month in which a deal closed."""
    first_close = deals["close_date"].min()
    if pd.isna(first_close):
        return []
    months = pd.period_range(first_close, as_of, freq="M")
    return [(m.start_time.normalize(), m.end_time.normalize()) for m in months
            if m.end_time.normalize() <= as_of]


def monthly_win_counts(deals: pd.DataFrame, as_of: pd.Timestamp, timing: CloseTimingModel,
                       segment_type: str) -> pd.DataFrame:
    """Per month and segment: deals open at its start, wins among them inside it, E and V under independence."""
    rows = []
    for start, end in _month_windows(deals, as_of):
        eve = start - pd.Timedelta(days=1)
        open_then = deals[(deals["engage_date"] <= eve) & (deals["close_date"].isna() | (deals["close_date"] > eve))]
        if len(open_then) < MIN_OPEN_DEALS:
            continue
        aged = open_then.assign(age_days=(eve - open_then["engage_date"]).dt.days.astype(float))
        chance = timing.window_win_chance(aged, 1, (end - eve).days)
        won = (aged["deal_stage"].eq("Won") & (aged["close_date"] <= end)).to_numpy()
        frame = pd.DataFrame({"segment": aged[segment_type].astype(str).to_numpy(), "won": won.astype(float),
                              "expected": chance, "variance": chance * (1 - chance)})
        grouped = frame.groupby("segment", sort=True).sum()
        grouped["month"] = start
        rows.append(grouped.reset_index())
    if not rows:
        return pd.DataFrame(columns=["segment", "won", "expected", "variance", "month"])
    return pd.concat(rows, ignore_index=True)


def _excess_variance(counts: pd.DataFrame) -> float:
    """Method-of-moments shock variance from won counts, expectations and independent variances."""
    if counts.empty or float((counts["expected"] ** 2).sum()) <= 0:
        return 0.0
    excess = ((counts["won"] - counts["expected"]) ** 2 - counts["variance"]).sum()
    return float(np.clip(excess / (counts["expected"] ** 2).sum(), 0.0, MAX_VARIANCE))


def fit_dependence(deals: pd.DataFrame, as_of: pd.Timestamp, timing: CloseTimingModel,
                   segment_type: str = "regional_office") -> Dependence:
    """Market-wide and per-segment monthly shock variances fitted on the history before ``as_of``."""
    by_segment = monthly_win_counts(deals, as_of, timing, segment_type)
    whole = by_segment.groupby("month", sort=True)[["won", "expected", "variance"]].sum().reset_index()
    market = _excess_variance(whole)
    segment_total = _excess_variance(by_segment)
    segment = max(0.0, segment_total - market)
    details = {
        "method": "method of moments on monthly won counts of deals open at each month start vs the "
                  "independent-Bernoulli variance (tau^2 = sum((W-E)^2 - V) / sum(E^2))",
        "months": int(len(whole)),
        "segment_windows": int(len(by_segment)),
        "market_dispersion_ratio": round(float(((whole["won"] - whole["expected"]) ** 2).sum()
                                               / max(whole["variance"].sum(), 1e-12)), 4) if len(whole) else None,
        "segment_variance_total": round(segment_total, 6),
    }
    return Dependence(round(market, 6), round(segment, 6), segment_type, details)
