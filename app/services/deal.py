"""Pure logic of the deal drill-down: SHAP waterfall steps, close outlook, suggested actions, comparables.

The suggested-action rules are documented in plan/app-spec.md ("Suggested actions"); each rule has an id
shown beside its text so a manager can look up why it fired.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from app.components.format import feature_value, money
from app.services import pipeline

WATERFALL_TOP = 8
COMPARABLES = 5


def waterfall_steps(contributions: pd.DataFrame, base_value: float, top: int = WATERFALL_TOP) -> pd.DataFrame:
    """Base value, the ``top`` largest contributions, 'all other features' and the final probability.

    ``contributions`` has columns feature, feature_value, shap_value (probability points as fractions).
    Returned columns: label, value, measure (absolute / relative / total) for a Plotly waterfall.
    """
    ranked = contributions.assign(magnitude=contributions["shap_value"].abs()).sort_values(
        ["magnitude", "feature"], ascending=[False, True], kind="stable"
    )
    shown = ranked.head(top)
    rest = ranked.iloc[top:]
    rows = [{"label": "Base value (average deal)", "value": base_value, "measure": "absolute"}]
    for _, item in shown.iterrows():
        value_text = feature_value(item["feature_value"])
        name = str(item.get("feature_label") or item["feature"])
        label = f"{name} = {value_text}" if value_text not in ("", "nan", "None", "unknown") else name
        rows.append({"label": label, "value": float(item["shap_value"]), "measure": "relative"})
    if len(rest):
        rows.append(
            {
                "label": f"All other features ({len(rest)})",
                "value": float(rest["shap_value"].sum()),
                "measure": "relative",
            }
        )
    final = base_value + float(contributions["shap_value"].sum())
    rows.append({"label": "Win probability", "value": final, "measure": "total"})
    return pd.DataFrame(rows)


def close_outlook(deal: pd.Series, this_quarter: str, next_quarter: str) -> pd.DataFrame:
    """How the deal's calibrated probability splits over outcomes and close periods (sums to 1)."""
    p_win = float(deal["win_probability"])
    p_this = float(deal["p_close_in_quarter"])
    p_next = float(deal["p_close_next_quarter"])
    later = max(0.0, p_win - p_this - p_next)
    return pd.DataFrame(
        {
            "outcome": [
                f"Won in {this_quarter}",
                f"Won in {next_quarter}",
                "Won later",
                "Lost or never closes",
            ],
            "probability": [p_this, p_next, later, 1.0 - p_win],
        }
    )


ACTION_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "A2-age",
        # the deal's age only: "days" alone would also match the calendar features (days into the quarter)
        ("age", "since", "duration", "overdue"),
        "Older than most deals that close: agree a dated next step and a mutual close plan with the buyer.",
    ),
    (
        "A3-rep",
        ("rep", "agent", "seller", "record"),  # "record": the joint track record (rep, product, account)
        "The rep's track record here lowers the odds: join the next call or pair the rep with a peer who "
        "wins this series.",
    ),
    (
        "A4-price",
        ("price", "value", "amount", "discount"),
        "Deal size works against it: revisit scope or packaging and confirm budget with the economic buyer.",
    ),
    (
        "A5-account",
        ("account", "sector", "employees", "revenue", "company", "customer"),
        "This kind of account wins less often: bring a reference customer from the same sector and confirm "
        "the decision maker.",
    ),
    (
        "A6-stage",
        ("stage", "prospecting", "early"),
        "Early stage for its age: book a discovery meeting to qualify need and budget, or drop it.",
    ),
    (
        "A7-product",
        ("product", "series"),
        "This product wins less often in this setting: confirm product fit and consider the alternative in "
        "the series.",
    ),
)


def _words(text: str) -> set[str]:
    """Lower-case word tokens (``rep_series_win_rate`` -> rep, series, win, rate); whole words only, so
    'average' never matches 'age'."""
    return set(re.findall(r"[a-z]+", text.lower()))


