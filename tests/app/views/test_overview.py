"""AppTest of the Overview page (and of the router, sidebar and shared filters) on fixture outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money, md

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


# the CSVs these tests edit: copies without the Parquet twins, which the app reads first
CSV_ONLY = shutil.ignore_patterns("*.parquet")


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def test_overview_metrics_equal_the_csv(app_env: Path) -> None:
    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert _metric(at, "Open pipeline") == money(predictions["deal_value"].sum())
    assert _metric(at, "Open deals") == f"{len(predictions):,}"
    assert _metric(at, "Value at risk") == money(predictions["value_at_risk"].sum())
    forecast = pd.read_csv(app_env / "forecast.csv")
    quarter = forecast[(forecast.period_type == "quarter") & (forecast.segment_type == "all")].iloc[0]
    won = quarter["closed_won"]
    assert (
        _metric(at, "Won + open deals: likely range")
        == f"{money(won + quarter['p10'])} - {money(won + quarter['p90'])}"
    )
    assert at.sidebar.markdown[0].value == f"**Data as of {md('2026-08-14')}**"
    assert "Model fixture" in at.sidebar.caption[0].value


def test_region_filter_applies_and_persists_across_pages(app_env: Path) -> None:
    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    east = predictions[predictions["regional_office"] == "East"]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.multiselect(key="_w_filter_regions").select("East").run()
    assert _metric(at, "Open deals") == f"{len(east):,}"
    assert _metric(at, "Open pipeline") == money(east["deal_value"].sum())
    forecast = pd.read_csv(app_env / "forecast.csv")
    east_q = forecast[(forecast.period_type == "quarter") & (forecast.segment == "East")].iloc[0]
    won = east_q["closed_won"]
    assert (
        _metric(at, "Won + open deals: likely range")
        == f"{money(won + east_q['p10'])} - {money(won + east_q['p90'])}"
    )
    whole = money.same_unit(*east_q[["total_expected", "total_p50", "total_p10", "total_p90"]])
    assert _metric(at, "Whole quarter: middle estimate") == whole[1]  # East's, not the company's
    at.switch_page("views/risk_dashboard.py").run()
    assert _metric(at, "Deals in view") == f"{len(east):,}"
    at.switch_page("views/overview.py").run()
    assert at.multiselect(key="_w_filter_regions").value == ["East"]


def test_no_predictions_says_which_command_to_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(tmp_path))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert at.info[0].value.startswith("No predictions yet")
    assert at.code[0].value == f"python models/inference/predict.py --out-dir {tmp_path}"
    assert len(at.metric) == 0


def test_broken_predictions_file_names_file_and_column(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    shutil.copytree(fixture_outputs, tmp_path / "out", ignore=CSV_ONLY)
    broken = pd.read_csv(tmp_path / "out" / "latest_predictions.csv").drop(columns=["win_probability"])
    broken.to_csv(tmp_path / "out" / "latest_predictions.csv", index=False)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(tmp_path / "out"))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert md("latest_predictions.csv: required column 'win_probability' missing") in at.error[0].value


def test_new_run_shows_up_without_restart(fixture_outputs: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out, ignore=CSV_ONLY)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    before = _metric(at, "Open deals")
    predictions = pd.read_csv(out / "latest_predictions.csv")
    predictions.head(10).to_csv(out / "latest_predictions.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "second-run"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    at.run()
    assert before == f"{len(predictions):,}"
    assert _metric(at, "Open deals") == "10"


def test_clear_filters_and_stale_choice_of_a_vanished_value(app_env: Path) -> None:
    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_regions").select("West").run()
    at.sidebar.radio(key="_w_filter_stale").set_value("Exclude stale").run()
    live_west = predictions[(predictions["regional_office"] == "West") & ~predictions["stale"]]
    assert _metric(at, "Open deals") == f"{len(live_west):,}"
    at.session_state["filter_managers"] = ["Nobody In This Run"]  # e.g. kept from an older run
    at.run()
    assert at.sidebar.multiselect(key="_w_filter_managers").value == []
    assert _metric(at, "Open deals") == f"{len(live_west):,}"  # the vanished value does not filter
    at.sidebar.button[0].click().run()
    assert _metric(at, "Open deals") == f"{len(predictions):,}"
    assert at.sidebar.multiselect(key="_w_filter_regions").value == []


def _top_five(predictions: pd.DataFrame) -> pd.DataFrame:
    """Live deals of the two riskiest fixture tiers, most value in play (deal value x p x (1 - p)) first."""
    live = predictions[~predictions["stale"] & predictions["risk_tier"].isin(["Critical", "High"])]
    p = live["win_probability"]
    live = live.assign(value_in_play=live["deal_value"] * p * (1 - p))
    return live.sort_values(["value_in_play", "opportunity_id"], ascending=[False, True]).head(5)


def test_top_five_shows_value_in_play_and_the_driver_that_lowers_the_chance_most(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out, ignore=CSV_ONLY)
    predictions = pd.read_csv(
        out / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    # the first deal's largest driver raises its chance: it must not be shown as why the deal is at risk
    first = predictions["opportunity_id"] == _top_five(predictions)["opportunity_id"].iloc[0]
    predictions.loc[first, ["driver_1", "driver_1_impact"]] = [
        "Rep's record raises the chance (+9 pts)",
        0.09,
    ]
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    top = _top_five(predictions)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    table = at.dataframe[0].value  # the only table on the Overview
    assert table["opportunity_id"].tolist() == [f"deal?deal={i}" for i in top["opportunity_id"]]
    assert table["value_in_play"].tolist() == top["value_in_play"].round(0).tolist()
    assert table["value_at_risk"].tolist() == top["value_at_risk"].round(0).tolist()
    impacts = top[["driver_1_impact", "driver_2_impact", "driver_3_impact"]].astype(float).to_numpy()
    strongest = impacts.argmin(axis=1)
    expected = [
        top.iloc[row][f"driver_{k + 1}"] if impacts[row, k] < 0 else "None lowers its chance"
        for row, k in enumerate(strongest)
    ]
    assert table["main_risk_driver"].tolist() == expected
    assert "raises" not in table["main_risk_driver"].iloc[0]
