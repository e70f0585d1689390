"""AppTest of what the sidebar filters cover: unscored deals (left out until the toggle adds them) and deal
links that keep the filters, in this session (table selection) and in a new one (a shared link)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money
from core.outputs import UNSCORED_BLANK_COLUMNS

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
BLANK_WHEN_UNSCORED = UNSCORED_BLANK_COLUMNS


# the CSVs these tests edit: copies without the Parquet twins, which the app reads first
CSV_ONLY = shutil.ignore_patterns("*.parquet")


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def _read(out: Path) -> pd.DataFrame:
    """latest_predictions.csv as text, blanks kept blank."""
    return pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)


@pytest.fixture
def unscored_env(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run with a ``scored`` column and six live deals the model could not score."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out, ignore=CSV_ONLY)
    predictions = _read(out)
    chosen = predictions.index[predictions["stale"].eq("False")][:6]
    predictions["scored"] = "True"
    predictions.loc[chosen, "scored"] = "False"
    predictions.loc[chosen, [c for c in BLANK_WHEN_UNSCORED if c in predictions]] = ""
    predictions.loc[chosen, "risk_tier"] = "Unscored"
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "with-unscored"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def test_unscored_deals_stay_out_of_the_headlines_until_included(unscored_env: Path) -> None:
    predictions = pd.read_csv(unscored_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    scored = predictions[predictions["scored"]]
    unscored = predictions[~predictions["scored"]]
    assert len(unscored) == 6
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert _metric(at, "Open deals") == f"{len(scored):,}"
    assert _metric(at, "Open pipeline") == money(scored["deal_value"].sum())
    assert _metric(at, "Value at risk") == money(scored["value_at_risk"].sum())
    assert any("6 unscored deals" in c.value and "left out" in c.value for c in at.caption)
    at.sidebar.toggle(key="_w_filter_include_unscored").set_value(True).run()
    assert not at.exception
    assert _metric(at, "Open deals") == f"{len(predictions):,}"
    assert _metric(at, "Open pipeline") == money(predictions["deal_value"].sum())
    assert _metric(at, "Value at risk") == money(scored["value_at_risk"].sum())  # they add nothing to it
    assert any("6 unscored deals" in c.value and "add nothing" in c.value for c in at.caption)
    at.switch_page("views/risk_dashboard.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(predictions)
    live = table[~table["stale"]]  # the default sort: live deals first, blank values at risk last of them
    assert set(live["opportunity_id"].tail(6)) == set(unscored["opportunity_id"])
    assert "Unscored" in at.sidebar.multiselect(key="_w_filter_tiers").options
    at.sidebar.toggle(key="_w_filter_include_unscored").set_value(False).run()
    assert len(at.dataframe[0].value) == len(scored)
    assert "Unscored" not in at.sidebar.multiselect(key="_w_filter_tiers").options


def test_a_shared_deal_link_opens_with_the_filters_it_carries(app_env: Path) -> None:
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    live_east = predictions[(predictions["regional_office"] == "East") & ~predictions["stale"]]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_regions").select("East").run()
    at.sidebar.radio(key="_w_filter_stale").set_value("Exclude stale").run()
    at.switch_page("views/risk_dashboard.py").run()
    link = at.dataframe[0].value["link"].iloc[0]
    assert link == f"deal?deal={live_east.sort_values('value_at_risk').iloc[-1]['opportunity_id']}" + (
        "&region=East&stale=exclude"
    )
    # a new tab is a new session: only the link's query string comes along
    fresh = AppTest.from_file(MAIN, default_timeout=30)
    fresh.query_params = {"deal": link.split("deal=")[1].split("&")[0], "region": "East", "stale": "exclude"}
    fresh.run()
    assert not fresh.exception
    assert fresh.selectbox(key="_w_deal").value == link.split("deal=")[1].split("&")[0]
    assert fresh.sidebar.multiselect(key="_w_filter_regions").value == ["East"]
    assert fresh.sidebar.radio(key="_w_filter_stale").value == "Exclude stale"
    fresh.query_params = {}  # the navigation menu leaves the deal's URL behind
    fresh.switch_page("views/overview.py").run()
    assert _metric(fresh, "Open deals") == f"{len(live_east):,}"
    # a filter changed afterwards is not undone by the link the session was opened with
    fresh.sidebar.radio(key="_w_filter_stale").set_value("All deals").run()
    fresh.run()
    east = predictions[predictions["regional_office"] == "East"]
    assert _metric(fresh, "Open deals") == f"{len(east):,}"


def test_selecting_a_row_opens_the_deal_with_the_filters_kept(app_env: Path) -> None:
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_regions").select("West").run()
    at.switch_page("views/risk_dashboard.py").run()
    first = at.dataframe[0].value["opportunity_id"].iloc[0]
    at.session_state["risk_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # the selection switches to the drill-down
    assert not at.exception
    assert at.selectbox(key="_w_deal").value == first
    assert at.query_params == {"deal": first, "region": "West"}
    assert at.sidebar.multiselect(key="_w_filter_regions").value == ["West"]
    west = predictions[predictions["regional_office"] == "West"]
    picked = {option.split(" - ")[0] for option in at.selectbox(key="_w_deal").options}
    assert picked == set(west["opportunity_id"])  # the picker lists the filtered deals
    # a filter changed on the drill-down rewrites the filters its URL carries
    at.sidebar.multiselect(key="_w_filter_regions").select("East").run()
    assert at.query_params == {"deal": first, "region": ["West", "East"]}
