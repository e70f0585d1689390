"""The per-deal prediction table (latest_predictions.csv): value, probability, timing, risk and drivers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.history import STATUS_COLUMNS
from core.forecast.forecast import deal_values
from core.forecast.seasonality import QuarterSeasonality, seasonal_median_days, seasonal_window_shares
from core.forecast.timing import CloseTimingModel
from core.outputs import PREDICTION_COLUMNS
from core.risk import UNSCORED_TIER, data_flags, score_risk


def quarter_windows(as_of: pd.Timestamp) -> tuple[tuple[int, int], tuple[int, int]]:
    """Day offsets after as-of covering the rest of as-of's quarter and the whole next quarter."""
    this_quarter = as_of.to_period("Q")
    this_end = (this_quarter.end_time.normalize() - as_of).days
    next_quarter = this_quarter + 1
    next_start = (next_quarter.start_time.normalize() - as_of).days
    next_end = (next_quarter.end_time.normalize() - as_of).days
    return (1, this_end), (next_start, next_end)


def _month_pieces(first: int, last: int, as_of: pd.Timestamp) -> list[tuple[int, int]]:
    """Split day offsets [first, last] after as-of at calendar month boundaries."""
    pieces = []
    start = first
    while start <= last:
        month_end = ((as_of + pd.Timedelta(days=start)).to_period("M").end_time.normalize() - as_of).days
        pieces.append((start, min(month_end, last)))
        start = min(month_end, last) + 1
    return pieces


def close_timing(
    open_deals: pd.DataFrame,
    win_probability: np.ndarray,
    timing: CloseTimingModel,
    as_of: pd.Timestamp,
    seasonality: QuarterSeasonality | None = None,
    factors: tuple[float, ...] = (1.0,),
) -> pd.DataFrame:
    """p_close_in_quarter, p_close_next_quarter and expected_close_date for each open deal.

    The quarter chances use the same seasonality and months-ahead realisation ``factors`` as the
    forecast (so they add up to its expectation) and never exceed the win probability together;
    the expected close date is the median of the seasonally reweighted remaining win time.
    """
    seasonality = seasonality or QuarterSeasonality()
    first_month = (as_of + pd.Timedelta(days=1)).to_period("M")
    shares = []
    for first, last in quarter_windows(as_of):
        pieces = _month_pieces(first, last, as_of)
        if not pieces:
            shares.append(np.zeros(len(open_deals)))
            continue
        window = seasonal_window_shares(
            timing,
            open_deals,
            as_of,
            seasonality,
            np.array([p[0] for p in pieces]),
            np.array([p[1] for p in pieces]),
        )
        ahead = [((as_of + pd.Timedelta(days=p[0])).to_period("M") - first_month).n for p in pieces]
        scale = np.asarray(factors, dtype=float)[np.minimum(ahead, len(factors) - 1)]
        shares.append(window @ scale)
    stale = open_deals["stale"].to_numpy(dtype=bool)
    in_quarter = np.where(stale, 0.0, np.minimum(win_probability * shares[0], win_probability))
    next_quarter = np.where(stale, 0.0, np.minimum(win_probability * shares[1], win_probability - in_quarter))
    days = seasonal_median_days(timing, open_deals, as_of, seasonality)
    days = np.where(stale, np.nan, days)
    close_date = pd.Series(pd.to_datetime(as_of) + pd.to_timedelta(days, unit="D"), index=open_deals.index)
    return pd.DataFrame(
        {
            "p_close_in_quarter": in_quarter,
            "p_close_next_quarter": next_quarter,
            "expected_close_date": close_date,
        },
        index=open_deals.index,
    )


def deal_predictions(
    open_deals: pd.DataFrame,
    all_deals: pd.DataFrame,
    win_probability: pd.Series,
    drivers: pd.DataFrame,
    timing: CloseTimingModel,
    as_of: pd.Timestamp,
    seasonality: QuarterSeasonality | None = None,
    factors: tuple[float, ...] = (1.0,),
    unscored: pd.Index | None = None,
) -> pd.DataFrame:
    """One row per open deal (PREDICTION_COLUMNS), highest risk score first (then value at risk, id).

    ``win_probability`` and ``drivers`` are indexed by opportunity_id; every open deal must be scored except
    those in ``unscored`` (deals the history cannot score: ``scored`` False, and blank probability, risk
    score, expected revenue, value at risk, close chances and drivers; tier "Unscored").
    ``seasonality`` and the months-ahead realisation ``factors`` are those the forecast uses.
    """
    ids = open_deals["opportunity_id"]
    scored = ~ids.isin(unscored) if unscored is not None else pd.Series(True, index=ids.index)
    missing = scored & ~ids.isin(win_probability.index)
    if missing.any():
        raise ValueError(f"the model did not score open deal {ids[missing].iloc[0]}")
    deals = open_deals.copy()
    for column in STATUS_COLUMNS:  # blank without a field history (core.data.history.status_at)
        if column not in deals.columns:
            deals[column] = np.nan
    deals["scored"] = scored.to_numpy()
    deals["win_probability"] = win_probability.reindex(ids).where(scored.to_numpy()).to_numpy(dtype=float)
    values = deal_values(deals, all_deals)
    deals["deal_value"] = values["deal_value"].to_numpy()
    deals["value_source"] = values["value_source"].to_numpy()
    deals["expected_revenue"] = deals["deal_value"] * deals["win_probability"]
    live = deals[deals["scored"]]
    risk = score_risk(live, timing.median_won_age_, timing.p90_won_age_)
    risk = risk.reindex(deals.index).assign(data_flags=data_flags(deals))
    risk["risk_tier"] = risk["risk_tier"].where(deals["scored"], UNSCORED_TIER)
    deals = deals.join(risk)
    deals = deals.join(
        close_timing(live, live["win_probability"].to_numpy(), timing, as_of, seasonality, factors)
    )
    deals["early_stage"] = deals["deal_stage"].eq("Prospecting")
    driver_columns = [c for c in PREDICTION_COLUMNS if c.startswith("driver_")]
    aligned = drivers.reindex(ids)
    for column in driver_columns:
        deals[column] = aligned[column].to_numpy() if column in aligned.columns else ""
    deals = deals.sort_values(
        ["risk_score", "value_at_risk", "opportunity_id"], ascending=[False, False, True], kind="mergesort"
    )
    return deals[list(PREDICTION_COLUMNS)].reset_index(drop=True)
