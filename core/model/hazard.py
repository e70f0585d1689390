"""Discrete-time competing-risks hazard over deal-weeks, used to complete the labels of censored deals.

Every training snapshot of a deal opens one deal-week: during the next ``every_days`` the deal is won, lost
or still open. Only weeks fully observed by the as-of date are used, so deals still open at the as-of date
contribute their observed weeks as "still open" and nothing more (right-censoring handled on purpose).
A LightGBM multiclass model learns the weekly won/lost hazards from the deal's point-in-time features and
age; chaining them gives P(won | still open at age a) and the time-to-close distribution.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from core.features.spec import FeatureSpec

CONTINUE, WON, LOST = 0, 1, 2


def deal_week_classes(
    snapshots: pd.DataFrame, as_of: pd.Timestamp, every_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mask of fully observed deal-weeks, class per row: 0 still open, 1 won, 2 lost within the week)."""
    week_end = snapshots["snapshot_date"] + pd.Timedelta(days=every_days)
    observed = (week_end <= as_of).to_numpy()
    age = snapshots["age_days"].to_numpy()
    close_age = snapshots["close_age_days"].to_numpy()
    closes_in_week = ~np.isnan(close_age) & (close_age <= age + every_days)
    outcome = snapshots["outcome"].to_numpy()
    classes = np.where(closes_in_week, np.where(outcome == "won", WON, LOST), CONTINUE)
    return observed, classes


def hazard_params(seed: int, n_jobs: int) -> dict:
    """LightGBM parameters of the hazard model (small, regularised, deterministic)."""
    return {
        "objective": "multiclass",
        "num_class": 3,
        "learning_rate": 0.2,
        "num_leaves": 15,
        "min_data_in_leaf": 100,
        "lambda_l2": 10.0,
        "max_bin": 63,
        "feature_fraction": 0.9,
        "cat_smooth": 20.0,
        "min_data_per_group": 50,
        "max_cat_threshold": 16,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": n_jobs,
        "verbose": -1,
    }


def fit_hazard(
    matrix: np.ndarray,
    classes: np.ndarray,
    weight: np.ndarray,
    spec: FeatureSpec,
    seed: int,
    n_jobs: int,
    rounds: int = 30,
) -> lgb.Booster:
    """Fit the weekly competing-risks hazard (classes: still open / won / lost)."""
    data = lgb.Dataset(
        matrix,
        label=classes,
        weight=weight,
        feature_name=list(spec.names),
        categorical_feature=spec.categorical_indices,
        free_raw_data=True,
    )
    return lgb.train(hazard_params(seed, n_jobs), data, num_boost_round=rounds)


def outcome_if_open(
    hazard: lgb.Booster,
    matrix: np.ndarray,
    age_column: int,
    every_days: int,
    max_age_days: float,
    calendar_column: int | None = None,
    as_of: pd.Timestamp | None = None,
) -> np.ndarray:
    """(P(won), P(lost)) eventually, given open at the row's age: weekly hazards chained to ``max_age_days``.

    Each step moves the deal ``every_days`` older and, when ``calendar_column`` is given, moves its
    day-of-quarter on from ``as_of``. Mass still open beyond ``max_age_days`` (older than any deal ever seen
    to close) counts as not won.
    """
    if len(matrix) == 0:
        return np.zeros((0, 2))
    ages = matrix[:, age_column]
    steps = np.maximum(np.floor((max_age_days - ages) / every_days).astype(np.int64) + 1, 1)
    deal = np.repeat(np.arange(len(matrix)), steps)
    step = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)
    grid = matrix[deal].copy()
    grid[:, age_column] = ages[deal] + step * every_days
    if calendar_column is not None and as_of is not None:
        from core.features.deal_features import day_of_quarter

        start = np.datetime64(as_of.to_datetime64(), "D")
        grid[:, calendar_column] = day_of_quarter(start + (step * every_days).astype("timedelta64[D]"))
    hazards = hazard.predict(grid)
    still_open = np.clip(hazards[:, CONTINUE], 1e-12, 1.0)
    log_survival = np.log(still_open)
    cumulative = np.cumsum(log_survival)
    start = np.repeat(np.cumsum(steps) - steps, steps)
    before = cumulative - log_survival - np.where(start > 0, cumulative[start - 1], 0.0)
    reach = np.exp(before)
    won = np.bincount(deal, weights=reach * hazards[:, WON], minlength=len(matrix))
    lost = np.bincount(deal, weights=reach * hazards[:, LOST], minlength=len(matrix))
    return np.stack([won, lost], axis=1)
