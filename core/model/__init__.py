"""The calibrated win-probability model, its explanation, metrics and persistence."""

from core.model.explanation import DealExplanation
from core.model.win_probability import WinProbabilityModel

__all__ = ["DealExplanation", "WinProbabilityModel"]
