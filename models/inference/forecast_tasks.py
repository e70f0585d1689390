"""The parts of a predict.py run that need no model: time-to-close curves, seasonality and shocks, and the
forecast backtest.

They import pandas and ``core.forecast`` only, not LightGBM, so predict.py's second process can run them
while this process imports the model stack and scores (tasks: ``models.shared_tasks``).
"""

from __future__ import annotations

import pandas as pd

from core.data import CRMData
from core.errors import RevIntelError, UsageError
from core.forecast.dependence import fit_market
from core.forecast.seasonality import QuarterSeasonality
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel
from models.evaluation.forecast_backtest import recent_as_of_dates, run_forecast_backtest

BACKTEST_SIMULATIONS = 1000
BACKTEST_PAIRS = 50_000_000  # cap on simulations x open deals per backtest forecast


def fit_timing(deals: pd.DataFrame, as_of: pd.Timestamp) -> CloseTimingModel:
    """Time-to-close curves at as-of; no win in the history is bad input, not a crash."""
    try:
        return CloseTimingModel().fit(deals, as_of)
    except ValueError as exc:
        raise UsageError(f"cannot forecast at as-of {as_of:%Y-%m-%d}: {exc}") from None


def forecast_market(
    deals: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[CloseTimingModel, QuarterSeasonality, Dependence]:
    """Time-to-close curves, quarter seasonality and shock sizes at as-of (all from the data alone)."""
    timing = fit_timing(deals, as_of)
    seasonality, dependence = fit_market(deals, as_of, timing)
    return timing, seasonality, dependence


def forecast_backtest(crm: CRMData, seed: int) -> dict:
    """Forecast backtest at the 4 month ends before as-of, with model-free (curve) win probabilities.

    Training a model at each past date would take minutes, so predict.py backtests the forecast machinery
    (time to close, seasonality, shocks, simulation) with the curves' win chances; the trained-model
    version is ``python -m models.evaluation.forecast_backtest --source model``. The result depends only on
    the data, the as-of date and the seed, so predict.py caches it in ``<model-dir>/forecast_backtest/``.
    """
    dates = [d for d in recent_as_of_dates(crm.as_of) if d >= crm.deals["engage_date"].min()]
    n_open = max(int(crm.deals["is_open"].sum()), 1)
    simulations = int(min(BACKTEST_SIMULATIONS, max(200, BACKTEST_PAIRS // n_open)))
    try:
        result = run_forecast_backtest(crm, dates, "curves", simulations, seed)
    except (ValueError, RevIntelError) as exc:  # too little history before as-of to replay it
        return {"summary": None, "windows": [], "status": f"not enough history to backtest ({exc})"}
    result["summary"]["note"] = (
        "win probabilities from the time-to-close curves (model-free); trained-model "
        "backtest: python -m models.evaluation.forecast_backtest --source model"
    )
    return result
