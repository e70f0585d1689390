"""AppTest of the Attention Plan page: with the batch step's hours its numbers are attention_plan.csv's
(the value in play covered is the sum of the file's objective, each manager's deals the file's rows), the
top-of-list approach is the metadata's; more hours typed for a manager re-plan through
core.diagnostics.attention and never cover less; a manager filter shows that manager's plan and CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money
from core.diagnostics.attention import attention_plan
from core.export import csv_bytes, parquet_bytes
from core.outputs import METADATA_FILE, PREDICTIONS, PREDICTIONS_FILE, decimals, fast_file
from tests.app.views.conftest import add_diagnostics

money = Money("USD")  # the fixture runs are in USD
MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def _page() -> AppTest:
    """The app, switched to the Attention Plan."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/attention_plan.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _files(out: Path) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """attention_plan.csv, the metadata's attention_plan and the predictions, read here."""
    plan = pd.read_csv(out / "attention_plan.csv", dtype={"opportunity_id": str})
    metadata = json.loads((out / "predictions_metadata.json").read_text())["attention_plan"]
    predictions = pd.read_parquet(out / "latest_predictions.parquet")
    return plan, metadata, predictions


def _metrics(at: AppTest) -> dict[str, str]:
    """Label -> value of every metric on the page."""
    return {m.label: m.value for m in at.metric}


def test_with_the_batch_hours_the_page_shows_the_files_plan(diagnostics_env: Path, csv_downloads) -> None:
    plan, recorded, _ = _files(diagnostics_env)
    at = _page()
    shown = _metrics(at)
    assert shown["Value in play covered"] == money(plan["objective"].sum())
    assert shown["Top-of-list approach"] == money(recorded["greedy_objective"])
    assert shown["Deals to review"] == f"{len(plan):,}"
    hours = sum(recorded["capacity_hours"].values())
    assert shown["Hours used"] == f"{plan['hours'].sum():,.4g} of {hours:,.4g}"
    sentence = next(m.value for m in at.markdown if "the plan reviews" in m.value).replace("\\", "")
    assert f"covering {money(plan['objective'].sum())} of value in play this quarter" in sentence
    per_manager = next(d.value for d in at.dataframe if "greedy_objective" in d.value.columns)
    by_file = plan.groupby("manager")["objective"].sum()
    for row in per_manager.itertuples():
        assert row.objective == round(by_file.get(row.manager, 0.0))
        assert row.capacity_hours == recorded["capacity_hours"].get(row.manager, 6.0)
    deals = {d.value["opportunity_id"].iloc[0]: d.value for d in at.dataframe if "opportunity_id" in d.value}
    listed = pd.concat(deals.values())
    assert sorted(listed["opportunity_id"]) == sorted(plan["opportunity_id"])
    exported = next(iter(csv_downloads(at).values()))
    merged = exported.merge(plan, on=["manager", "opportunity_id"], suffixes=("", "_file"))
    assert len(merged) == len(plan) == len(exported)
    assert merged["objective"].tolist() == pytest.approx(merged["objective_file"].tolist(), abs=0.005)


def test_more_hours_never_cover_less_and_match_core(diagnostics_env: Path) -> None:
    plan, recorded, predictions = _files(diagnostics_env)
    manager = min(recorded["capacity_hours"], key=lambda m: (recorded["capacity_hours"][m] == 0, m))
    before = plan.loc[plan["manager"].eq(manager), "objective"].sum()
    at = _page()
    at.sidebar.multiselect(key="_w_filter_managers").select(manager).run()
    assert _metrics(at)["Value in play covered"] == money(before)
    covered = before
    for extra in (1.0, 3.0, 10.0):
        hours = recorded["capacity_hours"][manager] + extra
        at.number_input(key=f"_w_attention_hours_{manager}").set_value(hours).run()
        assert not at.exception
        direct = attention_plan(predictions[predictions["manager"].eq(manager)], {manager: hours})
        expected = float(direct.managers["objective"].sum())
        assert _metrics(at)["Value in play covered"] == money(expected)
        assert _metrics(at)["Top-of-list approach"] == money(direct.managers["greedy_objective"].sum())
        assert expected >= covered - 1e-6
        covered = expected
    assert any("Re-planned here with the hours typed for" in c.value for c in at.caption)
    at.button[0].click().run()  # back to the planned hours: the file's plan again
    assert _metrics(at)["Value in play covered"] == money(before)


