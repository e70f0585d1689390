"""The quarter range of any selection of deals: expectations, the quarter-scaled dependence, and how close
one shock per quarter comes to the batch step's three monthly shocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.forecast.selection import quarter_dependence, selection_quantiles
from core.forecast.simulation import Dependence, PipelineDraws, simulate_revenue

# the shape and size of MavenTech's fitted dependence (predictions_metadata.json simulation.dependence)
FITTED = {
    "market_variance": 0.03,
    "segment_variance": 0.059294,
    "segment_type": "regional_office",
    "persistent_variance": 0.086692,
    "method": "method of moments ...",
}


def _pipeline(n: int = 360, seed: int = 4) -> pd.DataFrame:
    """``n`` open deals over three regions with quarter chances and values of different sizes."""
    rng = np.random.default_rng(seed)
    win = rng.uniform(0.1, 0.8, n)
    share_in = rng.uniform(0.1, 0.6, n)
    return pd.DataFrame(
        {
            "deal_value": rng.choice([550.0, 1100.0, 3400.0, 5500.0], n),
            "p_close_in_quarter": win * share_in,
            "p_close_next_quarter": win * (1 - share_in) * 0.6,
            "regional_office": rng.choice(["Central", "East", "West"], n),
        }
    )


def test_quarter_dependence_scales_the_monthly_shocks_to_a_quarter() -> None:
    dependence = quarter_dependence(FITTED)
    assert dependence.market_variance == pytest.approx(0.01)
    assert dependence.segment_variance == pytest.approx(0.059294 / 3)
    assert dependence.persistent_variance == 0.086692  # spans the horizon: unchanged
    assert dependence.segment_type == "regional_office"
    independent = quarter_dependence({"note": "fixture"})
    assert (independent.market_variance, independent.segment_variance, independent.persistent_variance) == (
        0.0,
        0.0,
        0.0,
    )


def test_expected_is_the_sum_and_certain_deals_give_a_point() -> None:
    deals = pd.DataFrame(
        {
            "deal_value": [100.0, 250.0, 400.0, 900.0],
            "p_close_in_quarter": [1.0, 0.0, 0.0, np.nan],  # a stale deal (0, 0) and an unscored one (blank)
            "p_close_next_quarter": [0.0, 1.0, 0.0, np.nan],
            "regional_office": ["East", "West", "East", "West"],
        }
    )
    band = selection_quantiles(deals, quarter_dependence({}), simulations=500, seed=1)
    assert band["quarter"].tolist() == ["as-of quarter", "next quarter"]
    assert band["expected"].tolist() == [100.0, 250.0]
    assert band[["p10", "p50", "p90"]].to_numpy().tolist() == [[100.0] * 3, [250.0] * 3]
    assert band["deals"].tolist() == [2, 2]
    empty = selection_quantiles(deals.iloc[2:3], quarter_dependence(FITTED), simulations=500, seed=1)
    assert empty[["expected", "p10", "p90", "deals"]].to_numpy().tolist() == [[0.0, 0.0, 0.0, 0]] * 2


def test_one_shock_per_quarter_matches_three_monthly_shocks() -> None:
    """The batch step gives each month its own shocks; one shock per quarter with a third of the monthly
    variance must give nearly the same P10 and P90 (stated tolerance: 3% of the quarter's expected)."""
    deals = _pipeline()
    monthly = Dependence(
        FITTED["market_variance"],
        FITTED["segment_variance"],
        "regional_office",
        persistent_variance=FITTED["persistent_variance"],
    )
    # the batch step's way: six monthly slices (a third of each quarter's chance in each month)
    chances = deals[["p_close_in_quarter", "p_close_next_quarter"]].to_numpy()
    by_month = np.repeat(chances / 3, 3, axis=1)
    order = np.argsort(deals["regional_office"].to_numpy(), kind="stable")
    _, groups = np.unique(deals["regional_office"].to_numpy()[order], return_inverse=True)
    draws = PipelineDraws(
        slice_probability=by_month[order],
        slice_month=np.arange(6),
        fixed_value=deals["deal_value"].to_numpy()[order],
        list_price=np.zeros(len(deals)),
        realised_ratio=np.ones(1),
        level_codes=np.zeros((len(deals), 1), dtype=np.int64),
        shock_group=groups.astype(np.int64),
    )
    totals = simulate_revenue(draws, 1, 8000, seed=9, dependence=monthly, n_shock_groups=3)[:, :, 0]
    quarters = np.stack([totals[:, :3].sum(axis=1), totals[:, 3:].sum(axis=1)], axis=1)
    reference = np.quantile(quarters, [0.1, 0.9], axis=0)
    band = selection_quantiles(deals, quarter_dependence(FITTED), simulations=8000, seed=2)
    tolerance = 0.03 * band["expected"].to_numpy()
    np.testing.assert_array_less(np.abs(band["p10"].to_numpy() - reference[0]), tolerance)
    np.testing.assert_array_less(np.abs(band["p90"].to_numpy() - reference[1]), tolerance)
    # and the dependence matters: independent deals give a clearly narrower range
    alone = selection_quantiles(deals, quarter_dependence({}), simulations=8000, seed=2)
    assert ((alone["p90"] - alone["p10"]) < 0.8 * (band["p90"] - band["p10"])).all()
