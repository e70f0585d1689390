"""Driver sentences and long SHAP values from a hand-made explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.explain.drivers import compare, driver_sentence, shap_long, timing_sentence, top_drivers
from core.model.explanation import TIMING_GROUP


@dataclass(frozen=True)
class FakeExplanation:
    feature_values: pd.DataFrame
    shap_points: pd.DataFrame
    shap_log_odds: pd.DataFrame
    base_value: float
    feature_labels: dict[str, str]
    reference_values: dict[str, Any]


@pytest.fixture
def explanation() -> FakeExplanation:
    index = pd.Index(["D1", "D2"], name="opportunity_id")
    features = ["agent_series_win_rate", "product", "age_days"]
    values = pd.DataFrame(
        {
            "agent_series_win_rate": [0.48, 0.7],
            "product": ["GTX Pro", "MG Special"],
            "age_days": [95.0, np.nan],
            "series": ["GTX", "MG"],
        },
        index=index,
    )
    points = pd.DataFrame([[-0.06, 0.02, -0.11], [0.031, -0.004, 0.0]], index=index, columns=features)
    return FakeExplanation(
        values,
        points,
        points * 4,
        0.55,
        {
            "agent_series_win_rate": "rep's win rate on this series",
            "product": "product",
            "age_days": "days since engagement",
        },
        {"agent_series_win_rate": 0.63, "product": None, "age_days": 48.0},
    )


def test_sentences_read_like_a_manager_talks() -> None:
    assert (
        driver_sentence("agent_series_win_rate", "rep's win rate on GTX deals", 0.48, 0.63, -0.06)
        == "Rep's win rate on GTX deals is 48% vs 63% team average (-6 pts)"
    )
    assert driver_sentence("product", "product", "GTX Pro", None, 0.004) == "Product is GTX Pro (+0.4 pts)"
    assert (
        driver_sentence("age_days", "days since engagement", 95.0, 48.0, -0.11)
        == "95 days since engagement vs 48 for a typical won deal (-11 pts)"
    )
    assert (
        driver_sentence("deal_value", "list price", 4821.0, 1096.0, 0.02)
        == "List price is $4,821 vs $1,096 typical (+2 pts)"
    )
    assert driver_sentence("account_revenue", "", np.nan, None, 0.01) == "Account revenue is unknown (+1 pts)"
    # the review found "Account's sector is (blank account)": say what is unknown and why
    assert driver_sentence("sector", "account's sector", "(blank account)", None, -0.02) == (
        "Account's sector is unknown: the account is blank in the CRM (-2 pts)"
    )
    assert (
        driver_sentence("rep_closed_deals", "deals the rep has closed so far", 120.0, 80.0, -0.024)
        == "120 deals the rep has closed so far vs 80 typical (-2 pts)"
    )


def test_a_value_equal_to_the_typical_one_is_never_called_versus_typical() -> None:
    # the review found "45 vs 45 typical (+15 pts)": equal as shown means typical, said once
    assert (
        driver_sentence("account_employees", "account's employees", 45.0, 45.0, 0.15)
        == "Account's employees is 45, about typical (+15 pts)"
    )
    assert driver_sentence("rep_win_rate", "rep's win rate", 0.631, 0.628, -0.02) == (
        "Rep's win rate is 63%, the team average (-2 pts)"
    )
    assert driver_sentence("age_days", "days since engagement", 48.2, 48.0, -0.05) == (
        "48 days since engagement, about as long as a typical won deal (-5 pts)"
    )
    assert compare("rate", 0.631, 0.628) == "typical"
    assert compare("rate", 0.70, 0.63) == "above" and compare("days", 20.0, 48.0) == "below"
    assert compare("category", "GTX", None) == "" and compare("rate", np.nan, 0.6) == ""


def test_timing_reads_as_one_fact() -> None:
    assert timing_sentence(95.0, 1.0, 48.0, -0.11) == (
        "95 days since engagement vs 48 for a typical won deal, engaged 1 day into its quarter (-11 pts)"
    )
    assert timing_sentence(np.nan, np.nan, 48.0, 0.03) == "Not engaged yet (prospecting) (+3 pts)"


def test_top_drivers_order_by_absolute_impact(explanation: FakeExplanation) -> None:
    drivers = top_drivers(explanation)
    assert drivers.loc["D1", "driver_1"] == "95 days since engagement vs 48 for a typical won deal (-11 pts)"
    assert drivers.loc["D1", "driver_2_feature"] == "agent_series_win_rate"
    assert drivers.loc["D1", "driver_3_impact"] == pytest.approx(0.02)
    assert drivers.loc["D2", "driver_1"] == "Rep's win rate on MG deals is 70% vs 63% team average (+3 pts)"
    assert drivers.loc["D2", "driver_3"] == ""  # a 0-point step is no driver
    waiting = top_drivers(explanation, not_engaged=pd.Index(["D1"]))
    assert waiting.loc["D1", "driver_1"] == "Not engaged yet (prospecting) (-11 pts)"
    assert waiting.loc["D2", "driver_1"] == drivers.loc["D2", "driver_1"]


def test_shap_long_has_every_cell_and_the_base(explanation: FakeExplanation) -> None:
    long = shap_long(explanation)
    assert list(long.columns) == [
        "opportunity_id",
        "feature",
        "feature_label",
        "feature_value",
        "shap_value",
        "shap_log_odds",
        "base_value",
        "step",
    ]
    assert len(long) == 6 and (long["base_value"] == 0.55).all()
    d1 = long[long["opportunity_id"].eq("D1")].set_index("feature")
    assert d1.loc["product", "feature_value"] == "GTX Pro"
    assert d1.loc["age_days", "shap_value"] == pytest.approx(-0.11)
    assert d1["shap_value"].sum() + 0.55 == pytest.approx(0.55 - 0.15)
    assert d1["step"].to_dict() == {"agent_series_win_rate": 2, "product": 3, "age_days": 1}
    assert d1.loc["agent_series_win_rate", "feature_label"] == "rep's win rate on GTX deals"


@pytest.fixture
def grouped() -> FakeExplanation:
    """Explained units as the model gives them: the timing group, the deal value, a constant feature."""
    index = pd.Index(["D1", "D2", "D3"], name="opportunity_id")
    values = pd.DataFrame(
        {
            "age_days": [120.0, 10.0, 0.0],
            "engage_days_into_quarter": [15.0, 80.0, np.nan],
            "days_into_quarter": [45.0, 45.0, 45.0],
            "deal_value": [5482.0, 26100.0, 550.0],
            "product": ["GTX Pro", "GTX Pro", "GTX Pro"],
        },
        index=index,
    )
    units = [TIMING_GROUP, "deal_value", "product"]
    points = pd.DataFrame(
        [[-0.08, 0.04, -0.15], [0.05, -0.02, 0.01], [0.0002, 0.03, 0.0]], index=index, columns=units
    )
    step = pd.DataFrame([[2, 3, 1], [1, 2, 3], [3, 1, 2]], index=index, columns=units)
    return GroupedExplanation(
        values,
        points,
        points * 4,
        0.4,
        {TIMING_GROUP: "deal age and timing", "deal_value": "list price", "product": "product"},
        {"age_days": 48.0, "deal_value": 5482.0, "product": None},
        points * 4,
        step,
        {"product": "GTX Pro", "days_into_quarter": 45.0},
    )


@dataclass(frozen=True)
class GroupedExplanation(FakeExplanation):
    unit_log_odds: pd.DataFrame
    step: pd.DataFrame
    constant_features: dict[str, Any]


def test_drivers_follow_the_path_and_skip_what_every_deal_shares(grouped: GroupedExplanation) -> None:
    drivers = top_drivers(grouped, not_engaged=pd.Index(["D3"]))
    # the product is the same for every open deal: never a driver, although its step is the largest on D1
    assert "product" not in set(drivers[["driver_1_feature", "driver_2_feature", "driver_3_feature"]].stack())
    assert drivers.loc["D1", "driver_1"] == (
        "120 days since engagement vs 48 for a typical won deal, engaged 15 days into its quarter (-8 pts)"
    )
    assert drivers.loc["D1", "driver_1_vs_typical"] == "above"
    # the deal-value feature quotes the figure it is: the list price
    assert drivers.loc["D1", "driver_2"] == "List price is $5,482, about typical (+4 pts)"
    assert drivers.loc["D1", "driver_2_vs_typical"] == "typical"
    assert drivers.loc["D2", "driver_2"] == "List price is $26,100 vs $5,482 typical (-2 pts)"
    assert drivers.loc["D3", "driver_1"] == "List price is $550 vs $5,482 typical (+3 pts)"
    # a step that reads 0 points is no reason: blank
    assert drivers.loc["D3", "driver_2"] == "" and np.isnan(drivers.loc["D3", "driver_2_impact"])
    assert drivers.loc["D1", "driver_3"] == ""  # only two units are not shared by every deal


def test_long_values_name_what_they_quote(grouped: GroupedExplanation) -> None:
    long = shap_long(grouped, not_engaged=pd.Index(["D3"])).set_index(["opportunity_id", "feature"])
    assert long.loc[("D1", TIMING_GROUP), "feature_value"] == (
        "120 days since engagement, engaged 15 days into its quarter"
    )
    assert long.loc[("D3", TIMING_GROUP), "feature_value"] == "Not engaged yet (prospecting)"
    assert long.loc[("D1", "deal_value"), "feature_value"] == "$5,482"
    assert long.loc[("D1", "deal_value"), "feature_label"] == "list price"
    assert long.loc[("D2", "deal_value"), "feature_label"] == "list price"
    assert long.loc[("D1", "product"), "feature_label"] == "product (same for every deal today)"
    assert long.loc[("D1", "product"), "step"] == 1


def test_money_in_sentences_and_values_is_in_the_corporate_currency(grouped: GroupedExplanation) -> None:
    """A run whose amounts are in euros never quotes a list price in dollars."""
    drivers = top_drivers(grouped, not_engaged=pd.Index(["D3"]), currency="EUR")
    assert drivers.loc["D2", "driver_2"] == "List price is €26,100 vs €5,482 typical (-2 pts)"
    long = shap_long(grouped, not_engaged=pd.Index(["D3"]), currency="CHF").set_index(
        ["opportunity_id", "feature"]
    )
    assert long.loc[("D2", "deal_value"), "feature_value"] == "CHF 26,100"
    assert driver_sentence("deal_value", "list price", 4821.0, 1096.0, 0.02, "GBP") == (
        "List price is £4,821 vs £1,096 typical (+2 pts)"
    )
