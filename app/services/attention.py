"""Attention Plan: which deals each manager reviews this week within their hours (attention_plan.csv and
the metadata's ``attention_plan``), re-planned through ``core.diagnostics.attention.attention_plan`` when a
user types other hours, beside the top-of-list approach with the same hours.

Each manager's plan is their own (a 0-1 choice over their deals within their hours), so a manager is
re-planned alone and cached on the run, the manager and the hours. With the batch step's hours a manager's
chosen deals are attention_plan.csv's rows, so the page shows the file's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app.components.format import Money
from app.filters import DealFilters
from app.services.pipeline import crm_stage
from core.data.contract import UNKNOWN
from core.diagnostics.attention import DEFAULT_MANAGER_HOURS, attention_plan, candidates

PLAN_COLUMNS = ["manager", "opportunity_id", "hours", "objective"]  # attention_plan.csv's
DEAL_COLUMNS = ["account", "sales_agent", "deal_value", "quarter_chance", "win_probability", "risk_tier"]
HOURS_STEP = 0.25  # the smallest review (Low priority) takes a quarter of an hour


def managers(predictions: pd.DataFrame, batch_hours: dict[str, float]) -> list[str]:
    """Every manager with open deals (as the batch step plans them), then any the metadata names."""
    present = sorted(set(predictions["manager"].astype(str)))
    return present + sorted(set(batch_hours) - set(present))


def batch_hours(recorded: dict, names: list[str]) -> dict[str, float]:
    """Each manager's hours the batch step planned with (metadata ``attention_plan.capacity_hours``); a
    manager it does not name gets what core.diagnostics.attention gives one (none for "Unknown")."""
    hours = {str(k): float(v) for k, v in (recorded.get("capacity_hours") or {}).items()}
    return {name: hours.get(name, 0.0 if name == UNKNOWN else DEFAULT_MANAGER_HOURS) for name in names}


def chosen_managers(predictions: pd.DataFrame, names: list[str], filters: DealFilters) -> list[str]:
    """The managers the sidebar selects: the chosen managers, those with open deals in the chosen regions
    (both: the chosen managers of those regions), else all."""
    shown = list(names)
    if filters.managers:
        shown = [m for m in shown if m in filters.managers]
    if filters.regions:
        in_region = set(predictions.loc[predictions["regional_office"].isin(filters.regions), "manager"])
        shown = [m for m in shown if m in in_region]
    return shown


def ignored_filters(filters: DealFilters) -> list[str]:
    """The sidebar choices a plan per manager does not follow (it plans each manager's live deals)."""
    return filters.not_applied("reps", "products", "sectors", "tiers")


@st.cache_data(show_spinner="Planning the review hours...", max_entries=256)
def _manager_plan(
    run_id: str, manager: str, hours: float, _deals: pd.DataFrame, chance: str = "p_close_in_quarter"
) -> tuple[pd.DataFrame, dict]:
    """core.diagnostics.attention.attention_plan for one manager's open deals and hours (cached on the run,
    the manager and the hours): the chosen reviews and the manager's summary row."""
    planned = attention_plan(_deals, {manager: hours}, chance)
    row = planned.managers[planned.managers["manager"].eq(manager)].iloc[0].to_dict()
    return planned.plan, row


@dataclass(frozen=True)
class Plan:
    """The reviews chosen (``PLAN_COLUMNS``) and per manager: capacity_hours, hours_used, deals, objective
    (value in play reviewed), greedy_objective and greedy_deals (the top-of-list approach), as_batch (the
    batch step's hours, so the rows are attention_plan.csv's)."""

    reviews: pd.DataFrame
    managers: pd.DataFrame

    @property
    def objective(self) -> float:
        """Value in play this quarter the plan reviews, all shown managers together."""
        return float(self.managers["objective"].sum())

    @property
    def greedy_objective(self) -> float:
        """Value in play the top-of-list approach reviews with the same hours."""
        return float(self.managers["greedy_objective"].sum())

    @property
    def hours(self) -> float:
        """Hours available, all shown managers together."""
        return float(self.managers["capacity_hours"].sum())


def plan(
    run_id: str,
    predictions: pd.DataFrame,
    hours: dict[str, float],
    recorded_hours: dict[str, float],
    batch_plan: pd.DataFrame | None,
    chance: str = "p_close_in_quarter",
) -> Plan:
    """The plan for the managers in ``hours`` (manager -> hours typed in): a manager whose hours equal the
    batch step's (``recorded_hours``) keeps attention_plan.csv's rows; any other is re-planned here. The
    top-of-list comparison is always computed (the file holds only its total). ``chance``: the quarter the
    batch step planned for (metadata ``attention_plan.chance``), which a re-plan keeps."""
    reviews, rows = [], []
    for manager, available in hours.items():
        deals = predictions[predictions["manager"].astype(str).eq(manager)]
        chosen, row = _manager_plan(run_id, manager, float(available), deals, chance)
        as_batch = batch_plan is not None and float(available) == recorded_hours.get(manager)
        if as_batch:
            chosen = batch_plan.loc[batch_plan["manager"].eq(manager), PLAN_COLUMNS]
            row = {
                **row,
                "hours_used": float(chosen["hours"].sum()),
                "objective": float(chosen["objective"].sum()),
            }
        reviews.append(chosen)
        rows.append({**row, "deals": len(chosen), "as_batch": as_batch})
    columns = ["manager", "capacity_hours", "hours_used", "deals", "objective", "greedy_objective"]
    summary = pd.DataFrame(rows, columns=[*columns, "greedy_deals", "as_batch"])
    frames = [r for r in reviews if not r.empty]
    chosen_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PLAN_COLUMNS)
    return Plan(chosen_rows[PLAN_COLUMNS].reset_index(drop=True), summary)


