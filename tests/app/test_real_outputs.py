"""The app on outputs written by the real batch step (models/inference/predict.py) on a tiny synthetic CRM:
every page renders without an error and shows the numbers in the files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money, percent
from app.services.pipeline import headline_quarter
from core.data.synthetic import generate_crm
from models.generate import write_crm

money = Money("USD")  # the synthetic CRM names no currency: the batch step writes USD

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")
PREDICT = ROOT / "models" / "inference" / "predict.py"
PAGES = (
    "views/overview.py",
    "views/risk_dashboard.py",
    "views/deal_drilldown.py",
    "views/forecast.py",
    "views/model_health.py",
    "views/what_changed.py",
)


@pytest.fixture(scope="module")
def real_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """predict.py run on 1,500 synthetic deals (2,000 simulations) into a temporary out dir."""
    if not PREDICT.exists():
        pytest.skip("models/inference/predict.py not there yet")
    root = tmp_path_factory.mktemp("real_run")
    write_crm(generate_crm(n_deals=1500, seed=5), root / "crm")
    command = [
        sys.executable,
        str(PREDICT),
        "--data-dir",
        str(root / "crm"),
        "--out-dir",
        str(root / "out"),
        "--model-dir",
        str(root / "models"),
        "--simulations",
        "2000",
        "--quiet",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return root / "out"


@pytest.mark.slow
def test_every_page_renders_real_outputs_with_their_numbers(real_outputs: Path, monkeypatch) -> None:
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(real_outputs))
    predictions = pd.read_csv(
        real_outputs / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    metadata = json.loads((real_outputs / "predictions_metadata.json").read_text())
    scored = (
        predictions[predictions["scored"].astype(str) != "False"] if "scored" in predictions else predictions
    )
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        labels = {m.label: m.value for m in at.metric}
        if page.endswith("overview.py"):
            # unscored deals stay out of the headlines until the sidebar includes them
            assert labels["Open pipeline"] == money(scored["deal_value"].sum())
            assert labels["Open deals"] == f"{len(scored):,}"
        elif page.endswith("risk_dashboard.py"):
            assert len(at.dataframe[0].value) == min(len(scored), 2000)
        elif page.endswith("deal_drilldown.py"):
            shown = predictions.set_index("opportunity_id").loc[at.selectbox(key="_w_deal").value]
            assert labels["Calibrated win probability"] == percent(float(shown["win_probability"]))
        elif page.endswith("model_health.py"):
            validation = metadata["model"]["metrics"]["validation"]
            assert labels["Validation AUC"] == f"{validation['auc']:.3f}"
        elif page.endswith("what_changed.py"):
            # the batch step's own totals: open pipeline then + the changes = now, to the cent
            changes = metadata["changes"]
            then, now = money.pair(changes["open_pipeline_before"], changes["open_pipeline_after"])
            assert labels[f"Open pipeline on {changes['compare_to']}"] == then
            assert labels["Open pipeline now"] == now
        elif page.endswith("forecast.py"):
            # a target at the whole quarter's P50: the chance read off the real grid is about 50%
            forecast = pd.read_csv(real_outputs / "forecast.csv", parse_dates=["period_start"])
            start = headline_quarter(pd.Timestamp(metadata["as_of"])).start
            row = forecast[
                (forecast.period_type == "quarter")
                & (forecast.segment_type == "all")
                & (forecast.period_start == start)
            ].iloc[0]
            whole = money.same_unit(*row[["total_expected", "total_p50", "total_p10", "total_p90"]])
            assert labels["Whole quarter (expected)"] == whole[0]
            assert labels["Whole quarter: likely range"] == f"{whole[2]} - {whole[3]}"
            at.number_input(key="forecast_target").set_value(float(row["total_p50"])).run()
            chance = next(m.value for m in at.metric if m.label == "Chance of reaching the target")
            assert chance in ("49%", "50%", "51%"), chance


@pytest.mark.slow
def test_the_batch_step_rolls_the_exports_quotas_up_into_targets_csv(real_outputs: Path) -> None:
    quotas = pd.read_csv(real_outputs.parent / "crm" / "quotas.csv")
    teams = pd.read_csv(real_outputs.parent / "crm" / "sales_teams.csv")
    targets = pd.read_csv(real_outputs / "targets.csv")
    metadata = json.loads((real_outputs / "predictions_metadata.json").read_text())["targets"]
    as_of = pd.Timestamp(json.loads((real_outputs / "predictions_metadata.json").read_text())["as_of"])
    quarters = pd.period_range(as_of.to_period("Q") - 4, as_of.to_period("Q") + 2, freq="Q")
    assert metadata["file"] == "quotas.csv" and metadata["rows"] == len(quotas)
    assert len(pd.read_parquet(real_outputs / "targets.parquet")) == len(targets)  # the app's fast twin
    assert metadata["unmatched_owners"] == []
    assert sorted(targets["period_start"].unique()) == [f"{q.start_time:%Y-%m-%d}" for q in quarters]
    for start, rows in targets.groupby("period_start"):
        managers = quotas[quotas["period_start"].eq(start) & quotas["owner"].isin(teams["manager"])]
        whole = rows[rows["segment_type"].eq("all")].iloc[0]
        assert whole["target"] == managers["quota"].sum()  # the managers' own quotas, never the reps' too
        reps = rows[rows["segment_type"].eq("sales_agent")].set_index("segment")["target"]
        own = quotas[quotas["period_start"].eq(start)].set_index("owner")["quota"]
        assert reps.to_dict() == own.reindex(reps.index).astype(float).to_dict()
