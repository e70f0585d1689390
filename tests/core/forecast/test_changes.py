"""What changed between two dates: the waterfall adds up to the cent and its new, won and lost deals are the
ones the export's own dates say, with or without a field history; a history adds amount, push and stage
moves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import read_crm
from core.data.synthetic import generate_crm
from core.data.synthetic_history import synthetic_history
from core.forecast.changes import open_pipeline, pipeline_changes
from models.generate import write_crm


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    crm = generate_crm(n_deals=2500, seed=17)
    plain, historied = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("historied")
    write_crm(crm, plain)
    write_crm(crm, historied)
    history, pipeline = synthetic_history(crm, seed=17)
    pipeline.to_csv(historied / "sales_pipeline.csv", index=False)
    history.to_csv(historied / "deal_history.csv", index=False)
    return {"plain": plain, "historied": historied}


def _by_hand(folder: Path, then: pd.Timestamp, now: pd.Timestamp) -> dict[str, set[str]]:
    """New, won and lost deals from the pipeline file's own dates (engaged deals only)."""
    raw = pd.read_csv(folder / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    engaged = pd.to_datetime(raw["engage_date"].replace("", None))
    closed = pd.to_datetime(raw["close_date"].replace("", None))
    open_then = (engaged <= then) & ~(closed <= then)
    open_now = (engaged <= now) & ~(closed <= now)
    came = (engaged > then) & (engaged <= now)
    ended = (closed > then) & (closed <= now) & (open_then | came)
    ids = raw["opportunity_id"]
    return {
        "new": set(ids[came & (open_now | ended)]),
        "won": set(ids[ended & raw["deal_stage"].eq("Won")]),
        "lost": set(ids[ended & raw["deal_stage"].eq("Lost")]),
    }


@pytest.mark.parametrize("kind", ["plain", "historied"])
@pytest.mark.parametrize("days", [7, 30, 91])
def test_the_waterfall_adds_up_to_the_cent_and_counts_what_the_dates_say(exports, kind, days) -> None:
    full = read_crm(exports[kind])
    now = full.as_of - pd.Timedelta(days=3)
    then = now - pd.Timedelta(days=days)
    found = pipeline_changes(full, then, now)
    changes = found.rows
    before, after = open_pipeline(full, then, now), open_pipeline(full, now, now)
    assert (found.open_before, found.open_after) == (before, after)  # the ends it reports, computed apart
    assert round(before + changes["value_change"].sum(), 2) == pytest.approx(after, abs=0.005)
    expected = _by_hand(exports[kind], then, now)
    for change in ("new", "won", "lost"):
        assert set(changes.loc[changes["change_type"].eq(change), "opportunity_id"]) == expected[change]
    moves = set(changes["change_type"])
    if kind == "plain":  # without a history nothing moves between the ends but deals coming and going
        assert moves <= {"new", "won", "lost"}
    else:
        assert {"stage_forward", "amount_up"} <= moves or days == 7


def test_a_history_shows_pushes_and_stage_moves_with_their_dates(exports) -> None:
    full = read_crm(exports["historied"])
    now = pd.Timestamp("2026-06-25")  # close to a quarter's end: close dates get pushed past it
    changes = pipeline_changes(full, now - pd.Timedelta(days=45), now).rows
    forward = changes[changes["change_type"].eq("stage_forward")]
    assert len(forward) > 10 and forward["detail"].str.contains(" -> ").all()
    assert (forward["value_change"] == 0).all()
    pushed = changes[changes["change_type"].eq("pushed_out")]
    assert len(pushed) > 10 and (pushed["value_change"] == 0).all()
    assert pushed["detail"].str.match(r"close date \d{4}-\d{2}-\d{2} -> \d{4}-\d{2}-\d{2}").all()
