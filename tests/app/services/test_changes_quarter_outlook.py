"""Unit tests of the quarter's outlook in app/services/changes.py on hand-made metadata (the batch step's
``changes.quarter``): the like-for-like move and its sentence, a side that could not be replayed, an older run
without it, a malformed one, and the chance of a target read off each side's grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.components.format import Money
from app.services import changes

Q = np.round(np.arange(1, 100) / 100, 2).tolist()
DATES = ("2026-08-07", "2026-08-14")


def _side(as_of: str, p50: float, shift: float = 0.0) -> dict:
    """One replayed side: revenue = q x 1,000,000 + ``shift`` on the grid, so P(revenue >= t) is known by
    hand."""
    return {
        "as_of": as_of,
        "expected": p50,
        "p10": p50 - 100.0,
        "p50": p50,
        "p90": p50 + 100.0,
        "grid": {"q": Q, "revenue": [round(q * 1_000_000 + shift, 2) for q in Q]},
    }


def _recorded(then: dict | None, now: dict | None) -> dict:
    """Metadata ``changes`` with the quarter's outlook (the other keys as the batch step writes them)."""
    quarter = {"period_start": "2026-07-01", "method": "replayed", "then": then, "now": now}
    return {"compare_to": DATES[0], "by_type": {}, "quarter": quarter}


def test_the_move_is_now_minus_then_and_reads_in_one_sentence() -> None:
    move = changes.quarter_outlook_move(
        _recorded(_side(DATES[0], 2_119_781.26), _side(DATES[1], 2_360_803.10))
    )
    assert move is not None
    assert move.period_start == pd.Timestamp("2026-07-01") and move.quarter == "Q3 2026"
    assert move.change == 241_021.84
    assert changes.quarter_move_sentence(move, *DATES, Money("USD")) == (
        "Since 2026-08-07 the outlook for Q3 2026 rose by $241,022 (like for like: the quarter's forecast "
        "replayed the same way at both dates)."
    )
    assert changes.signed(Money("USD"), move.change) == "+$241,022"


def test_a_fall_and_no_move_read_as_such() -> None:
    fell = changes.quarter_outlook_move(_recorded(_side(DATES[0], 1_500.0), _side(DATES[1], 1_250.0)))
    assert changes.quarter_move_sentence(fell, *DATES, Money("EUR")).startswith(
        "Since 2026-08-07 the outlook for Q3 2026 fell by €250 (like for like"
    )
    assert changes.signed(Money("EUR"), fell.change) == "-€250"
    flat = changes.quarter_outlook_move(_recorded(_side(DATES[0], 900.0), _side(DATES[1], 900.0)))
    assert flat.change == 0.0
    assert "Q3 2026 did not move (like for like" in changes.quarter_move_sentence(flat, *DATES, Money("EUR"))


@pytest.mark.parametrize(
    ("then", "now", "missing"),
    [
        (None, _side(DATES[1], 1_000.0), "2026-08-07"),
        (_side(DATES[0], 1_000.0), None, "2026-08-14"),
        (None, None, "2026-08-07 and 2026-08-14"),
    ],
)
def test_a_side_that_could_not_be_replayed_means_no_move(
    then: dict | None, now: dict | None, missing: str
) -> None:
    move = changes.quarter_outlook_move(_recorded(then, now))
    assert move.change is None
    assert changes.quarter_move_sentence(move, *DATES, Money("USD")) == (
        f"No move to show for Q3 2026's outlook: on {missing} there was too little history to replay the "
        "quarter's forecast."
    )


def test_an_older_run_has_no_outlook_and_a_broken_one_says_what_is_wrong() -> None:
    assert changes.quarter_outlook_move({"compare_to": DATES[0], "by_type": {}}) is None
    assert changes.quarter_outlook_move({}) is None
    broken = _recorded(_side(DATES[0], 1.0), {"as_of": DATES[1], "expected": 1.0})
    with pytest.raises(ValueError, match=r"^changes.quarter.now has no p50$"):
        changes.quarter_outlook_move(broken)
    uneven = _recorded(_side(DATES[0], 1.0), {**_side(DATES[1], 1.0), "grid": {"q": Q, "revenue": [1.0]}})
    with pytest.raises(ValueError, match=r"^changes.quarter.now.grid has 99 q values for 1 revenues$"):
        changes.quarter_outlook_move(uneven)
    with pytest.raises(ValueError, match=r"^changes.quarter has no period_start$"):
        changes.quarter_outlook_move({"quarter": {"then": None, "now": None}})


def test_the_models_own_figures_are_the_whole_teams_quarter_row() -> None:
    start = pd.Timestamp("2026-07-01")
    forecast = pd.DataFrame(
        {
            "period_type": ["quarter", "quarter", "quarter", "month"],
            "period_start": [start, start, pd.Timestamp("2026-10-01"), start],
            "segment_type": ["all", "regional_office", "all", "all"],
            "total_p50": [2_103_813.81, 900_000.0, 2_269_098.12, 700_000.0],
        }
    )
    assert changes.model_quarter(forecast, start) == 2_103_813.81
    assert changes.model_quarter(forecast, pd.Timestamp("2027-01-01")) is None
    assert changes.model_quarter(None, start) is None
