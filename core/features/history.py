"""Point-in-time win rates: for each (entity, date) query, the smoothed win rate of that entity's deals
closed strictly before the date. Nothing closed on or after the query date is ever counted.

Rates from closed deals are biased by right-censoring (fast-closing outcomes, usually losses, are
over-represented among recent closes). The bias is the same in training snapshots and at scoring, because
both go through :func:`win_rates_before`; the model learns to read the biased rate consistently.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve
from threadpoolctl import threadpool_limits


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


# ---------------------------------------------------------------------------------------------------------
# Joint track record: one ridge logistic regression over several groups at once (plan/model-spec.md 2)
TRACK_RECORD_SD = 0.3  # prior SD of each group effect on the log-odds (the semi-oracle's, model-spec 7)
TRACK_RECORD_EVERY_DAYS = 7
_GRID_START = np.datetime64("1970-01-05", "D")  # a Monday: the grid never depends on the data
_INTERCEPT_PENALTY = 0.01  # a prior SD of 10 on the intercept keeps one-outcome histories finite
_HESSIAN_GROWTH = 1.05
_MAX_STEP = 1.0  # log-odds per grid date
# The Cholesky steps run in BLAS, whose kernels (picked per CPU) differ in the last bits (seen: 3e-16). Six
# decimals are far finer than the effects can be estimated and make the feature, and with it the model file,
# the same on every machine.
TRACK_RECORD_DECIMALS = 6
_CHAINS: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def grid_dates(dates: np.ndarray, every_days: int = TRACK_RECORD_EVERY_DAYS) -> np.ndarray:
    """The latest grid date on or before each date (every ``every_days`` days from a fixed Monday)."""
    days = np.asarray(dates).astype("datetime64[D]")
    steps = (days - _GRID_START).astype(np.int64) // every_days
    return _GRID_START + (steps * every_days).astype("timedelta64[D]")


def _combined_keys(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """One int64 per row for the combination of ``keys`` (integer codes below 2**20); -1 if any is missing."""
    combined = np.zeros(len(frame), dtype=np.int64)
    valid = np.ones(len(frame), dtype=bool)
    for key in keys:
        values = frame[key].to_numpy().astype(np.int64)
        valid &= values >= 0
        combined = combined * (1 << 20) + np.maximum(values, 0)
    return np.where(valid, combined, -1)


def _column_of(values: np.ndarray, keys: np.ndarray, offset: int) -> np.ndarray:
    """``offset`` + the position of each key in the sorted ``values``; ``-1`` for a key not among them."""
    where = np.searchsorted(values, keys).clip(max=max(len(values) - 1, 0))
    found = (keys >= 0) & (values[where] == keys) if len(values) else np.zeros(len(keys), dtype=bool)
    return np.where(found, offset + where, -1)


def _design(
    closed: pd.DataFrame, queries: pd.DataFrame, groups: list[list[str]], numeric: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Column indices and values of each closed row and each query row: one (index, 1) per group, one
    (index, x) per ``numeric`` column, then the intercept; and the number of columns (the intercept last).

    Group columns are the group values seen among ``closed``, in sorted order; a query value never seen there
    (a new rep, say) and a missing value point to ``-1``, whose effect is always 0. A missing numeric value
    counts as 0.
    """
    history_columns, query_columns, offset = [], [], 0
    for keys in groups:
        seen, query_seen = _combined_keys(closed, keys), _combined_keys(queries, keys)
        values = np.unique(seen[seen >= 0])
        history_columns.append(_column_of(values, seen, offset))
        query_columns.append(_column_of(values, query_seen, offset))
        offset += len(values)
    history_values = [np.ones(len(closed))] * len(groups)
    query_values = [np.ones(len(queries))] * len(groups)
    for column in numeric:
        history_columns.append(np.full(len(closed), offset))
        query_columns.append(np.full(len(queries), offset))
        history_values.append(np.nan_to_num(closed[column].to_numpy(dtype=float)))
        query_values.append(np.nan_to_num(queries[column].to_numpy(dtype=float)))
        offset += 1
    history_columns.append(np.full(len(closed), offset))
    query_columns.append(np.full(len(queries), offset))
    history_values.append(np.ones(len(closed)))
    query_values.append(np.ones(len(queries)))
    return (
        np.stack(history_columns, axis=1),
        np.stack(history_values, axis=1),
        np.stack(query_columns, axis=1),
        np.stack(query_values, axis=1),
        offset + 1,
    )


