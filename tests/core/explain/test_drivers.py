"""Driver sentences and long SHAP values from a hand-made explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.explain.drivers import driver_sentence, shap_long, top_drivers


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
        driver_sentence("deal_value", "deal value", 4821.0, 1096.0, 0.02)
        == "Deal value is 4,821 vs 1,096 typical (+2 pts)"
    )
    assert driver_sentence("account_revenue", "", np.nan, None, 0.01) == "Account revenue is unknown (+1 pts)"
    assert (
        driver_sentence("rep_closed_deals", "deals the rep has closed so far", 120.0, 80.0, -0.024)
        == "120 deals the rep has closed so far vs 80 typical (-2 pts)"
    )


def test_top_drivers_order_by_absolute_impact(explanation: FakeExplanation) -> None:
    drivers = top_drivers(explanation)
    assert drivers.loc["D1", "driver_1"] == "95 days since engagement vs 48 for a typical won deal (-11 pts)"
    assert drivers.loc["D1", "driver_2_feature"] == "agent_series_win_rate"
    assert drivers.loc["D1", "driver_3_impact"] == pytest.approx(0.02)
    assert drivers.loc["D2", "driver_1"] == "Rep's win rate on MG deals is 70% vs 63% team average (+3 pts)"
    assert drivers.loc["D2", "driver_3"] == "Days since engagement is unknown (0 pts)"
    waiting = top_drivers(explanation, not_engaged=pd.Index(["D1"]))
    assert waiting.loc["D1", "driver_1"] == "Not engaged yet (prospecting) (-11 pts)"
    assert waiting.loc["D2", "driver_1"] == drivers.loc["D2", "driver_1"]


def test_shap_long_has_every_cell_and_the_base(explanation: FakeExplanation) -> None:
    long = shap_long(explanation)
    assert list(long.columns) == [
        "opportunity_id",
        "feature",
        "feature_value",
        "shap_value",
        "shap_log_odds",
        "base_value",
    ]
    assert len(long) == 6 and (long["base_value"] == 0.55).all()
    d1 = long[long["opportunity_id"].eq("D1")].set_index("feature")
    assert d1.loc["product", "feature_value"] == "GTX Pro"
    assert d1.loc["age_days", "shap_value"] == pytest.approx(-0.11)
    assert d1["shap_value"].sum() + 0.55 == pytest.approx(0.55 - 0.15)
