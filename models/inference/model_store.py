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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.data import CRMData
from core.errors import ModelArtifactError
from core.features import FEATURE_DEFINITIONS
from core.model import WinProbabilityModel
from models.model_io import LATEST, load_metrics, load_model, save_model, trained_feature_definitions
from models.training.train import train_model


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


def model_for_run(
    model_dir: Path, crm: CRMData, retrain: bool, seed: int, mlflow: bool = True
) -> ChosenModel:
    """The newest compatible model, or one trained at ``crm.as_of`` (also with ``retrain``) exactly as
    train.py trains it: fitted with its short backtest, saved, and (unless ``mlflow`` is off) tracked."""
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
        return ChosenModel(load_model(folder), folder, load_metrics(folder), trained_now=False)
    model, metrics = train_model(crm, seed)
    folder = save_model(model, model_dir, metrics)
    if mlflow:
        from models.tracking import log_training_run

        log_training_run(model, crm, metrics, folder)
    return ChosenModel(model, folder, load_metrics(folder), trained_now=True)
