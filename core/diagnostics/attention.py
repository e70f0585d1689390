"""Where the managers' hours should go this week (ARCHITECTURE section 4: attention_plan.csv): an exact
optimisation under each manager's hours, set beside the greedy top-N list with the same hours.

Only the model's own quantities enter. A deal is worth reviewing by its **quarter value in play**,
``deal_value x q x (1 - q)`` with ``q`` its chance of being won in the quarter the team works on
(``p_close_in_quarter``; ``p_close_next_quarter`` in a quarter's last two weeks, as the app's headline): the
money whose quarter outcome is still open, largest for a coin-flip deal and zero for one that is as good as
won or lost (no uplift is assumed: the plan covers as much open money as the hours allow). Stale and
unscored deals have ``q = 0`` and are not planned (stale ones are cleaned up, not reviewed). A review takes
the hours its risk tier asks for (``REVIEW_HOURS``; the tier already weighs size, doubt and slippage),
never more than the per-deal cap. Each deal is reviewed by its own manager.

The plan maximises the value in play reviewed subject to each manager's hours: a 0-1 knapsack per manager,
solved exactly by HiGHS through ``scipy.optimize.milp`` (no optimality gap allowed). The greedy list walks
the same deals by value in play, largest first, and takes them while the hours last (a top-N list: it stops
at the first deal that no longer fits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from core.data.contract import UNKNOWN

REVIEW_HOURS: dict[str, float] = {"Critical": 1.5, "High": 1.0, "Watch": 0.5, "Low priority": 0.25}
MAX_HOURS_PER_DEAL = 2.0
DEFAULT_MANAGER_HOURS = 6.0  # a manager's deal-review hours in a week, unless the hours file says otherwise


@dataclass(frozen=True)
class AttentionPlan:
    """The chosen reviews (``manager, opportunity_id, hours, objective``: the deal's value in play) and, per
    manager, the hours available, the plan's and the greedy list's value in play reviewed."""

    plan: pd.DataFrame
    managers: pd.DataFrame  # manager, capacity_hours, hours_used, objective, greedy_objective, greedy_deals
    chance: str = "p_close_in_quarter"  # the predictions' column whose quarter the plan works for

    def summary(self) -> dict:
        """``attention_plan`` in the metadata."""
        return {
            "capacity_hours": {r.manager: float(r.capacity_hours) for r in self.managers.itertuples()},
            "objective": round(float(self.managers["objective"].sum()), 2),
            "greedy_objective": round(float(self.managers["greedy_objective"].sum()), 2),
            "review_hours": dict(REVIEW_HOURS),
            "max_hours_per_deal": MAX_HOURS_PER_DEAL,
            "chance": self.chance,
            "method": "0-1 knapsack per manager (HiGHS via scipy.optimize.milp, exact): maximise the "
            "quarter value in play (deal value x q x (1 - q), q = the chance named by 'chance': this "
            "quarter, or the next in a quarter's last two weeks) of the deals reviewed within the "
            "manager's hours; review hours by risk tier",
        }


def candidates(predictions: pd.DataFrame, chance: str = "p_close_in_quarter") -> pd.DataFrame:
    """Deals worth a review: live (not stale), scored, some chance in the quarter (column ``chance``); with
    their value in play (``objective``) and review ``hours``."""
    q = predictions[chance].astype(float)
    scored = predictions["scored"].astype(bool) if "scored" in predictions else True
    live = ~predictions["stale"].astype(bool) & scored & (q > 0)
    deals = predictions.loc[live, ["manager", "opportunity_id", "risk_tier"]].copy()
    deals["objective"] = (predictions["deal_value"] * q * (1 - q))[live]
    deals["hours"] = deals["risk_tier"].map(REVIEW_HOURS).fillna(max(REVIEW_HOURS.values()))
    deals["hours"] = deals["hours"].clip(upper=MAX_HOURS_PER_DEAL)
    deals = deals[deals["objective"] > 0]
    return deals.sort_values(["manager", "objective", "opportunity_id"], ascending=[True, False, True])


def best_reviews(objective: np.ndarray, hours: np.ndarray, capacity: float) -> np.ndarray:
    """The 0-1 knapsack's optimum: which deals to review (bool array) for the largest objective within
    ``capacity`` hours (HiGHS, no gap).

    Only the ``capacity // h`` most valuable deals of each review length ``h`` can be needed (swapping a
    chosen deal for a more valuable unchosen one of the same length keeps the hours and never lowers the
    objective), so the program sees those alone: the same optimum from a few dozen variables.
    """
    chosen = np.zeros(len(objective), dtype=bool)
    if len(objective) == 0 or capacity <= 0:
        return chosen
    keep = []
    for length in np.unique(hours):
        same = np.flatnonzero(hours == length)
        most = int(np.floor(capacity / length + 1e-9))
        keep.append(same[np.argsort(-objective[same], kind="stable")[:most]])
    kept = np.sort(np.concatenate(keep))
    if len(kept) == 0:
        return chosen
    result = milp(
        c=-objective[kept],
        constraints=LinearConstraint(hours[kept][None, :], -np.inf, capacity),
        integrality=np.ones(len(kept)),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0},
    )
    if not result.success:
        raise RuntimeError(f"the attention plan's optimisation failed: {result.message}")
    chosen[kept[np.asarray(result.x) > 0.5]] = True
    return chosen


def greedy_reviews(hours: np.ndarray, capacity: float) -> np.ndarray:
    """The top-N list: deals in the given order (value in play, largest first) while the hours last."""
    return np.cumsum(hours) <= capacity + 1e-9


def attention_plan(
    predictions: pd.DataFrame, capacity: dict[str, float] | None = None, chance: str = "p_close_in_quarter"
) -> AttentionPlan:
    """The plan for every manager with open deals (hours from ``capacity``, else ``DEFAULT_MANAGER_HOURS``).
    Deals whose rep has no known manager ("Unknown") get no hours unless ``capacity`` names them: nobody
    would review them."""
    deals = candidates(predictions, chance)
    capacity = {UNKNOWN: 0.0, **(capacity or {})}
    managers = sorted(set(predictions["manager"].astype(str)))
    plans, rows = [], []
    for manager in managers:
        mine = deals[deals["manager"].astype(str).eq(manager)]
        hours = float(capacity.get(manager, DEFAULT_MANAGER_HOURS))
        value, need = mine["objective"].to_numpy(dtype=float), mine["hours"].to_numpy(dtype=float)
        chosen = best_reviews(value, need, hours)
        greedy = greedy_reviews(need, hours)
        plans.append(mine[chosen])
        rows.append(
            {
                "manager": manager,
                "capacity_hours": hours,
                "hours_used": float(need[chosen].sum()),
                "objective": float(value[chosen].sum()),
                "greedy_objective": float(value[greedy].sum()),
                "greedy_deals": int(greedy.sum()),
            }
        )
    plan = pd.concat(plans, ignore_index=True) if plans else deals.iloc[:0]
    plan = plan[["manager", "opportunity_id", "hours", "objective"]].reset_index(drop=True)
    return AttentionPlan(plan, pd.DataFrame(rows), chance)
