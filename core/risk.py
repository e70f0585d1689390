"""Risk score (0-100) and tiers for open deals, from documented components (plan/forecast-risk-spec.md).

Components, each scaled to 0..1:

* ``value_at_risk_rank``: percentile rank of ``deal_value * (1 - win_probability)`` among open deals
  (how much money could be lost, relative to the rest of this pipeline);
* ``loss_chance``: ``1 - win_probability``;
* ``overdue``: time past the usual close, ``(age - median won age) / (p90 won age - median won age)``
  clipped to 0..1 (stale deals count as fully overdue; not-yet-engaged deals as 0).

``risk_score = 100 * (0.55 * value_at_risk_rank + 0.25 * loss_chance + 0.20 * overdue)``, rounded to one
decimal. Tiers cut the score at fixed points. Staleness and data problems are separate flags, never tiers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS: dict[str, float] = {"value_at_risk_rank": 0.55, "loss_chance": 0.25, "overdue": 0.20}
TIER_CUTS: tuple[tuple[str, float], ...] = (("Critical", 75.0), ("High", 55.0), ("Watch", 35.0), ("Healthy", 0.0))
TIER_MEANINGS: dict[str, str] = {
    "Critical": "Among the largest sums at risk in the pipeline and unlikely or late to close: a manager's hour "
                "here this week changes the quarter.",
    "High": "Material value at risk or running past the usual close: review in the next pipeline meeting.",
    "Watch": "Some risk but modest value or still on schedule: keep an eye on it.",
    "Healthy": "Likely to close on time or too small to move the forecast: no action needed.",
}
DATA_FLAG_COLUMNS: tuple[str, ...] = (
    "flag_product_alias", "flag_blank_account", "flag_unknown_account", "flag_unknown_agent",
    "flag_unknown_product", "flag_no_engage_date",
)


def risk_formula() -> str:
    """The risk score formula in words, for the metadata and the app."""
    terms = " + ".join(f"{w:.2f} x {name}" for name, w in WEIGHTS.items())
    cuts = ", ".join(f"{tier} >= {cut:g}" for tier, cut in TIER_CUTS)
    return (f"risk_score = 100 x ({terms}); value_at_risk_rank = percentile rank of deal_value x "
            f"(1 - win_probability) among open deals; loss_chance = 1 - win_probability; overdue = (age - "
            f"median won age) / (p90 won age - median won age) clipped to 0..1, 1 for stale deals. Tiers: {cuts}. "
            "Stale and data problems are separate flags.")


def risk_components(deals: pd.DataFrame, median_won_age: float, p90_won_age: float) -> pd.DataFrame:
    """The three 0..1 components per deal (needs deal_value, win_probability, age_days, stale)."""
    value_at_risk = deals["deal_value"] * (1.0 - deals["win_probability"])
    rank = value_at_risk.rank(method="average", pct=True).fillna(0.0) if len(deals) else value_at_risk
    spread = max(p90_won_age - median_won_age, 1.0)
    overdue = ((deals["age_days"] - median_won_age) / spread).clip(0.0, 1.0).fillna(0.0)
    overdue = overdue.where(~deals["stale"].astype(bool), 1.0)
    return pd.DataFrame({"value_at_risk_rank": rank, "loss_chance": 1.0 - deals["win_probability"],
                         "overdue": overdue}, index=deals.index)


def risk_tier(score: pd.Series) -> pd.Series:
    """Tier name for each score, by the fixed cut points."""
    names = [tier for tier, _ in TIER_CUTS]
    cuts = [cut for _, cut in TIER_CUTS]
    conditions = [score >= cut for cut in cuts]
    return pd.Series(np.select(conditions, names, default=names[-1]), index=score.index, name="risk_tier")


def data_flags(deals: pd.DataFrame) -> pd.Series:
    """Semicolon-separated data problems of each deal ('' when none), from the loader's flag columns."""
    present = [c for c in DATA_FLAG_COLUMNS if c in deals.columns]
    text = pd.Series("", index=deals.index, dtype=object)
    for column in present:
        name = column.removeprefix("flag_")
        mark = deals[column].astype(bool)
        text = text.where(~mark, text.where(text.eq(""), text + ";") + name)
    return text.rename("data_flags")


def score_risk(deals: pd.DataFrame, median_won_age: float, p90_won_age: float) -> pd.DataFrame:
    """risk_score, risk_tier, value_at_risk and data_flags for open deals."""
    parts = risk_components(deals, median_won_age, p90_won_age)
    score = sum(parts[name] * weight for name, weight in WEIGHTS.items()) * 100.0
    score = score.round(1) if len(deals) else pd.Series(dtype=float, index=deals.index)
    return pd.DataFrame({
        "risk_score": score,
        "risk_tier": risk_tier(score),
        "value_at_risk": deals["deal_value"] * (1.0 - deals["win_probability"]),
        "data_flags": data_flags(deals),
    }, index=deals.index)
