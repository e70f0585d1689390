"""Forecast metrics on tiny hand-checked arrays."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.metrics import (
    calibrated_draws,
    calibration_error_against,
    calibration_if_calibrated,
    ece_if_calibrated,
    expected_brier,
    expected_calibration_error,
    probability_scores,
    reliability_table,
)


def test_reliability_table_bins_and_rates() -> None:
    observed = np.array([0, 1, 1, 0, 1])
    predicted = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    table = reliability_table(observed, predicted)
    assert table["bin_lower"].tolist() == [0.0, 0.1, 0.9]
    assert table["n"].tolist() == [1, 2, 2]
    assert table["observed_rate"].tolist() == [0.0, 1.0, 0.5]
    assert table["mean_predicted"].tolist() == pytest.approx([0.05, 0.135, 0.975])


def test_ece_is_the_count_weighted_gap() -> None:
    observed = np.array([0, 1, 1, 0, 1])
    predicted = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    expected = (1 * 0.05 + 2 * (1 - 0.135) + 2 * (0.975 - 0.5)) / 5
    assert expected_calibration_error(observed, predicted) == pytest.approx(expected)


def test_scores_against_a_base_rate() -> None:
    observed = np.array([1.0, 0.0, 1.0, 0.0])
    predicted = np.array([0.8, 0.2, 0.6, 0.4])
    scores = probability_scores(observed, predicted, base_rate=0.5)
    assert scores["auc"] == 1.0
    assert scores["brier"] == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)
    assert scores["brier_skill"] == pytest.approx(1 - 0.1 / 0.25)
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.8, 0.6, 0.6])))


def test_a_soft_label_scores_its_expected_brier_and_stays_out_of_the_auc() -> None:
    # a deal known only as "won with chance 0.25": Brier is the expectation over its two possible outcomes
    assert expected_brier(np.array([0.25]), np.array([0.5])) == pytest.approx(0.25 * 0.5**2 + 0.75 * 0.5**2)
    observed = np.array([1.0, 0.0, 0.25])
    predicted = np.array([0.8, 0.3, 0.5])
    scores = probability_scores(observed, predicted, base_rate=0.5)
    assert scores["brier"] == pytest.approx((0.04 + 0.09 + 0.25) / 3)
    assert scores["brier_skill"] == pytest.approx(1 - (0.38 / 3) / ((0.25 + 0.25 + 0.25) / 3))
    assert scores["auc"] == 1.0  # over the two known outcomes only; the soft label would make it 0.5 or None
    assert scores["ece"] == pytest.approx((0.2 + 0.3 + 0.25) / 3)


def test_auc_is_none_when_only_one_outcome_is_present() -> None:
    assert probability_scores(np.ones(3), np.array([0.2, 0.5, 0.9]), 0.5)["auc"] is None


def test_ece_if_calibrated_matches_the_binomial_spread_of_one_bin() -> None:
    # one bin, 400 deals at 0.5: ECE = |k/400 - 0.5| with k ~ Binomial(400, 0.5), sd 0.025
    spread = ece_if_calibrated(np.full(400, 0.5), draws=4000, seed=3)
    assert spread["median"] == pytest.approx(0.6745 * 0.025, abs=0.002)
    assert spread["p95"] == pytest.approx(1.96 * 0.025, abs=0.003)
    assert spread["p05"] < spread["median"] < spread["p95"]


def test_ece_if_calibrated_is_seeded_and_flags_a_miscalibrated_forecast() -> None:
    predicted = np.random.default_rng(0).uniform(0.2, 0.8, 2000)
    assert ece_if_calibrated(predicted, seed=5) == ece_if_calibrated(predicted, seed=5)
    assert ece_if_calibrated(predicted, seed=5) != ece_if_calibrated(predicted, seed=6)
    spread = ece_if_calibrated(predicted, seed=5)
    rng = np.random.default_rng(1)
    honest = (rng.random(2000) < predicted).astype(float)
    overconfident = (rng.random(2000) < 0.5 + 0.6 * (predicted - 0.5)).astype(float)
    assert expected_calibration_error(honest, predicted) < spread["p95"]
    assert expected_calibration_error(overconfident, predicted) > spread["p95"]


def test_rows_of_one_deal_share_its_outcome_in_the_chance_ranges() -> None:
    # 400 rows at 0.5 in one bin but only 100 deals (each scored at 4 dates): the observed rate is k/100 with
    # k ~ Binomial(100, 0.5), sd 0.05, not the 0.025 that 400 independent outcomes would give
    predicted, deals = np.full(400, 0.5), np.repeat(np.arange(100), 4)
    spread, bands = calibration_if_calibrated(predicted, draws=4000, seed=3, groups=deals)
    assert spread["p95"] == pytest.approx(1.96 * 0.05, abs=0.006)
    assert bands["bin_lower"].tolist() == [0.5]
    assert bands["chance_low"].iloc[0] == pytest.approx(0.5 - 1.645 * 0.05, abs=0.011)
    assert bands["chance_high"].iloc[0] == pytest.approx(0.5 + 1.645 * 0.05, abs=0.011)
    independent, _ = calibration_if_calibrated(predicted, draws=4000, seed=3)
    assert independent == ece_if_calibrated(predicted, draws=4000, seed=3)
    assert independent["p95"] == pytest.approx(1.96 * 0.025, abs=0.003)
    # a deal whose rows fall in different bins still has one outcome draw U, won where U < p: never won at
    # 0.2 and lost at 0.9; the two bins' rates are 1/0, 0/0 or 1/1, the last in 20% of the draws
    draws = np.concatenate(
        list(calibrated_draws(np.array([0.2, 0.9]), np.array([0, 1]), np.ones(2), 5000, 1, np.array([0, 0])))
    )
    assert (draws[:, 0] <= draws[:, 1]).all()
    assert draws[:, 0].mean() == pytest.approx(0.2, abs=0.02) and draws[:, 1].mean() == pytest.approx(
        0.9, abs=0.02
    )


def test_ece_if_calibrated_of_nothing_is_none() -> None:
    assert ece_if_calibrated(np.array([])) == {"p05": None, "median": None, "p95": None}


def test_calibration_error_against_the_true_probabilities() -> None:
    truth = np.array([0.02, 0.10, 0.20, 0.90, 0.96])
    predicted = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    expected = (1 * 0.03 + 2 * abs(0.15 - 0.135) + 2 * abs(0.93 - 0.975)) / 5
    assert calibration_error_against(truth, predicted) == pytest.approx(expected)
