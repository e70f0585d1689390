"""Test-only builder of small, contract-conformant batch outputs (ARCHITECTURE section 4), plus app fixtures.

The numbers written here are MADE UP (test data, never used by the app itself): win probabilities are the
synthetic generator's oracle, everything else is derived from them so that the files agree with each other
(expected_revenue = deal_value * win_probability, SHAP base + row sum = win_probability, forecast rows add
up from the deals, ...). The app is built and tested against these files until the real batch step exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import load_crm
from core.data.synthetic import generate_crm, oracle_win_probability
from core.export import csv_bytes, parquet_bytes
from core.forecast.forecast import SEGMENT_TYPES
from core.forecast.new_deals import creation_summary, quarter_actuals
from core.outputs import (
    ACCURACY,
    ACCURACY_FILE,
    CHANGES,
    CHANGES_FILE,
    FORECAST,
    FORECAST_FILE,
    METADATA_FILE,
    PREDICTIONS,
    PREDICTIONS_FILE,
    QUANTILES,
    QUANTILES_FILE,
    QUARTER_ACTUALS,
    QUARTERS_FILE,
    SHAP,
    SHAP_FILE,
    Counts,
    ModelInfo,
    RiskInfo,
    RunMetadata,
    decimals,
    fast_file,
)
from models.generate import write_crm

HOSTILE_ACCOUNTS = ("<script>alert(1)</script>", "**bold**")
TIERS = {
    "Critical": "win probability under 15%: likely lost without intervention",
    "High": "win probability 15-35%",
    "Medium": "win probability 35-55%",
    "Low": "win probability 55% or more",
}
FEATURES = {
    "rep_series_win_rate": "rep's win rate on this series",
    "age_days": "days since engagement",
    "list_price": "product list price",
    "sector": "account sector",
    "deal_stage": "deal stage",
    "account_employees": "account size (employees)",
}


def _tier(p: pd.Series) -> pd.Series:
    """Fixture risk tier from the win probability (thresholds in TIERS)."""
    return pd.Series(
        np.select([p < 0.15, p < 0.35, p < 0.55], ["Critical", "High", "Medium"], "Low"), index=p.index
    )


def _quarter_start(day: pd.Timestamp) -> pd.Timestamp:
    """First day of the quarter containing ``day``."""
    return pd.Timestamp(year=day.year, month=3 * ((day.month - 1) // 3) + 1, day=1)


def _periods(as_of: pd.Timestamp) -> pd.DataFrame:
    """13 weeks, 6 months and 2 quarters starting with the period containing ``as_of``."""
    rows = []
    week0 = as_of - pd.Timedelta(days=as_of.day_of_week)
    for k in range(13):
        start = week0 + pd.Timedelta(weeks=k)
        rows.append(("week", start, start + pd.Timedelta(days=6)))
    month0 = as_of.replace(day=1)
    for k in range(6):
        start = month0 + pd.DateOffset(months=k)
        rows.append(("month", start, start + pd.DateOffset(months=1) - pd.Timedelta(days=1)))
    q0 = _quarter_start(as_of)
    for k in range(2):
        start = q0 + pd.DateOffset(months=3 * k)
        rows.append(("quarter", start, start + pd.DateOffset(months=3) - pd.Timedelta(days=1)))
    return pd.DataFrame(rows, columns=["period_type", "period_start", "period_end"])


def _predictions(crm, truth: pd.DataFrame, as_of: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """One row per open deal with every contract column, consistent with the made-up probabilities."""
    deals = crm.deals[crm.deals["is_open"]].reset_index(drop=True)
    oracle = oracle_win_probability(truth, as_of)
    p = deals["opportunity_id"].map(oracle).fillna(0.12).clip(0.01, 0.97).round(4)
    value = deals["amount"].fillna(deals["list_price"]).fillna(1000.0)
    q_start = _quarter_start(as_of)
    q_next = q_start + pd.DateOffset(months=3)
    q_after = q_start + pd.DateOffset(months=6)
    age = deals["age_days"].fillna(0.0)
    close_in = np.clip(70 - age + rng.integers(0, 40, len(deals)), 3, 200).astype(int)
    close_date = as_of + pd.to_timedelta(close_in, unit="D")
    in_q = close_date < q_next
    in_next = (close_date >= q_next) & (close_date < q_after)
    live = ~deals["stale"].to_numpy(dtype=bool)  # as in the batch step: stale deals have no quarter chance
    share_q = np.where(in_q, 0.8, np.where(in_next, 0.1, 0.02)) * live
    share_next = np.where(in_q, 0.15, np.where(in_next, 0.75, 0.2)) * live
    out = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"],
            "sales_agent": deals["sales_agent"],
            "manager": deals["manager"],
            "regional_office": deals["regional_office"],
            "product": deals["product"],
            "account": deals["account"],
            "sector": deals["sector"],
            "deal_stage": deals["deal_stage"],
            "engage_date": deals["engage_date"].dt.strftime("%Y-%m-%d").fillna(""),
            "age_days": deals["age_days"],
            "deal_value": value,
            "value_source": np.where(deals["amount"].notna(), "amount", "list_price"),
            "win_probability": p,
            "risk_score": (1 - p).round(4),
            "risk_tier": _tier(p),
            "expected_revenue": (value * p).round(2),
            "value_at_risk": (value * (1 - p)).round(2),
            "p_close_in_quarter": (p * share_q).round(4),
            "p_close_next_quarter": (p * share_next).round(4),
            "expected_close_date": close_date.dt.strftime("%Y-%m-%d"),
            "stale": deals["stale"],
        }
    )
    return out


def _shap(
    predictions: pd.DataFrame, crm_open: pd.DataFrame, base_value: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Long SHAP table whose base value plus each deal's contributions equals its win probability."""
    n, k = len(predictions), len(FEATURES)
    raw = rng.normal(0.0, 0.08, (n, k)) * np.array([1.0, 0.8, 0.5, 0.3, 0.4, 0.2])
    gap = predictions["win_probability"].to_numpy() - base_value
    raw[:, 0] += gap - raw.sum(axis=1)  # make the row sum exactly the gap
    values = {
        "rep_series_win_rate": np.round(rng.uniform(0.3, 0.8, n), 3).astype(str),
        "age_days": predictions["age_days"].fillna(-1).astype(int).astype(str).replace("-1", ""),
        "list_price": crm_open["list_price"].astype(str),
        "sector": crm_open["sector"].astype(str),
        "deal_stage": predictions["deal_stage"].astype(str),
        "account_employees": crm_open["account_employees"].astype(str),
    }
    frames = [
        pd.DataFrame(
            {
                "opportunity_id": predictions["opportunity_id"],
                "feature": name,
                "feature_value": values[name],
                "shap_value": np.round(raw[:, j], 6),
            }
        )
        for j, name in enumerate(FEATURES)
    ]
    long = pd.concat(frames, ignore_index=True)
    long["base_value"] = base_value
    return long.sort_values(["opportunity_id", "feature"], kind="stable").reset_index(drop=True)


