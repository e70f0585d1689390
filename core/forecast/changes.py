"""What changed in the open pipeline between two dates (``pipeline_changes.csv``, ARCHITECTURE section 4).

Both ends are cuts of the same export (``core.data.cut_at``): the engaged open deals as they stood at the end
of the compare date and at the as-of date (deals never engaged are unscored and left out), each valued by
the as-of date's rule (its amount then, else list price x realised ratio, else the median won value, to the
cent), so a change is something that happened in the CRM, never the estimator learning. Creation and close
dates are in every export, so new, won and lost deals need no history; amounts, stages and the rep's close
date as they were on the compare date do (without a history the export's current values stand for both
ends, so nothing moves between them).

Value-moving rows add up exactly: open pipeline then + sum(value_change) = open pipeline now.

* ``new`` (+ value now): open now, not open then (engaged in between); a deal engaged and closed in between
  has a ``new`` row and its ``won``/``lost`` row;
* ``won`` / ``lost`` (- value then): open then, or new, and closed by the as-of date;
* ``amount_up`` / ``amount_down``: open at both ends, its amount changed (only a history shows it);
* ``pushed_out`` / ``pulled_in`` (no value): the rep's close date moved past / back inside the end of the
  as-of date's quarter; ``stage_forward`` / ``stage_back`` (no value): the stage moved along the order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import CRMData, cut_at
from core.forecast.forecast import deal_values

SEGMENT_COLUMNS: tuple[str, ...] = ("sales_agent", "manager", "regional_office", "product")
CHANGE_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "change_type",
    "value_before",
    "value_after",
    "value_change",
    "detail",
    *SEGMENT_COLUMNS,
)
VALUE_CHANGES: tuple[str, ...] = ("new", "won", "lost", "amount_up", "amount_down")
CHANGE_TYPES: tuple[str, ...] = (*VALUE_CHANGES, "pushed_out", "pulled_in", "stage_forward", "stage_back")


def _valued(now: CRMData, deals: pd.DataFrame) -> pd.DataFrame:
    """``deals`` with ``value`` as the forecast values them at ``now.as_of`` (to the cent)."""
    values = deal_values(deals, now.deals)
    return deals.assign(value=values["deal_value"].round(2))


def _engaged_open(crm: CRMData) -> pd.DataFrame:
    """The cut's open deals that were ever engaged (the scored pipeline)."""
    return crm.deals.loc[crm.deals["is_open"] & crm.deals["engage_date"].notna()]


@dataclass(frozen=True)
class PipelineChanges:
    """``rows``: one per deal and change (CHANGE_COLUMNS); the open pipeline at both ends, to the cent."""

    rows: pd.DataFrame
    open_before: float
    open_after: float


