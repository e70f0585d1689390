"""Plain-language drivers and long-format SHAP values from a model's DealExplanation.

The impacts are the explanation's ``shap_points``: TreeExplainer values of the trained booster mapped onto
the calibrated probability scale by the model (contract section 2: for every deal ``base_value + row sum ==
win_probability``), so "+6 pts" means the feature moves this deal's calibrated win probability up by six
percentage points. Nothing here invents or rescales an impact.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import pandas as pd

TOP_DRIVERS = 3
COUNT_NOUNS = ("days ", "deals ", "weeks ", "months ")  # labels read best number first: "95 days since ..."
NOT_ENGAGED = "Not engaged yet (prospecting)"
AGE_FEATURE = "age_days"


class Explanation(Protocol):
    """The fields of ``core.model.DealExplanation`` that drivers need."""

    feature_values: pd.DataFrame
    shap_points: pd.DataFrame
    shap_log_odds: pd.DataFrame
    base_value: float
    feature_labels: dict[str, str]
    reference_values: dict[str, Any]


def _points(impact: float) -> str:
    """Signed probability points: one decimal below one point, whole points otherwise."""
    pts = impact * 100.0
    if abs(pts) < 0.05:
        return "0 pts"
    return f"{pts:+.1f} pts" if abs(pts) < 1 else f"{pts:+.0f} pts"


def _is_missing(value: Any) -> bool:
    """True for None, NaN and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _kind(feature: str, label: str, value: Any, reference: Any) -> str:
    """How to read a feature: 'category', 'rate', 'days' or 'number'."""
    if isinstance(value, str) or (not isinstance(value, (int, float, np.number)) and not _is_missing(value)):
        return "category"
    text = f"{feature} {label}".lower()
    if any(word in text for word in ("rate", "share", "ratio", "percent", "probability")):
        return "rate"
    if any(word in text for word in ("days", "age", "duration", "tenure")):
        return "days"
    return "number"


def _format(kind: str, value: float) -> str:
    """A number as a manager reads it."""
    if kind == "rate":
        return f"{value:.0%}"
    if kind == "days":
        return f"{value:,.0f} days"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def driver_sentence(feature: str, label: str, value: Any, reference: Any, impact: float) -> str:
    """One plain sentence: what the feature is for this deal, its comparison and its signed impact."""
    label = label or feature.replace("_", " ")
    subject = label[:1].upper() + label[1:]
    if _is_missing(value):
        return f"{subject} is unknown ({_points(impact)})"
    kind = _kind(feature, label, value, reference)
    if kind == "category":
        return f"{subject} is {value} ({_points(impact)})"
    has_reference = (
        not _is_missing(reference)
        and isinstance(reference, (int, float, np.number))
        and math.isfinite(reference)
    )
    if kind in ("days", "number") and label.lower().startswith(COUNT_NOUNS):
        text = f"{float(value):,.0f} {label}"
        if has_reference:
            typical = "for a typical won deal" if feature == AGE_FEATURE else "typical"
            text += f" vs {float(reference):,.0f} {typical}"
        return f"{text} ({_points(impact)})"
    text = f"{subject} is {_format(kind, float(value))}"
    if has_reference:
        comparison = "team average" if kind == "rate" else "typical"
        text += f" vs {_format(kind, float(reference))} {comparison}"
    return f"{text} ({_points(impact)})"


def top_drivers(
    explanation: Explanation, top: int = TOP_DRIVERS, not_engaged: pd.Index | None = None
) -> pd.DataFrame:
    """driver_k, driver_k_feature, driver_k_impact (k = 1..top) per deal, largest absolute impact first.

    Deals in ``not_engaged`` (Prospecting without an engage date) read "Not engaged yet" for their age.
    """
    points = explanation.shap_points
    features = np.array(points.columns, dtype=object)
    values = points.to_numpy(dtype=float)
    # stable order: by |impact| descending, ties by feature position
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    readable = explanation.feature_values.loc[points.index, list(points.columns)].to_numpy(dtype=object)
    labels = [explanation.feature_labels.get(f, "") for f in features]
    series = (
        explanation.feature_values.loc[points.index, "series"].astype(str).to_numpy()
        if "series" in explanation.feature_values.columns
        else None
    )
    references = [explanation.reference_values.get(f) for f in features]
    waiting = points.index.isin(not_engaged) if not_engaged is not None else np.zeros(len(points), dtype=bool)
    out: dict[str, list] = {}
    for k in range(top):
        sentences, names, impacts = [], [], []
        for row in range(len(points.index)):
            if k >= values.shape[1]:
                sentences.append("")
                names.append("")
                impacts.append(np.nan)
                continue
            col = order[row, k]
            feature = features[col]
            impact = float(values[row, col])
            label = labels[col]
            if series is not None and "this series" in label:
                label = label.replace("this series", f"{series[row]} deals")
            if feature == AGE_FEATURE and waiting[row]:
                sentences.append(f"{NOT_ENGAGED} ({_points(impact)})")
            else:
                sentences.append(driver_sentence(feature, label, readable[row, col], references[col], impact))
            names.append(feature)
            impacts.append(impact)
        out[f"driver_{k + 1}"] = sentences
        out[f"driver_{k + 1}_feature"] = names
        out[f"driver_{k + 1}_impact"] = impacts
    return pd.DataFrame(out, index=points.index)


def shap_long(explanation: Explanation) -> pd.DataFrame:
    """Long format: opportunity_id, feature, feature_value (as text), shap_value (points), log-odds, base."""
    points = explanation.shap_points
    n_deals, n_features = points.shape
    values = explanation.feature_values.loc[points.index, list(points.columns)]
    text = values.astype(object).where(values.notna(), "").astype(str).to_numpy().ravel()
    frame = pd.DataFrame(
        {
            "opportunity_id": np.repeat(points.index.to_numpy(dtype=object), n_features),
            "feature": np.tile(np.array(points.columns, dtype=object), n_deals),
            "feature_value": text,
            "shap_value": points.to_numpy(dtype=float).ravel(),
            "shap_log_odds": explanation.shap_log_odds.loc[points.index, list(points.columns)]
            .to_numpy(dtype=float)
            .ravel(),
            "base_value": float(explanation.base_value),
        }
    )
    return frame.sort_values(["opportunity_id", "feature"], kind="mergesort").reset_index(drop=True)
