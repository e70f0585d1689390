"""Pick the model predict.py uses: the newest compatible one in --model-dir, else train and save one.

Compatible = trained on the same data (manifest data hash) at an as-of date on or before the requested
one (a model trained later has seen the future of this as-of date), with the features this code computes
(manifest ``feature_definitions``, 1 when absent; a model from older code is skipped, with a note, and a new
one trained). Among those the newest trained as-of
wins; ties go to the version ``LATEST`` names, then to the highest version name. A compatible model that
fails to load (truncated model.txt, edited files, incompatible feature spec or format) is an error
(exit 2), never silently replaced: use --retrain to replace it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data import CRMData
from core.errors import ModelArtifactError
from core.features import FEATURE_DEFINITIONS
from core.model import WinProbabilityModel
from core.model.io import LATEST, load_metrics, load_model, save_model, trained_feature_definitions
from models.shared_tasks import SharedTasks, Task, deferred
from models.training.train import (
    failed_mlflow_run_on_error,
    finish_mlflow_run,
    mlflow_run_inputs,
    reliability_png,
    start_mlflow_run,
    training,
)


@dataclass(frozen=True)
class ChosenModel:
    """The model to score with, where it lives, its metrics and whether this run trained it."""

    model: WinProbabilityModel
    path: Path
    metrics: dict
    trained_now: bool


def _manifest(folder: Path) -> dict:
    """A version folder's manifest, or ModelArtifactError naming it."""
    path = folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(
            f"{path}: unreadable model manifest ({type(exc).__name__}); "
            "fix or delete it, or run with --retrain"
        ) from None


def compatible_versions(
    model_dir: Path, crm: CRMData, skipped: list[tuple[Path, int]] | None = None
) -> list[Path]:
    """Version folders usable at ``crm.as_of`` on ``crm``'s data, best first; folders that would be, but were
    trained on other feature definitions, are appended to ``skipped`` with those definitions when given."""
    if not model_dir.is_dir():
        return []
    latest = (model_dir / LATEST).read_text(encoding="utf-8").strip() if (model_dir / LATEST).exists() else ""
    found = []
    for folder in sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "manifest.json").exists():
            continue
        manifest = _manifest(folder)
        try:
            trained = pd.Timestamp(manifest["trained_as_of"])
        except (KeyError, ValueError, TypeError):
            raise ModelArtifactError(
                f"{folder / 'manifest.json'}: no valid trained_as_of; run with --retrain"
            ) from None
        if manifest.get("data_hash") == crm.data_hash and trained <= crm.as_of:
            definitions = trained_feature_definitions(manifest)
            if definitions != FEATURE_DEFINITIONS:
                if skipped is not None:
                    skipped.append((folder, definitions))
                continue
            found.append((trained, folder.name == latest, folder.name, folder))
    found.sort(reverse=True)
    return [item[-1] for item in found]


@dataclass(frozen=True)
class ModelChoice:
    """The model to score with now; ``task_results()``: the extra tasks' results; ``finish()``: the
    ChosenModel once it is saved with its metrics."""

    model: WinProbabilityModel
    task_results: Callable[[], list[Any]]
    finish: Callable[[], ChosenModel]


@contextmanager
def model_for_run(
    model_dir: Path,
    crm: CRMData,
    retrain: bool,
    seed: int,
    mlflow: bool = True,
    tasks: Sequence[Task] = (),
    worker: SharedTasks | None = None,
) -> Iterator[ModelChoice]:
    """The newest compatible model, or one trained at ``crm.as_of`` (also with ``retrain``).

    Training is train.py's (``models.training.train.training``): the fitted model is handed over at once so
    the run can score, explain and forecast with it while its short backtest, and the extra ``tasks``, run
    in a second process; ``finish()`` waits for the backtest, saves the model with it in metrics.json and,
    unless ``mlflow`` is off, logs its MLflow run. A run that fails before ``finish()`` saves nothing.
    With a saved model the tasks go to ``worker`` (a second process started earlier) when given, else
    ``task_results()`` runs them here.
    """
    outdated: list[tuple[Path, int]] = []
    candidates = [] if retrain else compatible_versions(model_dir, crm, outdated)
    if outdated and not candidates:
        folder, definitions = outdated[0]
        print(
            f"note: {folder} was trained on feature definitions {definitions} "
            f"(this code computes {FEATURE_DEFINITIONS}): training a new model",
            file=sys.stderr,
        )
    if candidates:
        folder = candidates[0]
        loaded = ChosenModel(load_model(folder), folder, load_metrics(folder), trained_now=False)
        yield ModelChoice(loaded.model, deferred(worker, tasks), lambda: loaded)
        return
    with training(crm, seed, tasks=tasks, worker=worker) as fitted:

        def finish() -> ChosenModel:
            """Save the model with its backtest (and log it to MLflow)."""
            if mlflow:  # MLflow's imports and the booster's logging overlap the backtest's last dates
                opened = start_mlflow_run(*mlflow_run_inputs(fitted.model, crm))
            with failed_mlflow_run_on_error() if mlflow else nullcontext():
                metrics = fitted.metrics()
                folder = save_model(fitted.model, model_dir, metrics)
            if mlflow:
                finish_mlflow_run(*opened, metrics, folder, reliability_png(metrics))
            return ChosenModel(fitted.model, folder, load_metrics(folder), trained_now=True)

        yield ModelChoice(fitted.model, fitted.task_results, finish)
