"""Probability-forecast metrics: AUC, Brier, Brier skill, log loss, ECE and the reliability table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

EPS = 1e-6


def expected_calibration_error(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    table = reliability_table(observed, predicted, bins)
    if table.empty:
        return float("nan")
    gap = (table["observed_rate"] - table["mean_predicted"]).abs()
    return float((gap * table["n"]).sum() / table["n"].sum())


def reliability_table(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin: bounds, count, mean prediction and observed rate (empty bins omitted)."""
    observed, predicted = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    index = np.minimum((predicted * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin_lower": b / bins,
                    "bin_upper": (b + 1) / bins,
                    "n": int(mask.sum()),
                    "mean_predicted": float(predicted[mask].mean()),
                    "observed_rate": float(observed[mask].mean()),
                }
            )
    return pd.DataFrame(rows, columns=["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"])


def probability_scores(
    observed: np.ndarray, predicted: np.ndarray, base_rate: float
) -> dict[str, float | None]:
    """AUC, Brier, Brier skill against a constant ``base_rate`` forecast, log loss and ECE."""
    y, p = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    brier = float(np.mean((p - y) ** 2))
    reference = float(np.mean((base_rate - y) ** 2))
    clipped = np.clip(p, EPS, 1 - EPS)
    return {
        "auc": float(roc_auc_score(y, p)) if np.unique(y).size == 2 else None,
        "brier": brier,
        "brier_skill": float(1 - brier / reference) if reference > 0 else None,
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "ece": expected_calibration_error(y, p),
    }
