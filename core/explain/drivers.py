"""Plain-language drivers and long-format SHAP values from a model's DealExplanation.

The impacts are the explanation's ``shap_points``: the explained units (single features and the deal-timing
group) as steps of the calibrated path (:mod:`core.model.explanation`), so "+6 pts" means the unit moves
this deal's calibrated win probability up by six percentage points, the steps add up to the probability,
and the drill-down's waterfall shows the same steps in the same order. A feature that is the same for every
deal sits in the baseline and is never a driver. Nothing here invents or rescales an impact.
"""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

import numpy as np
import pandas as pd

from core.model.explanation import BLANK_ACCOUNT, TIMING_GROUP
from core.money import currency_prefix

TOP_DRIVERS = 3
COUNT_NOUNS = (
    "days ",
    "deals ",
    "weeks ",
    "months ",
    "times ",
)  # labels read best number first: "95 days since ..."
NOT_ENGAGED = "Not engaged yet (prospecting)"
AGE_FEATURE = "age_days"
ENGAGED_IN_QUARTER = "engage_days_into_quarter"
DEAL_VALUE = "deal_value"
MONEY_FEATURES = (DEAL_VALUE,)
SAME_FOR_EVERY_DEAL = " (same for every deal today)"
MIN_IMPACT = 0.0005  # a step that reads "0 pts" is no reason: the driver is left blank


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


def _kind(feature: str, label: str, value: Any) -> str:
    """How to read a feature: 'category', 'money', 'rate', 'days' or 'number'."""
    if isinstance(value, str) or (not isinstance(value, (int, float, np.number)) and not _is_missing(value)):
        return "category"
    if feature in MONEY_FEATURES:
        return "money"
    text = f"{feature} {label}".lower().replace("_", " ")
    if re.search(r"\b(rate|share|ratio|percent|probability|change)\b", text):
        return "rate"
    if re.search(r"\b(days|age|duration|tenure)\b", text):  # whole words: "stage" is no age
        return "days"
    return "number"


def _format(kind: str, value: float, prefix: str = "$") -> str:
    """A number as a manager reads it (money after ``prefix``, the corporate currency's symbol)."""
    if kind == "rate":
        return f"{value:.0%}"
    if kind == "money":
        return f"{prefix}{value:,.0f}"
    if kind == "days":
        return f"{value:,.0f} days"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def compare(kind: str, value: Any, reference: Any) -> str:
    """'below', 'typical' or 'above' as the sentence shows the two numbers ('' when there is no comparison).

    Equal as displayed counts as typical, so a sentence never reads "45 vs 45 typical".
    """
    if kind == "category" or _is_missing(value) or not _has_reference(reference):
        return ""
    shown, typical = _format(kind, float(value)), _format(kind, float(reference))
    if shown == typical:
        return "typical"
    return "below" if float(value) < float(reference) else "above"


def _has_reference(reference: Any) -> bool:
    """A finite number to compare with."""
    return (
        not _is_missing(reference)
        and isinstance(reference, (int, float, np.number))
        and math.isfinite(reference)
    )


def _times(count: float) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count:,.0f} times"


