"""Point-in-time win rates: for each (entity, date) query, the smoothed win rate of that entity's deals
closed strictly before the date. Nothing closed on or after the query date is ever counted.

Rates from closed deals are biased by right-censoring (fast-closing outcomes, usually losses, are
over-represented among recent closes). The bias is the same in training snapshots and at scoring, because
both go through :func:`win_rates_before`; the model learns to read the biased rate consistently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _cumulative_outcomes(closed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Running counts of closed and won deals per key, one row per (key, close_date)."""
    daily = (
        closed.groupby([*keys, "close_date"], sort=True, observed=True)["is_won"]
        .agg(closed_count="size", won_count="sum")
        .reset_index()
    )
    if keys:
        daily[["closed_count", "won_count"]] = daily.groupby(keys, sort=False)[
            ["closed_count", "won_count"]
        ].cumsum()
    else:
        daily[["closed_count", "won_count"]] = daily[["closed_count", "won_count"]].cumsum()
    return daily.sort_values("close_date", kind="stable").reset_index(drop=True)


def outcome_counts_before(
    closed: pd.DataFrame, queries: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Closed and won counts per query row among ``closed`` deals with equal keys and close_date < query date.

    ``closed`` has ``keys`` + ``close_date`` + ``is_won``; ``queries`` has ``keys`` + ``snapshot_date``.
    Key columns must be integer codes (fast, exact joins).
    """
    if closed.empty or queries.empty:
        return np.zeros(len(queries)), np.zeros(len(queries))
    dates = queries["snapshot_date"].to_numpy()
    if (dates == dates[0]).all():  # scoring: every query on the as-of date
        return _counts_on_one_date(closed, queries, keys, dates[0])
    return _counts_on_each_date(closed, queries, keys)


def _counts_on_one_date(
    closed: pd.DataFrame, queries: pd.DataFrame, keys: list[str], date: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`outcome_counts_before` when every query has the same date: one group-by, no as-of join."""
    before = closed.loc[closed["close_date"].to_numpy() < date]
    if not keys:
        won = float(before["is_won"].sum())
        return np.full(len(queries), float(len(before))), np.full(len(queries), won)
    counts = before.groupby(keys, observed=True)["is_won"].agg(closed_count="size", won_count="sum")
    joined = queries[keys].merge(counts.reset_index(), on=keys, how="left")
    closed_count = joined["closed_count"].to_numpy(dtype=float)
    return np.nan_to_num(closed_count), np.nan_to_num(joined["won_count"].to_numpy(dtype=float))


def _counts_on_each_date(
    closed: pd.DataFrame, queries: pd.DataFrame, keys: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`outcome_counts_before` for queries on many dates: running counts joined as of each date."""
    running = _cumulative_outcomes(closed, keys)
    left = queries[[*keys, "snapshot_date"]].copy()
    left["_row"] = np.arange(len(left))
    left = left.sort_values("snapshot_date", kind="stable")
    joined = pd.merge_asof(
        left,
        running,
        left_on="snapshot_date",
        right_on="close_date",
        by=keys or None,
        allow_exact_matches=False,
        direction="backward",
    )
    order = np.argsort(joined["_row"].to_numpy(), kind="stable")
    closed_count = joined["closed_count"].to_numpy(dtype=float)[order]
    won_count = joined["won_count"].to_numpy(dtype=float)[order]
    return np.nan_to_num(closed_count), np.nan_to_num(won_count)


def smoothed_rate(
    won: np.ndarray, closed: np.ndarray, prior: np.ndarray | float, strength: float
) -> np.ndarray:
    """Additive (empirical-Bayes style) smoothing: (won + strength * prior) / (closed + strength)."""
    return (won + strength * np.asarray(prior, dtype=float)) / (closed + strength)


def win_rates_before(
    closed: pd.DataFrame, queries: pd.DataFrame, keys: list[str], prior: np.ndarray | float, strength: float
) -> np.ndarray:
    """Smoothed win rate per query row of deals sharing ``keys`` closed strictly before the query date."""
    closed_count, won_count = outcome_counts_before(closed, queries, keys)
    return smoothed_rate(won_count, closed_count, prior, strength)


def overall_win_rate_before(closed: pd.DataFrame, queries: pd.DataFrame) -> np.ndarray:
    """Company-wide win rate of deals closed strictly before each query date (Laplace-smoothed toward 1/2)."""
    closed_count, won_count = outcome_counts_before(closed, queries, [])
    return smoothed_rate(won_count, closed_count, 0.5, 2.0)
