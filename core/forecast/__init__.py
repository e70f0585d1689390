"""Time to close, quarter seasonality, shock sizes and the Monte Carlo revenue forecast."""

from core.forecast.deals import deal_predictions
from core.forecast.dependence import fit_market
from core.forecast.forecast import forecast_revenue
from core.forecast.seasonality import QuarterSeasonality
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel

__all__ = [
    "CloseTimingModel",
    "Dependence",
    "QuarterSeasonality",
    "deal_predictions",
    "fit_market",
    "forecast_revenue",
]
