"""A deal's field history (ARCHITECTURE sections 1-2): what its stage, amount, rep close date, forecast
category and probability were on any day, and the point-in-time facts the model may learn from.

The history is one table, one row per change: ``opportunity_id``, ``changed_at`` (the day it took effect;
a date-time counts as its calendar day) and any of ``stage, amount, rep_close_date, forecast_category,
rep_probability`` holding the value from that day on (blank: not changed by this row). Several rows of one
deal on one day apply in the order they were exported, so the last one holds at the end of that day. Every
function here reads only rows dated at or before the day it is asked about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HISTORY_FIELDS: tuple[str, ...] = (
    "stage",
    "amount",
    "rep_close_date",
    "forecast_category",
    "rep_probability",
)


def _running(history: pd.DataFrame, stage_order: tuple[str, ...]) -> pd.DataFrame:
    """Each history row with the deal's whole state after it (fields carried forward) and the running facts:
    when the current stage was entered, regressions, pushes of the rep close date and days pushed, the first
    amount. Rows sorted by deal and day (export order within a day)."""
    rows = history.reset_index(drop=True)
    rows = rows.assign(_order=np.arange(len(rows))).sort_values(
        ["opportunity_id", "changed_at", "_order"], kind="stable"
    )
    deal = rows.groupby("opportunity_id", sort=False)
    state = rows.assign(**{field: deal[field].ffill() for field in HISTORY_FIELDS})
    position = state["stage"].map({name: i for i, name in enumerate(stage_order)})
    previous_stage = state.groupby("opportunity_id", sort=False)["stage"].shift()
    entered = state["changed_at"].where(state["stage"].ne(previous_stage) & state["stage"].notna())
    previous_position = position.groupby(state["opportunity_id"], sort=False).shift()
    regressed = (position < previous_position).astype(int)
    previous_close = state.groupby("opportunity_id", sort=False)["rep_close_date"].shift()
    pushed_days = (state["rep_close_date"] - previous_close).dt.days.clip(lower=0).fillna(0.0)
    by_deal = state["opportunity_id"]
    return state.assign(
        stage_position=position,
        stage_entered_at=entered.groupby(by_deal, sort=False).ffill(),
        stage_regressions=regressed.groupby(by_deal, sort=False).cumsum(),
        # a history that never holds a close date (HubSpot's stage dates) says nothing of pushes: unknown
        close_date_pushes=(pushed_days > 0)
        .astype(int)
        .groupby(by_deal, sort=False)
        .cumsum()
        .where(state["rep_close_date"].notna()),
        days_pushed=pushed_days.groupby(by_deal, sort=False).cumsum().where(state["rep_close_date"].notna()),
        first_amount=state.groupby("opportunity_id", sort=False)["amount"].transform("first"),
    ).drop(columns="_order")


def _last_rows_by(running: pd.DataFrame, ids: np.ndarray, days: np.ndarray) -> pd.DataFrame:
    """For each (id, day) query, the last running row of that deal dated at or before the day (all NaN when
    there is none), in the queries' order."""
    day = pd.to_datetime(days).astype("datetime64[ns]")
    queries = pd.DataFrame({"opportunity_id": ids, "day": day, "_query": np.arange(len(ids))})
    ordered = queries.sort_values("day", kind="stable")
    table = running.astype({"changed_at": "datetime64[ns]"}).sort_values("changed_at", kind="stable")
    matched = pd.merge_asof(
        ordered,
        table,
        left_on="day",
        right_on="changed_at",
        by="opportunity_id",
        direction="backward",
        allow_exact_matches=True,
    )
    return matched.sort_values("_query", kind="stable").reset_index(drop=True)


def state_at(
    history: pd.DataFrame, ids: pd.Series, as_of: pd.Timestamp, stage_order: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The historied fields of each deal in ``ids`` as they stood at the end of ``as_of`` (NaN/NaT where the
    history holds nothing for the deal by then), indexed like ``ids``."""
    running = _running(history, stage_order)
    days = np.full(len(ids), as_of.to_datetime64())
    found = _last_rows_by(running, ids.to_numpy(dtype=object), days)
    return found[list(HISTORY_FIELDS)].set_index(ids.index)


def facts_at(
    history: pd.DataFrame, ids: np.ndarray, days: np.ndarray, stage_order: tuple[str, ...]
) -> pd.DataFrame:
    """The point-in-time facts (the model's ``HISTORY_FEATURES``, and the stage) of deals ``ids`` on
    ``days``: only history rows dated at or before each day count."""
    running = _running(history, stage_order)
    found = _last_rows_by(running, ids, days)
    day = pd.to_datetime(pd.Series(days))
    return pd.DataFrame(
        {
            "stage_position": found["stage_position"].astype(float),
            "days_in_stage": (day - found["stage_entered_at"]).dt.days.astype(float),
            "stage_regressions": found["stage_regressions"].astype(float),
            "close_date_pushes": found["close_date_pushes"].astype(float),
            "days_pushed": found["days_pushed"].astype(float),
            "amount_change": (found["amount"] / found["first_amount"] - 1.0).replace(
                [np.inf, -np.inf], np.nan
            ),
            "days_to_rep_close": (found["rep_close_date"] - day).dt.days.astype(float),
            "rep_probability": found["rep_probability"].astype(float),
            "forecast_category": found["forecast_category"].astype(object),
            "stage": found["stage"].astype(object),
        }
    )


TIMELINE_FIELDS: tuple[str, ...] = ("stage", "amount", "rep_close_date", "forecast_category")


def timeline(history: pd.DataFrame | None, ids: pd.Series, stage_order: tuple[str, ...]) -> pd.DataFrame:
    """deal_timeline.csv: every history row of the deals in ``ids`` with the deal's state after it (fields
    carried forward), by deal and day; empty without a history. ``history`` is already cut at the as-of
    date."""
    columns = ["opportunity_id", "changed_at", *TIMELINE_FIELDS]
    if history is None:
        return pd.DataFrame(columns=columns)
    rows = _running(history[history["opportunity_id"].isin(set(ids))], stage_order)
    return rows[columns].reset_index(drop=True)


STATUS_COLUMNS: tuple[str, ...] = ("days_in_stage", "close_date_pushes", "days_pushed")


def status_at(
    history: pd.DataFrame | None, ids: pd.Series, as_of: pd.Timestamp, stage_order: tuple[str, ...]
) -> pd.DataFrame:
    """How long each deal in ``ids`` has been in its stage and how often (and by how many days in all) its
    close date was pushed, at ``as_of``, indexed like ``ids``; NaN without a history."""
    if history is None:
        return pd.DataFrame(np.nan, index=ids.index, columns=list(STATUS_COLUMNS))
    days = np.full(len(ids), as_of.to_datetime64())
    facts = facts_at(history, ids.to_numpy(dtype=object), days, stage_order)
    return facts[list(STATUS_COLUMNS)].set_axis(ids.index)
