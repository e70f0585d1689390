"""Save and load a fitted WinProbabilityModel as plain files (LightGBM text + JSON); loading runs no code.

Layout of ``<model_dir>/<version>/``: ``model.txt`` (LightGBM text), ``calibrator.json``,
``feature_spec.json``, ``metrics.json``, ``model_card.md`` and ``manifest.json`` (version, trained as-of,
data hash, feature-spec hash, parameters, library versions, SHA-256 of every file). ``<model_dir>/LATEST``
names the most recently saved version. Files are written by the one atomic writer (``models.storage``),
the manifest last, so a failure never leaves a folder that passes for a model.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import sklearn

from core.errors import ModelArtifactError
from core.features import FEATURE_DEFINITIONS
from core.features.spec import FeatureSpec
from core.model.calibration import Calibrator
from core.model.metrics import chance_range_text
from core.model.win_probability import WinProbabilityModel
from models.storage import write_atomically

ARTIFACT_FORMAT = 1
FILES = ("model.txt", "calibrator.json", "feature_spec.json", "metrics.json", "model_card.md")
LATEST = "LATEST"


def _json(data: object) -> str:
    """Canonical, diff-friendly JSON."""
    return json.dumps(data, indent=2, sort_keys=True, default=_to_builtin) + "\n"


def _to_builtin(value: object) -> object:
    """JSON fallback for numpy and pandas scalars."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def model_files(model: WinProbabilityModel, metrics: dict | None = None) -> dict[str, str]:
    """The text of every artifact file except the manifest (deterministic for a given model)."""
    if not hasattr(model, "booster_"):
        raise ModelArtifactError("cannot save an unfitted model")
    metrics = metrics if metrics is not None else {"validation": model.validation_}
    return {
        "model.txt": model.booster_.model_to_string(),
        "calibrator.json": _json(model.calibrator_.to_dict()),
        "feature_spec.json": _json(model.feature_spec_.to_dict()),
        "metrics.json": _json(metrics),
        "model_card.md": model_card(model, metrics),
    }


def model_version(model: WinProbabilityModel, files: dict[str, str]) -> str:
    """``<as-of>-<12 hex>``: the trained as-of date and a hash of the model, calibrator and feature spec."""
    digest = hashlib.sha256()
    for name in ("model.txt", "calibrator.json", "feature_spec.json"):
        digest.update(files[name].encode())
    return f"{model.trained_as_of_:%Y%m%d}-{digest.hexdigest()[:12]}"


def trained_feature_definitions(manifest: dict) -> int:
    """The feature definitions a saved model was trained on (1 for manifests written before the field)."""
    return manifest.get("feature_definitions", 1)