def _sentence(feature: str, impact: float) -> str:
    """Plain-language driver sentence with the signed impact in points."""
    direction = "raises" if impact >= 0 else "lowers"
    return f"{FEATURES[feature].capitalize()} {direction} the chance by {abs(impact) * 100:.1f} points"


def _add_drivers(predictions: pd.DataFrame, shap_long: pd.DataFrame) -> pd.DataFrame:
    """driver_1..3 (+ _feature, _impact): the three largest |SHAP| contributions of each deal."""
    ranked = shap_long.assign(mag=shap_long["shap_value"].abs()).sort_values(
        ["opportunity_id", "mag", "feature"], ascending=[True, False, True], kind="stable"
    )
    ranked["rank"] = ranked.groupby("opportunity_id").cumcount() + 1
    out = predictions.copy()
    for k in (1, 2, 3):
        top = ranked[ranked["rank"] == k].set_index("opportunity_id")
        feature = out["opportunity_id"].map(top["feature"])
        impact = out["opportunity_id"].map(top["shap_value"])
        out[f"driver_{k}"] = [_sentence(f, i) for f, i in zip(feature, impact, strict=True)]
        out[f"driver_{k}_feature"] = feature
        out[f"driver_{k}_impact"] = impact.round(4)
    return out


def _forecast(predictions: pd.DataFrame, crm, as_of: pd.Timestamp) -> pd.DataFrame:
    """Forecast rows per period and segment, summed from the deals (quantiles are a fixed spread)."""
    periods = _periods(as_of)
    close = pd.to_datetime(predictions["expected_close_date"])
    won = crm.deals[crm.deals["is_won"]]
    rows = []
    segment_types = ["all", "regional_office", "manager", "sales_agent", "product"]
    if "forecast_category" in predictions.columns:  # as predict.py writes it for an export with categories
        predictions = predictions.assign(
            forecast_category=predictions["forecast_category"].replace("", NOT_SET_CATEGORY)
        )
        segment_types.append("forecast_category")
    for _, period in periods.iterrows():
        start, end = period["period_start"], period["period_end"]
        if period["period_type"] == "quarter":
            first_q = start == _quarter_start(as_of)
            share = predictions["p_close_in_quarter" if first_q else "p_close_next_quarter"]
            contribution = predictions["deal_value"] * share
        else:
            contribution = (
                predictions["deal_value"]
                * predictions["win_probability"]
                * ((close >= start) & (close <= end))
            )
        won_in = won[(won["close_date"] >= start) & (won["close_date"] <= min(end, as_of))]
        for seg_type in segment_types:
            keys = pd.Series("All", index=predictions.index) if seg_type == "all" else predictions[seg_type]
            expected = contribution.groupby(keys).sum()
            won_keys = pd.Series("All", index=won_in.index) if seg_type == "all" else won_in[seg_type]
            closed_won = won_in["close_value"].groupby(won_keys).sum()
            if seg_type == "forecast_category":  # closed deals add no closed_won to a category
                closed_won = closed_won.iloc[0:0]
            for segment, value in expected.items():
                rows.append(
                    (
                        period["period_type"],
                        start,
                        end,
                        seg_type,
                        segment,
                        value,
                        closed_won.get(segment, 0.0),
                    )
                )
    frame = pd.DataFrame(
        rows,
        columns=[
            "period_type",
            "period_start",
            "period_end",
            "segment_type",
            "segment",
            "expected",
            "closed_won",
        ],
    )
    frame["p10"] = frame["expected"] * 0.62
    frame["p50"] = frame["expected"] * 0.96
    frame["p90"] = frame["expected"] * 1.41
    for col in ("expected", "p10", "p50", "p90", "closed_won"):
        frame[col] = frame[col].round(2)
    # deals not yet created: a fifth of the open deals' expected revenue in a period already begun, one and
    # a half times it in a later one; the whole period adds them to what is won and open (fixed spread)
    begun = frame["period_start"] <= as_of
    frame["new_expected"] = (frame["expected"] * np.where(begun, NEW_SHARE_BEGUN, NEW_SHARE_LATER)).round(2)
    frame["total_expected"] = (frame["closed_won"] + frame["expected"] + frame["new_expected"]).round(2)
    coming = frame["expected"] + frame["new_expected"]
    for col, factor in zip(TOTAL_COLUMNS, TOTAL_SPREAD, strict=True):
        frame[col] = (frame["closed_won"] + factor * coming).round(2)
    for col in ("period_start", "period_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    return frame[
        [
            "period_type",
            "period_start",
            "period_end",
            "segment_type",
            "segment",
            "expected",
            "p10",
            "p50",
            "p90",
            "closed_won",
            "new_expected",
            "total_expected",
            *TOTAL_COLUMNS,
        ]
    ]


