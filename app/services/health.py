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


def reliability_bins(metrics: dict) -> pd.DataFrame:
    """Reliability bins pooled over every backtest as-of date (count-weighted means)."""
    rows = [
        b
        for entry in (metrics.get("backtest") or {}).get("per_as_of", [])
        for b in entry.get("reliability", [])
    ]
    if not rows:
        return pd.DataFrame(columns=["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"])
    bins = pd.DataFrame(rows)
    bins = bins[bins["n"] > 0]
    bins = bins.assign(pred_sum=bins["mean_predicted"] * bins["n"], obs_sum=bins["observed_rate"] * bins["n"])
    pooled = bins.groupby(["bin_lower", "bin_upper"], as_index=False)[["n", "pred_sum", "obs_sum"]].sum()
    pooled["mean_predicted"] = pooled["pred_sum"] / pooled["n"]
    pooled["observed_rate"] = pooled["obs_sum"] / pooled["n"]
    return pooled[["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"]]


def feature_importance(shap: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Mean |SHAP| (probability points) per feature over all scored deals, largest first."""
    importance = shap["shap_value"].abs().groupby(shap["feature"]).mean().rename("mean_abs_shap")
    importance = importance.reset_index().sort_values(
        ["mean_abs_shap", "feature"], ascending=[False, True], kind="stable"
    )
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

    Shown even beside a backtest that reports signal: when the two disagree, the leader sees both.
    """
    auc = (metrics.get("validation") or {}).get("auc")
    if auc is None or float(auc) >= NO_SIGNAL_AUC:
        return None
    text = (
        f"On this run's held-out validation deals the model ranks wins no better than chance (AUC "
        f"{float(auc):.2f}; 0.5 is a coin flip). Read its probabilities as roughly the base rate, not as "
        "deal-by-deal signal."
    )
    if (metrics.get("backtest") or {}).get("signal_statement"):
        text += (
            " The rolling backtest reports more signal than this; the two disagree (see Model & Data Health)."
        )
    return text
