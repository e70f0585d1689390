"""Model artifacts: plain files, exact round trip, versioning, and clear errors for damaged folders."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data import CRMData
from core.errors import ModelArtifactError
from core.features import FEATURE_DEFINITIONS
from core.model import WinProbabilityModel
from models.model_io import LATEST, load_metrics, load_model, save_model


def test_round_trip_predicts_identically(
    fitted: WinProbabilityModel, crm_at: CRMData, tmp_path: Path
) -> None:
    folder = save_model(fitted, tmp_path, metrics={"validation": {"n": 1}})
    assert sorted(p.name for p in folder.iterdir()) == [
        "calibrator.json",
        "feature_spec.json",
        "manifest.json",
        "metrics.json",
        "model.txt",
        "model_card.md",
    ]
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))
    loaded = load_model(tmp_path)
    pd.testing.assert_series_equal(loaded.predict_proba(crm_at), fitted.predict_proba(crm_at))
    assert loaded.get_params() == fitted.get_params()
    assert load_metrics(folder) == {"validation": {"n": 1}}


def test_manifest_records_provenance(fitted: WinProbabilityModel, tmp_path: Path) -> None:
    folder = save_model(fitted, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["trained_as_of"] == "2026-03-01"
    assert manifest["data_hash"] == fitted.data_hash_ and len(manifest["data_hash"]) == 64
    assert folder.name == manifest["version"] and folder.name.startswith("20260301-")
    assert (tmp_path / LATEST).read_text().strip() == folder.name
    assert "lightgbm" in manifest["library_versions"]
    assert "2026-03-01" in (folder / "model_card.md").read_text()


def test_saving_twice_gives_the_same_version_and_bytes(fitted: WinProbabilityModel, tmp_path: Path) -> None:
    first = save_model(fitted, tmp_path / "a")
    second = save_model(fitted, tmp_path / "b")
    assert first.name == second.name
    for name in ("model.txt", "calibrator.json", "feature_spec.json", "manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_edited_model_file_is_refused(fitted: WinProbabilityModel, tmp_path: Path) -> None:
    folder = save_model(fitted, tmp_path)
    (folder / "model.txt").write_text((folder / "model.txt").read_text().replace("tree", "shrub", 1))
    with pytest.raises(ModelArtifactError, match=r"model\.txt: contents do not match the manifest"):
        load_model(folder)


def test_missing_and_unsupported_artifacts_are_clear_errors(
    fitted: WinProbabilityModel, tmp_path: Path
) -> None:
    with pytest.raises(ModelArtifactError, match="no model found"):
        load_model(tmp_path)
    folder = save_model(fitted, tmp_path)
    (folder / "calibrator.json").unlink()
    with pytest.raises(ModelArtifactError, match=r"calibrator\.json: missing"):
        load_model(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(ModelArtifactError, match="format 99 is not supported"):
        load_model(folder)


def test_unfitted_model_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="unfitted"):
        save_model(WinProbabilityModel(), tmp_path)


def test_a_model_trained_on_other_feature_definitions_is_refused(
    fitted: WinProbabilityModel, tmp_path: Path
) -> None:
    folder = save_model(fitted, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["feature_definitions"] == FEATURE_DEFINITIONS
    del manifest["feature_definitions"]  # an artifact saved before the field existed: definitions 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        ModelArtifactError,
        match=f"feature definitions 1, this code computes {FEATURE_DEFINITIONS}; retrain the model",
    ):
        load_model(folder)


def test_model_card_shows_each_backtest_date_with_the_ece_chance_gives(
    fitted: WinProbabilityModel, tmp_path: Path
) -> None:
    model = {"auc": 0.75, "brier": 0.19, "brier_skill": 0.2, "ece": 0.041}
    rows = [
        {
            "as_of": "2025-07-01",
            "n": 1034,
            "label_source": "stage in the export on 2026-08-14; ...",
            "still_open_at_export_estimated": 160,
            "model": {**model, "ece_if_calibrated": {"p05": 0.017, "p95": 0.046}},
        },
        {"as_of": "2025-09-01", "n": 1110, "model": model},  # metrics written before the sampling check
    ]
    folder = save_model(fitted, tmp_path, metrics={"backtest": {"signal_statement": "S.", "per_as_of": rows}})
    card = (folder / "model_card.md").read_text()
    assert "| 2025-07-01 | 1034 | 160 | 0.750 | 0.190 | 0.200 | 0.041 | 0.017-0.046 |" in card
    assert "| 2025-09-01 | 1110 | 0 | 0.750 | 0.190 | 0.200 | 0.041 | n/a |" in card
    assert "Outcomes: stage in the export on 2026-08-14; ...." in card