NEW_SHARE_BEGUN, NEW_SHARE_LATER = 0.2, 1.5  # deals not yet created, against the open deals' expected
TOTAL_COLUMNS = ("total_p10", "total_p50", "total_p90")
TOTAL_SPREAD = (0.8, 0.97, 1.22)  # the whole period's P10, P50, P90: won so far + this x what is to come


def _metrics(as_of: pd.Timestamp) -> dict:
    """Made-up model metrics in the plan/contracts.md section 3 shape."""
    per = []
    for k, months_back in enumerate((9, 6, 3)):
        day = (as_of - pd.DateOffset(months=months_back)).strftime("%Y-%m-%d")
        model = {
            "auc": 0.71 + 0.01 * k,
            "brier": 0.19,
            "brier_skill": 0.12 + 0.01 * k,
            "log_loss": 0.56,
            "ece": 0.03,
        }
        base = {"auc": 0.5, "brier": 0.22, "brier_skill": 0.0, "log_loss": 0.64, "ece": 0.01}
        stage_age = {"auc": 0.62, "brier": 0.205, "brier_skill": 0.07, "log_loss": 0.6, "ece": 0.02}
        reliability = [
            {
                "bin_lower": b / 10,
                "bin_upper": (b + 1) / 10,
                "n": 30 + b,
                "mean_predicted": b / 10 + 0.05,
                "observed_rate": min(1.0, b / 10 + 0.05 + (0.02 if b % 2 else -0.02)),
            }
            for b in range(10)
        ]
        per.append(
            {
                "as_of": day,
                "n": 400 + 10 * k,
                "base_rate": 0.48,
                "model": model,
                "baseline_base_rate": base,
                "baseline_stage_age": stage_age,
                "reliability": reliability,
                "calibration_by_age": [
                    {
                        "age_days": "0-14",
                        "n": 120,
                        "mean_predicted": 0.55,
                        "observed_rate": 0.52,
                        "chance_low": 0.48,
                        "chance_high": 0.62,
                        "over": 3.6,
                    },
                    {
                        "age_days": "91-180",
                        "n": 80,
                        "mean_predicted": 0.2,
                        "observed_rate": 0.1 + 0.05 * k,
                        "chance_low": 0.13,
                        "chance_high": 0.28,
                        "over": 80 * (0.1 - 0.05 * k),
                    },
                ],
            }
        )
    return {
        "validation": {
            "n": 500,
            "auc": 0.72,
            "brier": 0.19,
            "log_loss": 0.55,
            "ece": 0.03,
            "calibration_method": "isotonic",
        },
        "backtest": {
            "as_of_dates": [p["as_of"] for p in per],
            "per_as_of": per,
            "summary": {
                "auc": 0.72,
                "brier": 0.19,
                "brier_skill": 0.13,
                "ece": 0.03,
                "pooled": {
                    "n": 1230,
                    "n_deals": 1010,
                    "ece": 0.02,
                    "ece_if_calibrated": {"p05": 0.011, "median": 0.017, "p95": 0.027},
                    "reliability": [
                        {
                            "bin_lower": b / 10,
                            "bin_upper": (b + 1) / 10,
                            "n": 3 * (30 + b),
                            "n_deals": 2 * (30 + b),
                            "mean_predicted": b / 10 + 0.05,
                            "observed_rate": min(1.0, b / 10 + 0.05 + (0.02 if b % 2 else -0.02)),
                            "chance_low": b / 10 + 0.01,
                            "chance_high": b / 10 + 0.09,
                        }
                        for b in range(10)
                    ],
                },
            },
            "signal_statement": "FIXTURE: the model beats the base rate by 13% Brier skill.",
        },
    }


