"""Risk score components, tiers and flags on a three-deal frame."""

from __future__ import annotations

import pandas as pd
import pytest

from core.risk import TIER_MEANINGS, data_flags, risk_formula, risk_tier, score_risk


@pytest.fixture
def deals() -> pd.DataFrame:
    return pd.DataFrame({
        "deal_value": [1000.0, 10_000.0, 500.0],
        "win_probability": [0.8, 0.3, 0.5],
        "age_days": [20.0, 90.0, 300.0],
        "stale": [False, False, True],
        "flag_blank_account": [False, True, True],
        "flag_unknown_agent": [False, False, True],
    }, index=["a", "b", "c"])


def test_scores_by_hand(deals: pd.DataFrame) -> None:
    risk = score_risk(deals, median_won_age=50.0, p90_won_age=110.0)
    # value at risk 200, 7000, 250 -> ranks 1/3, 1, 2/3; overdue 0, (90-50)/60, 1 (stale)
    expected = [100 * (0.55 / 3 + 0.25 * 0.2 + 0), 100 * (0.55 + 0.25 * 0.7 + 0.2 * 40 / 60),
                100 * (0.55 * 2 / 3 + 0.25 * 0.5 + 0.2)]
    assert risk["risk_score"].tolist() == [round(v, 1) for v in expected]
    assert risk["risk_tier"].tolist() == ["Healthy", "Critical", "High"]
    assert risk["value_at_risk"].tolist() == pytest.approx([200.0, 7000.0, 250.0])


def test_tier_boundaries() -> None:
    tiers = risk_tier(pd.Series([100.0, 75.0, 74.9, 55.0, 35.0, 34.9, 0.0]))
    assert tiers.tolist() == ["Critical", "Critical", "High", "High", "Watch", "Healthy", "Healthy"]
    assert set(TIER_MEANINGS) == {"Critical", "High", "Watch", "Healthy"}
    assert "0.55 x value_at_risk_rank" in risk_formula()


def test_data_flags_list_problems(deals: pd.DataFrame) -> None:
    assert data_flags(deals).tolist() == ["", "blank_account", "blank_account;unknown_agent"]
