"""Unit tests of app/services/changes.py on tiny frames: the waterfall adds up from then to now, the
segment filters, the order of a step's deals and the sentence."""

from __future__ import annotations

import pandas as pd

from app.components.format import Money
from app.filters import DealFilters
from app.services import changes

CHANGES = pd.DataFrame(
    {
        "opportunity_id": ["A", "B", "C", "D", "E"],
        "change_type": ["new", "won", "lost", "amount_up", "pushed_out"],
        "value_before": [0.0, 500.0, 300.0, 100.0, 700.0],
        "value_after": [1000.0, 0.0, 0.0, 150.0, 700.0],
        "value_change": [1000.0, -500.0, -300.0, 50.0, 0.0],
        "detail": ["", "", "", "", "close date 2026-09-10 -> 2026-10-10"],
        "sales_agent": ["Ann", "Bob", "Ann", "Bob", "Ann"],
        "manager": ["M1", "M2", "M1", "M2", "M1"],
        "regional_office": ["West", "East", "West", "East", "West"],
        "product": ["P", "P", "Q", "Q", "P"],
    }
)
DEALS = pd.DataFrame(
    {
        "opportunity_id": ["A", "D", "E", "F"],
        "sales_agent": ["Ann", "Bob", "Ann", "Bob"],
        "manager": ["M1", "M2", "M1", "M2"],
        "regional_office": ["West", "East", "West", "East"],
        "product": ["P", "Q", "P", "Q"],
        "sector": ["s"] * 4,
        "risk_tier": ["High", "Low", "High", "Unscored"],
        "stale": [False, False, True, False],
        "scored": [True, True, True, False],
        "deal_value": [1000.0, 150.0, 700.0, 99.0],
    }
)


def test_the_waterfall_adds_up_from_then_to_now() -> None:
    now = changes.pipeline_now(DEALS, DealFilters())
    assert now == 1850.0  # scored deals only, stale ones included
    move = changes.pipeline_move(CHANGES, now, with_amounts=True)
    assert move.then == 1850.0 - (1000 - 500 - 300 + 50)
    assert move.steps["value_change"].tolist() == [1000.0, -500.0, -300.0, 50.0, 0.0]
    steps = changes.waterfall_steps(move, "2026-08-07")
    assert steps["value"].tolist() == [move.then, 1000.0, -500.0, -300.0, 50.0, 0.0, 1850.0]
    assert steps["measure"].tolist() == ["absolute", *["relative"] * 5, "total"]


def test_without_a_history_there_are_no_amount_steps() -> None:
    move = changes.pipeline_move(CHANGES[CHANGES["change_type"].isin(["new", "won", "lost"])], 0.0, False)
    assert move.steps["change_type"].tolist() == ["new", "won", "lost"]


def test_a_segment_starts_from_its_own_then() -> None:
    west = DealFilters(regions=("West",), tiers=("High",), stale="Exclude stale")
    shown = changes.filter_changes(CHANGES, west)
    assert shown["opportunity_id"].tolist() == ["A", "C", "E"]
    now = changes.pipeline_now(DEALS, west)  # the tier and stale choices do not apply
    assert now == 1700.0
    assert changes.pipeline_move(shown, now, True).then == 1700.0 - 700.0
    assert changes.ignored_filters(west) == ["risk tier", "stale deals"]


def test_a_steps_deals_largest_first_in_words() -> None:
    rows = changes.deals_of(CHANGES, ("won", "lost", "pushed_out"))
    assert rows["opportunity_id"].tolist() == ["E", "B", "C"]
    assert rows["change"].tolist() == ["Close date pushed past the quarter end", "Won", "Lost"]


def test_the_sentence_says_the_move_and_its_parts() -> None:
    move = changes.pipeline_move(CHANGES, 1850.0, with_amounts=True)
    assert changes.summary_sentence(move, "2026-08-07", Money("EUR")) == (
        "Since 2026-08-07 the open pipeline grew by €250, from €1,600 to €1,850: 1 new deal added (€1,000); "
        "1 deal won (€500); 1 deal lost (€300); amounts changed on 1 deal (+€50 net)."
    )


def test_a_field_history_is_seen_in_the_deals_facts_or_in_the_changes() -> None:
    only_dates = CHANGES[CHANGES["change_type"].isin(["new", "won", "lost"])]
    assert not changes.has_field_history(DEALS, only_dates)
    assert changes.has_field_history(DEALS, CHANGES)  # an amount moved: only a history shows that
    stage_dates = DEALS.assign(days_in_stage=[3.0, None, None, None], close_date_pushes=None)
    assert changes.has_field_history(stage_dates, only_dates)  # stage dates without close dates
