"""The Monte Carlo engine: marginals, dependence, slice assignment, values, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from core.forecast.simulation import Dependence, PipelineDraws, simulate_revenue

INDEPENDENT = Dependence()


def _draws(
    slice_probability: list[list[float]],
    slice_month: list[int],
    value: float | None = 100.0,
    list_price: float = 0.0,
    ratio: tuple[float, ...] = (1.0,),
) -> PipelineDraws:
    probability = np.array(slice_probability, dtype=float).reshape(len(slice_probability), len(slice_month))
    n = probability.shape[0]
    return PipelineDraws(
        slice_probability=probability,
        slice_month=np.array(slice_month),
        fixed_value=np.full(n, np.nan if value is None else value),
        list_price=np.full(n, list_price),
        realised_ratio=np.array(ratio),
        level_codes=np.zeros((n, 1), dtype=np.int64),
        shock_group=np.zeros(n, dtype=np.int64),
    )


def test_single_deal_wins_at_its_probability_in_the_right_slices() -> None:
    draws = _draws([[0.2, 0.3, 0.1]], [0, 0, 1])
    totals = simulate_revenue(draws, 1, 20_000, seed=1, dependence=INDEPENDENT, n_shock_groups=1)
    share = (totals[:, :, 0] > 0).mean(axis=0)
    np.testing.assert_allclose(share, [0.2, 0.3, 0.1], atol=0.01)
    assert set(np.unique(totals)) == {0.0, 100.0}
    assert totals.sum(axis=1).max() == 100.0  # won at most once


def test_dependence_keeps_means_and_widens_spread() -> None:
    probability = [[0.05, 0.05]] * 400
    draws = _draws(probability, [0, 1])
    free = simulate_revenue(draws, 1, 4000, seed=3, dependence=INDEPENDENT, n_shock_groups=1)
    tied = simulate_revenue(draws, 1, 4000, seed=3, dependence=Dependence(0.3, 0.0), n_shock_groups=1)
    expected = 400 * 0.1 * 100
    assert free.sum(axis=(1, 2)).mean() == pytest.approx(expected, rel=0.02)
    assert tied.sum(axis=(1, 2)).mean() == pytest.approx(expected, rel=0.03)
    # independent: binomial sd = 100 * sqrt(400 * 0.1 * 0.9) = 600; a 0.3 shock adds ~ sqrt(0.3) * 20 * 100
    assert free.sum(axis=(1, 2)).std() == pytest.approx(600, rel=0.08)
    assert tied.sum(axis=(1, 2)).std() > 1.8 * free.sum(axis=(1, 2)).std()


def test_value_drawn_from_list_price_times_realised_ratio() -> None:
    draws = _draws([[1.0]], [0], value=None, list_price=1000.0, ratio=(0.5, 1.5))
    totals = simulate_revenue(draws, 1, 2000, seed=5, dependence=INDEPENDENT, n_shock_groups=1)
    assert set(np.unique(totals)) == {500.0, 1500.0}
    assert totals.mean() == pytest.approx(1000.0, rel=0.05)


def test_levels_receive_each_deal_once_per_segment_type() -> None:
    draws = _draws([[1.0], [1.0]], [0])
    draws = PipelineDraws(**{**draws.__dict__, "level_codes": np.array([[0, 1], [0, 2]])})
    totals = simulate_revenue(draws, 3, 10, seed=0, dependence=INDEPENDENT, n_shock_groups=1)
    np.testing.assert_array_equal(totals[:, 0, :], np.tile([200.0, 100.0, 100.0], (10, 1)))


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    draws = _draws([[0.1, 0.2]] * 50, [0, 1])
    dep = Dependence(0.1, 0.05)
    a = simulate_revenue(draws, 1, 1500, seed=9, dependence=dep, n_shock_groups=1)
    b = simulate_revenue(draws, 1, 1500, seed=9, dependence=dep, n_shock_groups=1)
    c = simulate_revenue(draws, 1, 1500, seed=10, dependence=dep, n_shock_groups=1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_no_deals_or_no_simulations_give_zeros() -> None:
    empty = _draws(np.zeros((0, 2)).tolist(), [0, 0])
    assert simulate_revenue(empty, 1, 5, 0, INDEPENDENT, 1).shape == (5, 2, 1)
    assert not simulate_revenue(empty, 1, 5, 0, INDEPENDENT, 1).any()


def test_a_range_of_chunks_gives_those_rows_of_the_whole_run() -> None:
    probability = [[0.2, 0.3, 0.1], [0.05, 0.1, 0.6]]
    draws = _draws(probability, [0, 0, 1], value=None, list_price=50.0, ratio=(0.9, 1.1))
    dependence = Dependence(0.1, 0.05, persistent_variance=0.05)
    whole = simulate_revenue(draws, 1, 2_500, seed=7, dependence=dependence, n_shock_groups=1)
    parts = [
        simulate_revenue(draws, 1, 2_500, seed=7, dependence=dependence, n_shock_groups=1, sim_chunks=chunks)
        for chunks in (range(0, 1), range(1, 3))
    ]
    assert [len(part) for part in parts] == [1_000, 1_500]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert whole.sum() > 0
