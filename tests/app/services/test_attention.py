"""app.services.attention on tiny frames: the batch step's hours keep attention_plan.csv's rows, other hours
re-plan through core.diagnostics.attention, the sentence compares the plan with the top-of-list approach."""

from __future__ import annotations

import pandas as pd
import pytest

from app.components.format import Money
from app.filters import DealFilters
from app.services import attention

money = Money("USD")


def _deals() -> pd.DataFrame:
    """Four live deals of Ann (one big coin flip needing 1.5 h, three small ones of 0.5 h: 750, 700 and 650 in
    play), one of Bo, one of a rep without a manager."""
    return pd.DataFrame(
        {
            "opportunity_id": ["A1", "A2", "A3", "A4", "B1", "U1"],
            "manager": ["Ann", "Ann", "Ann", "Ann", "Bo", "Unknown"],
            "regional_office": ["East", "East", "East", "East", "West", "West"],
            "account": ["Acme", "Beta", "", "Delta", "Echo", "Fox"],
            "sales_agent": ["Cy", "Cy", "Di", "Di", "Ed", "Fay"],
            "deal_value": [10_000.0, 3_000.0, 2_800.0, 2_600.0, 8_000.0, 4_000.0],
            "p_close_in_quarter": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
            "risk_tier": ["Critical", "Watch", "Watch", "Watch", "High", "High"],
            "stale": [False] * 6,
            "deal_stage": ["Engaging"] * 6,
        }
    )


def test_batch_hours_keep_the_files_rows_and_other_hours_replan() -> None:
    deals = _deals()
    recorded = attention.batch_hours(
        {"capacity_hours": {"Ann": 1.5, "Unknown": 0.0}}, ["Ann", "Bo", "Unknown"]
    )
    assert recorded == {"Ann": 1.5, "Bo": 6.0, "Unknown": 0.0}
    # the file's plan (here deliberately not the optimum) is what the page shows at the batch's hours
    batch = pd.DataFrame({"manager": ["Ann"], "opportunity_id": ["A2"], "hours": [0.5], "objective": [750.0]})
    kept = attention.plan("run", deals, {"Ann": 1.5}, recorded, batch)
    assert kept.reviews["opportunity_id"].tolist() == ["A2"] and kept.objective == 750.0
    assert bool(kept.managers["as_batch"].iloc[0])
    # 1.5 hours: the big deal (2,500 in play) beats the top-of-list approach, which also takes the big one
    assert kept.greedy_objective == pytest.approx(2_500.0)
    more = attention.plan("run", deals, {"Ann": 2.0}, recorded, batch)
    assert sorted(more.reviews["opportunity_id"]) == ["A1", "A2"]  # re-planned: 2,500 + 750
    assert more.objective == pytest.approx(3_250.0) and not bool(more.managers["as_batch"].iloc[0])
    few = attention.plan("run", deals, {"Ann": 1.0}, recorded, batch)
    # two small deals; the top of the list (1.5 h) does not fit, so the top-of-list approach stops at once
    assert few.objective == pytest.approx(1_450.0)
    assert few.greedy_objective == 0.0
    assert attention.summary_sentence(few, money) == (
        "With Ann's 1 hour, the plan reviews 2 deals covering $1,450 of value in play this quarter; the "
        "top-of-list approach covers $0 with the same hours ($1,450 less)."
    )


def test_managers_follow_the_region_and_manager_filters() -> None:
    deals = _deals()
    names = attention.managers(deals, {"Cleo": 4.0})
    assert names == ["Ann", "Bo", "Unknown", "Cleo"]
    assert attention.chosen_managers(deals, names, DealFilters(regions=("West",))) == ["Bo", "Unknown"]
    assert attention.chosen_managers(
        deals, names, DealFilters(managers=("Ann", "Bo"), regions=("East",))
    ) == ["Ann"]
    assert attention.ignored_filters(DealFilters(reps=("Cy",), stale="Stale only")) == ["rep", "stale deals"]


def test_deals_nobody_has_hours_for_are_counted_and_the_table_names_them() -> None:
    deals = _deals()
    chosen = attention.plan("run", deals, {"Bo": 6.0, "Unknown": 0.0}, {"Bo": 6.0, "Unknown": 0.0}, None)
    assert attention.unplanned(deals, chosen) == (1, pytest.approx(1_000.0))
    table = attention.review_table(chosen.reviews, deals)
    assert table[["manager", "opportunity_id", "account", "sales_agent", "stage_name"]].values.tolist() == [
        ["Bo", "B1", "Echo", "Ed", "Engaging"]
    ]
    assert attention.plan_csv(table).splitlines()[0].startswith("manager,opportunity_id,hours,objective,")