def save_model(model: WinProbabilityModel, model_dir: str | Path, metrics: dict | None = None) -> Path:
    """Write the model to ``model_dir/<version>/`` atomically, point ``model_dir/LATEST`` at it; return it."""
    files = model_files(model, metrics)
    version = model_version(model, files)
    manifest = {
        "format": ARTIFACT_FORMAT,
        "version": version,
        "trained_as_of": f"{model.trained_as_of_:%Y-%m-%d}",
        "data_hash": model.data_hash_,
        "feature_spec_sha256": model.feature_spec_.digest(),
        "feature_definitions": FEATURE_DEFINITIONS,
        "params": model.get_params(),
        "n_rounds": int(model.n_rounds_),
        "library_versions": {
            "lightgbm": lgb.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "files": {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()},
    }
    root = Path(model_dir)
    # the manifest last: a folder without one is no model version, should anything fail in between
    texts = {**files, "manifest.json": _json(manifest)}
    write_atomically(root / version, {name: text.encode("utf-8") for name, text in texts.items()})
    write_atomically(root, {LATEST: (version + "\n").encode("utf-8")})
    return root / version


def resolve_model_dir(path: str | Path) -> Path:
    """A version folder: ``path`` itself if it holds a manifest, else the one ``path/LATEST`` names."""
    path = Path(path)
    if (path / "manifest.json").exists():
        return path
    pointer = path / LATEST
    if pointer.exists():
        version = pointer.read_text(encoding="utf-8").strip()
        if (path / version / "manifest.json").exists():
            return path / version
        raise ModelArtifactError(f"{pointer}: names version '{version}', which is not in {path}")
    raise ModelArtifactError(
        f"{path}: no model found (no manifest.json and no {LATEST} file); run train.py first"
    )


def _read(folder: Path, name: str) -> str:
    """Read one artifact file or raise ModelArtifactError naming it."""
    try:
        return (folder / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelArtifactError(f"{folder / name}: missing from the model artifact") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{folder / name}: unreadable ({exc})") from None


def _load_json(folder: Path, name: str) -> dict:
    """Parse one JSON artifact file or raise ModelArtifactError naming it."""
    try:
        return json.loads(_read(folder, name))
    except json.JSONDecodeError as exc:
        raise ModelArtifactError(
            f"{folder / name}: not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None


def load_model(path: str | Path) -> WinProbabilityModel:
    """Load a model saved by :func:`save_model` (version folder or model dir with LATEST); no unpickling."""
    folder = resolve_model_dir(path)
    manifest = _load_json(folder, "manifest.json")
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ModelArtifactError(
            f"{folder / 'manifest.json'}: artifact format {manifest.get('format')!r} "
            f"is not supported (expected {ARTIFACT_FORMAT}); retrain the model"
        )
    definitions = trained_feature_definitions(manifest)
    if definitions != FEATURE_DEFINITIONS:
        raise ModelArtifactError(
            f"{folder / 'manifest.json'}: trained on feature definitions {definitions}, "
            f"this code computes {FEATURE_DEFINITIONS}; retrain the model"
        )
    for name, expected in manifest.get("files", {}).items():
        actual = hashlib.sha256(_read(folder, name).encode()).hexdigest()
        if actual != expected:
            raise ModelArtifactError(
                f"{folder / name}: contents do not match the manifest (corrupt or edited)"
            )
    try:
        spec = FeatureSpec.from_dict(_load_json(folder, "feature_spec.json"))
        calibrator = Calibrator.from_dict(_load_json(folder, "calibrator.json"))
        booster = lgb.Booster(model_str=_read(folder, "model.txt"))
        params = dict(manifest["params"])
        for key in ("exclude_features", "optional_features"):  # JSON has no tuples
            if key in params:
                params[key] = tuple(params[key])
        model = WinProbabilityModel(**params)
    except (KeyError, ValueError, TypeError, lgb.basic.LightGBMError) as exc:
        raise ModelArtifactError(f"{folder}: incompatible or corrupt model artifact ({exc})") from None
    if spec.digest() != manifest.get("feature_spec_sha256") or booster.feature_name() != list(spec.names):
        raise ModelArtifactError(f"{folder / 'feature_spec.json'}: does not match the model's features")
    model.booster_ = booster
    model.calibrator_ = calibrator
    model.feature_spec_ = spec
    model.n_rounds_ = int(manifest.get("n_rounds", booster.current_iteration()))
    model.trained_as_of_ = pd.Timestamp(manifest["trained_as_of"])
    model.data_hash_ = manifest.get("data_hash", "")
    model.validation_ = _load_json(folder, "metrics.json").get("validation", {})
    model.version_ = manifest["version"]
    return model


def load_metrics(path: str | Path) -> dict:
    """The metrics.json of a saved model (contracts.md section 3)."""
    return _load_json(resolve_model_dir(path), "metrics.json")


def model_card(model: WinProbabilityModel, metrics: dict) -> str:
    """A short Markdown model card: what the model predicts, how it was trained, how well it does."""
    validation = metrics.get("validation", {})
    backtest = metrics.get("backtest", {})
    lines = [
        "# Win-probability model",
        "",
        "Predicts the calibrated probability that an open deal is eventually won, given that it is still "
        "open "
        "at its age on the as-of date.",
        "",
        f"- Trained at as-of date: {model.trained_as_of_:%Y-%m-%d}",
        f"- Data hash (sha256): `{model.data_hash_}`",
        f"- Training snapshots: {getattr(model, 'n_training_snapshots_', 'n/a')} (weekly, point-in-time)",
        f"- Censoring handling: {model.censoring}; blank accounts: {model.account_policy}",
        f"- Boosting rounds: {model.n_rounds_}; calibration: {model.calibrator_.method}",
        f"- Seed: {model.seed}",
        "",
        "## Held-out validation (inner as-of date, calibrator cross-fitted)",
        "",
        _json(validation).strip(),
    ]
    if backtest:
        lines += ["", "## Rolling-origin backtest", "", backtest.get("signal_statement", ""), ""]
        lines += [
            "| as-of | n | of which outcome estimated | AUC | Brier | Brier skill | ECE "
            "| ECE if calibrated (chance, 5-95%) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows = backtest.get("per_as_of", [])
        for row in rows:
            m = row["model"]
            chance = chance_range_text(m.get("ece_if_calibrated")) or "n/a"
            lines.append(
                f"| {row['as_of']} | {row['n']} | {row.get('still_open_at_export_estimated', 0)} | "
                f"{_fmt(m['auc'])} | {_fmt(m['brier'])} | {_fmt(m['brier_skill'])} | {_fmt(m['ece'])} | "
                f"{chance} |"
            )
        if rows and rows[0].get("label_source"):
            lines += ["", f"Outcomes: {rows[0]['label_source']}."]
        without = backtest.get("summary", {}).get("variants", {}).get("without_history")
        if without:
            summary = backtest["summary"]
            lines += [
                "",
                "## What the field history adds",
                "",
                f"Averaged over the backtest dates: AUC {_fmt(summary.get('auc'))} with the history's "
                f"features against {_fmt(without.get('auc'))} without them; Brier "
                f"{_fmt(summary.get('brier'))} against {_fmt(without.get('brier'))}.",
            ]
    lines += [
        "",
        "Features use only what was known at each snapshot date; no close date, close value or "
        "duration of a closed deal is ever a feature.",
        "",
    ]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    """Three decimals, or n/a."""
    return "n/a" if value is None else f"{value:.3f}"
