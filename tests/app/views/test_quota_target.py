"""AppTest of the quota as the quarter's target: with a quotas file the Forecast and Overview pages read the
chance of reaching the selection's quota off forecast_quantiles.csv without anything typed, a typed
target replaces it, and a manager's selection takes the manager's own quota. Every expected figure is
computed here from the fixture's quotas.csv and forecast_quantiles.csv, not by the app's code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money, percent
from core.data import load_crm
from core.export import csv_bytes, parquet_bytes
from core.forecast.quotas import quarter_targets
from core.outputs import METADATA_FILE, TARGETS, TARGETS_FILE, decimals, fast_file
from tests.app.conftest import build_prediction_outputs

money = Money("USD")
MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
QUARTER_START = "2026-07-01"  # the fixture's as-of date 2026-08-14 leads with this quarter


@pytest.fixture(scope="module")
def quota_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture run with the targets.csv and metadata the batch step writes from the export's quotas."""
    out = build_prediction_outputs(tmp_path_factory.mktemp("quota_run"))
    # quotas near each manager's middle estimate of the fixture's (made-up) forecast, so that the chance
    # lies inside the grid: each manager's own, none for reps (the team's is then their sum)
    forecast = pd.read_csv(out / "forecast.csv")
    rows = forecast[
        forecast["period_type"].eq("quarter")
        & forecast["period_start"].eq(QUARTER_START)
        & forecast["segment_type"].eq("manager")
    ]
    quotas = pd.DataFrame(
        {"period_start": QUARTER_START, "owner": rows["segment"], "quota": rows["total_p50"].round(-3)}
    )
    quotas.to_csv(out.parent / "crm" / "quotas.csv", index=False)
    crm = load_crm(out.parent / "crm")
    now = crm.as_of.to_period("Q")
    table = quarter_targets(
        crm.quotas, crm.deals, crm.sales_teams, pd.period_range(now - 4, now + 2, freq="Q")
    )
    (out / TARGETS_FILE).write_bytes(csv_bytes(table, decimals(TARGETS)))
    (out / fast_file(TARGETS_FILE)).write_bytes(parquet_bytes(table, decimals(TARGETS)))
    metadata = json.loads((out / METADATA_FILE).read_text())
    metadata["run_id"] = "quota-" + metadata["run_id"]
    metadata["targets"] = {"file": "quotas.csv", "rows": len(crm.quotas), "unmatched_owners": []}
    (out / METADATA_FILE).write_text(json.dumps(metadata))
    return out


@pytest.fixture
def quota_env(quota_outputs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(quota_outputs))
    return quota_outputs


def _quotas(out: Path) -> pd.DataFrame:
    """The export's quotas.csv rows of the headline quarter, as written."""
    quotas = pd.read_csv(out.parent / "crm" / "quotas.csv")
    return quotas[quotas["period_start"].eq(QUARTER_START)]


def _chance(out: Path, target: float, segment_type: str = "all", segment: str = "All") -> str:
    """P(whole-quarter revenue >= target) read linearly off the fixture's grid, as the page words it."""
    grid = pd.read_csv(out / "forecast_quantiles.csv")
    grid = grid[
        grid["period_type"].eq("quarter")
        & grid["period_start"].eq(QUARTER_START)
        & grid["segment_type"].eq(segment_type)
        & grid["segment"].eq(segment)
        & grid["scope"].eq("total")
    ].sort_values("q")
    chance = 1.0 - float(np.interp(target, grid["revenue"], grid["q"]))
    return percent(chance)


def _texts(at: AppTest) -> list[str]:
    return [t.value.replace("\\", "") for t in (*at.markdown, *at.caption)]


def test_the_quota_is_the_target_until_one_is_typed(quota_env: Path) -> None:
    quotas = _quotas(quota_env)
    teams = pd.read_csv(quota_env.parent / "crm" / "sales_teams.csv")
    managers = quotas[quotas["owner"].isin(teams["manager"])]
    quota = float(managers["quota"].sum())  # no whole-team row: the sum of the managers' quotas
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/forecast.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Chance of reaching the target"] == _chance(quota_env, quota)
    origin = f"{money.exact(quota)} in quotas.csv (sum of {len(managers)} managers' targets)"
    assert f"Target: the quota, {origin}. Type another figure above to replace it." in _texts(at)
    assert any(t.startswith(f"To reach {money.exact(quota)} the quarter needs") for t in _texts(at))
    # the whole-quarter chart marks the quota on its quarter (the fixture's quotas cover that one only)
    traces = [
        t
        for c in at.get("plotly_chart")
        for t in json.loads(c.proto.spec)["data"]
        if t.get("name") == "Quota"
    ]
    assert [(t["x"], t["y"]) for t in traces] == [(["Q3 2026"], [quota])]
    won = [
        t
        for c in at.get("plotly_chart")
        for t in json.loads(c.proto.spec)["data"]
        if t.get("name") == "Won (complete quarters)"
    ]
    assert [(t["textposition"], t["insidetextanchor"]) for t in won] == [
        ("inside", "middle")
    ]  # not under a quota
    assert traces[0]["marker"]["line"]["color"] == "rgb(200, 30, 30)"  # red, as the caption says: a line
    # marker takes its colour from its line (it was drawn dark grey beside the dark middle estimate)
    typed = round(quota * 0.97, -2)
    at.number_input(key="forecast_target").set_value(typed).run()
    assert {m.label: m.value for m in at.metric}["Chance of reaching the target"] == _chance(quota_env, typed)
    chosen = f"target typed above, {money.exact(typed)}, not this selection's quota of {origin}."
    assert f"The figures use the {chosen}" in _texts(at)
    at.switch_page("views/overview.py").run()  # the typed target goes with the leader
    assert {m.label: m.value for m in at.metric}["Chance of reaching the target"] == _chance(quota_env, typed)
    assert f"The figures use the {chosen.replace('above', 'on the Forecast page')}" in _texts(at)


def test_a_managers_selection_takes_the_managers_own_quota_on_the_overview(quota_env: Path) -> None:
    quotas = _quotas(quota_env)
    teams = pd.read_csv(quota_env.parent / "crm" / "sales_teams.csv")
    manager = sorted(teams["manager"].unique())[0]
    quota = float(quotas.loc[quotas["owner"].eq(manager), "quota"].iloc[0])
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_managers").select(manager).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Chance of reaching the target"] == _chance(quota_env, quota, "manager", manager)
    assert (
        f"Target: the quota, {money.exact(quota)} in quotas.csv ({manager}'s own quota). Type another figure "
        "on the Forecast page to replace it."
    ) in _texts(at)
    at.sidebar.multiselect(key="_w_filter_tiers").select("Critical").run()  # no stored segment, no quota
    assert "Chance of reaching the target" not in {m.label for m in at.metric}
    assert not any(t.startswith("Target: the quota") for t in _texts(at))
    assert (
        "No quota in quotas.csv for this selection: type a target on the Forecast page to see its chance."
        in (_texts(at))
    )
