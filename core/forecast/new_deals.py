"""Deals not yet created: the revenue a period gets from deals created after the as-of date and won inside
it (ARCHITECTURE 4: ``new_expected`` and the ``total_*`` columns of forecast.csv).

The coming weeks create deals like the last ``RECENT_DAYS`` did: every deal created (engaged) in the
``RECENT_DAYS`` up to the as-of date stands for one future deal created the same number of days after it,
and again every ``RECENT_DAYS`` up to the forecast horizon, with the template's rep, manager, office,
product and value (``deal_values``: its amount, else list price x realised ratio, else the median won
value). A future deal created ``d`` days after the as-of date is won inside the day slice [a, b] with the
time-to-close curves' chance from creation, ``CIF_won(b - d) - CIF_won(a - 1 - d)`` (by product, shrunk to
the pooled curve; deals still open count as censored): win rate and cycle time both come from the history.
The quarter seasonality reweights *when* each is won as it does for open deals (``reweighted_shares``: month
of the quarter, and the quarter's last day); the open pipeline's months-ahead realisation factors are not
applied.

Uncertainty: in each simulation each future deal is won or not, under the same market and office shocks as
the open pipeline, times one creation shock (mean-1 gamma). Its variance is the over-dispersion of the
monthly creation counts of the last year, ``(variance - mean) / mean^2`` (0 when counts vary no more than
chance), divided by 3: a quarter is three months whose counts vary independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.forecast.seasonality import QuarterSeasonality, reweighted_shares
from core.forecast.timing import CloseTimingModel

RECENT_DAYS = 91
CREATION_MONTHS = 12


@dataclass(frozen=True)
class NewDeals:
    """Future deals: one row each (the template's segment columns and ``created_offset``, days after
    as-of), their chance of being won inside each day slice, and the creation shock's variance."""

    deals: pd.DataFrame
    slice_probability: np.ndarray  # deals x slices
    creation_variance: float


def templates(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Deals created in the ``RECENT_DAYS`` up to ``as_of``, each with ``created_offset``: days after
    ``as_of`` its first future copy is created (1 .. RECENT_DAYS)."""
    engaged = deals["engage_date"]
    recent = deals[(engaged > as_of - pd.Timedelta(days=RECENT_DAYS)) & (engaged <= as_of)]
    return recent.assign(created_offset=(recent["engage_date"] - as_of).dt.days + RECENT_DAYS)


def creation_variance(deals: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """The creation shock's variance: over-dispersion of the last ``CREATION_MONTHS`` complete months'
    creation counts, for a quarter (see the module docstring); 0 with fewer than 3 such months."""
    if deals["engage_date"].isna().all():
        return 0.0
    last = as_of.to_period("M") - (0 if as_of == as_of.to_period("M").end_time.normalize() else 1)
    first = max(last - (CREATION_MONTHS - 1), deals["engage_date"].min().to_period("M"))
    months = pd.period_range(first, last, freq="M")
    if len(months) < 3:
        return 0.0
    counts = deals["engage_date"].dt.to_period("M").value_counts().reindex(months, fill_value=0)
    mean = float(counts.mean())
    if mean <= 0:
        return 0.0
    over = (float(counts.var(ddof=1)) - mean) / mean**2
    return float(np.clip(over, 0.0, 1.0)) / 3.0


def new_deals(
    deals: pd.DataFrame,
    timing: CloseTimingModel,
    as_of: pd.Timestamp,
    slice_first: np.ndarray,
    slice_last: np.ndarray,
    seasonality: QuarterSeasonality | None = None,
) -> NewDeals:
    """The future deals up to the last slice and their chance of being won in each slice."""
    horizon = int(slice_last[-1]) if len(slice_last) else 0
    recent = templates(deals, as_of)
    copies = [
        recent.assign(created_offset=recent["created_offset"] + RECENT_DAYS * k)
        for k in range(-(-horizon // RECENT_DAYS))
    ]
    future = pd.concat(copies, ignore_index=True) if copies else recent.iloc[:0]
    future = future[future["created_offset"] <= horizon].reset_index(drop=True)
    created = future["created_offset"].to_numpy(dtype=np.int64)[:, None]
    reach = horizon + int(timing.max_close_age_) + 1  # every future deal's whole win mass

    def won_by(offsets: np.ndarray) -> np.ndarray:
        return timing.won_by_age(future, np.asarray(offsets)[None, :] - created)

    shares = reweighted_shares(
        won_by, as_of, seasonality or QuarterSeasonality(), slice_first, slice_last, reach
    )
    probability = np.clip(shares * won_by(np.array([reach])), 0.0, 1.0)
    return NewDeals(future, probability, creation_variance(deals, as_of))


PAST_QUARTERS = 4


def creation_summary(deals: pd.DataFrame, as_of: pd.Timestamp) -> dict:
    """``simulation.new_deals`` in the metadata: how many deals were created in the last ``RECENT_DAYS``
    and the ``RECENT_DAYS`` before (what the forecast of deals not yet created rests on), and the creation
    shock's variance."""
    before = as_of - pd.Timedelta(days=RECENT_DAYS)
    return {
        "method": "deals not yet created: each deal created in the last recent_days stands for one created "
        "the same number of days after the as-of date (and every recent_days again up to the horizon), with "
        "its rep, product and value; its chance of being won in each day comes from the time-to-close "
        "curves from creation; one creation shock per simulation (mean-1 gamma, creation_variance)",
        "recent_days": RECENT_DAYS,
        "recent_created": len(templates(deals, as_of)),
        "previous_created": len(templates(deals, before)),
        "creation_variance": round(creation_variance(deals, as_of), 6),
    }


def quarter_actuals(deals: pd.DataFrame, as_of: pd.Timestamp, segment_types: tuple[str, ...]) -> pd.DataFrame:
    """quarter_actuals.csv: revenue won in each of the ``PAST_QUARTERS`` complete quarters before the one
    holding ``as_of``, per segment (``segment_types``, "all" first), to set the forecast beside."""
    first = (as_of.to_period("Q") - PAST_QUARTERS).start_time.normalize()
    end = as_of.to_period("Q").start_time.normalize()
    won = deals[deals["is_won"] & (deals["close_date"] >= first) & (deals["close_date"] < end)]
    won = won.assign(period_start=won["close_date"].dt.to_period("Q").dt.start_time.dt.normalize())
    frames = []
    for segment_type in segment_types:
        key = pd.Series("All", index=won.index) if segment_type == "all" else won[segment_type].astype(str)
        sums = won.groupby(["period_start", key.rename("segment")])["close_value"].sum().reset_index()
        frames.append(sums.assign(segment_type=segment_type))
    quarters = pd.period_range(first, end - pd.Timedelta(days=1), freq="Q")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    every = pd.DataFrame({"period_start": quarters.start_time.normalize()}).merge(
        table[["segment_type", "segment"]].drop_duplicates(), how="cross"
    )
    table = every.merge(table, how="left", on=["period_start", "segment_type", "segment"])
    table = table.fillna({"close_value": 0.0}).rename(columns={"close_value": "won"})
    table["period_end"] = table["period_start"].dt.to_period("Q").dt.end_time.dt.normalize()
    order = {name: i for i, name in enumerate(segment_types)}
    table = table.assign(_st=table["segment_type"].map(order))
    table = table.sort_values(["period_start", "_st", "segment"], kind="mergesort")
    return table[["period_start", "period_end", "segment_type", "segment", "won"]].reset_index(drop=True)
