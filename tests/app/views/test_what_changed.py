"""AppTest of the What Changed page: the waterfall from the open pipeline at the compare date to the open
pipeline now adds up to the figures computed here from the fixture CSVs, for the whole pipeline and for a
region; the deals behind each step, the close-date and stage moves, the CSV export, and what a run without a
history or without the file shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money

money = Money("USD")  # the fixture runs are in USD

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
VALUE_TYPES = ("new", "won", "lost", "amount_up", "amount_down")


def _page() -> AppTest:
    """The app, switched to What Changed."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/what_changed.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _files(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The run's predictions, changes and metadata, read here independently of the app."""
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype={"opportunity_id": str})
    changes = pd.read_csv(out / "pipeline_changes.csv", dtype={"opportunity_id": str}, keep_default_na=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    return predictions, changes, metadata


def _metrics(at: AppTest) -> dict[str, str]:
    """Label -> value of every metric on the page."""
    return {m.label: m.value for m in at.metric}


def test_waterfall_adds_up_from_then_to_now(history_env: Path) -> None:
    predictions, changes, metadata = _files(history_env)
    now = predictions["deal_value"].sum()
    by_type = changes.groupby("change_type")["value_change"].sum()
    then = now - by_type.loc[list(VALUE_TYPES)].sum()
    compare_to = metadata["changes"]["compare_to"]
    assert round(then, 2) == metadata["changes"]["open_pipeline_before"]  # the fixture agrees with itself
    at = _page()
    shown = _metrics(at)
    assert shown[f"Open pipeline on {compare_to}"] == money(then)
    assert shown["Open pipeline now"] == money(now)
    assert shown["Change"] == f"-{money(then - now)}"
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["measure"] == ["absolute", *["relative"] * 5, "total"]
    assert bars["y"] == [round(then, 2), *(round(by_type[k], 2) for k in VALUE_TYPES), round(now, 2)]
    # the Overview shows the same open pipeline
    at.switch_page("views/overview.py").run()
    assert _metrics(at)["Open pipeline"] == money(now)


def test_each_step_lists_its_deals_and_the_moves_have_their_own_tables(history_env: Path) -> None:
    _, changes, _ = _files(history_env)
    at = _page()
    new = changes[changes["change_type"] == "new"]
    expander = next(e for e in at.expander if e.label.replace("\\", "").startswith("New deals:"))
    assert expander.label.replace("\\", "") == (
        f"New deals: {len(new)} deals, +{money(new['value_change'].sum())}"
    )
    listed = expander.dataframe[0].value
    assert sorted(listed["opportunity_id"]) == sorted(new["opportunity_id"])
    assert listed["value_change"].is_monotonic_decreasing  # largest first
    tables = {str(h.value): None for h in at.subheader}
    assert "Close dates moved across the end of Q3 2026" in tables
    moved = next(
        d.value
        for d in at.dataframe
        if "detail" in d.value.columns and "pushed" in " ".join(d.value["change"])
    )
    pushed = changes[changes["change_type"].isin(["pushed_out", "pulled_in"])]
    assert sorted(moved["detail"]) == sorted(pushed["detail"])
    stages = changes[changes["change_type"].isin(["stage_forward", "stage_back"])]
    staged = next(d.value for d in at.dataframe if "Moved back a stage" in set(d.value["change"]))
    assert len(staged) == len(stages)


def test_a_region_starts_from_its_own_then_and_ends_at_its_overview_figure(history_env: Path) -> None:
    predictions, changes, metadata = _files(history_env)
    region = sorted(predictions["regional_office"].unique())[0]
    now = predictions.loc[predictions["regional_office"] == region, "deal_value"].sum()
    mine = changes[(changes["regional_office"] == region) & changes["change_type"].isin(VALUE_TYPES)]
    then = now - mine["value_change"].sum()
    at = _page()
    at.sidebar.multiselect(key="_w_filter_regions").select(region).run()
    shown = _metrics(at)
    assert shown[f"Open pipeline on {metadata['changes']['compare_to']}"] == money(then)
    assert shown["Open pipeline now"] == money(now)
    at.switch_page("views/overview.py").run()
    assert _metrics(at)["Open pipeline"] == money(now)


def test_csv_export_holds_the_views_rows(history_env: Path, csv_downloads) -> None:
    predictions, changes, _ = _files(history_env)
    region = sorted(predictions["regional_office"].unique())[-1]
    at = _page()
    at.sidebar.multiselect(key="_w_filter_regions").select(region)
    exported = next(iter(csv_downloads(at).values()))
    mine = changes[changes["regional_office"] == region]
    assert len(exported) == len(mine)
    assert sorted(exported["opportunity_id"]) == sorted(mine["opportunity_id"])
    assert set(exported["change_type"]) <= set(changes["change_type"])  # the codes, as the batch step wrote
    assert exported["value_change"].sum() == mine["value_change"].sum()


def test_without_a_history_only_new_won_and_lost_move_and_the_page_says_why(app_env: Path) -> None:
    _, changes, metadata = _files(app_env)
    at = _page()
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert len(bars["y"]) == 5  # then, new, won, lost, now
    captions = " ".join(c.value.replace("\\", "") for c in at.caption)
    assert "So only new, won and lost deals move the pipeline here" in captions
    assert metadata["changes"]["source"] in captions
    assert not [h for h in at.subheader if "Stage moves" in h.value]
    analysts = next(e for e in at.expander if e.label == "For analysts: rerun with another compare date")
    command = analysts.code[0].value  # a shell command is kept out of the leader's view
    assert command.endswith("--compare-to YYYY-MM-DD")
    assert f"--as-of {metadata['as_of']}" in command and f"--out-dir {app_env}" in command


def test_a_run_without_the_file_says_which_command_writes_it(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    (out / "pipeline_changes.csv").unlink()
    (out / "pipeline_changes.parquet").unlink()
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata.update(run_id="no-changes", changes={})
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert at.info[0].value.startswith(
        "What changed since the compare date (pipeline_changes.csv) is not in this run"
    )
    assert at.code[0].value == f"python models/inference/predict.py --out-dir {out}"
    assert not at.get("plotly_chart")
