"""Suggested actions (plan/app-spec.md "Suggested actions"): they follow from each driver's feature, signed
impact and comparison with the typical value, and never state a fact the deal's own drivers contradict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.services.deal import ACTION_TEXT, DRIVER_RULES, suggested_actions
from core.features.deal_features import CATEGORICAL_FEATURES, FEATURES, HISTORY_FEATURES

TIMING = "deal_timing"
AGE = {"age_days", TIMING}
REP = {"sales_agent", "rep_closed_deals", "rep_stalled_share", "rep_win_rate", "rep_series_win_rate"}
REP |= {"track_record_win_rate"}
ACCOUNT = {"sector", "account_employees", "account_revenue", "account_win_rate", "sector_win_rate"}
PRODUCT = {"product", "series", "product_win_rate"}
# the comparison that says the deal is better than typical on the feature (more is worse for stalled deals)
BETTER = {f: "above" for f in FEATURES if f.endswith("win_rate") or f == "rep_closed_deals"}
BETTER["rep_stalled_share"] = "below"


def _rules(deal: pd.Series, typical_won_age: float | None = None) -> list[str]:
    """The rule ids that fire."""
    return [rule for rule, _ in suggested_actions(deal, typical_won_age)]


def _deal(drivers: list[tuple[str, float, str]], **fields: object) -> pd.Series:
    """An open deal as latest_predictions.csv holds it, with (feature, impact, vs_typical) drivers."""
    row: dict[str, object] = {
        "opportunity_id": "D1",
        "account": "Acme",
        "deal_stage": "Engaging",
        "age_days": 120.0,
        "stale": False,
    }
    for k, (feature, impact, versus) in enumerate(drivers, start=1):
        row[f"driver_{k}"] = f"{feature} sentence ({impact * 100:+.0f} pts)"
        row[f"driver_{k}_feature"] = feature
        row[f"driver_{k}_impact"] = impact
        row[f"driver_{k}_vs_typical"] = versus
    row.update(fields)
    return pd.Series(row)


def contradictions(deal: pd.Series, actions: list[tuple[str, str]]) -> list[str]:
    """What in ``actions`` the deal's own data contradicts (written from the facts, not from the rules)."""
    drivers = [
        (deal[f"driver_{k}_feature"], float(deal[f"driver_{k}_impact"]), deal.get(f"driver_{k}_vs_typical"))
        for k in (1, 2, 3)
        if f"driver_{k}_feature" in deal.index and deal[f"driver_{k}_feature"]
    ]
    blank = str(deal["account"]).strip() == ""

    def lowering(group: set[str]) -> bool:
        return any(f in group and impact < 0 for f, impact, _ in drivers)

    def better(group: set[str]) -> bool:
        return any(f in group and f in BETTER and versus == BETTER[f] for f, _, versus in drivers)

    found = []
    for rule, text in actions:
        if rule == "A2-age" and (
            pd.isna(deal["age_days"])
            or any(f in AGE and versus != "above" for f, _, versus in drivers)
            or not lowering(AGE)
        ):
            found.append("older than typical, but its age is unknown or not above typical")
        if rule == "A3-rep" and (better(REP) or not lowering(REP)):
            found.append(
                "the rep's results lower the odds, beside a driver that says the rep is above typical"
            )
        if rule == "A4-price" and not lowering({"deal_value"}):
            found.append("size lowers the odds, but no deal-value driver does")
        if rule == "A5-account" and (blank or better(ACCOUNT) or not lowering(ACCOUNT)):
            found.append(
                "the account's profile lowers the odds, beside an above-typical account or no account"
            )
        if rule == "A6-stage" and deal["deal_stage"] != "Prospecting":
            found.append("still prospecting, but the deal is not")
        if rule == "A7-product" and (better(PRODUCT) or not lowering(PRODUCT)):
            found.append("the product lowers the odds, beside an above-typical product")
        if rule == "A8-blank-account" and not blank:
            found.append("the account is blank, but it is not")
        if text.startswith("No driver works against") and any(impact < 0 for _, impact, _ in drivers):
            found.append("no driver works against it, beside a driver that lowers the odds")
        if " age" in text.lower() and pd.isna(deal["age_days"]):
            found.append("speaks of the age of a deal that has none")
    return found


