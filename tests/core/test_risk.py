"""Risk score components, tiers and flags on a three-deal frame."""

from __future__ import annotations

import pandas as pd
import pytest

from core.risk import TIER_MEANINGS, data_flags, risk_formula, risk_tier, score_risk


@pytest.fixture
def deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_value": [1000.0, 10_000.0, 500.0],
            "win_probability": [0.8, 0.3, 0.001],
            "age_days": [20.0, 90.0, 300.0],
            "stale": [False, False, True],
            "flag_blank_account": [False, True, True],
            "flag_unknown_agent": [False, False, True],
        },
        index=["a", "b", "c"],
    )


def test_scores_by_hand(deals: pd.DataFrame) -> None:
    risk = score_risk(deals, median_won_age=50.0, p90_won_age=110.0)
    # value ranks 2/3, 1, 1/3; in play 4p(1-p) = 0.64, 0.84, ~0.004; overdue 0, (90-50)/60, 1 (stale)
    expected = [
        100 * (0.45 * 2 / 3 + 0.35 * 0.64),
        100 * (0.45 + 0.35 * 0.84 + 0.2 * 40 / 60),
        100 * (0.45 / 3 + 0.35 * 4 * 0.001 * 0.999 + 0.2),
    ]
    assert risk["risk_score"].tolist() == [round(v, 1) for v in expected]
    assert risk["risk_tier"].tolist() == ["Watch", "Critical", "Watch"]
    assert risk["value_at_risk"].tolist() == pytest.approx([200.0, 7000.0, 499.5])


def test_settled_deals_score_below_deals_in_play() -> None:
    frame = pd.DataFrame(
        {
            "deal_value": [5000.0] * 3,
            "win_probability": [0.01, 0.5, 0.99],
            "age_days": [30.0] * 3,
            "stale": [False] * 3,
        }
    )
    scores = score_risk(frame, 50.0, 110.0)["risk_score"].tolist()
    assert scores[1] > scores[0] and scores[1] > scores[2]


def test_tier_boundaries() -> None:
    tiers = risk_tier(pd.Series([100.0, 70.0, 69.9, 55.0, 35.0, 34.9, 0.0]))
    assert tiers.tolist() == ["Critical", "Critical", "High", "High", "Watch", "Low priority", "Low priority"]
    assert set(TIER_MEANINGS) == {"Critical", "High", "Watch", "Low priority", "Unscored"}
    assert "0.45 x value_rank + 0.35 x in_play + 0.20 x overdue" in risk_formula()


def test_data_flags_list_problems(deals: pd.DataFrame) -> None:
    assert data_flags(deals).tolist() == ["", "blank_account", "blank_account;unknown_agent"]
