"""predict.py on an export with a field history: the history's columns in the predictions, the forecast by
the reps' forecast category (adding up to the whole), and what changed since the compare date."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data.synthetic import generate_crm
from core.data.synthetic_history import synthetic_history
from models.generate import write_crm
from models.inference.predict import main


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history_run")
    crm = generate_crm(n_deals=3000, seed=23)
    write_crm(crm, folder / "export")
    history, pipeline = synthetic_history(crm, seed=23)
    pipeline.to_csv(folder / "export" / "sales_pipeline.csv", index=False)
    history.to_csv(folder / "export" / "deal_history.csv", index=False)
    args = ["--data-dir", str(folder / "export"), "--out-dir", str(folder / "out")]
    args += ["--model-dir", str(folder / "models"), "--simulations", "500", "--no-mlflow", "--quiet"]
    assert main([*args, "--compare-to", "2026-06-30"]) == 0
    return folder / "out"


def test_the_forecast_splits_by_the_reps_category_and_adds_up(run: Path) -> None:
    forecast = pd.read_csv(run / "forecast.csv")
    quarter = forecast[forecast["period_type"].eq("quarter")]
    by_category = quarter[quarter["segment_type"].eq("forecast_category")]
    assert {"Commit", "Best Case", "Pipeline"} <= set(by_category["segment"])
    whole = quarter[quarter["segment_type"].eq("all")].set_index("period_start")["expected"]
    parts = by_category.groupby("period_start")["expected"].sum()
    assert (parts - whole.loc[parts.index]).abs().max() < 0.05
    predictions = pd.read_csv(run / "latest_predictions.csv")
    scored = predictions[predictions["scored"]]
    assert scored["days_in_stage"].notna().all() and scored["close_date_pushes"].max() >= 2


def test_what_changed_since_the_compare_date_adds_up(run: Path) -> None:
    changes = pd.read_csv(run / "pipeline_changes.csv")
    summary = json.loads((run / "predictions_metadata.json").read_text())["changes"]
    assert summary["compare_to"] == "2026-06-30" and "field history" in summary["source"]
    total = summary["open_pipeline_before"] + changes["value_change"].sum()
    assert total == pytest.approx(summary["open_pipeline_after"], abs=0.01)
    predictions = pd.read_csv(run / "latest_predictions.csv")
    assert summary["open_pipeline_after"] == pytest.approx(
        predictions.loc[predictions["scored"], "deal_value"].sum(), abs=0.01
    )
    assert {"new", "won", "lost", "stage_forward"} <= set(changes["change_type"])
    counts = {kind: item["deals"] for kind, item in summary["by_type"].items()}
    assert counts == changes["change_type"].value_counts().to_dict()
