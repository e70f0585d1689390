"""The explanation of win probabilities handed to the app and the prediction files."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class DealExplanation:
    """Per-deal feature values and SHAP contributions, in log-odds and in calibrated probability points.

    For every deal ``base_value + shap_points.sum(axis=1) == win_probability`` (to float precision).
    ``shap_points`` allocates the calibrated change ``calibrated(log_odds) - base_value`` to the features in
    proportion to their exact TreeSHAP log-odds values; calibration is monotone, so no contribution ever
    changes sign.
    """

    feature_values: pd.DataFrame
    shap_points: pd.DataFrame
    shap_log_odds: pd.DataFrame
    base_value: float
    base_log_odds: float
    win_probability: pd.Series
    feature_labels: dict[str, str]
    reference_values: dict[str, float | None]
