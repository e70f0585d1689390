"""Competing-risks time-to-close curves on hand-checkable frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.forecast.timing import CloseTimingModel

AS_OF = pd.Timestamp("2024-03-01")


def _deals(rows: list[tuple[str, int, str | None, str]]) -> pd.DataFrame:
    """Deals from (stage, days engaged before as-of, days to close or None, product)."""
    records = []
    for i, (stage, engaged_ago, to_close, product) in enumerate(rows):
        engage = AS_OF - pd.Timedelta(days=engaged_ago)
        close = engage + pd.Timedelta(days=int(to_close)) if to_close is not None else pd.NaT
        records.append(
            {
                "opportunity_id": f"D{i}",
                "deal_stage": stage,
                "engage_date": engage,
                "close_date": close,
                "product": product,
                "age_days": float(engaged_ago),
            }
        )
    return pd.DataFrame(records)


@pytest.fixture
def four_deals() -> pd.DataFrame:
    """Won at 10 days, lost at 5, won at 20, and one still open at 15 days (censored)."""
    return _deals(
        [("Won", 100, 10, "A"), ("Lost", 100, 5, "A"), ("Won", 100, 20, "A"), ("Engaging", 15, None, "A")]
    )


def test_aalen_johansen_incidence_matches_hand_computation(four_deals: pd.DataFrame) -> None:
    model = CloseTimingModel().fit(four_deals, AS_OF)
    cif = model.won_cif_["A"]
    # day 5: 1 of 4 lost -> open 3/4; day 10: 1 of 3 won -> CIF 0.25, open 1/2;
    # day 20: the last one at risk wins
    assert cif[9] == pytest.approx(0.0)
    assert cif[10] == pytest.approx(0.25)
    assert cif[19] == pytest.approx(0.25)
    assert cif[20] == pytest.approx(0.75)
    assert model.survival_["A"][15] == pytest.approx(0.5)
    assert model.max_close_age_ == 20


def test_open_deal_conditional_shares_and_chance(four_deals: pd.DataFrame) -> None:
    model = CloseTimingModel().fit(four_deals, AS_OF)
    open_deal = four_deals.iloc[[3]]
    shares = model.win_time_shares(open_deal, np.array([4, 5, 30]))
    np.testing.assert_allclose(shares, [[0.0, 1.0, 1.0]])
    assert model.remaining_win_chance(open_deal).iloc[0] == pytest.approx(1.0)
    assert model.median_days_to_win(open_deal).iloc[0] == 5


def test_new_deal_uses_whole_curve(four_deals: pd.DataFrame) -> None:
    model = CloseTimingModel().fit(four_deals, AS_OF)
    fresh = pd.DataFrame({"product": ["A"], "age_days": [np.nan]})  # not engaged yet: age 0
    assert model.remaining_win_chance(fresh).iloc[0] == pytest.approx(0.75)
    assert model.median_days_to_win(fresh).iloc[0] == 20
    assert model.window_win_chance(fresh, 1, 10)[0] == pytest.approx(0.25)


def test_deal_older_than_any_win_has_no_timing(four_deals: pd.DataFrame) -> None:
    model = CloseTimingModel().fit(four_deals, AS_OF)
    zombie = pd.DataFrame({"product": ["A"], "age_days": [45.0]})
    assert model.win_time_shares(zombie, np.array([10, 100]))[0].tolist() == [0.0, 0.0]
    assert np.isnan(model.median_days_to_win(zombie).iloc[0])


def test_segments_shrink_towards_pooled_curve() -> None:
    rows = [("Won", 200, 10, "fast")] * 20 + [("Won", 200, 40, "slow")] * 20 + [("Won", 200, 40, "tiny")]
    deals = _deals(rows)
    loose = CloseTimingModel(shrinkage=0.0).fit(deals, AS_OF)
    tight = CloseTimingModel(shrinkage=1e6).fit(deals, AS_OF)
    assert loose.won_cif_["fast"][10] == pytest.approx(1.0)
    assert loose.won_cif_["tiny"][10] == pytest.approx(0.0)
    pooled_day10 = 20 / 41
    assert tight.won_cif_["tiny"][10] == pytest.approx(pooled_day10, abs=1e-4)
    unseen = pd.DataFrame({"product": ["never seen"], "age_days": [0.0]})
    assert tight.window_win_chance(unseen, 1, 10)[0] == pytest.approx(pooled_day10, abs=1e-4)


def test_fit_needs_a_won_deal() -> None:
    with pytest.raises(ValueError, match="no won deal closed by the as-of date"):
        CloseTimingModel().fit(_deals([("Lost", 50, 5, "A")]), AS_OF)
