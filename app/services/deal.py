"""Pure logic of the deal drill-down: SHAP waterfall steps, close outlook, suggested actions, comparables.

The suggested-action rules are documented in plan/app-spec.md ("Suggested actions"); each rule has an id
for that document and the tests (the page shows only the action).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.components.format import Money, feature_value, feature_value_as_rate, is_rate
from app.services import pipeline
from core.export import csv_bytes

WATERFALL_TOP = 8
COMPARABLES = 5
UNKNOWN_PRODUCT = "Unknown"  # the loader's product for a deal whose export names none


STAGE_POSITION = "stage_position"  # the field history's feature: the open stage reached, 0 = the first


def _stage_step(value: object, stage_order: tuple[str, ...]) -> str | None:
    """The stage step's label as the driver sentence names it ("stage reached = Proposal, stage 3 of 4"),
    None when the position is not one of ``stage_order``'s (the run's metadata, the CRM's own names)."""
    position = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(position) or not 0 <= round(position) < len(stage_order):
        return None
    k = int(round(position))
    return f"stage reached = {stage_order[k]}, stage {k + 1} of {len(stage_order)}"


def waterfall_steps(
    contributions: pd.DataFrame,
    base_value: float,
    top: int = WATERFALL_TOP,
    stage_order: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Base value, the first ``top`` steps of the deal's path, 'all other features' and the probability.

    ``contributions`` has columns feature, feature_value, shap_value (probability points as fractions) and,
    from runs written since the explanation became a calibrated path, ``step`` (the order in which the batch
    step added each unit: every point of the path is then a probability between 0 and 100%) and
    ``feature_label`` (the deal's own name for it). Older files are ordered by absolute contribution.
    The stage reached (a 0-based position) is named from ``stage_order``, as its driver sentence names it.
    Returned columns: label, value, measure (absolute / relative / total) for a Plotly waterfall.
    """
    if "step" in contributions.columns:
        ranked = contributions.sort_values("step", kind="stable")
    else:
        ranked = contributions.assign(magnitude=contributions["shap_value"].abs()).sort_values(
            ["magnitude", "feature"], ascending=[False, True], kind="stable"
        )
    shown = ranked.head(top)
    rest = ranked.iloc[top:]
    in_path_order = "step" in contributions.columns
    base_label = "Average deal at this date" if in_path_order else "Base value (average deal)"
    rows = [{"label": base_label, "value": base_value, "measure": "absolute"}]
    for _, item in shown.iterrows():
        name = str(item.get("feature_label") or item["feature"])
        # rates read as percentages and missing values as "unknown", as the driver sentences read them
        reader = feature_value_as_rate if is_rate(str(item["feature"]), name) else feature_value
        value_text = reader(item["feature_value"])
        label = f"{name} = {value_text}" if value_text not in ("", "nan", "None") else name
        if str(item["feature"]) == STAGE_POSITION:
            label = _stage_step(item["feature_value"], stage_order) or label
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


def stage_text(deal: pd.Series) -> str:
    """The deal's stage as its CRM names it (the outcome state when the export does not say), and stale."""
    own = str(deal.get("stage", "") or "").strip()
    stage = own or str(deal["deal_stage"])
    return stage + (" (stale)" if bool(deal["stale"]) else "")


def _count(deal: pd.Series, column: str) -> float | None:
    """A whole-number history fact of the deal (None when the export has no field history for it)."""
    value = pd.to_numeric(deal.get(column), errors="coerce")
    return None if value is None or pd.isna(value) else float(value)


def _times(count: float) -> str:
    """'once', 'twice', '3 times', as the driver sentences count pushes."""
    return "once" if count == 1 else "twice" if count == 2 else f"{count:,.0f} times"


def _day_count(days: float) -> str:
    """'1 day', '34 days'."""
    return f"{days:,.0f} day" + ("" if round(days) == 1 else "s")


def history_text(deal: pd.Series) -> str:
    """What the CRM's field history says about the deal, in a manager's words ("In Proposal for 34 days;
    close date pushed twice, 60 days in all."), '' when the export has no field history.

    Reads ``days_in_stage``, ``close_date_pushes`` and ``days_pushed`` (blank without a history) and names
    the stage as the CRM does (``stage``, else ``deal_stage``).
    """
    parts = []
    days_in_stage = _count(deal, "days_in_stage")
    if days_in_stage is not None:
        stage = str(deal.get("stage", "") or "").strip() or str(deal.get("deal_stage", "") or "")
        parts.append(
            f"moved to {stage} today" if days_in_stage < 1 else f"in {stage} for {_day_count(days_in_stage)}"
        )
    pushes, days_pushed = _count(deal, "close_date_pushes"), _count(deal, "days_pushed")
    if pushes == 0 or (pushes is None and days_pushed == 0):
        parts.append("close date never pushed")
    elif pushes is not None:
        moved = f"close date pushed {_times(pushes)}"
        if days_pushed:
            moved += f", by {_day_count(days_pushed)}" if pushes == 1 else f", {days_pushed:,.0f} days in all"
        parts.append(moved)
    elif days_pushed:
        parts.append(f"close date pushed {days_pushed:,.0f} days in all")
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def rep_call_text(deal: pd.Series, as_of: pd.Timestamp | None = None) -> str:
    """The rep's own call on the deal as the CRM holds it (expected close, forecast category, probability),
    '' when the export has none; a close date before ``as_of`` is said to have passed, not still expected."""
    parts = []
    close = deal.get("rep_close_date")
    if close is not None and not pd.isna(close):
        day = pd.Timestamp(close).normalize()
        overdue = 0 if as_of is None else (pd.Timestamp(as_of).normalize() - day).days
        if overdue > 0:
            parts.append(f"expected it to close on {day:%Y-%m-%d}, {_day_count(overdue)} ago")
        else:
            parts.append(f"expects it to close on {day:%Y-%m-%d}")
    category = str(deal.get("forecast_category", "") or "").strip()
    if category:
        parts.append(f"forecast category {category}")
    probability = deal.get("rep_probability")
    if probability is not None and not pd.isna(probability):
        parts.append(f"probability {float(probability):.0%}")
    return "The rep's call in the CRM: " + ", ".join(parts) + "." if parts else ""


ALL_BUT_LOST_BELOW = 0.01  # a win probability under this: an expected close date is a conditional one


def expected_close_label(win_probability: float | None) -> str:
    """The heading of the deal's expected close date: qualified when the deal will all but surely not close,
    so a date is not read as a forecast that it will."""
    if win_probability is not None and not pd.isna(win_probability) and win_probability < ALL_BUT_LOST_BELOW:
        return "Expected close date, if it closes at all"
    return "Expected close date"


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


# Driver rules (plan/app-spec.md "Suggested actions"), keyed on the driver's feature
# (core/features/deal_features.py FEATURES, plus "deal_timing", the batch step's group of the timing
# features). Each feature names its rule and the values of ``driver_k_vs_typical`` that contradict that
# rule's action: a rule fires on a driver that lowers the odds (``driver_k_impact < 0``) whose comparison
# is not among them, and never when another driver of the same rule says one of them ("the rep's results
# lower the odds" beside "the rep's win rate is above the team average" would contradict the deal's facts).
NOT_OLDER = frozenset({"below", "typical", ""})  # the action needs more than typical (older, more pushes)
ABOVE = frozenset({"above"})  # more is better: the deal is above the typical value
BELOW = frozenset({"below"})  # more is worse (a share of stalled deals)
NO_CLAIM = frozenset()  # categories, sizes: the action claims nothing a comparison could contradict
VS_TYPICAL_VALUES = ("below", "typical", "above")
DRIVER_RULES: dict[str, tuple[str, frozenset[str]]] = {
    "age_days": ("A2-age", NOT_OLDER),
    "deal_timing": ("A2-age", NOT_OLDER),
    "sales_agent": ("A3-rep", NO_CLAIM),
    "rep_closed_deals": ("A3-rep", ABOVE),
    "rep_stalled_share": ("A3-rep", BELOW),
    "rep_win_rate": ("A3-rep", ABOVE),
    "rep_series_win_rate": ("A3-rep", ABOVE),
    "track_record_win_rate": ("A3-rep", ABOVE),  # the joint track record, mostly the rep's
    "deal_value": ("A4-price", NO_CLAIM),
    "sector": ("A5-account", NO_CLAIM),
    "account_employees": ("A5-account", NO_CLAIM),
    "account_revenue": ("A5-account", NO_CLAIM),
    "account_win_rate": ("A5-account", ABOVE),
    "sector_win_rate": ("A5-account", ABOVE),
    "product": ("A7-product", NO_CLAIM),
    "series": ("A7-product", NO_CLAIM),
    "product_win_rate": ("A7-product", ABOVE),
    # from the field history
    "close_date_pushes": ("A10-pushed", NOT_OLDER),
    "days_pushed": ("A10-pushed", NOT_OLDER),
    "days_to_rep_close": ("A10-pushed", NO_CLAIM),
    "days_in_stage": ("A11-stuck", NOT_OLDER),
    "stage_regressions": ("A11-stuck", NO_CLAIM),
}
# No rule: manager, regional_office, and (in runs before deal_timing) days_into_quarter and
# engage_days_into_quarter, which are about the calendar, not the deal's age.
NEEDS_COMPARISON = frozenset(rule for rule, contradicting in DRIVER_RULES.values() if contradicting)
ACTION_TEXT: dict[str, str] = {
    "A1-stale": "Zombie deal: older than any deal that ever closed. Confirm with the buyer this week or "
    "close it as lost so the forecast stops counting it.",
    "A2-age": "Older than the typical won deal: agree a dated next step and a mutual close plan with the "
    "buyer.",
    "A3-rep": "The rep's results on deals like this one lower the odds: join the next call or pair the rep "
    "with a peer who wins this series.",
    "A4-price": "The deal's size lowers the odds: check that scope and packaging fit the need and confirm "
    "budget with the economic buyer.",
    "A5-account": "This account's profile lowers the odds: bring a reference customer from the same sector "
    "and confirm the decision maker.",
    "A6-stage": "Still prospecting: book a discovery meeting to qualify need and budget, or drop it.",
    "A7-product": "The product lowers the odds in this setting: confirm product fit and consider the "
    "alternative in the series.",
    "A8-blank-account": "Account is blank in the CRM: fill it in so the account's history can inform the "
    "score.",
    "A10-pushed": "The close date keeps moving: re-confirm it with the buyer, in writing, against a mutual "
    "close plan.",
    "A11-stuck": "Stuck in its stage: agree the exit criteria for the next stage and a dated step with the "
    "buyer.",
    "A9-hold": "No driver works against this deal: keep the agreed next step and re-check next week.",
    "A9-hold-negative": "No fixed rule applies to what lowers this deal's odds: keep the agreed next step "
    "and re-check next week.",
}


def _drivers(deal: pd.Series) -> list[tuple[str, float, str | None]]:
    """(feature, impact, vs_typical) of each driver; vs_typical None when the run has no comparison
    columns (runs before them), '' for no comparison. Never read from the sentence's text."""
    drivers = []
    for k in (1, 2, 3):
        feature = deal.get(f"driver_{k}_feature")
        impact = pd.to_numeric(deal.get(f"driver_{k}_impact"), errors="coerce")
        if not isinstance(feature, str) or not feature or impact is None or pd.isna(impact):
            continue
        vs_typical = None
        if f"driver_{k}_vs_typical" in deal.index:
            raw = deal.get(f"driver_{k}_vs_typical")
            text = raw.strip().lower() if isinstance(raw, str) else ""
            vs_typical = text if text in VS_TYPICAL_VALUES else ""
        drivers.append((feature, float(impact), vs_typical))
    return drivers


def _driver_rules(deal: pd.Series) -> list[str]:
    """The driver rules that fire for ``deal``, in driver order, each once (see DRIVER_RULES)."""
    drivers = _drivers(deal)
    # a rule is off when a driver of its features contradicts it, or cannot say (no comparison column)
    contradicted = {
        DRIVER_RULES[feature][0]
        for feature, _, vs_typical in drivers
        if feature in DRIVER_RULES
        and (
            vs_typical in DRIVER_RULES[feature][1]
            or (vs_typical is None and DRIVER_RULES[feature][0] in NEEDS_COMPARISON)
        )
    }
    if pd.isna(pd.to_numeric(deal.get("age_days"), errors="coerce")):
        contradicted.add("A2-age")  # no age, so never "older than"
    if str(deal.get("account", "") or "").strip() == "":
        contradicted.add("A5-account")  # nothing known about the account: A8 asks for it instead
    fired: list[str] = []
    for feature, impact, _ in drivers:
        if impact >= 0 or feature not in DRIVER_RULES:
            continue
        rule = DRIVER_RULES[feature][0]
        if rule in fired or rule in contradicted:
            continue
        fired.append(rule)
    return fired


def suggested_actions(deal: pd.Series, typical_won_age: float | None = None) -> list[tuple[str, str]]:
    """Deterministic (rule id, action) pairs from the deal's flags and the features and signed impacts of
    its drivers; no action states a fact the deal's drivers contradict.

    ``typical_won_age``: median days to close of won deals of the deal's product, quoted in the age action
    when the deal is older than it.
    """
    rules: list[str] = ["A1-stale"] if bool(deal.get("stale", False)) else []
    rules += _driver_rules(deal)
    if str(deal.get("deal_stage", "")) == "Prospecting":
        rules.append("A6-stage")
    if str(deal.get("account", "") or "").strip() == "":
        rules.append("A8-blank-account")
    actions = [(rule, ACTION_TEXT[rule]) for rule in rules]
    age = pd.to_numeric(deal.get("age_days"), errors="coerce")
    if "A2-age" in rules and typical_won_age is not None and age > typical_won_age:
        actions[rules.index("A2-age")] = (
            "A2-age",
            f"Older than the typical won deal ({age:.0f} days; won deals of this product took "
            f"{typical_won_age:.0f} at the median): agree a dated next step and a mutual close plan with the "
            "buyer.",
        )
    if not actions:
        lowering = any(impact < 0 for _, impact, _ in _drivers(deal))
        actions.append(("A9-hold", ACTION_TEXT["A9-hold-negative" if lowering else "A9-hold"]))
    return actions


def typical_won_age(closed: pd.DataFrame, product: str) -> float | None:
    """Median engage-to-close days of won deals of ``product`` (None when there are none)."""
    won = closed[(closed["deal_stage"] == "Won") & (closed["product"] == product)]
    days = (won["close_date"] - won["engage_date"]).dt.days.dropna()
    return None if days.empty else float(days.median())


def comparable_deals(closed: pd.DataFrame, deal: pd.Series, n: int = COMPARABLES) -> dict[str, pd.DataFrame]:
    """The ``n`` closed won and lost deals of the same product (else series) closest in value, recent first;
    of any product when the deal's is unknown (an export without products: "same product" said nothing).

    A won deal's value is its close value; a lost deal's is its amount or list price.
    """
    same = closed[closed["product"] == deal["product"]]
    basis = "same product"
    if str(deal["product"]) == UNKNOWN_PRODUCT:
        same, basis = closed, "any product (this deal's product is unknown)"
    elif same.empty and "series" in closed.columns and "series" in deal.index:
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
    predictions: pd.DataFrame,
    filtered: pd.DataFrame,
    current: str,
    row_of: pd.Series,
    limit: int,
    money: Money,
) -> dict[str, str]:
    """Picker entries (id -> label with the value at risk in ``money``), the ``limit`` deals with most value
    at risk in the view, with the current deal first when it is not among them."""
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


# "How this deal got here": deal_timeline.csv holds the deal's state (stage, amount, rep close date,
# forecast category) after each field-history change; each row compared with the deal's previous one says
# what changed.
CHANGE_COLUMNS = ("opportunity_id", "changed_at", "change", "before", "after", "days_moved", "what_changed")
CLOSE_PUSHED = "close_pushed"  # the rep's close date moved later: a push, as the batch step counts them


def _blank(value: object) -> bool:
    """True for a field the history holds nothing for (None, NaN, NaT, '')."""
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == ""


def _day_text(value: object) -> str:
    """A date as a manager reads it: '18 Sep 2025'."""
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"


def _first_state(row: dict, money: Money) -> dict:
    """The deal's first timeline row: where the history starts (every field the row holds)."""
    parts = []
    if not _blank(row.get("stage")):
        parts.append(f"in {row['stage']}")
    if not _blank(row.get("amount")):
        parts.append(f"amount {money(float(row['amount']))}")
    if not _blank(row.get("rep_close_date")):
        parts.append(f"close date {_day_text(row['rep_close_date'])}")
    if not _blank(row.get("forecast_category")):
        parts.append(f"forecast category {row['forecast_category']}")
    return _change(row, "first", "", "", "first recorded: " + (", ".join(parts) or "no fields set"))


def _change(row: dict, change: str, before: object, after: object, text: str, days: float = np.nan) -> dict:
    """One change row (CHANGE_COLUMNS) of ``row``'s deal and day."""
    values = (row["opportunity_id"], row["changed_at"], change, before, after, days, text)
    return dict(zip(CHANGE_COLUMNS, values, strict=True))


def _stage_change(before: dict, after: dict, position: dict[str, int]) -> list[dict]:
    """The stage's move, forward or back in the CRM's order (``position``), else just 'changed'."""
    old, new = before.get("stage"), after.get("stage")
    if _blank(new) or (not _blank(old) and str(old) == str(new)):
        return []
    if _blank(old):
        return [_change(after, "stage_set", "", new, f"stage set to {new}")]
    if old in position and new in position:
        forward = position[new] > position[old]
        change, word = ("stage_forward", "forward") if forward else ("stage_back", "back")
        return [_change(after, change, old, new, f"stage moved {word} from {old} to {new}")]
    return [_change(after, "stage_changed", old, new, f"stage changed from {old} to {new}")]


def _close_date_change(before: dict, after: dict) -> list[dict]:
    """The rep's close date pushed later, pulled in or first set, with the days it moved."""
    old, new = before.get("rep_close_date"), after.get("rep_close_date")
    if _blank(new) or (not _blank(old) and pd.Timestamp(old) == pd.Timestamp(new)):
        return []
    new_text = _day_text(new)
    if _blank(old):
        return [
            _change(after, "close_set", "", f"{pd.Timestamp(new):%Y-%m-%d}", f"close date set to {new_text}")
        ]
    days = float((pd.Timestamp(new).normalize() - pd.Timestamp(old).normalize()).days)
    moved = "pushed" if days > 0 else "pulled in"
    change = CLOSE_PUSHED if days > 0 else "close_pulled"
    sign = "+" if days > 0 else "-"
    text = f"close date {moved} from {_day_text(old)} to {new_text} ({sign}{_day_count(abs(days))})"
    return [
        _change(after, change, f"{pd.Timestamp(old):%Y-%m-%d}", f"{pd.Timestamp(new):%Y-%m-%d}", text, days)
    ]


def _amount_change(before: dict, after: dict, money: Money) -> list[dict]:
    """The amount raised or lowered (both amounts in one unit)."""
    old, new = before.get("amount"), after.get("amount")
    if _blank(new) or (not _blank(old) and round(float(old), 2) == round(float(new), 2)):
        return []
    if _blank(old):
        return [_change(after, "amount_set", "", float(new), f"amount set to {money(float(new))}")]
    old_text, new_text = money.pair(float(old), float(new))
    change, word = ("amount_up", "raised") if float(new) > float(old) else ("amount_down", "lowered")
    return [_change(after, change, float(old), float(new), f"amount {word} from {old_text} to {new_text}")]


def _category_change(before: dict, after: dict) -> list[dict]:
    """The rep's forecast category changed, set or cleared."""
    old = "" if _blank(before.get("forecast_category")) else str(before["forecast_category"])
    new = "" if _blank(after.get("forecast_category")) else str(after["forecast_category"])
    if old == new:
        return []
    if not old:
        return [_change(after, "category_changed", "", new, f"forecast category set to {new}")]
    if not new:
        return [_change(after, "category_changed", old, "", f"forecast category cleared (was {old})")]
    return [_change(after, "category_changed", old, new, f"forecast category changed from {old} to {new}")]


def timeline_changes(
    timeline: pd.DataFrame, stage_order: tuple[str, ...] = (), money: Money | None = None
) -> pd.DataFrame:
    """Each deal's field-history changes in words, one row per field that changed (CHANGE_COLUMNS): every
    deal_timeline row compared with the deal's previous one ("close date pushed from 18 Sep 2025 to 18 Oct
    2025 (+30 days)", "stage moved forward from Qualify to Proposal", "amount raised from $5,000 to $6,500").

    The first row of a deal says where its history starts. A close date moved later is a push
    (``change == CLOSE_PUSHED``, ``days_moved`` > 0), as the batch step counts ``close_date_pushes`` and
    ``days_pushed``; one pulled in is not. Rows of one day keep the file's order (the export's).
    """
    money = money or Money()
    position = {name: k for k, name in enumerate(stage_order)}
    ordered = timeline.sort_values(["opportunity_id", "changed_at"], kind="stable")
    rows: list[dict] = []
    previous: dict | None = None
    for row in ordered.to_dict("records"):
        if previous is None or previous["opportunity_id"] != row["opportunity_id"]:
            rows.append(_first_state(row, money))
        else:
            rows += _stage_change(previous, row, position)
            rows += _close_date_change(previous, row)
            rows += _amount_change(previous, row, money)
            rows += _category_change(previous, row)
        previous = row
    frame = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))
    return frame.astype({"days_moved": float, "before": object, "after": object})