def suggested_actions(deal: pd.Series, typical_won_age: float | None = None) -> list[tuple[str, str]]:
    """Deterministic (rule id, action) pairs from the deal's flags and its negative drivers."""
    actions: list[tuple[str, str]] = []
    if bool(deal.get("stale", False)):
        actions.append(
            (
                "A1-stale",
                "Zombie deal: older than any deal that ever closed. Confirm with the buyer "
                "this week or close it as lost so the forecast stops counting it.",
            )
        )
    for k in (1, 2, 3):
        impact = deal.get(f"driver_{k}_impact")
        feature = str(deal.get(f"driver_{k}_feature", "") or "")
        text = str(deal.get(f"driver_{k}", "") or "")
        if impact is None or pd.isna(impact):
            negative = "lower" in text.lower() or "-" in text.split("point")[0][-8:]
        else:
            negative = float(impact) < 0
        if not negative:
            continue
        words = _words(feature) if feature else _words(text)
        for rule_id, keywords, action in ACTION_RULES:
            if words & set(keywords):
                if rule_id == "A2-age" and typical_won_age is not None and not pd.isna(deal.get("age_days")):
                    action = (
                        f"Older than most won deals of this product ({float(deal['age_days']):.0f} days vs a "
                        f"typical {typical_won_age:.0f}): agree a dated next step and a mutual close plan."
                    )
                if rule_id not in {r for r, _ in actions}:
                    actions.append((rule_id, action))
                break
    if str(deal.get("deal_stage", "")) == "Prospecting" and "A6-stage" not in {r for r, _ in actions}:
        actions.append(("A6-stage", ACTION_RULES[4][2]))
    if str(deal.get("account", "")).strip() == "":
        actions.append(
            (
                "A8-blank-account",
                "Account is blank in the CRM: fill it in so the account's history can inform the score.",
            )
        )
    if not actions:
        actions.append(
            (
                "A9-hold",
                "No driver works against this deal: keep the agreed next step and re-check next week.",
            )
        )
    return actions


def typical_won_age(closed: pd.DataFrame, product: str) -> float | None:
    """Median engage-to-close days of won deals of ``product`` (None when there are none)."""
    won = closed[(closed["deal_stage"] == "Won") & (closed["product"] == product)]
    days = (won["close_date"] - won["engage_date"]).dt.days.dropna()
    return None if days.empty else float(days.median())


def comparable_deals(closed: pd.DataFrame, deal: pd.Series, n: int = COMPARABLES) -> dict[str, pd.DataFrame]:
    """The ``n`` closed won and lost deals of the same product (else series) closest in value, recent first.

    A won deal's value is its close value; a lost deal's is its amount or list price.
    """
    same = closed[closed["product"] == deal["product"]]
    basis = "same product"
    if same.empty and "series" in closed.columns and "series" in deal.index:
        same, basis = closed[closed["series"] == deal["series"]], "same series"
    value = same["close_value"].where(same["deal_stage"] == "Won", same["amount"].fillna(same["list_price"]))
    target = max(float(deal["deal_value"]), 1.0)
    distance = np.abs(np.log(value.clip(lower=1.0) / target))
    table = pd.DataFrame(
        {
            "opportunity_id": same["opportunity_id"],
            "account": same["account"],
            "sales_agent": same["sales_agent"],
            "deal_stage": same["deal_stage"],
            "engage_date": same["engage_date"],
            "close_date": same["close_date"],
            "days_to_close": (same["close_date"] - same["engage_date"]).dt.days,
            "value": value,
            "distance": distance.round(1),
        }
    )
    out = {}
    for stage in ("Won", "Lost"):
        rows = table[table["deal_stage"] == stage].sort_values(
            ["distance", "close_date", "opportunity_id"], ascending=[True, False, True], kind="stable"
        )
        out[stage] = rows.head(n).drop(columns=["distance", "deal_stage"]).reset_index(drop=True)
    out["basis"] = pd.DataFrame({"basis": [basis]})
    return out


def default_deal(predictions: pd.DataFrame, filtered: pd.DataFrame, tiers: list[str]) -> str:
    """The deal the drill-down opens on: the one most worth attention in the filtered view, else the one
    with most value at risk (in the view, else anywhere)."""
    worth = pipeline.deals_needing_attention(filtered, pipeline.attention_tiers(tiers), 1)
    if len(worth):
        return str(worth["opportunity_id"].iloc[0])
    pool = filtered if len(filtered) else predictions
    return str(pipeline.ranked_deals(pool, "value_at_risk", n=1)["opportunity_id"].iloc[0])


def deal_choices(
    predictions: pd.DataFrame, filtered: pd.DataFrame, current: str, row_of: pd.Series, limit: int
) -> dict[str, str]:
    """Picker entries (id -> label), the ``limit`` deals with most value at risk in the view, with the
    current deal first when it is not among them."""
    listed = pipeline.ranked_deals(filtered, "value_at_risk", n=limit)
    if current not in set(listed["opportunity_id"]):
        listed = pd.concat([predictions.loc[[row_of[current]]], listed])
    labels = [
        f"{i} - {a or '(no account)'} - {p} - {money(v)} at risk"
        for i, a, p, v in zip(
            listed["opportunity_id"],
            listed["account"],
            listed["product"],
            listed["value_at_risk"],
            strict=True,
        )
    ]
    return dict(zip(listed["opportunity_id"], labels, strict=True))
