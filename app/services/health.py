"""Pure logic of the Model & Data Health page: backtest tables, reliability bins, feature importance."""

from __future__ import annotations

import pandas as pd

MODELS = {
    "model": "Model",
    "baseline_stage_age": "Baseline: stage and age",
    "baseline_base_rate": "Baseline: base rate",
    "oracle": "Oracle (true probabilities, synthetic data only)",
}
METRICS = ("auc", "brier", "brier_skill", "log_loss", "ece")
RELIABILITY_COLUMNS = ["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"]


def backtest_table(metrics: dict) -> pd.DataFrame:
    """One row per (as-of date, model or baseline) with AUC, Brier, Brier skill, log loss and ECE."""
    rows = []
    for entry in (metrics.get("backtest") or {}).get("per_as_of", []):
        for key, label in MODELS.items():
            scores = entry.get(key)
            if not scores:
                continue
            rows.append(
                {
                    "as_of": entry.get("as_of"),
                    "n": entry.get("n"),
                    "base_rate": entry.get("base_rate"),
                    "model": label,
                    **{m: scores.get(m) for m in METRICS},
                }
            )
    return pd.DataFrame(rows, columns=["as_of", "n", "base_rate", "model", *METRICS])


def calibration_by_age_table(metrics: dict) -> pd.DataFrame:
    """The backtest's calibration by deal age (``per_as_of[*].calibration_by_age``), one row per date and age
    group; empty for metrics written before it existed."""
    rows = [
        {
            "as_of": entry.get("as_of"),
            "age_days": group["age_days"],
            "n": group["n"],
            "mean_predicted": group["mean_predicted"],
            "observed_rate": group["observed_rate"],
            "chance": f"{group['chance_low']:.1%}-{group['chance_high']:.1%}",
            "over": group["over"],
            "outside": not group["chance_low"] <= group["observed_rate"] <= group["chance_high"],
        }
        for entry in (metrics.get("backtest") or {}).get("per_as_of", [])
        for group in entry.get("calibration_by_age") or []
    ]
    columns = ["as_of", "age_days", "n", "mean_predicted", "observed_rate", "chance", "over", "outside"]
    return pd.DataFrame(rows, columns=columns)


def outcome_note(metrics: dict) -> str | None:
    """How the backtest knew the scored deals' outcomes, counts summed over its dates (None when not said).

    Without truth.csv some outcomes are not in the export yet: stale deals count as not won, and deals still
    open and not stale count as their estimated chance of winning, which a reader of the figures should know.
    """
    rows = (metrics.get("backtest") or {}).get("per_as_of") or []
    if not rows or not rows[0].get("label_source"):
        return None
    n = sum(r.get("n") or 0 for r in rows)
    kinds = {
        "still_open_at_export_counted_not_won": "still open and stale at the export, counted as not won",
        "still_open_at_export_estimated": "still open there and scored against an estimated outcome",
        "excluded_still_open_at_export": "left out, their outcome unknown",
    }
    counts = [(sum(r.get(key) or 0 for r in rows), text) for key, text in kinds.items()]
    details = [f"{count:,} {text}" for count, text in counts if count]
    return f"Outcomes: {rows[0]['label_source']}. Of {n:,} scored deals" + (
        f": {'; '.join(details)}." if details else ", every outcome is known."
    )


def reliability_bins(metrics: dict) -> pd.DataFrame:
    """Reliability bins pooled over every backtest as-of date.

    From the backtest's own pooled table when it has one (``summary.pooled``, written by the batch step with
    each bin's 5-95% range of a perfectly calibrated model's observed rate, one outcome drawn per deal);
    for older metrics the per-date bins are pooled here (count-weighted means) and carry no chance range.
    """
    pooled = (((metrics.get("backtest") or {}).get("summary") or {}).get("pooled") or {}).get("reliability")
    if pooled:
        return pd.DataFrame(pooled)[[*RELIABILITY_COLUMNS, "chance_low", "chance_high"]]
    rows = [
        b
        for entry in (metrics.get("backtest") or {}).get("per_as_of", [])
        for b in entry.get("reliability", [])
    ]
    if not rows:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    bins = pd.DataFrame(rows)
    bins = bins[bins["n"] > 0]
    bins = bins.assign(pred_sum=bins["mean_predicted"] * bins["n"], obs_sum=bins["observed_rate"] * bins["n"])
    pooled = bins.groupby(["bin_lower", "bin_upper"], as_index=False)[["n", "pred_sum", "obs_sum"]].sum()
    pooled["mean_predicted"] = pooled["pred_sum"] / pooled["n"]
    pooled["observed_rate"] = pooled["obs_sum"] / pooled["n"]
    return pooled[RELIABILITY_COLUMNS]


def pooled_calibration_note(metrics: dict) -> str | None:
    """The pooled ECE beside the reliability diagram, with the range chance gives a calibrated model."""
    backtest = metrics.get("backtest") or {}
    pooled = (backtest.get("summary") or {}).get("pooled") or {}
    spread = pooled.get("ece_if_calibrated") or {}
    if pooled.get("ece") is None or spread.get("p95") is None or len(backtest.get("per_as_of") or []) < 2:
        return None  # one date: the pooled figures are that date's, already in the table
    verdict = "within" if pooled["ece"] <= spread["p95"] else "beyond"
    text = (
        f"Pooled over the dates ({pooled['n']:,} scores of {pooled['n_deals']:,} deals) the ECE is "
        f"{pooled['ece']:.3f}, {verdict} the {spread['p05']:.3f}-{spread['p95']:.3f} a perfectly calibrated "
        "model shows by chance"
    )
    if pooled.get("oracle_ece") is not None:
        text += f" (the true probabilities: {pooled['oracle_ece']:.3f})"
    return text + "."


