"""Time to close, quarter seasonality, shock sizes and the Monte Carlo revenue forecast."""

from core.forecast.deals import PREDICTION_COLUMNS, deal_predictions
from core.forecast.dependence import fit_market
from core.forecast.forecast import FORECAST_COLUMNS, forecast_revenue
from core.forecast.seasonality import QuarterSeasonality
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel

__all__ = [
    "FORECAST_COLUMNS",
    "PREDICTION_COLUMNS",
    "CloseTimingModel",
    "Dependence",
    "QuarterSeasonality",
    "deal_predictions",
    "fit_market",
    "forecast_revenue",
]
