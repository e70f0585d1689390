"""What changed in the open pipeline since the run's compare date (pipeline_changes.csv): the steps of the
waterfall, the deals behind each step and the page's sentence, for the sidebar's segment filters.

Frames in, frames out; nothing here reads files or imports streamlit. The batch step writes one row per deal
and change; the value-moving ones add up exactly: open pipeline then + sum(value_change) = open pipeline
now. A selection's "now" is its scored open deals' value (the Overview's open pipeline for the same
filters), its "then" that minus its changes, so the waterfall always lands on the figure the Overview shows.

The quarter's outlook (metadata ``changes.quarter``) is the as-of quarter's whole-period forecast replayed the
same model-free way at the compare date and now, for the whole team only: its move is like for like, its
levels are not the model's forecast (forecast.csv), so the page shows the move beside the model's figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from app.components.format import Money
from app.filters import DealFilters
from app.services.pipeline import apply_filters, scored

VALUE_CHANGES = ("new", "won", "lost", "amount_up", "amount_down")  # they move the pipeline's value
AMOUNT_CHANGES = ("amount_up", "amount_down")  # need a field history
CLOSE_DATE_MOVES = ("pushed_out", "pulled_in")
STAGE_MOVES = ("stage_forward", "stage_back")
CHANGE_LABELS = {  # each change type in the leader's words (the CSV export keeps the codes)
    "new": "New deals",
    "won": "Won",
    "lost": "Lost",
    "amount_up": "Amount raised",
    "amount_down": "Amount cut",
    "pushed_out": "Close date pushed past the quarter end",
    "pulled_in": "Close date pulled into the quarter",
    "stage_forward": "Moved forward a stage",
    "stage_back": "Moved back a stage",
}
SEGMENT_FILTERS = ("regions", "managers", "reps", "products")  # the filters a change row can answer
SEGMENT_COLUMNS = {
    "regions": "regional_office",
    "managers": "manager",
    "reps": "sales_agent",
    "products": "product",
}


def segment_filters(filters: DealFilters) -> DealFilters:
    """Only the sidebar's region, manager, rep and product choices: a won or lost deal has no risk tier,
    sector or stale flag today, so the other filters cannot apply to the changes."""
    return DealFilters(**{name: getattr(filters, name) for name in SEGMENT_FILTERS})


def ignored_filters(filters: DealFilters) -> list[str]:
    """The sidebar filters the page cannot apply (in words), for its caption."""
    return filters.not_applied("sectors", "tiers")


def filter_changes(changes: pd.DataFrame, filters: DealFilters) -> pd.DataFrame:
    """The change rows of the deals the segment filters select (deals counted under today's owner)."""
    mask = pd.Series(True, index=changes.index)
    for name, column in SEGMENT_COLUMNS.items():
        chosen = getattr(filters, name)
        if chosen:
            mask &= changes[column].isin(chosen)
    return changes.loc[mask]


HISTORY_COLUMNS = ("days_in_stage", "close_date_pushes", "days_pushed")  # blank without a field history


def has_field_history(predictions: pd.DataFrame, changes: pd.DataFrame) -> bool:
    """True when the run's export had a field history, so amounts, close dates and stages can move: any
    history fact on today's deals (a history of stage dates alone leaves the pushes blank) or any change
    only a history shows."""
    facts = [c for c in HISTORY_COLUMNS if c in predictions.columns]
    only_history = (*AMOUNT_CHANGES, *CLOSE_DATE_MOVES, *STAGE_MOVES)
    return bool(predictions[facts].notna().any().any()) or bool(
        changes["change_type"].isin(only_history).any()
    )


def pipeline_now(predictions: pd.DataFrame, filters: DealFilters) -> float:
    """Open pipeline now of the segment the filters select: the scored open deals' value (unscored deals,
    never engaged, are in no change), as the Overview shows it for the same filters."""
    chosen = apply_filters(predictions, replace(segment_filters(filters), include_unscored=False))
    return float(chosen.loc[scored(chosen).to_numpy(), "deal_value"].sum())


@dataclass(frozen=True)
class PipelineMove:
    """The open pipeline at the compare date and now, and each value-moving change type's deals and value."""

    then: float
    now: float
    steps: pd.DataFrame  # change_type, label, deals, value_change (VALUE_CHANGES order)

    @property
    def net(self) -> float:
        """Now minus then."""
        return self.now - self.then


def pipeline_move(changes: pd.DataFrame, now: float, with_amounts: bool) -> PipelineMove:
    """The waterfall of ``changes`` (already filtered) ending at ``now``: then = now - sum of the value
    changes. Amount steps only when the run can see amounts move (``with_amounts``: a field history)."""
    kinds = [k for k in VALUE_CHANGES if with_amounts or k not in AMOUNT_CHANGES]
    moving = changes[changes["change_type"].isin(VALUE_CHANGES)]
    grouped = moving.groupby("change_type")["value_change"]
    counts, values = grouped.size(), grouped.sum()
    steps = pd.DataFrame(
        {
            "change_type": kinds,
            "label": [CHANGE_LABELS[k] for k in kinds],
            "deals": [int(counts.get(k, 0)) for k in kinds],
            "value_change": [round(float(values.get(k, 0.0)), 2) for k in kinds],
        }
    )
    then = round(now - float(moving["value_change"].sum()), 2)
    return PipelineMove(then=then, now=round(now, 2), steps=steps)


def waterfall_steps(move: PipelineMove, compare_to: str) -> pd.DataFrame:
    """The waterfall's bars: the pipeline on the compare date, each change type, the pipeline now
    (columns label, measure, value, deals)."""
    start = f"Open pipeline on {compare_to}"
    rows = [{"label": start, "measure": "absolute", "value": move.then, "deals": None}]
    rows += [
        {"label": step.label, "measure": "relative", "value": step.value_change, "deals": step.deals}
        for step in move.steps.itertuples()
    ]
    rows.append({"label": "Open pipeline now", "measure": "total", "value": move.now, "deals": None})
    return pd.DataFrame(rows)


def deals_of(changes: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The change rows of ``kinds``, largest value first (then by id), with the change in words."""
    rows = changes[changes["change_type"].isin(kinds)]
    size = rows["value_change"].abs().where(rows["change_type"].isin(VALUE_CHANGES), rows["value_after"])
    order = size.sort_values(ascending=False, kind="stable").index
    rows = rows.loc[order]
    return rows.assign(change=rows["change_type"].map(CHANGE_LABELS).fillna(rows["change_type"]))


def summary_sentence(move: PipelineMove, compare_to: str, money: Money) -> str:
    """The waterfall in one plain sentence: how the pipeline moved and by what (plain text: the page
    escapes it)."""
    steps = move.steps.set_index("change_type")
    direction = "grew" if move.net > 0 else "shrank" if move.net < 0 else "did not change"
    by = f" by {money(abs(move.net))}" if move.net else ""
    parts = []
    for kind, what, verb in (("new", "new deal", "added"), ("won", "deal", "won"), ("lost", "deal", "lost")):
        if kind in steps.index and steps.loc[kind, "deals"]:
            n = int(steps.loc[kind, "deals"])
            value = money(abs(float(steps.loc[kind, "value_change"])))
            parts.append(f"{n:,} {what}{'s' if n != 1 else ''} {verb} ({value})")
    amounts = steps.loc[[k for k in AMOUNT_CHANGES if k in steps.index]]
    if not amounts.empty and int(amounts["deals"].sum()):
        net = float(amounts["value_change"].sum())
        n = int(amounts["deals"].sum())
        parts.append(
            f"amounts changed on {n:,} deal{'s' if n != 1 else ''} "
            f"({'+' if net >= 0 else '-'}{money(abs(net))} net)"
        )
    detail = f": {'; '.join(parts)}" if parts else ": no deal was added, won, lost or re-priced"
    then, now = money.pair(move.then, move.now)  # one unit: $1.66M to $1.65M, not $1.7M to $1.6M
    return f"Since {compare_to} the open pipeline {direction}{by}, from {then} to {now}{detail}."


def changes_csv(changes: pd.DataFrame) -> str:
    """The page's change rows as CSV, codes kept (value-moving rows first, as the batch step orders them)."""
    return changes.to_csv(index=False)


# --- The quarter's outlook: metadata changes.quarter (the batch step's like-for-like replay) -------------


@dataclass(frozen=True)
class QuarterOutlook:
    """One side of ``changes.quarter``: the as-of quarter's whole-period forecast (won so far + open deals +
    deals not yet created) replayed model-free at ``as_of``, its middle estimate and quantile grid."""

    as_of: str
    p50: float
    grid: pd.DataFrame  # q, revenue (q = 0.01 .. 0.99); empty when the run stored none


@dataclass(frozen=True)
class QuarterOutlookMove:
    """The quarter's outlook replayed the same way at the compare date (``then``) and the as-of date
    (``now``); a side is None when there was too little history to replay it."""

    period_start: pd.Timestamp
    then: QuarterOutlook | None
    now: QuarterOutlook | None

    @property
    def change(self) -> float | None:
        """Now's middle estimate minus then's (None without both sides): the like-for-like move."""
        if self.then is None or self.now is None:
            return None
        return round(self.now.p50 - self.then.p50, 2)

    @property
    def quarter(self) -> str:
        """The quarter in words: "Q3 2026"."""
        return f"Q{self.period_start.quarter} {self.period_start.year}"


def _replayed_side(side: object, name: str) -> QuarterOutlook | None:
    """One side of ``changes.quarter`` (None stays None); a clear error when the batch step's shape is
    broken."""
    if side is None:
        return None
    if not isinstance(side, dict):
        raise ValueError(f"changes.quarter.{name} is not an object")
    missing = [key for key in ("as_of", "p50") if side.get(key) is None]
    if missing:
        raise ValueError(f"changes.quarter.{name} has no {', '.join(missing)}")
    grid = side.get("grid") or {}
    q, revenue = list(grid.get("q") or []), list(grid.get("revenue") or [])
    if len(q) != len(revenue):
        raise ValueError(f"changes.quarter.{name}.grid has {len(q)} q values for {len(revenue)} revenues")
    frame = pd.DataFrame({"q": q, "revenue": revenue}, dtype=float)
    return QuarterOutlook(str(side["as_of"]), float(side["p50"]), frame)


def quarter_outlook_move(recorded: dict) -> QuarterOutlookMove | None:
    """The quarter's replayed outlook from the run's metadata ``changes``; None for a run written before the
    batch step replayed it (no ``quarter``). Raises ValueError naming what is broken in a malformed one."""
    quarter = recorded.get("quarter")
    if quarter is None:
        return None
    if not isinstance(quarter, dict) or not quarter.get("period_start"):
        raise ValueError("changes.quarter has no period_start")
    return QuarterOutlookMove(
        pd.Timestamp(quarter["period_start"]),
        _replayed_side(quarter.get("then"), "then"),
        _replayed_side(quarter.get("now"), "now"),
    )


def quarter_move_sentence(move: QuarterOutlookMove, compare_to: str, as_of: str, money: Money) -> str:
    """How the quarter's outlook moved since the compare date, in one plain sentence (the move only: the
    replay's levels are not the model's forecast); why there is no move when a side could not be replayed."""
    change = move.change
    if change is None:
        missing = [date for date, side in ((compare_to, move.then), (as_of, move.now)) if side is None]
        return (
            f"No move to show for {move.quarter}'s outlook: on {' and '.join(missing)} there was too little "
            "history to replay the quarter's forecast."
        )
    direction = "rose" if change > 0 else "fell" if change < 0 else "did not move"
    by = f" by {money(abs(change))}" if change else ""
    return (
        f"Since {compare_to} the outlook for {move.quarter} {direction}{by} (like for like: the quarter's "
        "forecast replayed the same way at both dates)."
    )


def signed(money: Money, value: float) -> str:
    """An amount with its sign: +$241,022, -$5,000, $0."""
    return f"{'+' if value > 0 else '-' if value < 0 else ''}{money(abs(value))}"


def model_quarter(forecast: pd.DataFrame | None, period_start: pd.Timestamp) -> float | None:
    """The model's middle estimate of the whole quarter starting ``period_start`` for the whole team
    (forecast.csv's ``total_p50``, as the Forecast page shows it); None when the run has no such row."""
    if forecast is None:
        return None
    rows = forecast[
        forecast["period_type"].eq("quarter")
        & forecast["segment_type"].eq("all")
        & forecast["period_start"].eq(period_start)
    ]
    return None if rows.empty else float(rows["total_p50"].iloc[0])