def review_table(
    reviews: pd.DataFrame, predictions: pd.DataFrame, chance: str = "p_close_in_quarter"
) -> pd.DataFrame:
    """The chosen reviews with each deal's account, rep, stage, value, chance in the planned quarter
    (``quarter_chance``, from the column ``chance``), win probability and risk tier; per manager, most value
    in play first."""
    facts = predictions.set_index("opportunity_id")
    facts = facts.assign(stage_name=crm_stage(predictions).to_numpy(), quarter_chance=facts[chance])
    columns = [c for c in [*DEAL_COLUMNS, "stage_name"] if c in facts.columns]
    table = reviews.join(facts[columns], on="opportunity_id")
    return table.sort_values(
        ["manager", "objective", "opportunity_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)


def plan_csv(table: pd.DataFrame) -> str:
    """The plan as CSV: attention_plan.csv's columns (manager, opportunity_id, hours, objective = value in
    play this quarter), then the deal's facts."""
    return table.to_csv(index=False)


def summary_sentence(chosen: Plan, money: Money, when: str = "this quarter") -> str:
    """The plan against the top-of-list approach in one sentence (plain text; the page escapes it): "With
    Marty Kiesel's 6 hours, the plan reviews 14 deals covering $14,495 of value in play this quarter; the
    top-of-list approach covers $9,369 with the same hours ($5,127 less)."."""
    staffed = chosen.managers[chosen.managers["capacity_hours"].gt(0)]
    n = len(staffed)
    if n == 0:
        return "No manager shown has hours this week, so the plan reviews no deal."
    hours = f"{chosen.hours:,.4g} hour{'s' if chosen.hours != 1 else ''}"
    deals = int(chosen.managers["deals"].sum())
    plan_text, greedy_text = money.pair(chosen.objective, chosen.greedy_objective)
    gap = chosen.objective - chosen.greedy_objective
    if round(gap) == 0:
        compare = "the top-of-list approach covers the same with these hours"
    else:
        compare = (
            f"the top-of-list approach covers {greedy_text} with the same hours "
            f"({money(abs(gap))} {'less' if gap > 0 else 'more'})"
        )
    who = f"{staffed['manager'].iloc[0]}'s" if n == 1 else f"the {n} managers'"
    return (
        f"With {who} {hours}, the plan reviews {deals:,} deal{'s' if deals != 1 else ''} covering "
        f"{plan_text} of value in play {when}; {compare}."
    )


def nothing_winnable_this_quarter(predictions: pd.DataFrame, names: list[str]) -> bool:
    """True when the live deals of ``names`` have no chance at all of being won in the as-of quarter (an
    as-of date on the quarter's last day): the plan is empty for that reason, not for want of hours."""
    live = predictions[predictions["manager"].astype(str).isin(names) & ~predictions["stale"].astype(bool)]
    if "scored" in live:
        live = live[live["scored"].astype(bool)]
    return bool(len(live)) and not live["p_close_in_quarter"].fillna(0.0).gt(0).any()


def unplanned(
    predictions: pd.DataFrame, chosen: Plan, chance: str = "p_close_in_quarter"
) -> tuple[int, float]:
    """Live deals of the shown managers left with no hours at all (a manager given none, such as the reps
    without a manager, "Unknown"): how many and their value in play this quarter."""
    idle = chosen.managers.loc[chosen.managers["capacity_hours"].le(0), "manager"]
    deals = candidates(predictions[predictions["manager"].astype(str).isin(idle)], chance)
    return len(deals), float(deals["objective"].sum())
