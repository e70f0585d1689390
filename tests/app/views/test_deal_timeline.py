"""AppTest of the Deal Drill-down's "How this deal got here" on a run with deal_timeline.csv: the pushes it
lists are the deal's ``close_date_pushes`` in the predictions, the chart marks them, the CSV download holds
the table's rows; a deal without history rows is said to have none, and a run without the file is named.

The fixture run is the session's history run (tests/app/conftest.py) with a deal_timeline.csv written here
to agree with its predictions (``fixture_timeline``), in a directory of links to the run's other files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.export import csv_bytes, parquet_bytes
from core.outputs import TIMELINE, TIMELINE_FILE, decimals, fast_file

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
CHANGE_CODES = ("close_pushed", "close_pulled", "stage_forward", "stage_back", "amount_up", "amount_down")


def fixture_timeline(predictions: pd.DataFrame, as_of: pd.Timestamp, stage_order: list[str]) -> pd.DataFrame:
    """deal_timeline rows that end in each deal's predicted state and push its close date
    ``close_date_pushes`` times by 15 days each (the history fixture's ``days_pushed``): 90 days before the
    as-of date the deal is one stage earlier (when it can be), in Pipeline when it is now Commit or Best Case,
    at 80% of its value (every fourth deal from the second) or 125% (from the fourth); the pushes follow 20
    days apart from 80 days before, the amount settles 50 days before, the stage 30, the category 10."""
    rows = []
    for k, deal in enumerate(predictions.itertuples(index=False)):
        stage, category = deal.stage, deal.forecast_category
        value, pushes = float(deal.deal_value), int(deal.close_date_pushes)
        close = pd.Timestamp(deal.rep_close_date)
        position = stage_order.index(stage)
        state = {
            "stage": stage_order[max(position - 1, 0)],
            "amount": round(value * {1: 0.8, 3: 1.25}.get(k % 4, 1.0), 2),
            "rep_close_date": close - pd.Timedelta(days=15 * pushes),
            "forecast_category": "Pipeline" if category in ("Commit", "Best Case") else category,
        }
        events = [(as_of - pd.Timedelta(days=80 - 20 * j), "rep_close_date", None) for j in range(pushes)]
        events += [
            (as_of - pd.Timedelta(days=50), "amount", value),
            (as_of - pd.Timedelta(days=30), "stage", stage),
            (as_of - pd.Timedelta(days=10), "forecast_category", category),
        ]
        rows.append(
            {"opportunity_id": deal.opportunity_id, "changed_at": as_of - pd.Timedelta(days=90), **state}
        )
        for day, field, new in events:
            new = state[field] + pd.Timedelta(days=15) if field == "rep_close_date" else new
            if new != state[field]:
                state = {**state, field: new}
                rows.append({"opportunity_id": deal.opportunity_id, "changed_at": day, **state})
    return pd.DataFrame(rows, columns=[c.name for c in TIMELINE])


def _run_with(source: Path, out: Path, timeline: pd.DataFrame | None) -> Path:
    """``source``'s files linked into ``out``, with ``timeline`` as deal_timeline.csv (none: no file)."""
    out.mkdir(parents=True)
    for path in source.iterdir():
        (out / path.name).symlink_to(path)
    if timeline is not None:
        (out / TIMELINE_FILE).write_bytes(csv_bytes(timeline, decimals(TIMELINE)))
        (out / fast_file(TIMELINE_FILE)).write_bytes(parquet_bytes(timeline, decimals(TIMELINE)))
    return out


def _predictions(out: Path) -> pd.DataFrame:
    """The run's predictions, text kept as text."""
    return pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def timeline_outputs(history_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history fixture run with a deal_timeline.csv that agrees with its predictions."""
    metadata = json.loads((history_outputs / "predictions_metadata.json").read_text())
    timeline = fixture_timeline(
        _predictions(history_outputs), pd.Timestamp(metadata["as_of"]), metadata["stage_order"]
    )
    return _run_with(history_outputs, tmp_path_factory.mktemp("timeline_run") / "out", timeline)


def _open(deal_id: str) -> AppTest:
    """The drill-down opened from a shared link ``/?deal=<id>``."""
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["deal"] = deal_id
    return at.run()


def _chart_traces(at: AppTest) -> dict[str, dict]:
    """The timeline chart's traces by name (the drill-down's other charts have unnamed traces)."""
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {trace["name"]: trace for figure in figures for trace in figure["data"] if trace.get("name")}


def test_the_pushes_listed_are_the_deals_own_and_the_csv_holds_the_table(
    timeline_outputs: Path, monkeypatch: pytest.MonkeyPatch, csv_downloads
) -> None:
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(timeline_outputs))
    predictions = _predictions(timeline_outputs)
    deal = predictions[predictions["close_date_pushes"].eq("2") & predictions["stale"].eq("False")].iloc[1]
    at = _open(deal["opportunity_id"])
    assert not at.exception
    table = next(d.value for d in at.dataframe if "what_changed" in d.value.columns)
    pushed = table[table["what_changed"].str.startswith("close date pushed")]
    assert len(pushed) == int(deal["close_date_pushes"]) == 2
    rows = pd.read_csv(timeline_outputs / TIMELINE_FILE, dtype=str)
    close = pd.to_datetime(rows.loc[rows["opportunity_id"] == deal["opportunity_id"], "rep_close_date"])
    first, last = close.iloc[0], close.iloc[-1]
    assert last == pd.Timestamp(deal["rep_close_date"])
    assert pushed["what_changed"].iloc[0] == (
        f"close date pushed from {first.day} {first:%b %Y} to {(first + pd.Timedelta(days=15)).day} "
        f"{first + pd.Timedelta(days=15):%b %Y} (+15 days)"
    )
    summary = next(c.value for c in at.caption if c.value.startswith("Since"))
    assert "close date pushed twice, 30 days in all" in summary.replace("\\", "")
    assert not [w for w in at.warning if "disagree" in w.value]  # the files agree
    assert len(_chart_traces(at)["Close date pushed (2)"]["x"]) == 2
    shown = " ".join(table["what_changed"])
    assert not [code for code in CHANGE_CODES if code in shown]  # words on the page, codes in the CSV
    as_of = json.loads((timeline_outputs / "predictions_metadata.json").read_text())["as_of"]
    exported = csv_downloads(at)[f"deal_timeline_{deal['opportunity_id']}_{as_of}.csv"]
    assert exported["what_changed"].tolist() == table["what_changed"].tolist()
    assert exported.loc[exported["change"] == "close_pushed", "days_moved"].astype(int).sum() == int(
        deal["days_pushed"]
    )


def test_fixture_timeline_agrees_with_every_deals_push_count(timeline_outputs: Path) -> None:
    rows = pd.read_csv(timeline_outputs / TIMELINE_FILE, parse_dates=["rep_close_date"])
    moved = rows.groupby("opportunity_id")["rep_close_date"].diff().dt.days
    counted = (moved > 0).groupby(rows["opportunity_id"]).sum()
    predictions = _predictions(timeline_outputs).set_index("opportunity_id")
    assert np.array_equal(counted.sort_index(), predictions["close_date_pushes"].astype(int).sort_index())


def test_a_deal_without_history_rows_is_said_to_have_none(
    fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _run_with(fixture_outputs, tmp_path / "out", None)
    (out / TIMELINE_FILE).write_text(",".join(c.name for c in TIMELINE) + "\n")  # as from MavenTech
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _open(_predictions(out)["opportunity_id"].iloc[0])
    assert not at.exception
    assert any(i.value.startswith("The CRM export holds no field history for this deal") for i in at.info)
    assert "Stage" not in _chart_traces(at)  # no empty chart
    assert not any("what_changed" in d.value.columns for d in at.dataframe)


def test_a_run_without_the_file_names_it_and_its_command(app_env: Path) -> None:
    at = _open(_predictions(app_env)["opportunity_id"].iloc[0])
    assert not at.exception
    assert any(i.value.startswith("The deal's change history is not in this run.") for i in at.info)
