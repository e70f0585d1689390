"""The quarter range of any selection of scored open deals, from their per-deal quarter chances.

forecast.csv holds P10-P90 only for the segments the batch step simulated (the whole pipeline, one region,
manager, rep or product), and quantiles do not add, so a selection such as "two reps" or "Critical deals in
the West" has no range in it. This module simulates one for the selected deals with the batch step's own
engine (:func:`core.forecast.simulation.simulate_revenue`), on what latest_predictions.csv keeps per deal:

* two slices, the rest of the as-of quarter and the next quarter, each its own shock period;
* per-deal slice chances ``p_close_in_quarter`` and ``p_close_next_quarter`` (already seasonal and scaled by
  the run's realisation factors, so the expected values are the batch step's);
* fixed values ``deal_value`` (the batch step draws a list-price deal's value from realised-to-list ratios;
  here it is the mean ratio's value, which narrows the range a little);
* the run's fitted dependence, with the monthly market and segment shock variances divided by 3: a quarter's
  three independent mean-1 monthly shocks average to a shock with a third of the variance; the persistent
  shock spans the horizon and keeps its variance.

One shock per quarter puts P10 and P90 within 3% of the expected revenue of three monthly shocks'
(tests/core/forecast/test_selection.py); on the demo run, every region and manager with 100+ deals gets P10
and P90 within 3% of its expected revenue of forecast.csv's (tests/app/services/test_selection.py). Small
segments differ more: with a few deals at fixed values the range moves in whole deal values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.forecast.simulation import Dependence, PipelineDraws, simulate_revenue

MONTHS_PER_QUARTER = 3
QUARTER_CHANCES = ("p_close_in_quarter", "p_close_next_quarter")
SELECTION_COLUMNS = ("quarter", "expected", "p10", "p50", "p90", "deals")


def quarter_dependence(stored: Mapping | None) -> Dependence:
    """The run's fitted dependence (metadata ``simulation.dependence``), monthly shocks scaled to a quarter.

    Missing variances count as 0 (independent deals); the persistent variance is kept as it is.
    """
    stored = stored or {}

    def variance(key: str) -> float:
        value = stored.get(key)
        return float(value) if isinstance(value, int | float) and np.isfinite(value) else 0.0

    return Dependence(
        market_variance=variance("market_variance") / MONTHS_PER_QUARTER,
        segment_variance=variance("segment_variance") / MONTHS_PER_QUARTER,
        segment_type=str(stored.get("segment_type") or "regional_office"),
        persistent_variance=variance("persistent_variance"),
    )


def selection_quantiles(
    deals: pd.DataFrame, dependence: Dependence, simulations: int, seed: int
) -> pd.DataFrame:
    """Expected revenue and its P10, P50 and P90 for the as-of quarter (row 0) and the next (row 1).

    ``deals`` needs deal_value, p_close_in_quarter, p_close_next_quarter and the dependence's shock column
    (regional_office); deals with no chance in either quarter (stale, unscored) are not simulated.
    Columns: quarter ("as-of quarter", "next quarter"), expected, p10, p50, p90, deals (simulated).
    """
    chances = deals[list(QUARTER_CHANCES)].to_numpy(dtype=float)
    chances = np.clip(np.nan_to_num(chances, nan=0.0), 0.0, 1.0)
    live = chances.sum(axis=1) > 0
    values = deals["deal_value"].to_numpy(dtype=float)[live]
    chances = chances[live]
    groups = deals[dependence.segment_type].astype(str).to_numpy()[live]
    order = np.argsort(groups, kind="stable")  # contiguous shock groups broadcast as blocks
    names, group_codes = np.unique(groups[order], return_inverse=True)
    draws = PipelineDraws(
        slice_probability=chances[order],
        slice_month=np.arange(len(QUARTER_CHANCES)),
        fixed_value=values[order],
        list_price=np.zeros(len(order)),
        realised_ratio=np.ones(1),
        level_codes=np.zeros((len(order), 1), dtype=np.int64),
        shock_group=group_codes.astype(np.int64),
    )
    totals = simulate_revenue(draws, 1, simulations, seed, dependence, max(len(names), 1))[:, :, 0]
    if len(totals):
        quantiles = np.quantile(totals, [0.1, 0.5, 0.9], axis=0)
    else:
        quantiles = np.zeros((3, len(QUARTER_CHANCES)))
    return pd.DataFrame(
        {
            "quarter": ["as-of quarter", "next quarter"],
            "expected": (values[:, None] * chances).sum(axis=0),
            "p10": quantiles[0],
            "p50": quantiles[1],
            "p90": quantiles[2],
            "deals": int(live.sum()),
        }
    )[list(SELECTION_COLUMNS)]
