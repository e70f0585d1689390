"""The feature specification a model is trained with: names, kinds, category levels, plain-language labels.

It turns a feature frame into the numeric matrix LightGBM sees (categories as integer codes on the
training levels; a level never seen in training becomes missing) and is stored as JSON beside the model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.features.deal_features import CATEGORICAL_FEATURES, FEATURE_LABELS, FEATURES


@dataclass(frozen=True)
class FeatureSpec:
    """Ordered feature names, the categorical ones with their training levels, and their labels."""

    names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def categorical_indices(self) -> list[int]:
        """Column positions LightGBM must treat as categorical."""
        return [i for i, name in enumerate(self.names) if name in self.categories]

    def encode(self, features: pd.DataFrame) -> np.ndarray:
        """The float matrix for LightGBM: numeric columns as is, categories as codes (unseen -> NaN)."""
        missing = [n for n in self.names if n not in features.columns]
        if missing:
            raise KeyError(f"feature frame lacks {missing}")
        matrix = np.empty((len(features), len(self.names)), dtype=np.float64)
        for i, name in enumerate(self.names):
            if name in self.categories:
                codes = pd.Categorical(
                    features[name].astype(object), categories=list(self.categories[name])
                ).codes
                matrix[:, i] = np.where(codes < 0, np.nan, codes)
            else:
                matrix[:, i] = pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=np.float64)
        return matrix

    def to_dict(self) -> dict:
        """JSON-ready form (names, dtypes, category levels, labels)."""
        return {
            "names": list(self.names),
            "dtypes": {n: ("category" if n in self.categories else "float64") for n in self.names},
            "categories": {n: list(levels) for n, levels in self.categories.items()},
            "labels": dict(self.labels),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        """Rebuild a spec from :meth:`to_dict` output."""
        return cls(
            names=tuple(data["names"]),
            categories={n: tuple(levels) for n, levels in data["categories"].items()},
            labels=dict(data.get("labels", {})),
        )

    def digest(self) -> str:
        """SHA-256 of the canonical JSON (recorded in the manifest to detect incompatible artifacts)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def spec_from_training(features: pd.DataFrame, names: tuple[str, ...] = FEATURES) -> FeatureSpec:
    """A spec whose category levels are the sorted values seen in the training features."""
    categories = {
        name: tuple(sorted(str(v) for v in pd.unique(features[name].dropna())))
        for name in names
        if name in CATEGORICAL_FEATURES
    }
    return FeatureSpec(
        names=tuple(names), categories=categories, labels={n: FEATURE_LABELS.get(n, n) for n in names}
    )
