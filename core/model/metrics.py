"""Probability-forecast metrics: AUC, Brier, Brier skill, log loss, ECE (and its sampling range)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

EPS = 1e-6


def expected_calibration_error(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    table = reliability_table(observed, predicted, bins)
    if table.empty:
        return float("nan")
    gap = (table["observed_rate"] - table["mean_predicted"]).abs()
    return float((gap * table["n"]).sum() / table["n"].sum())


def bin_index(predicted: np.ndarray, bins: int = 10) -> np.ndarray:
    """Equal-width probability bin of each prediction (1.0 falls in the last bin)."""
    return np.minimum((np.asarray(predicted, dtype=float) * bins).astype(int), bins - 1)


def ece_if_calibrated(
    predicted: np.ndarray, bins: int = 10, draws: int = 1000, seed: int = 0, groups: np.ndarray | None = None
) -> dict[str, float | None]:
    """The ECE a perfectly calibrated forecaster would show on these deals: 5th, 50th and 95th percentile.

    Consistency resampling (Broecker and Smith, 2007): outcomes are drawn from the predictions themselves, so
    every gap between a bin's observed rate and its mean prediction is sampling noise alone. An ECE above the
    95th percentile is miscalibration that the sample size does not explain; one inside the range is not
    evidence of miscalibration at this n, however far it is from 0. ``groups`` (see
    :func:`calibrated_draws`) gives rows that share one outcome, such as one deal scored at several dates.
    """
    return calibration_if_calibrated(predicted, bins, draws, seed, groups)[0]


def calibration_if_calibrated(
    predicted: np.ndarray, bins: int = 10, draws: int = 1000, seed: int = 0, groups: np.ndarray | None = None
) -> tuple[dict[str, float | None], pd.DataFrame]:
    """:func:`ece_if_calibrated`, and per non-empty bin the 5-95% range of a calibrated forecaster's observed
    rate (columns ``bin_lower``, ``chance_low``, ``chance_high``)."""
    p = np.asarray(predicted, dtype=float)
    if p.size == 0:
        return {"p05": None, "median": None, "p95": None}, pd.DataFrame(
            columns=["bin_lower", "chance_low", "chance_high"]
        )
    index = bin_index(p, bins)
    order, starts, counts = sorted_runs(index)
    p, index = p[order], index[order]
    mean_predicted = np.add.reduceat(p, starts) / counts
    codes = None if groups is None else pd.factorize(np.asarray(groups)[order])[0]
    chunks = list(calibrated_draws(p, starts, counts, draws, seed, codes))
    values = np.concatenate([np.abs(rates - mean_predicted) @ counts / p.size for rates in chunks])
    observed = np.concatenate(chunks)
    low, median, high = np.quantile(values, [0.05, 0.5, 0.95])
    band = np.quantile(observed, [0.05, 0.95], axis=0)
    table = pd.DataFrame({"bin_lower": index[starts] / bins, "chance_low": band[0], "chance_high": band[1]})
    return {"p05": float(low), "median": float(median), "p95": float(high)}, table


def sorted_runs(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stable order that sorts ``index`` (a group number per row), and where each group's run starts in
    that order and how many rows it holds: the layout :func:`calibrated_draws` takes."""
    order = np.argsort(index, kind="stable")
    ordered = np.asarray(index)[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts, np.diff(np.r_[starts, ordered.size])


def calibrated_draws(
    p: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    draws: int,
    seed: int,
    codes: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Observed rate per bin (rows of ``p`` sorted by bin, bins starting at ``starts``) with outcomes drawn
    from ``p``: arrays of shape (draws in the chunk, bins), about 4 M outcomes per chunk.

    With ``codes`` (0..k-1) the rows of one code share one uniform draw U and each row's outcome is U < p: one
    deal scored at several backtest dates has one outcome, so its rows are not independent. Each row keeps
    its own chance p, and a deal's rows agree as far as their probabilities allow (comonotone): rows of one
    deal in one bin, with nearly equal probabilities, nearly always share the outcome, as they do in fact.
    Independent draws would understate the noise of a bin that holds a deal several times. Not exact: a
    calibrated forecaster's later probability for a deal also carries what happened in between, which no
    draw from the realised probabilities reproduces.
    """
    rng = np.random.default_rng(seed)
    width = p.size if codes is None else int(codes.max()) + 1
    chunk = max(1, min(draws, 4_000_000 // p.size))  # the draws come in the same order whatever the chunk
    for first in range(0, draws, chunk):
        uniform = rng.random((min(chunk, draws - first), width))
        outcomes = (uniform if codes is None else uniform[:, codes]) < p
        yield np.add.reduceat(outcomes, starts, axis=1) / counts


def chance_range_text(spread: dict | None) -> str | None:
    """``ece_if_calibrated``'s 5-95% range as "0.017-0.046", or None where it was not computed."""
    if not spread or spread.get("p05") is None:
        return None
    return f"{spread['p05']:.3f}-{spread['p95']:.3f}"


def calibration_error_against(true_probability: np.ndarray, predicted: np.ndarray, bins: int = 10) -> float:
    """ECE with the true probabilities in place of the outcomes (synthetic data only): no sampling noise."""
    return expected_calibration_error(true_probability, predicted, bins)


def reliability_table(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin: bounds, count, mean prediction and observed rate (empty bins omitted)."""
    observed, predicted = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    index = bin_index(predicted, bins)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin_lower": b / bins,
                    "bin_upper": (b + 1) / bins,
                    "n": int(mask.sum()),
                    "mean_predicted": float(predicted[mask].mean()),
                    "observed_rate": float(observed[mask].mean()),
                }
            )
    return pd.DataFrame(rows, columns=["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"])


def expected_brier(observed: np.ndarray, predicted: np.ndarray | float) -> float:
    """Brier score, also for soft labels: an outcome known only as a probability q scores its expectation.

    For Y ~ Bernoulli(q), E[(p - Y)^2] = (p - q)^2 + q (1 - q); for a known outcome (q = 0 or 1) the second
    term is 0 and this is the usual Brier score. Without it a soft label would score as if it were certain
    and the Brier score would come out too small by about q (1 - q).
    """
    y = np.asarray(observed, dtype=float)
    return float(np.mean((np.asarray(predicted, dtype=float) - y) ** 2 + y * (1 - y)))


def probability_scores(
    observed: np.ndarray, predicted: np.ndarray, base_rate: float
) -> dict[str, float | None]:
    """AUC, Brier, Brier skill against a constant ``base_rate`` forecast, log loss and ECE.

    ``observed`` may hold soft labels (an estimated chance of winning for a deal whose outcome is not known
    yet): Brier and log loss are then their expectations, ECE uses them as observed rates, and AUC counts only
    the deals with a known outcome (0 or 1).
    """
    y, p = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    brier = expected_brier(y, p)
    reference = expected_brier(y, base_rate)
    clipped = np.clip(p, EPS, 1 - EPS)
    known = (y == 0) | (y == 1)
    return {
        "auc": float(roc_auc_score(y[known], p[known])) if np.unique(y[known]).size == 2 else None,
        "brier": brier,
        "brier_skill": float(1 - brier / reference) if reference > 0 else None,
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "ece": expected_calibration_error(y, p),
    }
