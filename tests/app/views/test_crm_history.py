"""AppTest of what a run made from an export with the CRM's own stage names and a field history shows: the
history facts in words on the Deal Drill-down (nothing of them without a history), the stage step of its
waterfall named as the driver sentences name it, and the CRM's stage names in the Risk Dashboard's table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import md

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
HISTORY_COLUMNS = ("days_in_stage", "close_date_pushes", "days_pushed")

CRM_STAGES = ("Qualifizierung", "Angebot", "Verhandlung")  # a German CRM's own open stages, in its order
HISTORY_DEAL_FACTS = {
    "stage": "Angebot",
    "days_in_stage": "34",
    "close_date_pushes": "2",
    "days_pushed": "60",
}


@pytest.fixture
def crm_history_run(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run as predict.py writes it from an export with the CRM's own (German) stage names, the
    rep's call and a field history: ``stage``, ``days_in_stage``, ``close_date_pushes``, ``days_pushed``,
    ``rep_close_date``, ``forecast_category``, ``rep_probability`` and the metadata's ``stage_order``.

    The first live deal by id has HISTORY_DEAL_FACTS (in Angebot for 34 days, close date pushed twice, 60
    days in all) and its stage as a step of its SHAP path (``stage_position``, 1 = the second stage); no
    other deal has been 34 days in its stage.
    """
    out = tmp_path / "history"
    shutil.copytree(fixture_outputs, out, ignore=shutil.ignore_patterns("*.parquet"))
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    position = np.arange(len(predictions))
    predictions["stage"] = [CRM_STAGES[k % len(CRM_STAGES)] for k in position]
    predictions["days_in_stage"] = (5 + position % 20).astype(str)
    predictions["close_date_pushes"] = (position % 3).astype(str)
    predictions["days_pushed"] = (15 * (position % 3)).astype(str)
    predictions["rep_close_date"] = "2026-09-30"
    predictions["forecast_category"] = "Best Case"
    predictions["rep_probability"] = "0.5"
    chosen = predictions.index[predictions["stale"].eq("False")][0]
    for column, value in HISTORY_DEAL_FACTS.items():
        predictions.loc[chosen, column] = value
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    shap = pd.read_csv(out / "shap_values.csv", dtype=str, keep_default_na=False)
    step = shap["opportunity_id"].eq(predictions.loc[chosen, "opportunity_id"]) & shap["feature"].eq(
        "deal_stage"
    )
    shap.loc[step, ["feature", "feature_value"]] = ["stage_position", "1.0"]
    shap.to_csv(out / "shap_values.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata.update(run_id="crm-history", stage_order=list(CRM_STAGES))
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def _predictions(out: Path) -> pd.DataFrame:
    """The run's predictions as text."""
    return pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)


def _history_deal(out: Path) -> str:
    """The id of the deal the fixture gave HISTORY_DEAL_FACTS."""
    predictions = _predictions(out)
    return str(
        predictions.loc[predictions["days_in_stage"] == HISTORY_DEAL_FACTS["days_in_stage"]].iloc[0, 0]
    )


def _drilldown(deal_id: str) -> AppTest:
    """The app opened on ``deal_id``'s drill-down."""
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["deal"] = deal_id
    at.run()
    assert not at.exception
    return at


def _captions(at: AppTest) -> list[str]:
    """Every caption on the page."""
    return [c.value for c in at.caption]


def test_drilldown_says_the_deals_history_in_plain_words(crm_history_run: Path) -> None:
    at = _drilldown(_history_deal(crm_history_run))
    assert md("In Angebot for 34 days; close date pushed twice, 60 days in all.") in _captions(at)
    header = at.markdown[0].value
    assert "**Stage** Angebot" in header  # the history line sits under the stage it speaks of
    assert md(
        "The rep's call in the CRM: expects it to close on 2026-09-30, forecast category Best Case, "
        "probability 50%."
    ) in _captions(at)


def test_drilldown_says_nothing_of_a_history_the_export_does_not_have(app_env: Path) -> None:
    at = _drilldown(_predictions(app_env)["opportunity_id"].iloc[0])
    texts = [*_captions(at), *(m.value for m in at.markdown)]
    assert not any("pushed" in text or " days; " in text for text in texts)


def test_waterfall_names_the_stage_reached_from_the_runs_stage_order(crm_history_run: Path) -> None:
    at = _drilldown(_history_deal(crm_history_run))
    labels = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    readable = [label.replace("<br>", " ") for label in labels]
    assert any(label.startswith("stage reached = Angebot, stage 2 of 3  (") for label in readable)


@pytest.fixture
def blank_history_run(crm_history_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The history run with its history columns blank, as predict.py writes them for an export without a
    field history (a Salesforce Data Export: stage names and the rep's call, no history)."""
    out = tmp_path / "blank"
    shutil.copytree(crm_history_run, out)
    predictions = _predictions(out)
    predictions[list(HISTORY_COLUMNS)] = ""
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "blank-history"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def test_blank_history_columns_show_nothing(blank_history_run: Path) -> None:
    deal_id = _predictions(blank_history_run)["opportunity_id"].iloc[0]
    at = _drilldown(deal_id)
    assert not any("pushed" in text or "days;" in text for text in _captions(at))
    assert any(text.startswith("The rep's call in the CRM") for text in _captions(at))  # what there is


def test_risk_table_names_the_stage_as_the_crm_does(crm_history_run: Path) -> None:
    """A Salesforce export in German showed "Engaging" (the outcome state) for every deal in the Stage
    column, where the drill-down of the same deal said "Verhandlung"."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/risk_dashboard.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    stages = _predictions(crm_history_run).set_index("opportunity_id")["stage"]
    assert table["deal_stage"].tolist() == stages.loc[table["opportunity_id"]].tolist()
    assert set(table["deal_stage"]) == set(CRM_STAGES)