def _effect_chain(
    columns: np.ndarray,
    values: np.ndarray,
    close_days: np.ndarray,
    won: np.ndarray,
    n_columns: int,
    n_free: int,
    last: np.datetime64,
    sd: float,
    every_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Regression weights at every grid date from the first close up to ``last`` (one Newton step per date,
    started from the previous date's weights), fitted on the rows closed strictly before each date.

    ``columns`` / ``values`` / ``close_days`` / ``won`` are sorted by close date; the last ``n_free`` columns
    (numeric terms and the intercept) get the weak intercept prior, the others the group prior ``sd``.
    Returns (grid dates, weights per date); the weights have one more entry, the 0 effect that column ``-1``
    reads.
    """
    first = grid_dates(close_days[:1], every_days)[0] + np.timedelta64(every_days, "D")
    dates = np.arange(first, last + np.timedelta64(1, "D"), every_days).astype("datetime64[D]")
    penalty = np.full(n_columns, 1.0 / sd**2)
    penalty[n_columns - n_free :] = _INTERCEPT_PENALTY
    size = n_columns + 1  # a dummy last column collects the missing values (-1); its weight stays 0
    width = columns.shape[1]
    flat = np.where(columns >= 0, columns, n_columns).ravel()
    pairs = (flat.reshape(-1, width, 1) * size + flat.reshape(-1, 1, width)).ravel()
    cell = values.ravel()
    products = (values.reshape(-1, width, 1) * values.reshape(-1, 1, width)).ravel()
    weights = np.zeros(size)
    chain = np.zeros((len(dates), size))
    counts = np.searchsorted(close_days, dates, side="left")
    factor, factored_rows = None, 0
    for date_index, n in enumerate(counts):
        rows, cells = flat[: n * width], cell[: n * width]
        probability = 1.0 / (1.0 + np.exp(-(weights[rows] * cells).reshape(n, width).sum(axis=1)))
        gradient = np.bincount(rows, np.repeat(probability - won[:n], width) * cells, size)[:-1]
        if n > factored_rows * _HESSIAN_GROWTH:  # curvature grows with the history: refactor as it grows
            factored_rows = n
            curvature = np.repeat(probability * (1.0 - probability), width * width)
            curvature *= products[: n * width * width]
            hessian = np.bincount(pairs[: n * width * width], curvature, size * size).reshape(size, size)
            factor = cho_factor(hessian[:-1, :-1] + np.diag(penalty), check_finite=False)
        newton = cho_solve(factor, gradient + penalty * weights[:-1], check_finite=False)
        largest = np.abs(newton).max()  # a trust region: far from the optimum a full Newton step can diverge
        weights[:-1] -= newton if largest <= _MAX_STEP else newton * (_MAX_STEP / largest)
        chain[date_index] = weights
    return dates, chain


def joint_win_rates_before(
    closed: pd.DataFrame,
    queries: pd.DataFrame,
    groups: list[list[str]],
    sd: float = TRACK_RECORD_SD,
    every_days: int = TRACK_RECORD_EVERY_DAYS,
    numeric: list[str] | None = None,
) -> np.ndarray:
    """Win probability per query row from one logistic regression over all ``groups`` at once.

    Each group value (a rep, a rep x series, an account, ...) gets an effect on the log-odds with a Gaussian
    prior of standard deviation ``sd`` (a ridge penalty: each effect is shrunk by its own number of closed
    deals and estimated net of the others, which separate smoothed rates cannot do), plus an intercept. The
    regression is refitted at every grid date (weekly, :func:`grid_dates`) on the deals closed strictly
    before it, one Newton step from the previous date's fit; a query reads the fit of the latest grid date
    on or before its own date, so a training snapshot and a scoring date on the same day see the same fit
    and nothing later. A query dated before the first grid date after the first close reads NaN. Results are
    rounded to ``TRACK_RECORD_DECIMALS`` decimals (the same on every CPU).

    Each ``numeric`` column (a float, missing read as 0) adds one slope with the intercept's weak prior.
    ``closed`` has the group keys (integer codes), the numeric columns, ``close_date`` and ``is_won``;
    ``queries`` the keys, the numeric columns and ``snapshot_date``. The result does not depend on row
    order. The chain of fits is cached per history (the model asks for the same history several times in
    one fit).
    """
    result = np.full(len(queries), np.nan)
    if closed.empty or queries.empty:
        return result
    numeric = numeric or []
    history_columns, history_values, query_columns, query_values, n_columns = _design(
        closed, queries, groups, numeric
    )
    close_days = closed["close_date"].to_numpy().astype("datetime64[D]")
    won = closed["is_won"].to_numpy().astype(float)
    # canonical: row order never matters
    order = np.lexsort((won, *history_values.T[::-1], *history_columns.T[::-1], close_days))
    history_columns, history_values = history_columns[order], history_values[order]
    close_days, won = close_days[order], won[order]
    query_grid = grid_dates(queries["snapshot_date"].to_numpy(), every_days)
    last = query_grid.max()
    key = hashlib.sha256(
        b"".join(
            a.tobytes()
            for a in (history_columns, history_values, close_days, won, np.array([sd, every_days]))
        )
    ).digest()
    cached = _CHAINS.get(key)
    if cached is None or not len(cached[0]) or cached[0][-1] < last:  # none yet, or it ends too early
        # one BLAS thread: the matrices are small, and the backtest runs a second process beside this one
        with threadpool_limits(1, user_api="blas"):
            dates, chain = _effect_chain(
                history_columns,
                history_values,
                close_days,
                won,
                n_columns,
                len(numeric) + 1,
                last,
                sd,
                every_days,
            )
        if len(_CHAINS) >= 4:
            _CHAINS.pop(next(iter(_CHAINS)))
        _CHAINS[key] = cached = (dates, chain)
    dates, chain = cached
    step = np.searchsorted(dates, query_grid, side="right") - 1
    fitted = step >= 0
    log_odds = (chain[step[fitted][:, None], query_columns[fitted]] * query_values[fitted]).sum(axis=1)
    result[fitted] = np.round(1.0 / (1.0 + np.exp(-log_odds)), TRACK_RECORD_DECIMALS)
    return result