def _history_sentence(
    feature: str, value: float, reference: Any, impact: float, stage_order: tuple[str, ...] = ()
) -> str | None:
    """The field-history facts read as a manager says them ("Close date pushed 3 times vs once typical");
    None for other features."""
    typical = float(reference) if _has_reference(reference) else None
    versus = ""
    if feature == "stage_position":

        def named(position: float) -> str:
            k = int(round(position))
            return stage_order[k] if 0 <= k < len(stage_order) else f"stage {k + 1}"

        where = (
            f"{named(value)}, stage {value + 1:.0f} of {len(stage_order)}" if stage_order else named(value)
        )
        versus = f" vs {named(typical)} typical" if typical is not None and round(typical) != value else ""
        return f"In {where}{versus} ({_points(impact)})"
    if feature == "close_date_pushes":
        if value == 0:
            return f"Close date never pushed ({_points(impact)})"
        versus = f" vs {_times(typical)} typical" if typical and typical != value else ""
        return f"Close date pushed {_times(value)}{versus} ({_points(impact)})"
    if feature == "days_pushed":
        if value == 0:
            return f"Close date never pushed ({_points(impact)})"
        versus = f" vs {typical:,.0f} typical" if typical is not None and typical != value else ""
        return f"Close date pushed {value:,.0f} days in all{versus} ({_points(impact)})"
    if feature == "stage_regressions":
        moved = "Never went back a stage" if value == 0 else f"Went back a stage {_times(value)}"
        return f"{moved} ({_points(impact)})"
    if feature == "days_to_rep_close":
        when = (
            "due today"
            if value == 0
            else f"{value:,.0f} days away"
            if value > 0
            else f"{-value:,.0f} days overdue"
        )
        return f"Rep's close date is {when} ({_points(impact)})"
    if feature == "amount_change":
        moved = "unchanged" if value == 0 else f"{'up' if value > 0 else 'down'} {abs(value):.0%}"
        return f"Amount {moved} since first entered ({_points(impact)})"
    if feature == "rep_probability":
        versus = (
            f" vs {typical:.0%} typical" if typical is not None and f"{typical:.0%}" != f"{value:.0%}" else ""
        )
        return f"Rep's probability is {value:.0%}{versus} ({_points(impact)})"
    return None


def driver_sentence(
    feature: str,
    label: str,
    value: Any,
    reference: Any,
    impact: float,
    currency: str = "USD",
    stage_order: tuple[str, ...] = (),
) -> str:
    """One plain sentence: what the feature is for this deal, its comparison and its signed impact (money in
    ``currency``, the corporate currency; stage positions named from ``stage_order``)."""
    prefix = currency_prefix(currency)
    label = label or feature.replace("_", " ")
    subject = label[:1].upper() + label[1:]
    if _is_missing(value):
        return f"{subject} is unknown ({_points(impact)})"
    if value == BLANK_ACCOUNT:
        return f"{subject} is unknown: the account is blank in the CRM ({_points(impact)})"
    kind = _kind(feature, label, value)
    if kind == "category":
        return f"{subject} is {value} ({_points(impact)})"
    told = _history_sentence(feature, float(value), reference, impact, stage_order)
    if told is not None:
        return told
    versus = compare(kind, value, reference)
    if kind in ("days", "number") and label.lower().startswith(COUNT_NOUNS):
        text = f"{float(value):,.0f} {label}"
        if float(value) == 1 and label.startswith("days "):
            text = f"1 day {label.removeprefix('days ')}"
        if versus == "typical":
            text += ", about typical" if feature != AGE_FEATURE else ", about as long as a typical won deal"
        elif versus:
            typical = "for a typical won deal" if feature == AGE_FEATURE else "typical"
            text += f" vs {float(reference):,.0f} {typical}"
        return f"{text} ({_points(impact)})"
    text = f"{subject} is {_format(kind, float(value), prefix)}"
    comparison = "team average" if kind == "rate" else "typical"
    if versus == "typical":
        text += ", the team average" if kind == "rate" else ", about typical"
    elif versus:
        text += f" vs {_format(kind, float(reference), prefix)} {comparison}"
    return f"{text} ({_points(impact)})"


def _days(count: float) -> str:
    """'1 day', '15 days'."""
    return f"{count:,.0f} day" + ("" if round(count) == 1 else "s")


def timing_sentence(age: Any, engaged_day: Any, reference: Any, impact: float) -> str:
    """The deal-timing group read as one fact: its age against a typical won deal's, and when it started."""
    if _is_missing(age):
        return f"{NOT_ENGAGED} ({_points(impact)})"
    text = driver_sentence(AGE_FEATURE, "days since engagement", age, reference, impact).rsplit(" (", 1)[0]
    if not _is_missing(engaged_day):
        text += f", engaged {_days(float(engaged_day))} into its quarter"
    return f"{text} ({_points(impact)})"


