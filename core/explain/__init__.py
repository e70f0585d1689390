"""Plain-language drivers and long-format SHAP values from a model's explanation."""

from core.explain.drivers import driver_sentence, shap_long, top_drivers

__all__ = ["driver_sentence", "shap_long", "top_drivers"]