def close_date_pushes(changes: pd.DataFrame) -> tuple[int, float]:
    """How often the changes push the close date later, and by how many days in all."""
    pushed = changes[changes["change"] == CLOSE_PUSHED]
    return len(pushed), float(pushed["days_moved"].sum())


def _moves(count: int, what: str) -> str:
    """'stage moved forward twice' ('' for none)."""
    return f"{what} {_times(count)}" if count else ""


def timeline_summary(changes: pd.DataFrame) -> str:
    """The deal's history in one sentence: since when, pushes (and days), stage moves, amount and category
    changes ("Since 4 Aug 2025: close date pushed 12 times, 360 days in all; stage moved forward once.")."""
    if changes.empty:
        return ""
    pushes, days = close_date_pushes(changes)
    counts = changes["change"].value_counts()
    pushed = f"close date pushed {_times(pushes)}" if pushes else "close date never pushed"
    if pushes:
        pushed += f", by {_day_count(days)}" if pushes == 1 else f", {days:,.0f} days in all"
    parts = [
        pushed,
        _moves(int(counts.get("close_pulled", 0)), "close date pulled in"),
        _moves(int(counts.get("stage_forward", 0)), "stage moved forward"),
        _moves(int(counts.get("stage_back", 0)), "stage moved back"),
        _moves(int(counts.get("stage_changed", 0)), "stage changed"),
        _moves(int(counts.get("amount_up", 0)), "amount raised"),
        _moves(int(counts.get("amount_down", 0)), "amount lowered"),
        _moves(int(counts.get("category_changed", 0)), "forecast category changed"),
    ]
    start = _day_text(changes["changed_at"].min())
    return f"Since {start}: " + "; ".join(part for part in parts if part) + "."