def _forecast_backtest(as_of: pd.Timestamp) -> dict:
    """Made-up forecast backtest (coverage and pinball) in the contract shape."""
    windows = []
    for k, months_back in enumerate((9, 6, 3)):
        day = (as_of - pd.DateOffset(months=months_back)).strftime("%Y-%m-%d")
        start = _quarter_start(pd.Timestamp(day)).strftime("%Y-%m-%d")
        windows.append(
            {
                "as_of": day,
                "period_type": "quarter",
                "period_start": start,
                "segment_type": "all",
                "segment": "All",
                "actual": 100000.0 + 20000 * k,
                "p10": 80000.0,
                "p50": 105000.0,
                "p90": 140000.0,
            }
        )
    return {
        "summary": {
            "coverage_p10_p90": 0.78,
            "pinball": 5400.0,
            "naive_coverage_p10_p90": 0.55,
            "naive_pinball": 9100.0,
            "total_coverage_p10_p90": 0.81,  # the whole period's range (won + open + not yet created)
            "windows": len(windows),
        },
        "windows": windows,
    }


COMPARE_DAYS = 14  # the fixture's compare date: two weeks before the as-of date (predict.py's default is 7)
HISTORY_STAGES = ("Qualify", "Discovery", "Proposal", "Negotiation")
CATEGORIES = ("Commit", "Best Case", "Pipeline", "")  # the reps' forecast category, "" = none
NOT_SET_CATEGORY = "Not set"
REP_PROBABILITY = {"Commit": "0.9", "Best Case": "0.5", "Pipeline": "0.1", "": ""}
SOURCE_WITH_HISTORY = "the field history (amounts, stages and close dates as they were then)"
SOURCE_WITHOUT_HISTORY = (
    "the export's creation and close dates (no field history: amounts, stages and close dates only as "
    "exported now, so none of them moves)"
)


