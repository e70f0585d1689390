"""The attention plan: an exact knapsack per manager under its hours, never below the greedy list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.diagnostics.attention import (
    REVIEW_HOURS,
    attention_plan,
    best_reviews,
    greedy_reviews,
)


def _knapsack_by_dp(value: np.ndarray, hours: np.ndarray, capacity: float) -> float:
    """An independent exact solver: dynamic programming over quarter hours."""
    units, limit = np.round(hours * 4).astype(int), int(round(capacity * 4))
    best = np.zeros(limit + 1)
    for v, u in zip(value, units, strict=True):
        if u <= limit:
            best[u:] = np.maximum(best[u:], best[: limit + 1 - u] + v)
    return float(best[limit])


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_is_the_exact_optimum_within_the_hours(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    value = rng.gamma(1.0, 1000.0, n)
    hours = rng.choice(list(REVIEW_HOURS.values()), n)
    capacity = float(rng.integers(1, 24)) / 2
    chosen = best_reviews(value, hours, capacity)
    assert hours[chosen].sum() <= capacity + 1e-9
    assert value[chosen].sum() == pytest.approx(_knapsack_by_dp(value, hours, capacity), rel=1e-9)
    order = np.argsort(-value, kind="stable")
    greedy = greedy_reviews(hours[order], capacity)
    assert value[chosen].sum() >= value[order][greedy].sum() - 1e-9


def _predictions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    return pd.DataFrame(
        {
            "opportunity_id": [f"D{i}" for i in range(n)],
            "manager": rng.choice(["Ann", "Bob", "Unknown"], n),
            "deal_value": rng.gamma(2.0, 3000.0, n),
            "p_close_in_quarter": rng.uniform(0, 1, n),
            "risk_tier": rng.choice(list(REVIEW_HOURS), n),
            "stale": rng.random(n) < 0.1,
            "scored": True,
        }
    )


def test_each_manager_keeps_to_their_hours_and_reviews_only_their_deals() -> None:
    predictions = _predictions()
    plan = attention_plan(predictions, {"Ann": 5.0})
    owner = predictions.set_index("opportunity_id")["manager"]
    assert (plan.plan["manager"] == owner[plan.plan["opportunity_id"]].to_numpy()).all()
    used = plan.plan.groupby("manager")["hours"].sum()
    assert used["Ann"] <= 5.0 and used["Bob"] <= 6.0 and "Unknown" not in used.index
    assert not predictions.set_index("opportunity_id").loc[plan.plan["opportunity_id"], "stale"].any()
    q = predictions.set_index("opportunity_id").loc[plan.plan["opportunity_id"]]
    np.testing.assert_allclose(
        plan.plan["objective"], q["deal_value"] * q["p_close_in_quarter"] * (1 - q["p_close_in_quarter"])
    )
    summary = plan.summary()
    assert summary["objective"] == pytest.approx(plan.plan["objective"].sum(), abs=0.01)
    assert summary["objective"] >= summary["greedy_objective"]
    assert summary["capacity_hours"] == {"Ann": 5.0, "Bob": 6.0, "Unknown": 0.0}
    more = attention_plan(predictions, {"Ann": 8.0}).summary()["objective"]
    assert more >= summary["objective"]


def test_in_a_quarters_last_two_weeks_the_plan_works_for_the_next_quarter() -> None:
    """A bug: on MavenTech's as-of date (2017-12-31, a quarter's last day) every deal's chance this quarter
    was 0, so the plan chose nothing; the plan follows the app's headline quarter."""
    from core.forecast.periods import headline_chance

    assert headline_chance(pd.Timestamp("2017-12-31")) == "p_close_next_quarter"
    assert headline_chance(pd.Timestamp("2017-12-17")) == "p_close_in_quarter"  # 14 days left
    predictions = _predictions().assign(
        p_close_next_quarter=lambda d: d["p_close_in_quarter"], p_close_in_quarter=0.0
    )
    assert attention_plan(predictions).plan.empty
    plan = attention_plan(predictions, chance="p_close_next_quarter")
    assert len(plan.plan) > 0 and plan.summary()["chance"] == "p_close_next_quarter"