def deal_labels(explanation: Explanation) -> pd.DataFrame:
    """Each deal's plain-language name of each explained unit (rows: deals, columns: units).

    "rep's win rate on this series" names the deal's series; a feature that is the same for every deal says
    so. (The deal-value feature is the list price and says so: the page's deal value may be the deal's
    amount, or the list price after the usual discount.)
    """
    points = explanation.shap_points
    constant = getattr(explanation, "constant_features", None) or {}
    labels = {}
    for unit in points.columns:
        label = explanation.feature_labels.get(unit) or unit.replace("_", " ")
        column = pd.Series(label, index=points.index, dtype=object)
        if "this series" in label and "series" in explanation.feature_values.columns:
            series = explanation.feature_values.loc[points.index, "series"].astype(str)
            column = series.map(lambda s, text=label: text.replace("this series", f"{s} deals"))
        elif unit in constant:
            column = column + SAME_FOR_EVERY_DEAL
        labels[unit] = column
    return pd.DataFrame(labels, index=points.index)


def _unit_value(explanation: Explanation, unit: str) -> pd.Series:
    """The value a unit shows, per deal (the timing group: its age in days; NaN when not engaged)."""
    values = explanation.feature_values
    if unit == TIMING_GROUP:
        return values.loc[explanation.shap_points.index, AGE_FEATURE]
    return values.loc[explanation.shap_points.index, unit]


def _ranking(explanation: Explanation) -> np.ndarray:
    """Per deal, unit column positions in path order (largest log-odds first); units that are the same for
    every deal come last (never drivers)."""
    points = explanation.shap_points
    step = getattr(explanation, "step", None)
    key = step.to_numpy(dtype=float) if step is not None else -np.abs(points.to_numpy(dtype=float))
    constant = getattr(explanation, "constant_features", None) or {}
    last = np.array([unit in constant for unit in points.columns])
    key = np.where(last[None, :], np.inf, key)
    return np.argsort(key, axis=1, kind="stable")


def top_drivers(
    explanation: Explanation,
    top: int = TOP_DRIVERS,
    not_engaged: pd.Index | None = None,
    currency: str = "USD",
    stage_order: tuple[str, ...] = (),
) -> pd.DataFrame:
    """driver_k, driver_k_feature, driver_k_impact, driver_k_vs_typical (k = 1..top) per deal.

    Drivers are the first units of the deal's calibrated path (largest log-odds first), never a feature that
    is the same for every deal, and never a step that rounds to 0 points (left blank). Deals in
    ``not_engaged`` (Prospecting without an engage date) read "Not engaged yet" for their age.
    """
    points = explanation.shap_points
    units = np.array(points.columns, dtype=object)
    values = points.to_numpy(dtype=float)
    constant = getattr(explanation, "constant_features", None) or {}
    eligible = sum(unit not in constant for unit in units)
    order = _ranking(explanation)[:, :top]
    labels = deal_labels(explanation).to_numpy(dtype=object)
    shown = {unit: _unit_value(explanation, unit).to_numpy(dtype=object) for unit in units}
    engaged_day = (
        explanation.feature_values.loc[points.index, ENGAGED_IN_QUARTER].to_numpy(dtype=object)
        if ENGAGED_IN_QUARTER in explanation.feature_values.columns
        else np.full(len(points), np.nan, dtype=object)
    )
    age_reference = explanation.reference_values.get(AGE_FEATURE)
    waiting = points.index.isin(not_engaged) if not_engaged is not None else np.zeros(len(points), dtype=bool)
    out: dict[str, list] = {}
    for k in range(top):
        sentences, names, impacts, versus = [], [], [], []
        for row in range(len(points.index)):
            if k >= eligible or abs(values[row, order[row, k]]) < MIN_IMPACT:
                sentences.append("")
                names.append("")
                impacts.append(np.nan)
                versus.append("")
                continue
            col = order[row, k]
            unit = units[col]
            impact = float(values[row, col])
            value = shown[unit][row]
            if unit == TIMING_GROUP:
                age = np.nan if waiting[row] else value
                sentences.append(timing_sentence(age, engaged_day[row], age_reference, impact))
                versus.append(compare("days", age, age_reference))
            elif unit == AGE_FEATURE and waiting[row]:
                sentences.append(f"{NOT_ENGAGED} ({_points(impact)})")
                versus.append("")
            else:
                reference = explanation.reference_values.get(unit)
                label = labels[row, col]
                sentences.append(
                    driver_sentence(unit, label, value, reference, impact, currency, stage_order)
                )
                versus.append(compare(_kind(unit, label, value), value, reference))
            names.append(unit)
            impacts.append(impact)
        out[f"driver_{k + 1}"] = sentences
        out[f"driver_{k + 1}_feature"] = names
        out[f"driver_{k + 1}_impact"] = impacts
        out[f"driver_{k + 1}_vs_typical"] = versus
    return pd.DataFrame(out, index=points.index)


