"""app.services.health's SHAP dependence points on tiny frames: feature values read as numbers (amounts,
a number leading a phrase) or kept as categories, a fixed sample of deals, each deal's risk tier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.services.health import dependence_points, feature_numbers, sample_deals


def test_feature_values_read_as_numbers_where_they_are_numbers() -> None:
    values = pd.Series(
        ["$5,482", "375 days since engagement, engaged 34 days", "", "GTK 500", "0.25", "CA$1,200"]
    )
    numbers, meaning = feature_numbers(values)
    assert numbers.iloc[[0, 1, 4, 5]].tolist() == [5482.0, 375.0, 0.25, 1200.0]
    assert numbers.iloc[[2, 3]].isna().all()  # a blank, and a product whose name ends in a number
    assert meaning == ""  # most worded values are amounts
    _, timing = feature_numbers(
        pd.Series(["3 days since engagement, engaged 1 day into", "9 days since engagement"])
    )
    assert timing == "days since engagement"


def test_a_large_run_is_sampled_the_same_way_every_time() -> None:
    ids = pd.Index([f"D{i:05d}" for i in range(10_000)])
    first, again = sample_deals(ids, 500), sample_deals(ids, 500)
    assert len(first) == 500 and first.equals(again) and first.is_monotonic_increasing
    assert sample_deals(ids[:20], 500).equals(ids[:20])


def test_points_carry_value_category_impact_and_tier() -> None:
    shap = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "B", "C", "C"],
            "feature": ["age_days", "product", "age_days", "product", "age_days", "product"],
            "feature_value": ["10", "GTX", "", "MG", "30", ""],
            "shap_value": [0.05, -0.01, 0.0, 0.02, -0.04, 0.03],
        }
    ).set_index("opportunity_id")
    tiers = pd.Series(["High", "Low", "High"], index=["A", "B", "C"])
    points, explained = dependence_points(shap, tiers, ["age_days", "product"])
    assert explained == 3
    age = points[points["feature"].eq("age_days")]
    assert (
        age["numeric"].all()
        and age["value"].tolist()[0::2] == [10.0, 30.0]
        and np.isnan(age["value"].iloc[1])
    )
    product = points[points["feature"].eq("product")]
    assert not product["numeric"].any() and product["category"].tolist() == ["GTX", "MG", "unknown"]
    assert product["risk_tier"].tolist() == ["High", "Low", "High"]
    assert product["impact"].tolist() == [-0.01, 0.02, 0.03]
