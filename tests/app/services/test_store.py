"""The file reader: typed frames, text kept as text, both SHAP base-value layouts, commands shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from app.services.store import (
    PredictionFilesError,
    _read_shap,
    closed_deals,
    load_run,
    predict_command,
)
from core.settings import SETTINGS


def test_ids_and_blank_accounts_stay_text(fixture_outputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    predictions.loc[0, "opportunity_id"] = "00012345"
    predictions.loc[0, "account"] = ""
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    (out / "latest_predictions.parquet").unlink()  # the CSV path: a run written before the Parquet twins
    run = load_run(out)
    row = run.predictions[run.predictions["opportunity_id"] == "00012345"].iloc[0]
    assert row["account"] == ""
    assert run.predictions["opportunity_id"].is_monotonic_increasing  # sorted once at load
    assert run.predictions["win_probability"].dtype == float and run.predictions["stale"].dtype == bool


def test_shap_base_value_as_rows_instead_of_a_column(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "A"],
            "feature": ["base_value", "age_days", "sector"],
            "feature_value": ["", "30", "retail"],
            "shap_value": [0.4, -0.1, 0.05],
        }
    ).to_csv(tmp_path / "shap_values.csv", index=False)
    shap = _read_shap(str(tmp_path), "base-as-rows", ())
    features, base = shap.rows, shap.base_value
    assert base.to_dict() == {"A": 0.4}
    assert features["feature"].tolist() == ["age_days", "sector"]


def test_shap_without_any_base_value_is_a_named_error(tmp_path: Path) -> None:
    pd.DataFrame(
        {"opportunity_id": ["A"], "feature": ["age_days"], "feature_value": ["3"], "shap_value": [0.1]}
    ).to_csv(tmp_path / "shap_values.csv", index=False)
    with pytest.raises(PredictionFilesError, match=r"^shap_values.csv: no base value"):
        _read_shap(str(tmp_path), "no-base", ())


def test_parquet_twins_are_read_first_and_typed_like_the_csv(fixture_outputs: Path, tmp_path: Path) -> None:
    """The app's fast first load: a Parquet twin beside a CSV is what the app reads, with the same types
    and the same values (a blank account stays blank, flags are booleans, dates are dates)."""
    from core.export import parquet_bytes

    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    from_csv = load_run(fixture_outputs).predictions
    twin = from_csv.assign(
        account=from_csv["account"].replace("", None),  # as a missing text comes back from Parquet
        win_probability=0.5,  # proves which file is read
    )
    assert twin["account"].isna().any()
    (out / "latest_predictions.parquet").write_bytes(parquet_bytes(twin))
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "with-parquet"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    from_parquet = load_run(out).predictions
    assert (from_parquet["win_probability"] == 0.5).all()
    pd.testing.assert_frame_equal(
        from_parquet.drop(columns="win_probability"), from_csv.drop(columns="win_probability")
    )


def test_predict_command_names_the_out_dir_only_when_not_the_default(tmp_path: Path) -> None:
    assert predict_command(SETTINGS.out_dir) == "python models/inference/predict.py"
    assert predict_command(tmp_path) == f"python models/inference/predict.py --out-dir {tmp_path}"


def test_closed_deals_come_from_the_recorded_data_dir_or_none(fixture_outputs: Path, tmp_path: Path) -> None:
    run = load_run(fixture_outputs)
    closed = closed_deals(run)
    assert len(closed) and not closed["is_open"].any()
    assert (closed_deals(run, "GTX Pro")["product"] == "GTX Pro").all()
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["data"]["data_dir"] = str(tmp_path / "gone")
    metadata["run_id"] = "data-dir-gone"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    assert closed_deals(load_run(out)) is None


def test_comparable_deals_are_read_with_the_runs_column_mapping(
    fixture_outputs: Path, tmp_path: Path
) -> None:
    """A run made through a mapping records it; the drill-down reads the export the same way."""
    run = load_run(fixture_outputs)
    export = tmp_path / "export"
    shutil.copytree(run.metadata.data["data_dir"], export)
    (export / "sales_pipeline.csv").rename(export / "opportunities.csv")
    (tmp_path / "renamed.toml").write_text(
        'name = "Renamed"\n[files]\nsales_pipeline = "opportunities.csv"\n'
    )
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "mapped-export"
    metadata["data"].update(
        data_dir=str(export), mapping="Renamed", mapping_file=str(tmp_path / "renamed.toml")
    )
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    mapped = closed_deals(load_run(out))
    assert mapped is not None and len(mapped) == len(closed_deals(run))
    metadata["run_id"] = "mapping-gone"
    metadata["data"]["mapping_file"] = str(tmp_path / "gone.toml")
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    assert closed_deals(load_run(out)) is None  # no comparable deals, and no error


def test_feature_labels_from_the_metadata_name_the_shap_rows() -> None:
    from app.services.store import _with_feature_labels

    shap = pd.DataFrame({"feature": ["rep_win_rate", "new_feature"], "shap_value": [0.1, -0.2]})
    labelled = _with_feature_labels(shap, {"rep_win_rate": "rep's win rate"})
    assert labelled["feature_label"].astype(str).tolist() == ["rep's win rate", "new_feature"]
    assert "feature_label" not in _with_feature_labels(shap, None).columns
    own = shap.assign(feature_label=["mine", "mine too"])
    assert _with_feature_labels(own, {"rep_win_rate": "other"})["feature_label"].tolist() == [
        "mine",
        "mine too",
    ]
