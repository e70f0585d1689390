"""A field history for the synthetic CRM (``core.data.synthetic``): each deal's stage, rep close date,
forecast category, probability and amount over time, drawn from the deal's true eventual outcome and close
date.

The history tells on the outcome the way a real one does, with noise:

* won deals pass through every open stage (``HISTORY_STAGES``) before they close; lost deals stop at a
  random stage and a quarter of them step back once; deals that never close stall in an early stage;
* the rep's close date starts one typical cycle after engagement and is pushed by a month whenever the
  deal is still open past it (long, stalled deals are pushed most), and lost deals are pushed early a
  third of the time;
* the forecast category follows the stage, one step more optimistic for the optimistic half of the reps;
* the amount starts at the list price and changes once for a third of the deals at the Proposal stage,
  up on average for deals that will be won and down for those that will be lost.

Rows are dated by the day a change took effect, never after the export date, and never after the deal
closed. ``truth.csv``'s true probabilities do not see the history: they are the best any model without it
can do, so a model with history features may beat them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.data.synthetic import SyntheticCRM

HISTORY_STAGES: tuple[str, ...] = ("Qualify", "Discovery", "Proposal", "Negotiation")
STAGE_PROBABILITY: tuple[float, ...] = (10.0, 25.0, 50.0, 75.0)
CATEGORIES: tuple[str, ...] = ("Pipeline", "Pipeline", "Best Case", "Commit", "Commit")
FIRST_PROMISE_DAYS = 45  # the rep's first close date: engagement plus a typical cycle
PUSH_DAYS = 30
NEVER_HORIZON_DAYS = 400


def synthetic_history(crm: SyntheticCRM, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(history, pipeline)``: the history in our ``deal_history.csv`` schema (strings, as written) and the
    pipeline with its current ``stage, amount, rep_close_date, forecast_category, rep_probability`` (the
    last history value of each open deal; Won/Lost for closed ones). Deterministic in ``seed``."""
    rng = np.random.default_rng(seed + 1_000)
    truth = crm.truth.set_index("opportunity_id")
    pipeline = crm.sales_pipeline
    export = crm.export_date.to_datetime64().astype("datetime64[D]")
    reps = np.array(sorted(set(pipeline["sales_agent"])), dtype=object)
    optimistic = dict(zip(reps, rng.random(len(reps)) < 0.5, strict=True))
    rows: list[tuple] = []
    engaged = pipeline.loc[pipeline["engage_date"].ne("")]
    for ident, agent, engage_text in engaged[["opportunity_id", "sales_agent", "engage_date"]].itertuples(
        index=False
    ):
        deal = truth.loc[ident]
        engage = np.datetime64(engage_text, "D")
        outcome = deal["outcome"]
        close = np.datetime64(deal["close_date"], "D") if outcome != "Never" else None
        end = close if close is not None else engage + np.timedelta64(NEVER_HORIZON_DAYS, "D")
        span = max(int((end - engage).astype(int)), 1)
        lift = 1 if optimistic[agent] else 0
        price = float(deal["list_price"])
        if outcome == "Won":
            top = len(HISTORY_STAGES)
        elif outcome == "Lost":
            top = int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))
        else:
            top = int(rng.choice([1, 2], p=[0.6, 0.4]))
        cuts = np.sort(rng.uniform(0.0, 0.85, top - 1)) if top > 1 else np.array([])
        entered = [engage, *[engage + np.timedelta64(int(f * span), "D") for f in cuts]]
        changes: list[tuple[np.datetime64, int]] = [(day, k) for k, day in enumerate(entered)]
        if outcome == "Lost" and top >= 2 and rng.random() < 0.25:
            back = engage + np.timedelta64(int(rng.uniform(0.86, 0.95) * span), "D")
            changes.append((back, top - 2))
        amount_day = entered[2] if top >= 3 and rng.random() < 1 / 3 else None
        factor = rng.normal(1.1 if outcome == "Won" else 0.8, 0.1)
        promise = engage + np.timedelta64(FIRST_PROMISE_DAYS, "D")
        pushes: list[tuple[np.datetime64, np.datetime64]] = []
        if outcome == "Lost" and rng.random() < 1 / 3:  # pushed before its date came
            early = engage + np.timedelta64(int(rng.uniform(0.2, 0.6) * span), "D")
            if early < promise:
                promise_after = promise + np.timedelta64(PUSH_DAYS, "D")
                pushes.append((early, promise_after))
                promise = promise_after
        last_open = end if close is not None else export  # a deal that never closes is pushed for ever
        while promise < last_open:
            day = promise + np.timedelta64(int(rng.integers(1, 8)), "D")
            if day >= last_open:
                break
            promise = promise + np.timedelta64(PUSH_DAYS, "D")
            pushes.append((day, promise))
        first_stage = changes[0][1]
        rows.append(
            (
                ident,
                engage,
                HISTORY_STAGES[first_stage],
                price,
                engage + np.timedelta64(FIRST_PROMISE_DAYS, "D"),
                CATEGORIES[first_stage + lift],
                STAGE_PROBABILITY[first_stage],
            )
        )
        for day, k in changes[1:]:
            amount = price * factor if amount_day is not None and day >= amount_day else None
            rows.append(
                (ident, day, HISTORY_STAGES[k], amount, None, CATEGORIES[k + lift], STAGE_PROBABILITY[k])
            )
        for day, new_promise in pushes:
            rows.append((ident, day, None, None, new_promise, None, None))
        if close is not None:
            final = "Won" if outcome == "Won" else "Lost"
            rows.append((ident, close, final, None, close, "Closed" if outcome == "Won" else "Omitted", None))
    history = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "changed_at",
            "stage",
            "amount",
            "rep_close_date",
            "forecast_category",
            "rep_probability",
        ],
    )
    history = history.loc[history["changed_at"] <= export]
    history = history.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    return _as_written(history), _current(pipeline, history)