def _value_text(
    explanation: Explanation, unit: str, not_engaged: pd.Index | None, currency: str = "USD"
) -> np.ndarray:
    """Each deal's value of a unit as text for the long table (money with its unit, the timing group in
    words, other numbers as they are, missing as blank)."""
    values = _unit_value(explanation, unit)
    index = explanation.shap_points.index
    if unit == TIMING_GROUP:
        age = values.astype(float)
        day = explanation.feature_values.loc[index, ENGAGED_IN_QUARTER].astype(float)
        text = age.map("{:,.0f} days since engagement".format) + day.map(
            lambda d: "" if math.isnan(d) else f", engaged {_days(d)} into its quarter"
        )
        waiting = index.isin(not_engaged) if not_engaged is not None else np.zeros(len(index), dtype=bool)
        return np.where(waiting | age.isna().to_numpy(), NOT_ENGAGED, text.to_numpy(dtype=object))
    if unit in MONEY_FEATURES:
        number = values.astype(float)
        prefix = currency_prefix(currency)
        return np.where(number.notna(), number.map(lambda v: f"{prefix}{v:,.0f}"), "")
    return values.astype(object).where(values.notna(), "").astype(str).to_numpy()


def shap_long(
    explanation: Explanation, not_engaged: pd.Index | None = None, currency: str = "USD"
) -> pd.DataFrame:
    """Long format, one row per deal and explained unit: opportunity_id, feature, feature_label,
    feature_value (as text), shap_value (points), shap_log_odds, base_value, step (position in the path)."""
    points = explanation.shap_points
    n_deals, n_units = points.shape
    units = list(points.columns)
    log_odds = getattr(explanation, "unit_log_odds", None)
    log_odds = explanation.shap_log_odds if log_odds is None else log_odds
    step = getattr(explanation, "step", None)
    if step is None:
        step = pd.DataFrame(
            np.argsort(np.argsort(-np.abs(points.to_numpy()), axis=1, kind="stable"), axis=1) + 1,
            index=points.index,
            columns=units,
        )
    text = (
        np.column_stack([_value_text(explanation, unit, not_engaged, currency) for unit in units])
        if units
        else None
    )
    frame = pd.DataFrame(
        {
            "opportunity_id": np.repeat(points.index.to_numpy(dtype=object), n_units),
            "feature": np.tile(np.array(units, dtype=object), n_deals),
            "feature_label": deal_labels(explanation).to_numpy(dtype=object).ravel(),
            "feature_value": text.ravel() if text is not None else np.array([], dtype=object),
            "shap_value": points.to_numpy(dtype=float).ravel(),
            "shap_log_odds": log_odds.loc[points.index, units].to_numpy(dtype=float).ravel(),
            "base_value": float(explanation.base_value),
            "step": step.loc[points.index, units].to_numpy(dtype=np.int64).ravel(),
        }
    )
    return frame.sort_values(["opportunity_id", "feature"], kind="mergesort").reset_index(drop=True)
