"""app.services.win_rates on tiny frames: which rows of the win-rate files a sidebar choice names (or why
none), segments ranked by the low end of their range, the parts of the change and the sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from app.filters import DealFilters
from app.services import win_rates as rates

PEOPLE = pd.DataFrame(
    {
        "regional_office": ["East", "East", "West"],
        "manager": ["Ann", "Ann", "Bo"],
        "sales_agent": ["Cy", "Di", "Ed"],
    }
)


def _rates() -> pd.DataFrame:
    """win_rates rows: two quarters of the team, and the last quarter of three reps."""
    q1, q2 = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")
    rows = [
        ("all", "All", q1, 100, 50, 0.5, 0.42, 0.58, False),
        ("all", "All", q2, 204, 123, 0.603, 0.55, 0.66, True),
        ("sales_agent", "Cy", q2, 4, 3, 0.75, 0.35, 0.95, False),
        ("sales_agent", "Di", q2, 200, 120, 0.6, 0.54, 0.66, False),
        ("sales_agent", "Ed", q1, 10, 5, 0.5, 0.27, 0.73, False),
    ]
    columns = [
        "segment_type",
        "segment",
        "period_start",
        "closed",
        "won",
        "win_rate",
        "low",
        "high",
        "changed",
    ]
    return pd.DataFrame(rows, columns=columns)


def _change() -> pd.DataFrame:
    """win_rate_change rows of one manager type and its reps (shares of a 100-deal and a 200-deal quarter)."""
    before, after = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")
    rows = [
        ("manager", "Ann", 60, 30, 150, 90, 0.6, 0.75, 0.5, 0.6, 0.0825, 0.0675, 0.15),
        ("manager", "Bo", 40, 20, 50, 20, 0.4, 0.25, 0.5, 0.4, -0.0675, -0.0325, -0.1),
        ("sales_agent", "Cy", 20, 10, 50, 30, 0.2, 0.25, 0.5, 0.6, 0.0275, 0.0225, 0.05),
        ("sales_agent", "Di", 40, 20, 100, 60, 0.4, 0.5, 0.5, 0.6, 0.055, 0.045, 0.1),
        ("sales_agent", "Ed", 40, 20, 50, 20, 0.4, 0.25, 0.5, 0.4, -0.0675, -0.0325, -0.1),
    ]
    columns = [
        "segment_type",
        "segment",
        "closed_before",
        "won_before",
        "closed_after",
        "won_after",
        "share_before",
        "share_after",
        "rate_before",
        "rate_after",
        "mix_effect",
        "rate_effect",
        "total_change",
    ]
    return pd.DataFrame(rows, columns=columns).assign(period_before=before, period_after=after)


def test_scope_names_the_files_rows_or_says_why_there_are_none() -> None:
    assert rates.scope(DealFilters(), PEOPLE) == rates.Scope("all", ("All",))
    assert rates.scope(DealFilters(managers=("Ann",)), PEOPLE) == rates.Scope("manager", ("Ann",))
    # a region with its own manager is that manager; a rep outside the chosen region is no row at all
    assert rates.scope(DealFilters(regions=("East",), managers=("Ann",)), PEOPLE) == rates.Scope(
        "manager", ("Ann",)
    )
    assert rates.scope(DealFilters(regions=("East",), reps=("Cy", "Ed")), PEOPLE) == rates.Scope(
        "sales_agent", ("Cy",)
    )
    outside = rates.scope(DealFilters(regions=("West",), reps=("Cy",)), PEOPLE)
    assert outside.segments == () and outside.missing == "No rep chosen sits inside the chosen region."
    combined = rates.scope(DealFilters(managers=("Ann",), products=("GTX",)), PEOPLE)
    assert combined.missing is not None and "not combined (here manager, product)" in combined.missing


def test_breakdown_keeps_a_managers_reps_and_refuses_what_the_files_lack() -> None:
    ann = rates.Scope("manager", ("Ann",))
    assert rates.breakdown(ann, "sales_agent", PEOPLE) == rates.Breakdown(("Cy", "Di"))
    assert rates.breakdown(ann, "manager", PEOPLE) == rates.Breakdown(("Ann",))
    assert rates.breakdown(rates.Scope("all", ("All",)), "product", PEOPLE) == rates.Breakdown(None)
    product = rates.breakdown(ann, "product", PEOPLE)
    assert product.segments == () and product.missing.startswith(
        "The win-rate files hold product rates for the whole team, not within manager Ann."
    )


def test_segments_rank_by_the_low_end_of_their_range() -> None:
    latest = rates.latest_by_segment(_rates(), "sales_agent", None)
    assert list(latest["segment"]) == ["Di", "Cy"]  # 120 of 200 before 3 of 4
    assert rates.quiet_segments(_rates(), "sales_agent", None) == ["Ed"]
    assert rates.latest_quarter(_rates()) == pd.Timestamp("2026-04-01")
    assert rates.segment_types(_rates()) == ["sales_agent"]


def test_the_parts_of_the_change_add_up_and_read_as_a_sentence() -> None:
    change = _change()
    assert rates.team_change(change) == pytest.approx(0.05)
    anns = rates.change_by_segment(change, "sales_agent", ("Cy", "Di"))
    assert list(anns["segment"]) == ["Di", "Cy"]  # largest move first
    assert anns["total_change"].sum() == pytest.approx(0.15)  # Ann's part of the team's change
    assert rates.segment_change_sentence(change, rates.Scope("manager", ("Ann",))) == (
        "Ann won 50% of 60 closed deals in Q1 2026 and 60% of 150 in Q2 2026, which raised the team's win "
        "rate by 15.0 points."
    )
    assert rates.segment_change_sentence(change, rates.Scope("all", ("All",))) is None


def test_consistency_sentence_names_the_least_steady_rep() -> None:
    consistency = pd.DataFrame(
        {
            "sales_agent": ["Cy", "Di", "Ed"],
            "manager": ["Ann", "Ann", "Bo"],
            "quarters": [8, 8, 1],
            "closed": [40, 300, 3],
            "win_rate": [0.5, 0.6, 0.7],
            "shrunk_win_rate": [0.5, 0.6, 0.6],
            "spread": [0.2, 0.03, None],
            "chance_spread": [0.1, 0.05, None],
            "ratio": [2.0, 0.6, None],
        }
    )
    rows = rates.rep_consistency_rows(consistency, ("Cy", "Di", "Ed"))
    assert list(rows["sales_agent"]) == ["Cy", "Di"]
    assert rates.consistency_sentence(rows, 1, rates.whose(rates.Scope("manager", ("Ann",)))) == (
        "1 of Ann's 2 reps swings from quarter to quarter by 1.5 times what chance alone gives at their "
        "volume or more; Cy the most (20 points a quarter against 10 by chance). 1 rep closed deals in one "
        "quarter only."
    )
    steady = rates.consistency_sentence(rows.iloc[1:], 1, "the team's")
    assert steady.startswith("None of the team's 1 rep swings")
    assert rates.consistency_sentence(rows.iloc[:1], 0, "the chosen") == (
        "Cy's win rate swings 20 points from quarter to quarter, against 10 by chance alone at their volume: "
        "more than that many deals explain."
    )


def test_filters_a_closed_deal_cannot_answer_are_named() -> None:
    assert rates.ignored_filters(DealFilters(tiers=("High",), stale="Exclude stale")) == [
        "risk tier",
        "stale deals",
    ]
    assert (
        rates.segment_label("deal_size") == "Deal size"
        and rates.segment_label("lead_source") == "Lead source"
    )


def test_a_thin_oldest_quarter_is_pointed_out() -> None:
    team = pd.DataFrame(
        {
            "period_start": pd.to_datetime(["2024-07-01", "2024-10-01", "2025-01-01", "2025-04-01"]),
            "closed": [146, 1138, 1549, 1650],
            "cycle_days": [19.91, 43.08, 52.73, 54.28],
        }
    )
    assert rates.thin_first_quarter(team) == (
        "Q3 2024 counts only 146 closed deals, against 1,138 to 1,650 in the other quarters, and its wins "
        "took 20 days against 43 to 54: it is probably the quarter the export starts in, so read its rate "
        "with care."
    )
    assert rates.thin_first_quarter(team.assign(closed=[900, 1138, 1549, 1650])) is None
