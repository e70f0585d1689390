"""The chance of making a number: P(revenue >= target) read off a forecast's quantile grid
(``forecast_quantiles.csv``), without rerunning the simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd


def chance_of_reaching(quantiles: pd.DataFrame, target: float) -> float:
    """P(revenue >= ``target``) for one period and segment, from its rows ``q, revenue`` (q = 0.01 .. 0.99).

    Between grid points the distribution is read linearly; a target at or below the 1st percentile has a
    chance of at least 99% (reported as 0.99), one above the 99th at most 1% (0.01): the grid says no more.
    """
    grid = quantiles.sort_values("q")
    q, revenue = grid["q"].to_numpy(dtype=float), grid["revenue"].to_numpy(dtype=float)
    if len(q) == 0:
        return float("nan")
    below = np.interp(target, revenue, q, left=q[0], right=q[-1])  # F(target), clipped to the grid
    return round(float(1.0 - below), 6)
