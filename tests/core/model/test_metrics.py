"""Forecast metrics on tiny hand-checked arrays."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.metrics import expected_calibration_error, probability_scores, reliability_table


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


def test_auc_is_none_when_only_one_outcome_is_present() -> None:
    assert probability_scores(np.ones(3), np.array([0.2, 0.5, 0.9]), 0.5)["auc"] is None