def push_disagreement(changes: pd.DataFrame, deal: pd.Series) -> str:
    """'' when the timeline's close-date pushes (and days) match the deal's ``close_date_pushes`` and
    ``days_pushed`` in the predictions (or those are blank), else a sentence giving both counts: the two
    files come from one field history and must not tell a manager two stories."""
    expected_pushes, expected_days = _count(deal, "close_date_pushes"), _count(deal, "days_pushed")
    if expected_pushes is None:
        return ""
    pushes, days = close_date_pushes(changes)
    if pushes == expected_pushes and (expected_days is None or abs(days - expected_days) < 0.5):
        return ""
    said = f"{expected_pushes:,.0f} pushes" + (
        "" if expected_days is None else f", {expected_days:,.0f} days"
    )
    return (
        f"The changes below count {pushes:,} close-date pushes ({days:,.0f} days in all), but the deal's "
        f"prediction row says {said}: the run's files disagree, so check the batch run before relying on "
        "either."
    )


def timeline_csv(changes: pd.DataFrame) -> str:
    """The deal's changes as CSV (codes kept beside the sentences), spreadsheet-safe, for the download."""
    whole_days = changes["days_moved"].round().astype("Int64")  # "30", not "30.0"
    return csv_bytes(changes.assign(days_moved=whole_days)).decode("utf-8")
