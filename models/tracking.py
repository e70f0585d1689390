"""The MLflow run of a trained model: opened, filled and closed in one place (:func:`log_training_run`).

Tracking goes to ``MLFLOW_TRACKING_URI`` or experiments/mlflow.db, artifacts beside a SQLite store. Telemetry
is off unless the user set ``MLFLOW_DISABLE_TELEMETRY`` (nothing about a CRM leaves the machine). MLflow and
matplotlib are imported here only, when a run is logged.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import SETTINGS

if TYPE_CHECKING:
    from core.data import CRMData
    from core.model import WinProbabilityModel

REGISTERED_MODEL_NAME = "revintel-win-probability"
EXPERIMENT_NAME = "win-probability"


def log_training_run(model: WinProbabilityModel, crm: CRMData, metrics: dict, artifact_dir: Path) -> str:
    """One MLflow run for a saved model: params, validation and backtest metrics, the booster (LightGBM
    flavour, registered), the reliability plot and the artifact folder. A failure inside marks the run
    FAILED (MLflow's own context manager) and registers nothing. Returns the run id."""
    import lightgbm

    mlflow = mlflow_experiment()
    params = {
        **model.get_params(),
        "as_of": f"{crm.as_of:%Y-%m-%d}",
        "data_hash": crm.data_hash,
        "n_rounds": model.n_rounds_,
        "calibration": model.calibrator_.method,
        "version": artifact_dir.name,
    }
    with mlflow.start_run(run_name=f"train-{crm.as_of:%Y-%m-%d}") as run:
        mlflow.log_params(params)
        logged = mlflow.lightgbm.log_model(
            model.booster_,
            name="booster",
            # given explicitly: MLflow would otherwise spend seconds inferring it in a subprocess
            pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
        )
        mlflow.log_metrics(flat_metrics(metrics), model_id=logged.model_id)
        with tempfile.TemporaryDirectory() as scratch:
            plot = Path(scratch) / "reliability.png"
            plot.write_bytes(reliability_png(metrics))
            mlflow.log_artifact(str(plot))
        mlflow.log_artifacts(str(artifact_dir), artifact_path="model_artifact")
        mlflow.register_model(f"models:/{logged.model_id}", REGISTERED_MODEL_NAME)
    return run.info.run_id


def mlflow_experiment() -> Any:
    """Import MLflow, point it at the store and select the experiment (idempotent)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.lightgbm

    uri = os.environ.get("MLFLOW_TRACKING_URI") or SETTINGS.mlflow_tracking_uri
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT_NAME) is None:
        mlflow.create_experiment(EXPERIMENT_NAME, artifact_location=artifact_location(uri))
    mlflow.set_experiment(EXPERIMENT_NAME)
    return mlflow


def artifact_location(uri: str) -> str | None:
    """Run artifacts beside a SQLite store (``<db folder>/mlartifacts``), never in the working directory."""
    if not uri.startswith("sqlite:///"):
        return None
    folder = Path(uri.removeprefix("sqlite:///")).parent
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / "mlartifacts").resolve().as_uri()


def flat_metrics(metrics: dict) -> dict[str, float]:
    """Numeric metrics flattened to MLflow keys (validation_*, backtest_*)."""
    flat: dict[str, float] = {}
    for key, value in metrics.get("validation", {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"validation_{key}"] = float(value)
    summary = metrics.get("backtest", {}).get("summary", {})
    for key, value in summary.items():
        if isinstance(value, int | float) and value is not None:
            flat[f"backtest_{key}"] = float(value)
    pooled = summary.get("pooled") or {}
    for key in ("ece", "oracle_ece", "calibration_error_vs_truth"):
        if pooled.get(key) is not None:
            flat[f"backtest_pooled_{key}"] = float(pooled[key])
    return flat


def reliability_png(metrics: dict) -> bytes:
    """:func:`reliability_figure` as PNG bytes (no timestamp: same metrics, same bytes)."""
    import matplotlib.pyplot as plt

    figure = reliability_figure(metrics)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return png.getvalue()


def reliability_figure(metrics: dict) -> Any:
    """A reliability plot: predicted vs observed per bin, one line per backtest date, each bin's marker area
    proportional to its number of deals (a bin of five deals that lands far off the diagonal is noise, and
    the reader must see that it holds five). When the backtest has a pooled table (``summary.pooled``), a
    second panel shows it with each bin's 5-95% range for a perfectly calibrated model (the Health page's
    diagram), so the plot says which misses are beyond chance, not only how large they look."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backtest = metrics.get("backtest", {})
    rows = backtest.get("per_as_of", [])
    pooled = backtest.get("summary", {}).get("pooled") or {}
    tables = [(row["as_of"], pd.DataFrame(row["reliability"])) for row in rows]
    largest = max([float(table["n"].max()) for _, table in tables if len(table)], default=1.0)
    panels = 2 if pooled.get("reliability") else 1
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 5), squeeze=False)
    axis = axes[0][0]
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for as_of, table in tables:
        if len(table):
            (line,) = axis.plot(table["mean_predicted"], table["observed_rate"], label=as_of)
            axis.scatter(
                table["mean_predicted"],
                table["observed_rate"],
                s=8 + 250 * table["n"] / largest,
                color=line.get_color(),
                alpha=0.7,
            )
    axis.set_xlabel("predicted win probability")
    axis.set_ylabel("observed win rate")
    axis.set_title(
        f"Reliability (rolling-origin backtest)\nmarker area ~ deals in the bin (largest {largest:,.0f})"
    )
    axis.legend(fontsize=7)
    if panels == 2:
        pooled_panel(axes[0][1], pooled)
    figure.tight_layout()
    return figure


def pooled_panel(axis: Any, pooled: dict) -> None:
    """The pooled reliability table: observed rate per bin (dot) against the range a perfectly calibrated
    model's observed rate falls in by chance at that bin (grey bar, 5-95%, one outcome per deal)."""
    import pandas as pd

    from core.model.metrics import chance_range_text

    table = pd.DataFrame(pooled["reliability"])
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    axis.vlines(
        table["mean_predicted"],
        table["chance_low"],
        table["chance_high"],
        color="lightgrey",
        linewidth=6,
        label="calibrated model, 5-95% by chance",
    )
    axis.scatter(
        table["mean_predicted"], table["observed_rate"], color="black", s=18, zorder=3, label="observed"
    )
    chance = pooled["ece_if_calibrated"]
    verdict = f"ECE {pooled['ece']:.3f}"
    if chance["p95"] is not None:
        within = "within" if pooled["ece"] <= chance["p95"] else "beyond"
        verdict += f", {within} chance ({chance_range_text(chance)})"
    axis.set_xlabel("predicted win probability")
    axis.set_title(
        f"All dates pooled ({pooled['n']:,} scores of {pooled['n_deals']:,} deals)\n{verdict}", fontsize=10
    )
    axis.legend(fontsize=7, loc="upper left")
