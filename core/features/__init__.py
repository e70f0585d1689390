"""Point-in-time deal features: training snapshots and scoring features computed the same way."""

from core.features.deal_features import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    FEATURE_DEFINITIONS,
    FEATURE_LABELS,
    FEATURES,
    RATE_FEATURES,
    blank_account_ids,
    open_deal_features,
    weekly_snapshots,
)
from core.features.spec import FeatureSpec, spec_from_training

__all__ = [
    "ACCOUNT_FEATURES",
    "CATEGORICAL_FEATURES",
    "FEATURE_DEFINITIONS",
    "FEATURES",
    "FEATURE_LABELS",
    "FeatureSpec",
    "RATE_FEATURES",
    "blank_account_ids",
    "open_deal_features",
    "spec_from_training",
    "weekly_snapshots",
]