def _outputs_like_frame(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    """Open deals as the batch step writes them: three distinct drivers each, a signed impact and a
    comparison where the feature has one (categories and unknown values: ''); Prospecting deals often
    without an age, some blank accounts and stale deals."""
    rng = np.random.default_rng(seed)
    units = [f for f in FEATURES if f not in ("age_days", "days_into_quarter", "engage_days_into_quarter")]
    units += ["age_days", TIMING]
    rows = []
    for i in range(n):
        stage = rng.choice(["Prospecting", "Engaging"])
        age = np.nan if stage == "Prospecting" and rng.random() < 0.6 else float(rng.integers(1, 400))
        row: dict[str, object] = {
            "opportunity_id": f"D{i:05d}",
            "account": "" if rng.random() < 0.3 else "Acme",
            "deal_stage": stage,
            "age_days": age,
            "stale": bool(rng.random() < 0.1),
        }
        for k, feature in enumerate(rng.choice(units, 3, replace=False), start=1):
            impact = float(rng.normal(0, 0.05))
            if feature in CATEGORICAL_FEATURES or (feature in AGE and np.isnan(age)):
                versus = ""
            else:
                versus = str(rng.choice(["below", "typical", "above"]))
            row[f"driver_{k}"] = f"{feature} ({impact * 100:+.0f} pts)"
            row[f"driver_{k}_feature"] = feature
            row[f"driver_{k}_impact"] = impact
            row[f"driver_{k}_vs_typical"] = versus
        rows.append(row)
    return pd.DataFrame(rows)


def test_no_action_contradicts_a_driver_of_the_same_deal() -> None:
    deals = _outputs_like_frame()
    fired: set[str] = set()
    for _, deal in deals.iterrows():
        actions = suggested_actions(deal, typical_won_age=60.0)
        assert contradictions(deal, actions) == [], (deal.to_dict(), actions)
        fired |= {rule for rule, _ in actions}
    # not vacuous: every rule fires on some deal
    assert fired == {"A1-stale", "A2-age", "A3-rep", "A4-price", "A5-account", "A6-stage", "A7-product"} | {
        "A8-blank-account",
        "A9-hold",
    }


def test_the_reviews_examples_no_longer_get_actions_their_drivers_contradict() -> None:
    # ZTB531NO in the demo run: a Prospecting deal with no engage date and no account
    prospect = _deal(
        [
            ("track_record_win_rate", -0.06, "below"),
            ("rep_closed_deals", -0.04, "above"),
            ("age_days", -0.03, ""),
        ],
        deal_stage="Prospecting",
        age_days=np.nan,
        account="",
    )
    assert suggested_actions(prospect) == [
        ("A6-stage", "Still prospecting: book a discovery meeting to qualify need and budget, or drop it."),
        (
            "A8-blank-account",
            "Account is blank in the CRM: fill it in so the account's history can inform the score.",
        ),
    ]
    above_average_rep = _deal([("rep_win_rate", -0.02, "above"), ("deal_value", 0.03, "above")])
    assert _rules(above_average_rep) == ["A9-hold"]
    assert suggested_actions(above_average_rep)[0][1].startswith("No fixed rule applies to what lowers")
    # a weak joint track record beside a rep who has closed more deals than typical: no rep action either
    assert _rules(
        _deal([("track_record_win_rate", -0.04, "below"), ("rep_closed_deals", 0.01, "above")])
    ) == ["A9-hold"]
    weak_rep = _deal([("track_record_win_rate", -0.04, "below"), ("rep_stalled_share", -0.01, "above")])
    assert suggested_actions(weak_rep) == [
        (
            "A3-rep",
            "The rep's results on deals like this one lower the odds: join the next call or pair the rep "
            "with a peer who wins this series.",
        )
    ]


def test_the_age_action_needs_a_known_age_older_than_typical() -> None:
    older = _deal([("deal_timing", -0.09, "above")], age_days=300.0)
    assert suggested_actions(older, typical_won_age=55.0) == [
        (
            "A2-age",
            "Older than the typical won deal (300 days; won deals of this product took 55 at the median): "
            "agree a dated next step and a mutual close plan with the buyer.",
        )
    ]
    # older than the typical won deal, younger than this product's: the product's figure is left out
    assert suggested_actions(older, typical_won_age=400.0)[0][1] == ACTION_TEXT["A2-age"]
    assert _rules(_deal([("deal_timing", -0.09, "typical")])) == ["A9-hold"]
    assert _rules(_deal([("deal_timing", -0.09, "below")])) == ["A9-hold"]
    assert _rules(_deal([("deal_timing", -0.09, "above")], age_days=np.nan)) == ["A9-hold"]
    assert _rules(_deal([("deal_timing", 0.09, "above")])) == ["A9-hold"]
    # calendar features (runs before the timing group) are about timing, not the deal's age
    assert _rules(_deal([("days_into_quarter", -0.06, "above")])) == ["A9-hold"]


def test_rules_follow_the_feature_table_in_driver_order() -> None:
    deal = _deal(
        [
            ("product_win_rate", -0.009, "below"),
            ("sales_agent", -0.02, ""),
            ("sector_win_rate", -0.01, "typical"),
        ]
    )
    assert _rules(deal) == ["A7-product", "A3-rep", "A5-account"]
    assert _rules(_deal([("deal_value", -0.02, "below")])) == ["A4-price"]
    assert _rules(_deal([("deal_value", -0.02, "above")])) == ["A4-price"]
    # an above-typical account win rate contradicts "this account's profile lowers the odds"
    assert _rules(_deal([("account_employees", -0.02, ""), ("account_win_rate", 0.01, "above")])) == [
        "A9-hold"
    ]
    # a blank account has no profile to speak of: fill it in instead
    assert _rules(_deal([("sector", -0.02, "")], account="")) == ["A8-blank-account"]
    assert _rules(_deal([("manager", -0.05, ""), ("regional_office", -0.02, "")])) == ["A9-hold"]


def test_without_the_comparison_columns_the_rules_that_need_them_do_not_fire() -> None:
    deals = _outputs_like_frame(1500, seed=3)
    older_run = deals.drop(columns=[f"driver_{k}_vs_typical" for k in (1, 2, 3)])
    fired = set()
    for _, deal in older_run.iterrows():
        fired |= set(_rules(deal, typical_won_age=60.0))
    assert not fired & {"A2-age", "A3-rep", "A5-account", "A7-product"}
    assert "A4-price" in fired  # its action needs no comparison
    deal = _deal([("deal_timing", -0.2, "above"), ("rep_win_rate", -0.1, "below")]).drop(
        ["driver_1_vs_typical", "driver_2_vs_typical"]
    )
    assert _rules(deal) == ["A9-hold"]


def test_driver_text_is_never_parsed() -> None:
    deal = pd.Series(
        {
            "account": "Acme",
            "deal_stage": "Engaging",
            "age_days": 300.0,
            "stale": False,
            "driver_1": "Days since engagement lowers the chance by 9.0 points",
            "driver_2": "Rep's win rate is 20% vs 50% team average (-4 pts)",
        }
    )
    assert _rules(deal) == ["A9-hold"]


def test_the_rule_table_is_keyed_on_real_feature_names() -> None:
    assert set(DRIVER_RULES) <= set(FEATURES) | set(HISTORY_FEATURES) | {TIMING}
    assert set(FEATURES) - set(DRIVER_RULES) == {
        "days_into_quarter",
        "engage_days_into_quarter",
        "manager",
        "regional_office",
    }
    # the history's own facts: what the rep says (category, probability) and the stage itself, which
    # no fixed action fits; the amount change says nothing the rep can act on
    assert set(HISTORY_FEATURES) - set(DRIVER_RULES) == {
        "stage_position",
        "amount_change",
        "rep_probability",
        "forecast_category",
    }
