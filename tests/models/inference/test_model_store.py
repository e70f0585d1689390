"""Which saved model predict.py may use: same data, trained on or before the as-of date, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from core.errors import ModelArtifactError
from core.features import FEATURE_DEFINITIONS
from models.inference.model_store import compatible_versions


def _version(
    root: Path, name: str, trained: str, data_hash: str = "abc", definitions: int | None = FEATURE_DEFINITIONS
) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {"trained_as_of": trained, "data_hash": data_hash}
    if definitions is not None:
        manifest["feature_definitions"] = definitions
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_newest_compatible_first_and_future_or_foreign_models_skipped(tmp_path: Path) -> None:
    _version(tmp_path, "20170630-aaaa", "2017-06-30")
    _version(tmp_path, "20170930-bbbb", "2017-09-30")
    _version(tmp_path, "20171231-cccc", "2017-12-31")  # trained after the as-of date: has seen the future
    _version(tmp_path, "20170901-dddd", "2017-09-01", data_hash="other")  # another export
    (tmp_path / ".20170101-tmp").mkdir()  # a staging folder is ignored
    crm = SimpleNamespace(data_hash="abc", as_of=pd.Timestamp("2017-10-15"))
    names = [p.name for p in compatible_versions(tmp_path, crm)]
    assert names == ["20170930-bbbb", "20170630-aaaa"]


def test_a_model_from_older_feature_definitions_is_skipped_and_reported(tmp_path: Path) -> None:
    """A model saved by code that computed the features differently would read features it never saw."""
    _version(tmp_path, "20170930-aaaa", "2017-09-30", definitions=None)  # saved before the field existed
    _version(tmp_path, "20170901-bbbb", "2017-09-01", definitions=FEATURE_DEFINITIONS - 1)
    _version(tmp_path, "20170630-cccc", "2017-06-30")
    crm = SimpleNamespace(data_hash="abc", as_of=pd.Timestamp("2017-10-15"))
    skipped: list[tuple[Path, int]] = []
    assert [p.name for p in compatible_versions(tmp_path, crm, skipped)] == ["20170630-cccc"]
    assert sorted((p.name, d) for p, d in skipped) == [
        ("20170901-bbbb", FEATURE_DEFINITIONS - 1),
        ("20170930-aaaa", 1),
    ]


def test_latest_pointer_breaks_ties(tmp_path: Path) -> None:
    _version(tmp_path, "20170930-aaaa", "2017-09-30")
    _version(tmp_path, "20170930-bbbb", "2017-09-30")
    (tmp_path / "LATEST").write_text("20170930-aaaa\n")
    crm = SimpleNamespace(data_hash="abc", as_of=pd.Timestamp("2017-09-30"))
    assert compatible_versions(tmp_path, crm)[0].name == "20170930-aaaa"


def test_unreadable_manifest_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "20170930-eeee").mkdir()
    (tmp_path / "20170930-eeee" / "manifest.json").write_text("{")
    crm = SimpleNamespace(data_hash="abc", as_of=pd.Timestamp("2017-09-30"))
    with pytest.raises(ModelArtifactError, match="20170930-eeee/manifest.json: unreadable model manifest"):
        compatible_versions(tmp_path, crm)


def test_missing_model_dir_has_no_versions(tmp_path: Path) -> None:
    crm = SimpleNamespace(data_hash="abc", as_of=pd.Timestamp("2017-09-30"))
    assert compatible_versions(tmp_path / "absent", crm) == []


def test_backtest_in_worker_processes_changes_no_number(tmp_path: Path) -> None:
    """train_model (backtest dates in worker processes while the model fits) equals doing all of it here."""
    from core.data import read_crm
    from core.data.synthetic import generate_crm
    from core.model import WinProbabilityModel
    from core.model.backtest import default_as_of_dates, rolling_backtest
    from models.generate import write_crm
    from models.training.train import train_model

    write_crm(generate_crm(n_deals=900, seed=5), tmp_path)
    crm = read_crm(tmp_path)
    model, metrics = train_model(crm, seed=3)
    in_process = WinProbabilityModel(seed=3).fit(crm)
    dates = default_as_of_dates(crm, 3)
    assert len(dates) == 3 and len(metrics["backtest"]["per_as_of"]) == 3
    assert metrics == {"validation": in_process.validation_, "backtest": rolling_backtest(crm, dates, seed=3)}
    assert model.booster_.model_to_string() == in_process.booster_.model_to_string()


def test_a_save_that_fails_opens_no_mlflow_run_and_saves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """predict.py trains, saves, then tracks: a save that fails leaves no model folder and no run."""
    import mlflow

    from core.data import read_crm
    from core.data.synthetic import generate_crm
    from models.generate import write_crm
    from models.inference import model_store

    write_crm(generate_crm(n_deals=900, seed=5), tmp_path / "export")
    crm = read_crm(tmp_path / "export")

    def no_space(*args: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(model_store, "save_model", no_space)
    with pytest.raises(OSError, match="No space left"):
        model_store.model_for_run(tmp_path / "models", crm, retrain=True, seed=3)
    runs = mlflow.search_runs(
        experiment_names=["win-probability"], filter_string=f"params.data_hash = '{crm.data_hash}'"
    )
    assert runs.empty
    assert not (tmp_path / "models").exists()  # nothing saved