def test_a_run_without_the_plan_says_which_command_writes_it(
    fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert at.info[0].value.startswith("This week's attention plan (attention_plan.csv) is not in this run")


def test_a_quarter_no_deal_can_still_be_won_in_says_why_the_plan_is_empty(
    fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An as-of date on its quarter's last day (MavenTech's 2017-12-31) leaves every live deal no chance
    this quarter: the batch plan is empty, and the page says that is why rather than showing $0 bare."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    predictions = pd.read_parquet(out / fast_file(PREDICTIONS_FILE))
    predictions["p_close_in_quarter"] = predictions["p_close_in_quarter"].where(
        predictions["p_close_in_quarter"].isna(), 0.0
    )
    (out / fast_file(PREDICTIONS_FILE)).write_bytes(parquet_bytes(predictions, decimals(PREDICTIONS)))
    (out / PREDICTIONS_FILE).write_bytes(csv_bytes(predictions, decimals(PREDICTIONS)))
    metadata = json.loads((out / METADATA_FILE).read_text())
    (out / METADATA_FILE).write_text(json.dumps({**metadata, "run_id": f"{metadata['run_id']}-quarter-over"}))
    add_diagnostics(out)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert _metrics(at)["Deals to review"] == "0"
    as_of = pd.Timestamp(metadata["as_of"])
    note = next(i.value for i in at.info if "can still be won" in i.value)
    assert f"Q{as_of.quarter} {as_of.year}, the quarter of the as-of date ({as_of:%Y-%m-%d})" in note
    assert "the plan is empty" in note


def test_a_plan_for_the_next_quarter_does_not_say_the_as_of_quarter_is_over(
    fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch step that planned on the next quarter (metadata ``chance``) is not told its plan is empty."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    predictions = pd.read_parquet(out / fast_file(PREDICTIONS_FILE))
    predictions["p_close_in_quarter"] = predictions["p_close_in_quarter"].where(
        predictions["p_close_in_quarter"].isna(), 0.0
    )
    (out / fast_file(PREDICTIONS_FILE)).write_bytes(parquet_bytes(predictions, decimals(PREDICTIONS)))
    (out / PREDICTIONS_FILE).write_bytes(csv_bytes(predictions, decimals(PREDICTIONS)))
    add_diagnostics(out)
    metadata = json.loads((out / METADATA_FILE).read_text())
    metadata["attention_plan"]["chance"] = "p_close_next_quarter"
    (out / METADATA_FILE).write_text(json.dumps({**metadata, "run_id": f"{metadata['run_id']}-next"}))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert not any("can still be won" in i.value for i in at.info)
    # a re-plan keeps the batch step's quarter: the next one, where these deals can still be won
    manager = sorted(metadata["attention_plan"]["capacity_hours"])[0]
    at.sidebar.multiselect(key="_w_filter_managers").select(manager).run()
    at.number_input(key=f"_w_attention_hours_{manager}").set_value(4.0).run()
    mine = predictions[predictions["manager"].eq(manager)]
    direct = attention_plan(mine, {manager: 4.0}, "p_close_next_quarter").managers["objective"].sum()
    assert direct > 0 and _metrics(at)["Value in play covered"] == money(direct)
    sentence = next(m.value for m in at.markdown if "the plan reviews" in m.value).replace("\\", "")
    assert "of value in play next quarter" in sentence
