"""One frozen settings object for the whole project; importing it has no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Default paths and knobs shared by the batch CLIs and the app (CLI flags override them)."""

    data_dir: Path = PROJECT_ROOT / "dataset"
    out_dir: Path = PROJECT_ROOT / "data" / "predictions"
    model_dir: Path = PROJECT_ROOT / "models" / "artifacts"
    experiments_dir: Path = PROJECT_ROOT / "experiments"
    seed: int = 42
    simulations: int = 10_000
    canonical_stages: tuple[str, ...] = ("Prospecting", "Engaging", "Won", "Lost")
    open_stages: tuple[str, ...] = ("Prospecting", "Engaging")
    prediction_files: tuple[str, ...] = field(
        default=(
            "latest_predictions.csv",
            "forecast.csv",
            "shap_values.csv",
            "predictions_metadata.json",
        )
    )

    @property
    def mlflow_tracking_uri(self) -> str:
        """Default MLflow store: SQLite inside experiments/ (MLFLOW_TRACKING_URI overrides it at the edge)."""
        return f"sqlite:///{self.experiments_dir / 'mlflow.db'}"


SETTINGS = Settings()
