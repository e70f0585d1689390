"""Out-of-sample calibration of the booster's log-odds: sigmoid (Platt) or isotonic, stored as JSON.

Both maps are monotone non-decreasing in the log-odds, which is what makes the proportional SHAP-to-points
allocation in :mod:`core.model.win_probability` sign-safe. Labels may be soft (fractions in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression

EPS = 1e-6
METHODS = ("sigmoid", "isotonic")


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw log-odds to calibrated probability."""

    method: str
    slope: float = 1.0
    intercept: float = 0.0
    thresholds: tuple[float, ...] = ()
    values: tuple[float, ...] = ()

    def __call__(self, log_odds: np.ndarray | float) -> np.ndarray:
        """Calibrated probabilities for raw log-odds."""
        z = np.asarray(log_odds, dtype=float)
        if self.method == "sigmoid":
            return 1.0 / (1.0 + np.exp(-(self.slope * z + self.intercept)))
        if self.method == "isotonic":
            return np.interp(z, np.asarray(self.thresholds), np.asarray(self.values))
        if self.method == "identity":
            return 1.0 / (1.0 + np.exp(-z))
        raise ValueError(f"unknown calibration method {self.method!r}")

    def to_dict(self) -> dict:
        """JSON-ready parameters."""
        if self.method == "isotonic":
            return {"method": "isotonic", "thresholds": list(self.thresholds), "values": list(self.values)}
        return {"method": self.method, "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        """Rebuild from :meth:`to_dict` output (raises KeyError/ValueError on malformed input)."""
        method = data["method"]
        if method == "isotonic":
            thresholds = tuple(float(x) for x in data["thresholds"])
            values = tuple(float(x) for x in data["values"])
            if len(thresholds) != len(values) or not thresholds or np.any(np.diff(values) < 0):
                raise ValueError("isotonic calibrator needs equal-length, non-empty, non-decreasing values")
            return cls("isotonic", thresholds=thresholds, values=values)
        if method not in ("sigmoid", "identity"):
            raise ValueError(f"unknown calibration method {method!r}")
        return cls(method, slope=float(data["slope"]), intercept=float(data["intercept"]))


def log_loss(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Mean cross-entropy for (possibly soft) labels."""
    p = np.clip(p, EPS, 1 - EPS)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.average(losses, weights=weight))


def _sigmoid_loss(a: float, b: float, z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted cross-entropy of the map ``a * z + b``, computed stably from the log-odds."""
    t = a * z + b
    return float(np.sum(w * (np.logaddexp(0.0, t) - y * t)))


def fit_sigmoid(log_odds: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Calibrator:
    """Platt scaling by maximum likelihood (slope kept >= 0 so the map stays monotone).

    Newton's method on the two parameters, halving a step until the loss falls, to machine precision; the
    result is rounded to 10 significant digits. Every sum is numpy's own (no BLAS, whose kernels differ by CPU
    in the last bits), so the calibrator, and with it the model version, is the same on every machine.
    """
    z = np.asarray(log_odds, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(z) if weight is None else np.asarray(weight, dtype=float)
    base = np.clip(np.average(y, weights=w), EPS, 1 - EPS)
    flat = float(np.log(base / (1 - base)))  # the best map with slope 0
    a, b = 1.0, flat - float(np.average(z, weights=w))
    loss = _sigmoid_loss(a, b, z, y, w)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        r, c = w * (p - y), w * p * (1.0 - p)
        g_a, g_b = float(np.sum(r * z)), float(np.sum(r))
        h_aa, h_ab, h_bb = float(np.sum(c * z * z)), float(np.sum(c * z)), float(np.sum(c))
        det = h_aa * h_bb - h_ab * h_ab
        if det <= 0.0:
            break
        step_a, step_b = (h_bb * g_a - h_ab * g_b) / det, (h_aa * g_b - h_ab * g_a) / det
        shrink = 1.0
        while shrink > 1e-10:
            trial = _sigmoid_loss(a - shrink * step_a, b - shrink * step_b, z, y, w)
            if trial <= loss:
                break
            shrink /= 2.0
        else:
            break
        a, b, loss = a - shrink * step_a, b - shrink * step_b, trial
        if abs(shrink * step_a) + abs(shrink * step_b) < 1e-12:
            break
    if a < 0.0:  # scores that rank backwards: the constant map is the best monotone one
        a, b = 0.0, flat
    return Calibrator("sigmoid", slope=float(f"{a:.10g}"), intercept=float(f"{b:.10g}"))


def fit_isotonic(log_odds: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Calibrator:
    """Centred isotonic regression on the log-odds: the isotonic fit's blocks, each placed at its mean score.

    Interpolating between block centres (not block edges) makes the map strictly increasing inside the data
    range, so no two deals with different scores share a probability and every deal keeps a non-zero
    explanation; values are clipped away from 0 and 1.
    """
    z = np.asarray(log_odds, dtype=float)
    w = np.ones_like(z) if weight is None else np.asarray(weight, dtype=float)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    fitted = model.fit(z, np.asarray(y, dtype=float), sample_weight=w).predict(z)
    levels, block = np.unique(fitted, return_inverse=True)
    centres = np.bincount(block, weights=w * z) / np.bincount(block, weights=w)
    values = np.clip(levels, 1e-4, 1 - 1e-4)
    return Calibrator("isotonic", thresholds=tuple(map(float, centres)), values=tuple(map(float, values)))


FITTERS = {"sigmoid": fit_sigmoid, "isotonic": fit_isotonic}


def _fold_of(n: int, seed: int) -> np.ndarray:
    """A seeded 0/1 fold assignment for two-fold cross-fitting."""
    return np.random.default_rng(seed).permutation(np.arange(n) % 2)


def cross_fitted(
    method: str, log_odds: np.ndarray, y: np.ndarray, seed: int = 0, weight: np.ndarray | None = None
) -> np.ndarray:
    """Two-fold cross-fitted predictions: each half mapped by the ``method`` fitted on the other half."""
    z, y = np.asarray(log_odds, dtype=float), np.asarray(y, dtype=float)
    w = None if weight is None else np.asarray(weight, dtype=float)
    fitter = FITTERS[method]
    fold = _fold_of(len(z), seed)
    predicted = np.empty_like(z)
    for k in (0, 1):
        train, test = fold != k, fold == k
        predicted[test] = fitter(z[train], y[train], None if w is None else w[train])(z[test])
    return predicted


def choose_calibrator(
    log_odds: np.ndarray,
    y: np.ndarray,
    seed: int = 0,
    methods: tuple[str, ...] = METHODS,
    weight: np.ndarray | None = None,
) -> tuple[Calibrator, dict[str, float]]:
    """Pick among ``methods`` by two-fold cross-fitted log loss on held-out data, then fit it on all of it.

    Isotonic must beat sigmoid by 0.002 to be chosen: it cannot extrapolate beyond the held-out scores
    (the refitted booster's scores spread wider), so it has to earn its flat ends. ``weight`` weighs each
    row in the fits and the log loss (a thinned training snapshot stands for several).
    """
    z, y = np.asarray(log_odds, dtype=float), np.asarray(y, dtype=float)
    scores = {name: log_loss(y, cross_fitted(name, z, y, seed, weight), weight) for name in methods}
    penalty = {"sigmoid": 0.0, "isotonic": 0.002}
    best = min(scores, key=lambda name: scores[name] + penalty[name])
    return FITTERS[best](z, y, weight), scores
