"""AppTest of the Model & Data Health page on fixture outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def test_health_shows_backtest_importance_and_quality(app_env: Path) -> None:
    metadata = json.loads((app_env / "predictions_metadata.json").read_text())
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    assert not at.exception
    summary = metadata["model"]["metrics"]["backtest"]["summary"]
    assert next(m.value for m in at.metric if m.label == "AUC (mean)") == f"{summary['auc']:.3f}"
    assert next(m.value for m in at.metric if m.label == "Stale") == f"{metadata['counts']['stale']:,}"
    shap = pd.read_csv(app_env / "shap_values.csv")
    top_feature = shap["shap_value"].abs().groupby(shap["feature"]).mean().idxmax()
    charts = [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]
    importance = next(d for d in charts if d[0].get("orientation") == "h" and d[0]["type"] == "bar")
    assert importance[0]["y"][0] == top_feature
    reliability = next(d for d in charts if any(t.get("name") == "Model" and "customdata" in t for t in d))
    chance = next(t for t in reliability if t.get("name") == "Calibrated model, 5-95% by chance")
    model = next(t for t in reliability if t.get("name") == "Model")
    assert len(chance["x"]) == len(model["x"]) > 0 and chance["y"] == chance["x"]
    assert all(
        up >= 0 and down >= 0
        for up, down in zip(chance["error_y"]["array"], chance["error_y"]["arrayminus"], strict=True)
    )
    pooled = summary["pooled"]
    assert next(m.value for m in at.metric if m.label == "ECE (dates pooled)") == f"{pooled['ece']:.3f}"
    assert chance["error_y"]["array"] == pytest.approx(
        [b["chance_high"] - b["mean_predicted"] for b in pooled["reliability"]]
    )
    assert any(
        f"the ECE is {pooled['ece']:.3f}, within the 0.011-0.027" in c.value.replace("\\", "")
        and "one outcome" in c.value
        for c in at.caption
    )
    by_age = next(d.value for d in at.dataframe if "age_days" in d.value.columns)
    assert list(by_age["age_days"]) == ["0-14", "91-180"] * 3
    assert list(by_age["outside"]) == [False, True, False, False, False, False]  # won 10% against 13-28%
    assert any(e.label == "Calibration by deal age" for e in at.expander)
    quality = next(d.value for d in at.dataframe if "description" in d.value.columns)
    assert len(quality) == len(metadata["data_quality"]["items"])


def _without_metadata_backtest(fixture_outputs: Path, out: Path) -> dict:
    """Copy the fixture run to ``out`` with the backtest moved out of the metadata; return that backtest."""
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    backtest = metadata["model"]["metrics"].pop("backtest")
    metadata["run_id"] = "backtest-in-file"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    return {"backtest": backtest, "data_hash": metadata["data"]["data_hash"]}


def test_backtest_json_beside_the_outputs_is_used_when_its_data_matches(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    parts = _without_metadata_backtest(fixture_outputs, out)
    report = {"data_hash": parts["data_hash"], "win_probability": parts["backtest"]}
    (out / "backtest.json").write_text(json.dumps(report))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    auc = parts["backtest"]["summary"]["auc"]
    assert next(m.value for m in at.metric if m.label == "AUC (mean)") == f"{auc:.3f}"
    assert any("backtest.json (same data hash" in c.value.replace("\\", "") for c in at.caption)


def test_backtest_json_from_other_data_is_refused(fixture_outputs: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    parts = _without_metadata_backtest(fixture_outputs, out)
    (out / "backtest.json").write_text(
        json.dumps({"data_hash": "other", "win_probability": parts["backtest"]})
    )
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    assert not [m for m in at.metric if m.label == "AUC (mean)"]
    assert any("made from other data" in i.value.replace("\\", "") for i in at.info)


def test_rejected_rows_are_counted_and_listed_first(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    """A run made with --drop-invalid: the Health page says how many rows were rejected and lists them
    before the repairs; the Overview's data-quality lines say it in words (no command-line flag)."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["data_quality"]["items"].append(
        {
            "code": "rejected_row",
            "file": "sales_pipeline.csv",
            "column": "close_date",
            "count": 3,
            "action": "set aside in rejected_rows.csv (--drop-invalid)",
            "description": "row breaks the data contract: close_date '...' is before engage_date",
            "examples": ["14", "90", "311"],
        }
    )
    metadata["counts"]["rejected_rows"] = 3
    metadata["run_id"] = "with-rejected-rows"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    overview_quality = next(w.value for w in at.warning if "data contract" in w.value).replace("\\", "")
    assert "Left out of every figure; each row and its reason are in rejected_rows.csv." in overview_quality
    assert "--drop-invalid" not in overview_quality
    at.switch_page("views/model_health.py").run()
    assert not at.exception
    said = [m.value.replace("\\", "") for m in at.markdown]
    assert any(
        text.startswith("3 rows of the export broke the data contract and were rejected") for text in said
    )
    quality = next(d.value for d in at.dataframe if "description" in d.value.columns)
    assert quality.iloc[0][["code", "count", "examples"]].tolist() == ["rejected_row", 3, "14, 90, 311"]
    assert "product_alias" in quality["code"].tolist()  # the repairs are still listed
