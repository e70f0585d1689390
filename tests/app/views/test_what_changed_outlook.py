"""AppTest of What Changed's quarter outlook (metadata ``changes.quarter``): the move shown is now.p50 -
then.p50 from the metadata beside the model's own middle estimate from forecast.csv (no chance of a target:
the replay's levels are not the model's), a segment filter leaves the whole team's figures, and a side
that could not be replayed or an older run without the outlook still renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money

money = Money("USD")  # the fixture runs are in USD
MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
Q = np.round(np.arange(1, 100) / 100, 2)
MOVE_LABEL = "Move since {} (like for like)"


def _side(as_of: str, p50: float) -> dict:
    """One replayed side as the batch step writes it: P10/P50/P90 and a grid linear from 0.8 to 1.2 x P50."""
    revenue = np.round(p50 * (0.8 + 0.4 * Q), 2)
    return {
        "as_of": as_of,
        "expected": p50,
        "p10": float(revenue[9]),
        "p50": p50,
        "p90": float(revenue[89]),
        "grid": {"q": Q.tolist(), "revenue": revenue.tolist()},
    }


def _with_outlook(source: Path, out: Path, then_p50: float | None, now_p50: float | None) -> Path:
    """A copy of the fixture run whose metadata holds the quarter's outlook (a side None when not given)."""
    shutil.copytree(source, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    as_of, compare_to = metadata["as_of"], metadata["changes"]["compare_to"]
    metadata["changes"]["quarter"] = {
        "period_start": f"{pd.Timestamp(as_of).to_period('Q').start_time:%Y-%m-%d}",
        "method": "replayed the same way at both dates (test)",
        "then": None if then_p50 is None else _side(compare_to, then_p50),
        "now": None if now_p50 is None else _side(as_of, now_p50),
    }
    metadata["run_id"] = f"{metadata['run_id']}-{out.name}"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    return out


@pytest.fixture(scope="module")
def outlook_run(history_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history fixture run with both sides replayed: the outlook rose by 123,456.78."""
    return _with_outlook(
        history_outputs, tmp_path_factory.mktemp("outlook") / "out", 1_000_000.0, 1_123_456.78
    )


def _page(out: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """What Changed on the run in ``out``."""
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.run()
    at.switch_page("views/what_changed.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    """The page's markdown and captions, unescaped."""
    return " ".join(e.value.replace("\\", "") for e in [*at.markdown, *at.caption])


def _whole_team_quarter(out: Path, metadata: dict) -> tuple[pd.Timestamp, float]:
    """The as-of quarter's start and the model's middle estimate of its whole quarter (forecast.csv)."""
    start = pd.Timestamp(metadata["changes"]["quarter"]["period_start"])
    forecast = pd.read_csv(out / "forecast.csv", parse_dates=["period_start"])
    row = forecast[
        forecast["period_type"].eq("quarter")
        & forecast["segment_type"].eq("all")
        & forecast["period_start"].eq(start)
    ]
    return start, float(row["total_p50"].iloc[0])


def test_the_move_shown_is_now_minus_then_beside_the_models_middle_estimate(
    outlook_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata = json.loads((outlook_run / "predictions_metadata.json").read_text())
    quarter = metadata["changes"]["quarter"]
    compare_to = metadata["changes"]["compare_to"]
    move = quarter["now"]["p50"] - quarter["then"]["p50"]
    start, model_p50 = _whole_team_quarter(outlook_run, metadata)
    at = _page(outlook_run, monkeypatch)
    shown = {m.label: m.value for m in at.metric}
    assert shown[MOVE_LABEL.format(compare_to)] == f"+{money(move)}" == "+$123,457"
    assert shown["Whole quarter: middle estimate now"] == money.same_unit(model_p50)[0]
    label = f"Q{start.quarter} {start.year}"
    assert f"The outlook for {label}" in [h.value for h in at.subheader]
    text = _text(at)
    assert f"Since {compare_to} the outlook for {label} rose by {money(move)} (like for like" in text
    assert f"{money.same_unit(model_p50)[0]} is the model's own forecast" in text
    assert "target" not in text  # the replay's chances would contradict the Forecast page's


def test_a_segment_filter_keeps_the_whole_teams_outlook_and_says_so(
    outlook_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata = json.loads((outlook_run / "predictions_metadata.json").read_text())
    region = sorted(pd.read_csv(outlook_run / "latest_predictions.csv")["regional_office"].unique())[0]
    at = _page(outlook_run, monkeypatch)
    at.sidebar.multiselect(key="_w_filter_regions").select(region).run()
    shown = {m.label: m.value for m in at.metric}
    assert shown[MOVE_LABEL.format(metadata["changes"]["compare_to"])] == "+$123,457"
    assert (
        "For the whole team: the batch step replays the quarter's outlook for the whole team only"
        in _text(at)
    )


def test_no_replay_at_the_compare_date_and_an_older_run_still_render(
    history_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _with_outlook(history_outputs, tmp_path / "half", None, 1_123_456.78)
    compare_to = json.loads((out / "predictions_metadata.json").read_text())["changes"]["compare_to"]
    at = _page(out, monkeypatch)
    assert {m.label: m.value for m in at.metric}[MOVE_LABEL.format(compare_to)] == "n/a"
    text = _text(at)
    assert f"on {compare_to} there was too little history to replay the quarter's forecast" in text
    at = _page(history_outputs, monkeypatch)  # written before the batch step replayed the quarter
    assert not [h for h in at.subheader if h.value.startswith("The outlook for")]
    assert not [m for m in at.metric if m.label.startswith("Move since")]