def pipeline_changes(full: CRMData, compare_to: pd.Timestamp, as_of: pd.Timestamp) -> PipelineChanges:
    """Every change between the end of ``compare_to`` and the end of ``as_of`` (value-moving rows first, then
    by change type and id), with the open pipeline at both ends as :func:`open_pipeline` values it."""
    then, now = cut_at(full, compare_to), cut_at(full, as_of)
    before = _valued(now, _engaged_open(then)).set_index("opportunity_id")
    current = now.deals.set_index("opportunity_id")
    after = _valued(now, _engaged_open(now)).set_index("opportunity_id")
    # deals that were open at some point in between and closed by as-of: valued as open on the compare date,
    # or, created in between, as the forecast would have valued them open at the as-of date
    closed_now = current.index[~current["is_open"]]
    passed = closed_now.difference(before.index)
    passed = passed[current.loc[passed, "engage_date"] > compare_to]
    as_open = _valued(now, now.deals.set_index("opportunity_id").loc[passed].reset_index()).set_index(
        "opportunity_id"
    )
    ends = (float(before["value"].sum().round(2)), float(after["value"].sum().round(2)))
    rows: list[pd.DataFrame] = []

    def add(ids: pd.Index, kind: str, value_before, value_after, detail="") -> None:
        if len(ids):
            frame = pd.DataFrame(
                {
                    "opportunity_id": ids,
                    "change_type": kind,
                    "value_before": np.asarray(value_before, dtype=float),
                    "value_after": np.asarray(value_after, dtype=float),
                    "detail": detail,
                }
            )
            rows.append(frame)

    new = after.index.difference(before.index)
    add(new, "new", 0.0, after.loc[new, "value"])
    add(passed, "new", 0.0, as_open.loc[passed, "value"])
    for kind, won in (("won", True), ("lost", False)):
        ended = before.index.intersection(closed_now)
        ended = ended[current.loc[ended, "is_won"].to_numpy() == won]
        add(ended, kind, before.loc[ended, "value"], 0.0)
        fresh = passed[current.loc[passed, "is_won"].to_numpy() == won]
        add(fresh, kind, as_open.loc[fresh, "value"], 0.0)
    both = before.index.intersection(after.index)
    moved = both[before.loc[both, "value"].to_numpy() != after.loc[both, "value"].to_numpy()]
    up = after.loc[moved, "value"].to_numpy() > before.loc[moved, "value"].to_numpy()
    for kind, mask in (("amount_up", up), ("amount_down", ~up)):
        ids = moved[mask]
        add(ids, kind, before.loc[ids, "value"], after.loc[ids, "value"])
    quarter_end = (as_of.to_period("Q").end_time).normalize()  # the last day of the as-of date's quarter
    promised_then, promised_now = before.loc[both, "rep_close_date"], after.loc[both, "rep_close_date"]
    out_of = both[(promised_then <= quarter_end).to_numpy() & (promised_now > quarter_end).to_numpy()]
    into = both[(promised_then > quarter_end).to_numpy() & (promised_now <= quarter_end).to_numpy()]
    for kind, ids in (("pushed_out", out_of), ("pulled_in", into)):
        detail = [
            f"close date {a:%Y-%m-%d} -> {b:%Y-%m-%d}"
            for a, b in zip(promised_then.loc[ids], promised_now.loc[ids], strict=True)
        ]
        add(ids, kind, after.loc[ids, "value"], after.loc[ids, "value"], detail)
    order = {name: i for i, name in enumerate(full.stage_order)}
    stage_then, stage_now = before.loc[both, "stage"], after.loc[both, "stage"]
    position_then, position_now = stage_then.map(order), stage_now.map(order)
    for kind, mask in (
        ("stage_forward", position_now > position_then),
        ("stage_back", position_now < position_then),
    ):
        ids = both[mask.to_numpy()]
        detail = [f"{a} -> {b}" for a, b in zip(stage_then.loc[ids], stage_now.loc[ids], strict=True)]
        add(ids, kind, after.loc[ids, "value"], after.loc[ids, "value"], detail)
    if not rows:
        return PipelineChanges(
            pd.DataFrame({column: pd.Series(dtype=object) for column in CHANGE_COLUMNS}), *ends
        )
    changes = pd.concat(rows, ignore_index=True)
    moves = changes["change_type"].isin(VALUE_CHANGES)
    changes["value_change"] = np.where(moves, changes["value_after"] - changes["value_before"], 0.0).round(2)
    segments = current[list(SEGMENT_COLUMNS)]
    changes = changes.join(segments, on="opportunity_id")
    changes["_order"] = changes["change_type"].map({kind: i for i, kind in enumerate(CHANGE_TYPES)})
    changes = changes.sort_values(["_order", "opportunity_id"], kind="mergesort").drop(columns="_order")
    return PipelineChanges(changes[list(CHANGE_COLUMNS)].reset_index(drop=True), *ends)


def open_pipeline(full: CRMData, date: pd.Timestamp, as_of: pd.Timestamp) -> float:
    """The engaged open pipeline at the end of ``date`` valued by ``as_of``'s rule, computed on its own (the
    tests' check of :func:`pipeline_changes`' ends)."""
    return float(_valued(cut_at(full, as_of), _engaged_open(cut_at(full, date)))["value"].sum().round(2))
