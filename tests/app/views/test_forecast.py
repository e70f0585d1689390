"""AppTest of the Forecast page on fixture outputs, and its graceful degradation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money, percent

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def _forecast_page() -> AppTest:
    """The app, switched to the Forecast page."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    return at.switch_page("views/forecast.py").run()


def test_quarter_view_and_backtest_equal_the_files(app_env: Path) -> None:
    forecast = pd.read_csv(app_env / "forecast.csv")
    quarter = forecast[(forecast.period_type == "quarter") & (forecast.segment_type == "all")].iloc[0]
    at = _forecast_page()
    assert not at.exception
    assert _metric(at, "Won so far") == money(quarter["closed_won"])
    assert (
        _metric(at, "Whole quarter (expected)")
        == money.same_unit(*quarter[["total_expected", "total_p50", "total_p10", "total_p90"]])[0]
    )
    assert _metric(at, "Won + open deals: likely range") == (
        f"{money(quarter['closed_won'] + quarter['p10'])} - {money(quarter['closed_won'] + quarter['p90'])}"
    )
    summary = json.loads((app_env / "predictions_metadata.json").read_text())["forecast_backtest"]["summary"]
    assert _metric(at, "Past periods inside the range") == percent(summary["coverage_p10_p90"])
    whole_period = f"held everything the period won {percent(summary['total_coverage_p10_p90'])} of the time"
    assert any(whole_period in m.value.replace("\\", "") for m in at.markdown)
    months = forecast[(forecast.period_type == "month") & (forecast.segment_type == "all")]
    fan = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [t["name"] for t in fan] == [
        "Closed won (before as-of)",
        "P90",
        "Likely range (80% of outcomes)",
        "Middle estimate",
        "Expected",
    ]
    assert fan[2]["y"] == months["p10"].tolist()


def test_target_and_segment_breakdown(app_env: Path) -> None:
    forecast = pd.read_csv(app_env / "forecast.csv")
    quarter = forecast[(forecast.period_type == "quarter") & (forecast.segment_type == "all")].iloc[0]
    at = _forecast_page()
    at.number_input(key="forecast_target").set_value(200_000.0).run()
    assert _metric(at, "Gap to target (expected)") == money(200_000 - quarter["total_expected"])
    at.selectbox(key="forecast_seg").set_value("product").run()
    breakdown = at.dataframe[-1].value
    month0 = forecast[(forecast.period_type == "month") & (forecast.segment_type == "product")]
    month0 = month0[month0.period_start == month0.period_start.min()]
    assert sorted(breakdown["segment"]) == sorted(month0["segment"])
    assert breakdown["expected"].is_monotonic_decreasing


def test_missing_forecast_backtest_says_so(fixture_outputs: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    del metadata["forecast_backtest"]
    metadata["run_id"] = "no-backtest"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _forecast_page()
    assert not at.exception
    assert any(
        i.value.startswith("The forecast backtest (past forecasts against what was won) is not in this run")
        for i in at.info
    )
    assert not [m for m in at.metric if m.label == "Past periods inside the range"]


def test_missing_forecast_file_is_named_with_its_command(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    (out / "forecast.csv").unlink()
    (out / "forecast.parquet").unlink()
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _forecast_page()
    assert not at.exception
    assert at.info[0].value.startswith("forecast.csv is not in this run.")
    assert at.code[0].value == f"python models/inference/predict.py --out-dir {out}"
    assert not at.get("plotly_chart")


def test_the_target_is_kept_when_the_leader_visits_another_page(app_env: Path) -> None:
    """A bug: the quarter target typed on the Forecast page was gone after a visit to What Changed."""
    at = _forecast_page()
    at.number_input(key="forecast_target").set_value(200_000.0).run()
    at.switch_page("views/what_changed.py").run()
    at.switch_page("views/forecast.py").run()
    assert at.number_input(key="forecast_target").value == 200_000.0
    assert _metric(at, "Gap to target (expected)").startswith(("$", "-$"))