def _add_history(predictions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The columns predict.py adds from a field history and the rep's own call: stage, days in it, close-date
    pushes, the rep's close date (every 11th day from the as-of date, so some fall inside the quarter and
    some after), a forecast category cycling Commit, Best Case, Pipeline, none, and the rep's probability.
    The live deal with the best chance this quarter is Best Case, so the upside list is never empty."""
    position = np.arange(len(predictions))
    category = np.array([CATEGORIES[k % len(CATEGORIES)] for k in position], dtype=object)
    chance = predictions["p_close_in_quarter"].where(~predictions["stale"].astype(bool))
    category[int(np.nanargmax(chance.to_numpy(dtype=float)))] = "Best Case"
    pushes = position % 3
    return predictions.assign(
        stage=[HISTORY_STAGES[k % len(HISTORY_STAGES)] for k in position],
        days_in_stage=3 + (position * 7) % 60,
        close_date_pushes=pushes,
        days_pushed=15 * pushes,
        rep_close_date=(as_of + pd.to_timedelta((position * 11) % 120, unit="D")).strftime("%Y-%m-%d"),
        forecast_category=category,
        rep_probability=[REP_PROBABILITY[c] for c in category],
    )


def _changes(crm, predictions: pd.DataFrame, as_of: pd.Timestamp, history: bool) -> tuple[pd.DataFrame, dict]:
    """pipeline_changes.csv and its metadata, made to add up as the batch step's do: the open pipeline then
    is the fixture's deal value now minus every value change. New deals: engaged after the compare date;
    won and lost: closed after it; with a history also a few amounts, close dates and stages that moved."""
    compare = as_of - pd.Timedelta(days=COMPARE_DAYS)
    deals = crm.deals.set_index("opportunity_id")
    now = predictions.set_index("opportunity_id")
    engaged = pd.to_datetime(now["engage_date"].replace("", None))
    rows: list[dict] = []

    def add(ids, kind, before, after, detail=None) -> None:
        for k, deal in enumerate(ids):
            rows.append(
                {
                    "opportunity_id": deal,
                    "change_type": kind,
                    "value_before": float(np.asarray(before)[k]) if np.ndim(before) else float(before),
                    "value_after": float(np.asarray(after)[k]) if np.ndim(after) else float(after),
                    "detail": "" if detail is None else detail[k],
                }
            )

    new = now.index[(engaged > compare).to_numpy()]
    add(new, "new", 0.0, now.loc[new, "deal_value"])
    closed = deals[~deals["is_open"] & (deals["close_date"] > compare) & (deals["close_date"] <= as_of)]
    value = closed["amount"].fillna(closed["list_price"]).fillna(1000.0)
    fresh = closed.index[(closed["engage_date"] > compare).to_numpy()]
    add(fresh, "new", 0.0, value.loc[fresh])
    for kind, won in (("won", True), ("lost", False)):
        ids = closed.index[closed["is_won"].to_numpy() == won]
        add(ids, kind, value.loc[ids], 0.0)
    if history:
        kept = now.loc[now.index.difference(new)].sort_index()
        up, down = kept.index[:3], kept.index[3:5]
        add(up, "amount_up", kept.loc[up, "deal_value"] - 100.0, kept.loc[up, "deal_value"])
        add(down, "amount_down", kept.loc[down, "deal_value"] + 50.0, kept.loc[down, "deal_value"])
        quarter_end = as_of.to_period("Q").end_time.normalize()
        promised = pd.to_datetime(kept["rep_close_date"])
        out = kept.index[((promised > quarter_end) & (kept["close_date_pushes"] >= 1)).to_numpy()][:3]
        details = [
            f"close date {quarter_end - pd.Timedelta(days=10):%Y-%m-%d} -> {promised[d]:%Y-%m-%d}"
            for d in out
        ]
        add(out, "pushed_out", kept.loc[out, "deal_value"], kept.loc[out, "deal_value"], details)
        into = kept.index[(promised <= quarter_end).to_numpy()][:1]
        details = [
            f"close date {quarter_end + pd.Timedelta(days=20):%Y-%m-%d} -> {promised[d]:%Y-%m-%d}"
            for d in into
        ]
        add(into, "pulled_in", kept.loc[into, "deal_value"], kept.loc[into, "deal_value"], details)
        moved = kept.index[5:10]
        stage_at = {s: i for i, s in enumerate(HISTORY_STAGES)}
        forward = [d for d in moved if stage_at[kept.loc[d, "stage"]] > 0][:4]
        details = [
            f"{HISTORY_STAGES[stage_at[kept.loc[d, 'stage']] - 1]} -> {kept.loc[d, 'stage']}" for d in forward
        ]
        add(
            forward,
            "stage_forward",
            kept.loc[forward, "deal_value"],
            kept.loc[forward, "deal_value"],
            details,
        )
        back = [d for d in kept.index[10:20] if stage_at[kept.loc[d, "stage"]] < len(HISTORY_STAGES) - 1][:1]
        details = [
            f"{HISTORY_STAGES[stage_at[kept.loc[d, 'stage']] + 1]} -> {kept.loc[d, 'stage']}" for d in back
        ]
        add(back, "stage_back", kept.loc[back, "deal_value"], kept.loc[back, "deal_value"], details)
    frame = pd.DataFrame(
        rows, columns=["opportunity_id", "change_type", "value_before", "value_after", "detail"]
    )
    moves = frame["change_type"].isin(("new", "won", "lost", "amount_up", "amount_down"))
    frame["value_change"] = np.where(moves, frame["value_after"] - frame["value_before"], 0.0).round(2)
    frame = frame.join(deals[["sales_agent", "manager", "regional_office", "product"]], on="opportunity_id")
    order = {k: i for i, k in enumerate(CHANGE_ORDER)}
    frame = frame.assign(_order=frame["change_type"].map(order)).sort_values(["_order", "opportunity_id"])
    frame = frame[[c.name for c in CHANGES]].reset_index(drop=True)
    after = round(float(predictions["deal_value"].sum()), 2)
    grouped = frame.groupby("change_type", sort=False)["value_change"]
    summary = {
        "compare_to": f"{compare:%Y-%m-%d}",
        "source": SOURCE_WITH_HISTORY if history else SOURCE_WITHOUT_HISTORY,
        "open_pipeline_before": round(after - float(frame["value_change"].sum()), 2),
        "open_pipeline_after": after,
        "by_type": {
            str(kind): {"deals": int(n), "value_change": round(float(v), 2)}
            for kind, n, v in zip(grouped.size().index, grouped.size(), grouped.sum(), strict=True)
        },
    }
    return frame, summary


CHANGE_ORDER = (
    "new",
    "won",
    "lost",
    "amount_up",
    "amount_down",
    "pushed_out",
    "pulled_in",
    "stage_forward",
    "stage_back",
)
QUANTILE_GRID = np.round(np.arange(1, 100) / 100, 2)


def _quantiles(forecast: pd.DataFrame) -> pd.DataFrame:
    """forecast_quantiles.csv for every forecast row: q = 0.01 .. 0.99, linear through the row's P10, P50 and
    P90 (so q = 0.1, 0.5, 0.9 are forecast.csv's), from half the P10 at q = 0.01 to 1.2 x the P90 at 0.99;
    scope "open" for the open deals, "total" for the whole period (the same shape above what is won)."""
    knots_q = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    won = forecast["closed_won"]
    scopes = {
        "open": (forecast["p10"], forecast["p50"], forecast["p90"], 0.0),
        "total": (forecast["total_p10"], forecast["total_p50"], forecast["total_p90"], won),
    }
    keys = forecast[["period_type", "period_start", "segment_type", "segment"]].loc[
        forecast.index.repeat(len(QUANTILE_GRID))
    ]
    frames = []
    for scope, (p10, p50, p90, base) in scopes.items():
        knots = np.column_stack([base + 0.5 * (p10 - base), p10, p50, p90, base + 1.2 * (p90 - base)])
        revenue = np.vstack([np.interp(QUANTILE_GRID, knots_q, row) for row in knots]).round(2)
        frames.append(
            keys.assign(scope=scope, q=np.tile(QUANTILE_GRID, len(forecast)), revenue=revenue.ravel())
        )
    return pd.concat(frames, ignore_index=True)


ACCURACY_FACTORS = (0.95, 1.05, 1.2, 0.8)  # actual / expected, week by week: inside, inside, above, below


TOTAL_ACTUALS = (840_000.0, 700_000.0)  # everything won in each of the track record's two quarters


def _accuracy(as_of: pd.Timestamp, history: bool) -> pd.DataFrame:
    """forecast_accuracy.csv: each Friday of the two complete quarters before the as-of date, a forecast of
    its quarter shrinking from 500,000 to 50,000 as the quarter goes (P10-P90 = expected -12% .. +12%) and an
    actual of expected x ACCURACY_FACTORS in turn (half the weeks inside the band); with categories the reps'
    Commit is 70% of the actual. The whole quarter's forecast is 800,000 less a tenth of the open deals'
    expected, its band +-a quarter of that expected (narrowing as the quarter goes), against TOTAL_ACTUALS:
    early weeks inside, late ones outside."""
    last = as_of.to_period("Q") - 1
    rows = []
    for quarter, total_actual in zip((last - 1, last), TOTAL_ACTUALS, strict=True):
        fridays = pd.date_range(quarter.start_time, quarter.end_time, freq="W-FRI")
        for k, friday in enumerate(fridays):
            expected = 500_000.0 - 450_000.0 * k / max(len(fridays) - 1, 1)
            actual = expected * ACCURACY_FACTORS[len(rows) % len(ACCURACY_FACTORS)]
            whole = 800_000.0 - 0.1 * expected
            rows.append(
                {
                    "as_of": f"{friday:%Y-%m-%d}",
                    "period_start": f"{quarter.start_time:%Y-%m-%d}",
                    "expected": round(expected, 2),
                    "p10": round(0.88 * expected, 2),
                    "p50": round(expected, 2),
                    "p90": round(1.12 * expected, 2),
                    "actual": round(actual, 2),
                    "total_expected": round(whole, 2),
                    "total_p10": round(whole - 0.25 * expected, 2),
                    "total_p50": round(whole, 2),
                    "total_p90": round(whole + 0.25 * expected, 2),
                    "total_actual": total_actual,
                    **({"rep_commit": round(0.7 * actual, 2)} if history else {}),
                }
            )
    return pd.DataFrame(rows)


def build_prediction_outputs(
    root: Path,
    n_deals: int = 600,
    seed: int = 11,
    hostile_accounts: bool = True,
    forecast_backtest: bool = True,
    history: bool = False,
) -> Path:
    """Write a tiny CRM export (root/crm) and contract-conformant batch outputs (root/predictions): the
    predictions, forecast, SHAP values, quantile grid, track record, past quarters' revenue and changes
    since the compare date;
    ``history``: as from an export with a field history and the reps' forecast categories."""
    synthetic = generate_crm(n_deals=n_deals, seed=seed)
    data_dir = root / "crm"
    write_crm(synthetic, data_dir)
    crm = load_crm(data_dir)
    as_of = crm.as_of
    rng = np.random.default_rng(seed)
    predictions = _predictions(crm, synthetic.truth, as_of, rng)
    crm_open = crm.deals[crm.deals["is_open"]].reset_index(drop=True)
    if hostile_accounts and len(predictions) >= 2:
        order = predictions["value_at_risk"].rank(method="first", ascending=False)
        for name, rank in zip(HOSTILE_ACCOUNTS, (1, 2), strict=True):
            predictions.loc[order == rank, "account"] = name
    base_value = 0.41
    shap_long = _shap(predictions, crm_open, base_value, rng)
    predictions = _add_drivers(predictions, shap_long)
    if history:
        predictions = _add_history(predictions, as_of)
    forecast = _forecast(predictions, crm, as_of)
    changes, changes_summary = _changes(crm, predictions, as_of, history)
    out_dir = root / "predictions"
    out_dir.mkdir(parents=True, exist_ok=True)
    # as the batch step writes them: the contract's files, each CSV with its Parquet twin
    for name, frame, table in (
        (PREDICTIONS_FILE, predictions, PREDICTIONS),
        (FORECAST_FILE, forecast, FORECAST),
        (SHAP_FILE, shap_long, SHAP),
        (CHANGES_FILE, changes, CHANGES),
        (QUANTILES_FILE, _quantiles(forecast), QUANTILES),
        (ACCURACY_FILE, _accuracy(as_of, history), ACCURACY),
        (QUARTERS_FILE, quarter_actuals(crm.deals, as_of, SEGMENT_TYPES), QUARTER_ACTUALS),
    ):
        (out_dir / name).write_bytes(csv_bytes(frame, decimals(table)))
        (out_dir / fast_file(name)).write_bytes(parquet_bytes(frame, decimals(table)))
    kind = "fixture-history" if history else "fixture"
    run_id = hashlib.sha256(f"{crm.data_hash}|{as_of:%Y-%m-%d}|{kind}|{seed}".encode()).hexdigest()[:16]
    metadata = {
        "run_id": run_id,
        "as_of": f"{as_of:%Y-%m-%d}",
        "export_end": f"{crm.export_end:%Y-%m-%d}",
        "data": {"data_dir": str(data_dir), "data_hash": crm.data_hash},
        "model": ModelInfo(
            version="fixture-0001",
            trained_as_of=f"{as_of:%Y-%m-%d}",
            trained_data_hash=crm.data_hash,
            metrics=_metrics(as_of),
        ),
        "counts": Counts(
            deals=len(crm.deals),
            open_deals=int(crm.deals["is_open"].sum()),
            scored=len(predictions),
            stale=int(predictions["stale"].sum()),
            prospecting=int(predictions["deal_stage"].eq("Prospecting").sum()),
        ),
        "simulation": {
            "runs": 10000,
            "seed": seed,
            "dependence": {  # the shape predict.py writes (demo-sized variances)
                "market_variance": 0.0,
                "segment_variance": 0.001834,
                "segment_type": "regional_office",
                "persistent_variance": 0.002854,
            },
            "new_deals": creation_summary(crm.deals, as_of),  # deals created lately, as predict.py counts
        },
        "changes": changes_summary,
        **({"stage_order": list(HISTORY_STAGES)} if history else {}),
        "risk": RiskInfo(formula="risk_score = 1 - win_probability (fixture)", tiers=TIERS),
        "timings_seconds": {
            "load": 0.1,
            "train": 1.0,
            "score": 0.1,
            "explain": 0.2,
            "forecast": 0.3,
            "write": 0.05,
        },
        "data_quality": crm.quality.to_dict(),
        "software": {"python": "3.11", "lightgbm": "4.7.0", "pandas": pd.__version__},
    }
    if forecast_backtest:
        metadata["forecast_backtest"] = _forecast_backtest(as_of)
    (out_dir / METADATA_FILE).write_text(json.dumps(RunMetadata(**metadata).to_dict(), indent=2))
    return out_dir


@pytest.fixture(scope="session")
def fixture_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide directory of small fixture batch outputs (read-only for tests)."""
    return build_prediction_outputs(tmp_path_factory.mktemp("fixture_run"))


@pytest.fixture(scope="session")
def history_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fixture batch outputs as from an export with a field history and the reps' forecast categories."""
    return build_prediction_outputs(tmp_path_factory.mktemp("history_run"), history=True)


@pytest.fixture
def history_env(history_outputs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the fixture outputs with a field history."""
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(history_outputs))
    return history_outputs


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real batch outputs: predict.py on the bundled demo CRM (dataset/, ~2,000 open deals, the default
    10,000 simulations), MLflow kept in the temporary directory. For slow tests."""
    root_dir = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("demo_run")
    command = [
        sys.executable,
        str(root_dir / "models" / "inference" / "predict.py"),
        "--data-dir",
        str(root_dir / "dataset"),
        "--out-dir",
        str(out / "out"),
        "--model-dir",
        str(out / "models"),
        "--quiet",
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{out / 'mlflow.db'}"}
    done = subprocess.run(command, cwd=root_dir, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr
    return out / "out"


@pytest.fixture(autouse=True)
def clear_streamlit_caches() -> None:
    """Every test starts with empty Streamlit caches (they persist across AppTest instances)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app_env(fixture_outputs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the fixture outputs."""
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(fixture_outputs))
    return fixture_outputs


@pytest.fixture
def csv_downloads(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - returns the runner below
    """A runner: ``csv_downloads(at)`` reruns the AppTest and returns the rows of every deferred CSV
    download the page registered, by file name (the page's own callables, called)."""
    import io

    from streamlit.runtime.media_file_manager import MediaFileManager

    def run(at) -> dict[str, pd.DataFrame]:  # noqa: ANN001 - an AppTest
        registered = {}
        original = MediaFileManager.add_deferred

        def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
            registered[file_name] = data_callable
            return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

        monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
        at.run()
        monkeypatch.setattr(MediaFileManager, "add_deferred", original)
        return {
            name: pd.read_csv(io.StringIO(call()), dtype={"opportunity_id": str}, keep_default_na=False)
            for name, call in registered.items()
        }

    return run