def feature_importance(shap: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Mean |SHAP| (probability points) per feature over all scored deals, largest first.

    ``label`` is the feature's plain-language name when the SHAP rows carry one, else the feature name.
    """
    importance = shap["shap_value"].abs().groupby(shap["feature"]).mean().rename("mean_abs_shap")
    importance = importance.reset_index().sort_values(
        ["mean_abs_shap", "feature"], ascending=[False, True], kind="stable"
    )
    if "feature_label" in shap.columns:
        names = shap.drop_duplicates("feature").set_index("feature")["feature_label"].astype(str)
        importance["label"] = importance["feature"].map(names).fillna(importance["feature"])
    else:
        importance["label"] = importance["feature"]
    return importance.head(top).reset_index(drop=True)


def quality_table(report: dict | None) -> pd.DataFrame:
    """The data-quality report as one row per finding."""
    items = (report or {}).get("items", [])
    frame = pd.DataFrame(
        items, columns=["code", "file", "column", "count", "action", "description", "examples"]
    )
    frame["examples"] = frame["examples"].map(
        lambda v: ", ".join(map(str, v)) if isinstance(v, list) else str(v)
    )
    return frame[["description", "count", "action", "file", "column", "examples", "code"]]


def quality_warnings(report: dict | None, open_deals: int) -> list[str]:
    """One sentence per quality finding that touches open deals, largest first."""
    frame = quality_table(report)
    frame = frame[frame["count"] > 0].sort_values("count", ascending=False, kind="stable")
    out = []
    for _, item in frame.iterrows():
        share = (
            f" ({item['count'] / open_deals:.0%} of open deals)"
            if open_deals
            and item["code"] in {"blank_account", "stale_open_deal", "prospecting_without_engage_date"}
            else ""
        )
        out.append(f"{item['description']}: {item['count']:,}{share}. {item['action'].capitalize()}.")
    return out


NO_SIGNAL_AUC = 0.55


def signal_warning(metrics: dict) -> str | None:
    """A plain warning when this run's held-out validation AUC is under 0.55 (barely better than chance).

    The validation scores recent snapshots whose outcome is known, i.e. deals that closed: win versus
    loss. The backtest also scores deals that never close, which age alone recognises, so the two can
    differ; the warning says what each measures rather than leaving the leader to reconcile them.
    """
    auc = (metrics.get("validation") or {}).get("auc")
    if auc is None or float(auc) >= NO_SIGNAL_AUC:
        return None
    text = (
        f"Among recently closed deals the model ranks wins against losses no better than chance (held-out "
        f"AUC {float(auc):.2f}; 0.5 is a coin flip): do not read small differences between live deals as "
        "signal."
    )
    backtest_auc = ((metrics.get("backtest") or {}).get("summary") or {}).get("auc")
    if backtest_auc is not None and float(backtest_auc) >= NO_SIGNAL_AUC:
        text += (
            f" Its higher backtest AUC ({float(backtest_auc):.2f}) comes from also scoring open deals that "
            "never close, which their age gives away."
        )
    return text


WELL_CALIBRATED_ECE = 0.05


def calibration_note(metrics: dict) -> str:
    """One sentence on how far to trust the probabilities as probabilities, from the backtest's ECE.

    With the backtest's sampling check (``ece_beyond_sampling_noise``) the verdict is whether each date's ECE
    is more than chance gives a perfectly calibrated forecaster on the same deals; without it (older
    metrics) the mean ECE is compared with ``WELL_CALIBRATED_ECE``.
    """
    backtest = metrics.get("backtest") or {}
    summary = backtest.get("summary") or {}
    mean, worst = summary.get("ece"), summary.get("max_ece")
    if mean is None:
        return "Win probabilities are calibrated on held-out recent deals; no backtest of their calibration."
    mean_pts, worst_pts = 100 * float(mean), 100 * float(worst if worst is not None else mean)
    error = f"off by {mean_pts:.0f} points on average (ECE; worst date {worst_pts:.0f})"
    beyond = summary.get("ece_beyond_sampling_noise")
    if beyond is not None:
        dates = len(backtest.get("per_as_of") or []) or len(beyond)
        pooled = summary.get("pooled") or {}
        pooled_p95 = (pooled.get("ece_if_calibrated") or {}).get("p95")
        if not beyond and dates > 1 and pooled_p95 is not None and pooled["ece"] > pooled_p95:
            return (
                f"Win probabilities are close to calibrated: in the backtest they were {error}, no more at "
                f"any date than chance gives a perfectly calibrated model, but pooled over the dates off by "
                f"{100 * float(pooled['ece']):.0f} points, more than chance explains; see the reliability "
                "diagram."
            )
        if not beyond:
            return (
                f"Win probabilities are calibrated: in the backtest they were {error}, no more at any date "
                "than chance gives a perfectly calibrated model on as many deals."
            )
        verdict = "calibrated" if len(beyond) * 2 < dates else "only roughly calibrated on this data"
        return (
            f"Win probabilities are {verdict}: in the backtest they were {error}, more than chance explains "
            f"at {len(beyond)} of {dates} dates ({', '.join(beyond)}); see the reliability diagram."
        )
    if float(mean) <= WELL_CALIBRATED_ECE:
        return f"Win probabilities are calibrated: in the backtest they were {error}."
    return (
        f"Win probabilities are only roughly calibrated on this data: in the backtest they were {error}, "
        "see the reliability diagram."
    )