def with_history(crm: SyntheticCRM, seed: int = 7) -> SyntheticCRM:
    """``crm`` with its field history drawn (:func:`synthetic_history`): the pipeline carries each deal's
    current stage and the rep's current call, ``history`` the changes that led there."""
    history, pipeline = synthetic_history(crm, seed)
    return replace(crm, sales_pipeline=pipeline, history=history)


def _as_written(history: pd.DataFrame) -> pd.DataFrame:
    """The history as our CSV holds it: ISO dates, whole amounts and probabilities, blank = unchanged."""

    def day(values: pd.Series) -> pd.Series:
        return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")

    def number(values: pd.Series) -> pd.Series:
        return pd.to_numeric(values).map(lambda v: "" if pd.isna(v) else str(int(round(v))))

    return pd.DataFrame(
        {
            "opportunity_id": history["opportunity_id"],
            "changed_at": day(history["changed_at"]),
            "stage": history["stage"].fillna(""),
            "amount": number(history["amount"]),
            "rep_close_date": day(history["rep_close_date"]),
            "forecast_category": history["forecast_category"].fillna(""),
            "rep_probability": number(history["rep_probability"]),
        }
    )


def _current(pipeline: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The pipeline with each deal's current stage and the rep's current call (open deals' last values)."""
    last = history.groupby("opportunity_id", sort=False).last()  # last non-null value per field
    written = _as_written(last.reset_index()).set_index("opportunity_id")
    out = pipeline.copy()
    ids = out["opportunity_id"]
    is_open = out["deal_stage"].isin(["Prospecting", "Engaging"])
    for column in ("stage", "amount", "rep_close_date", "forecast_category", "rep_probability"):
        out[column] = ids.map(written[column]).fillna("").where(is_open, "")
    out["stage"] = out["stage"].where(is_open, out["deal_stage"])
    out.loc[is_open & out["stage"].eq(""), "stage"] = out["deal_stage"]
    return out
