"""Risk score (0-100) and tiers for open deals, from documented components (plan/forecast-risk-spec.md).

The score ranks deals by how much a manager's hour is worth on them. Components, each scaled to 0..1:

* ``value_rank``: percentile rank of ``deal_value`` among open deals (money at stake);
* ``in_play``: ``4 p (1 - p)`` for win probability ``p``: 1 for a coin-flip deal, near 0 for a deal that is
  as good as won or as good as lost (attention changes the outcome of deals in play, not of settled ones);
* ``overdue``: time past the usual close, ``(age - median won age) / (p90 won age - median won age)``
  clipped to 0..1 (stale deals count as fully overdue; not-yet-engaged deals as 0).

``risk_score = 100 * (0.45 * value_rank + 0.35 * in_play + 0.20 * overdue)``, rounded to one decimal.
Tiers cut the score at fixed points. Staleness and data problems are separate flags beside the tier: a
stale deal is never "in play" (its probability is near 0), so its tier follows its value (a big zombie is
High: revive or close it; a small one is Low priority in revenue terms, and its stale flag says clean it up).
``value_at_risk = deal_value * (1 - win_probability)`` (fixed by the file contract) ranks zombies first
when many deals are stale; sort by ``risk_score`` for triage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS: dict[str, float] = {"value_rank": 0.45, "in_play": 0.35, "overdue": 0.20}
TIER_CUTS: tuple[tuple[str, float], ...] = (
    ("Critical", 70.0),
    ("High", 55.0),
    ("Watch", 35.0),
    ("Low priority", 0.0),
)
UNSCORED_TIER = "Unscored"
TIER_MEANINGS: dict[str, str] = {
    "Critical": "Large deal still in play and slipping or undecided: a manager's hour here this week can "
    "change the quarter.",
    "High": "Material value in play or running past the usual close: review in the next pipeline meeting.",
    "Watch": "Modest value in play, or a mid-sized deal that is as good as decided: keep an eye on it.",
    "Low priority": "Small, or as good as decided (won or lost): a manager's hour changes little here; a "
    "stale flag beside it still asks for the deal to be revived or closed out.",
    UNSCORED_TIER: "Not scored: never engaged, so no deal in the history looked like it. It adds nothing to "
    "expected revenue or value at risk until it is engaged.",
}
DATA_FLAG_COLUMNS: tuple[str, ...] = (
    "flag_product_alias",
    "flag_blank_account",
    "flag_unknown_account",
    "flag_unknown_agent",
    "flag_unknown_product",
    "flag_no_engage_date",
    "flag_unlisted_stage",
    "flag_rep_without_team",
)


def risk_formula() -> str:
    """The risk score formula in words, for the metadata and the app."""
    terms = " + ".join(f"{w:.2f} x {name}" for name, w in WEIGHTS.items())
    cuts = ", ".join(f"{tier} >= {cut:g}" for tier, cut in TIER_CUTS)
    return (
        f"risk_score = 100 x ({terms}); value_rank = percentile rank of deal_value among open deals; "
        "in_play = 4 x win_probability x (1 - win_probability); overdue = (age - median won age) / "
        "(p90 won age - median won age) clipped to 0..1, 1 for stale deals. "
        f"Tiers: {cuts}. Stale and data problems are separate flags."
    )


def risk_components(deals: pd.DataFrame, median_won_age: float, p90_won_age: float) -> pd.DataFrame:
    """The three 0..1 components per deal (needs deal_value, win_probability, age_days, stale)."""
    value = deals["deal_value"].astype(float)
    rank = value.rank(method="average", pct=True).fillna(0.0) if len(deals) else value
    probability = deals["win_probability"].astype(float)
    spread = max(p90_won_age - median_won_age, 1.0)
    overdue = ((deals["age_days"] - median_won_age) / spread).clip(0.0, 1.0).fillna(0.0)
    overdue = overdue.where(~deals["stale"].astype(bool), 1.0)
    return pd.DataFrame(
        {"value_rank": rank, "in_play": 4.0 * probability * (1.0 - probability), "overdue": overdue},
        index=deals.index,
    )


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
    return pd.DataFrame(
        {
            "risk_score": score,
            "risk_tier": risk_tier(score),
            "value_at_risk": deals["deal_value"] * (1.0 - deals["win_probability"]),
            "data_flags": data_flags(deals),
        },
        index=deals.index,
    )
