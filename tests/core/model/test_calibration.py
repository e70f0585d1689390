"""Calibrators: recover known maps, stay monotone, round-trip through JSON, and are chosen out of sample."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.calibration import Calibrator, choose_calibrator, fit_isotonic, fit_sigmoid, log_loss


def _platt_data(n: int = 20000, slope: float = 0.5, intercept: float = -0.3) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds and outcomes drawn from a known sigmoid map."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(slope * z + intercept)))).astype(float)
    return z, y


def test_sigmoid_recovers_slope_and_intercept() -> None:
    z, y = _platt_data()
    calibrator = fit_sigmoid(z, y)
    assert calibrator.slope == pytest.approx(0.5, abs=0.03)
    assert calibrator.intercept == pytest.approx(-0.3, abs=0.04)


def test_sigmoid_accepts_soft_labels() -> None:
    z = np.linspace(-3, 3, 200)
    soft = 1 / (1 + np.exp(-(2 * z + 1)))
    calibrator = fit_sigmoid(z, soft)
    assert (calibrator.slope, calibrator.intercept) == pytest.approx((2.0, 1.0), abs=1e-3)


def test_isotonic_is_monotone_and_clipped_away_from_certainty() -> None:
    z, y = _platt_data(2000)
    calibrator = fit_isotonic(z, y)
    grid = calibrator(np.linspace(-10, 10, 101))
    assert np.all(np.diff(grid) >= 0)
    assert grid.min() >= 1e-4 and grid.max() <= 1 - 1e-4


def test_json_round_trip_gives_identical_probabilities() -> None:
    z, y = _platt_data(3000)
    for calibrator in (fit_sigmoid(z, y), fit_isotonic(z, y), Calibrator("identity")):
        again = Calibrator.from_dict(calibrator.to_dict())
        np.testing.assert_array_equal(again(z), calibrator(z))


def test_malformed_calibrator_json_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        Calibrator.from_dict({"method": "isotonic", "thresholds": [0, 1], "values": [0.8, 0.2]})
    with pytest.raises(ValueError, match="unknown calibration method"):
        Calibrator.from_dict({"method": "magic", "slope": 1, "intercept": 0})


def test_choice_prefers_sigmoid_when_the_truth_is_a_sigmoid() -> None:
    z, y = _platt_data(4000)
    calibrator, scores = choose_calibrator(z, y, seed=1)
    assert calibrator.method == "sigmoid"
    assert set(scores) == {"sigmoid", "isotonic"}
    assert scores["sigmoid"] < log_loss(y, np.full_like(y, y.mean()))


def test_choice_takes_isotonic_for_a_step_shaped_truth() -> None:
    rng = np.random.default_rng(2)
    z = rng.uniform(-3, 3, 6000)
    y = (rng.random(6000) < np.where(z > 0, 0.9, 0.1)).astype(float) * (np.abs(z) > 0) + 0
    y = np.where(np.abs(z) < 1, (rng.random(6000) < 0.5).astype(float), y)
    calibrator, scores = choose_calibrator(z, y, seed=1)
    assert calibrator.method == "isotonic"
    assert scores["isotonic"] < scores["sigmoid"] - 0.002


def test_a_weighted_row_counts_as_that_many_copies() -> None:
    # the model weighs a snapshot kept once in 4 (deals older than 182 days) by 4, in the map too
    z, y = _platt_data(3000)
    weight = np.where(z < -1, 4.0, 1.0)
    weighted, scores = choose_calibrator(z, y, seed=1, methods=("sigmoid",), weight=weight)
    copies = weight.astype(int)
    repeated, _ = choose_calibrator(np.repeat(z, copies), np.repeat(y, copies), seed=1, methods=("sigmoid",))
    assert weighted.slope == pytest.approx(repeated.slope, rel=1e-8)
    assert weighted.intercept == pytest.approx(repeated.intercept, rel=1e-8, abs=1e-9)
    unweighted, _ = choose_calibrator(z, y, seed=1, methods=("sigmoid",))
    assert abs(unweighted.slope - weighted.slope) > 1e-4  # the weights did move the fit
    assert scores["sigmoid"] < log_loss(y, np.full_like(y, y.mean()), weight)
