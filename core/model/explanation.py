"""The explanation of win probabilities handed to the app and the prediction files.

Three rules make the explanation read true to a manager (plan/model-spec.md, "Explanations"):

1. *What is the same for every deal belongs in the baseline.* A feature whose value is identical for every
   scored deal (the day of the quarter at scoring, always) is no reason one deal differs from another: the
   mean of its TreeSHAP values moves into the baseline ("the average deal at this point in the quarter").
   What is left of it per deal is its interaction with the deal's other features: for a timing feature that
   goes to the timing group below; otherwise it stays its own step, marked so that it is never a driver.
2. *Correlated timing features are explained as one group*: the deal's age, the day of its quarter it was
   engaged and the calendar residual move together (the booster splits one effect between them, often with
   large offsetting values), so they form one unit, ``deal_timing``.
3. *Steps in the calibrated probability's own units.* Units are taken in order of their absolute log-odds
   contribution; each step is the calibrated probability after adding the unit's log-odds minus the one
   before. Every point of the path is a calibrated probability (so within 0-100%), the steps add up to the
   deal's probability exactly, and calibration is monotone, so no step changes the sign of its log-odds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TIMING_GROUP = "deal_timing"
TIMING_FEATURES: tuple[str, ...] = ("age_days", "engage_days_into_quarter", "days_into_quarter")
GROUP_LABELS = {TIMING_GROUP: "deal age and timing"}
BLANK_ACCOUNT = "(blank account)"  # what an account feature of a deal with a blank account reads


@dataclass(frozen=True)
class DealExplanation:
    """Per-deal feature values and contributions: exact TreeSHAP per feature, and the explained units.

    ``shap_log_odds`` holds the booster's exact TreeSHAP log-odds per model feature (``base_log_odds`` + row
    sum = the deal's raw score). ``shap_points`` holds the explained units (single features and the
    ``deal_timing`` group) as steps of the calibrated path, in probability points: for every deal
    ``base_value + shap_points.sum(axis=1) == win_probability``; ``unit_log_odds`` are the units' log-odds
    (constant features' means moved into ``base_value``), ``step`` each unit's position in the deal's path
    (1 = first, largest log-odds). ``constant_features`` maps each feature identical for every scored deal
    to that value; such a feature is never a driver.
    """

    feature_values: pd.DataFrame
    shap_points: pd.DataFrame
    shap_log_odds: pd.DataFrame
    base_value: float
    base_log_odds: float
    win_probability: pd.Series
    feature_labels: dict[str, str]
    reference_values: dict[str, float | None]
    unit_log_odds: pd.DataFrame | None = None
    step: pd.DataFrame | None = None
    constant_features: dict[str, object] | None = None


def explained_units(names: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """Unit -> its member features, in feature order; the timing group stands where its first member is."""
    units: dict[str, tuple[str, ...]] = {}
    timing = tuple(n for n in names if n in TIMING_FEATURES)
    for name in names:
        if name in timing and len(timing) > 1:
            units.setdefault(TIMING_GROUP, timing)
        else:
            units[name] = (name,)
    return units


def constant_columns(matrices: list[np.ndarray]) -> np.ndarray:
    """Boolean per feature column: the same value (or missing) for every row of every matrix (2+ rows)."""
    stacked = np.concatenate(matrices, axis=0)
    if stacked.shape[0] < 2:
        return np.zeros(stacked.shape[1], dtype=bool)
    first = stacked[0]
    same = (stacked == first) | (np.isnan(stacked) & np.isnan(first))
    return same.all(axis=0)


def unit_contributions(
    shap_log_odds: np.ndarray, names: list[str], constant: np.ndarray
) -> tuple[np.ndarray, float, list[str]]:
    """(units' log-odds per deal, the constant features' mean log-odds for the baseline, unit names)."""
    means = np.where(constant, shap_log_odds.mean(axis=0) if len(shap_log_odds) else 0.0, 0.0)
    residual = shap_log_odds - means
    units = explained_units(names)
    columns = [[names.index(m) for m in members] for members in units.values()]
    per_unit = np.column_stack([residual[:, idx].sum(axis=1) for idx in columns]) if columns else residual
    return per_unit, float(means.sum()), list(units)


def calibrated_path(
    unit_log_odds: np.ndarray, base_log_odds: float, calibrator: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(steps in calibrated points, 1-based step position) per deal and unit, largest |log-odds| first."""
    n, k = unit_log_odds.shape
    order = np.argsort(-np.abs(unit_log_odds), axis=1, kind="stable")
    ordered = np.take_along_axis(unit_log_odds, order, axis=1)
    levels = np.asarray(calibrator(base_log_odds + np.cumsum(ordered, axis=1)), dtype=float).reshape(n, k)
    start = np.full((n, 1), float(calibrator(np.array([base_log_odds]))[0]))
    steps = np.diff(np.concatenate([start, levels], axis=1), axis=1)
    points = np.empty_like(steps)
    np.put_along_axis(points, order, steps, axis=1)
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.broadcast_to(np.arange(1, k + 1), (n, k)), axis=1)
    return points, position
