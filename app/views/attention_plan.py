"""Attention Plan: which deals each manager reviews this week within their hours, the value in play those
reviews cover against the top-of-list approach with the same hours, hours editable per manager
(attention_plan.csv and the metadata's ``attention_plan``; re-planned by core.diagnostics.attention)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.format import TABLE_PLACEHOLDER, Money, account_names, md, whole_amounts
from app.components.gate import missing_notice, require_run
from app.filters import current_filters
from app.services import attention, pipeline
from app.services.store import attention_plan, predict_command, run_state

PER_ROW = 4  # hour inputs side by side

run = require_run(run_state())
money = Money(run.metadata.currency)
st.title("Attention plan")
batch_plan = attention_plan(run)
recorded = run.metadata.attention_plan or {}
chance = str(recorded.get("chance", "p_close_in_quarter"))  # the quarter the batch step planned for
when = "next quarter" if chance == "p_close_next_quarter" else "this quarter"
if batch_plan is None:
    missing_notice("This week's attention plan (attention_plan.csv)", predict_command(run.out_dir))
    st.stop()
filters = current_filters()
names = attention.managers(run.predictions, recorded.get("capacity_hours") or {})
batch_hours = attention.batch_hours(recorded, names)
shown = attention.chosen_managers(run.predictions, names, filters)
st.caption(
    f"Where each manager's review hours this week do the most: the deals whose outcome {when} can still "
    "go either way, as many as the hours allow."
)
ignored = attention.ignored_filters(filters)
if ignored:
    st.caption(
        f"Not applied on this page: the sidebar's {md(', '.join(ignored))} choice. Each manager's plan is "
        "made over all their live deals."
    )
if not shown:
    st.info("No manager of the chosen regions and managers has open deals in this run.")
    st.stop()

# hours per manager: kept for this run across reruns and pages (a widget's own state is dropped off-page)
stored = st.session_state.setdefault(f"attention_hours_{run.run_id}", {})


def _keep(manager: str) -> None:
    """on_change: remember the hours typed for ``manager``."""
    stored[manager] = float(st.session_state[f"_w_attention_hours_{manager}"])


def _reset() -> None:
    """on_click: back to the hours the batch step planned with."""
    stored.clear()


st.subheader("Hours this week")
for start in range(0, len(shown), PER_ROW):
    cols = st.columns(PER_ROW)
    for col, manager in zip(cols, shown[start : start + PER_ROW], strict=False):
        key = f"_w_attention_hours_{manager}"
        st.session_state[key] = stored.get(manager, batch_hours[manager])
        col.number_input(
            manager if manager != "Unknown" else "Unknown (reps without a manager)",
            min_value=0.0,
            max_value=168.0,
            step=attention.HOURS_STEP,
            key=key,
            on_change=_keep,
            args=(manager,),
            format="%g",
            help=f"The batch step planned with {batch_hours[manager]:g} hours.",
        )
hours = {manager: stored.get(manager, batch_hours[manager]) for manager in shown}
edited = [m for m in shown if hours[m] != batch_hours[m]]
st.button("Back to the planned hours", on_click=_reset, disabled=not edited, icon=":material/undo:")

plan = attention.plan(run.run_id, run.predictions, hours, batch_hours, batch_plan, chance)
cols = st.columns(4)
cols[0].metric(
    "Value in play covered",
    money(plan.objective),
    help=f"Value in play {when} of the deals the plan reviews.",
)
cols[1].metric(
    "Top-of-list approach",
    money(plan.greedy_objective),
    help="The same hours spent down the list of deals by value in play, largest first, until the next deal "
    "no longer fits.",
)
cols[2].metric("Deals to review", f"{int(plan.managers['deals'].sum()):,}")
cols[3].metric(
    "Hours used",
    f"{plan.managers['hours_used'].sum():,.4g} of {plan.hours:,.4g}",
    help="Review hours planned.",
)
st.markdown(md(attention.summary_sentence(plan, money, when)))
# a plan made for the as-of quarter (runs before the plan followed the headline quarter) on its last day
if recorded.get("chance", "p_close_in_quarter") == "p_close_in_quarter" and (
    attention.nothing_winnable_this_quarter(run.predictions, shown)
):
    as_of = pd.Timestamp(run.metadata.as_of)
    headline = pipeline.headline_quarter(as_of)
    lead = (
        f" The Overview and the Forecast lead with {headline.label}; this plan is the batch step's, made for "
        "the as-of quarter."
        if headline.is_next
        else ""
    )
    st.info(
        f"No live deal here can still be won in Q{as_of.quarter} {as_of.year}, the quarter of the as-of date "
        f"({as_of:%Y-%m-%d}), so no review this week changes that quarter and the plan is empty.{lead}"
    )
idle, idle_value = attention.unplanned(run.predictions, plan, chance)
if idle:
    st.caption(
        f"{idle:,} live deal{'s' if idle != 1 else ''} ({md(money(idle_value))} of value in play {when}) "
        "belong to managers with no hours here, such as reps without a manager in the CRM: "
        "nobody's plan covers them unless you give those hours above."
    )
if edited:
    kept = "; the others keep the batch step's plan" if len(edited) < len(shown) else ""
    st.caption(f"Re-planned here with the hours typed for {md(', '.join(edited))}{kept}.")

st.subheader("Per manager")
st.dataframe(
    whole_amounts(plan.managers, ["objective", "greedy_objective"]).drop(columns="as_batch"),
    hide_index=True,
    width="stretch",
    key="attention_managers",
    column_config={
        "manager": "Manager",
        "capacity_hours": st.column_config.NumberColumn("Hours", format="%g"),
        "hours_used": st.column_config.NumberColumn("Hours used", format="%g"),
        "deals": st.column_config.NumberColumn("Deals", format="localized"),
        "objective": st.column_config.NumberColumn("Value in play covered", format=money.table_format),
        "greedy_objective": st.column_config.NumberColumn("Top-of-list covers", format=money.table_format),
        "greedy_deals": st.column_config.NumberColumn("Top-of-list deals", format="localized"),
    },
)

table = attention.review_table(plan.reviews, run.predictions, chance)
shown_table = whole_amounts(table, ["deal_value", "objective"]).assign(
    account=lambda t: account_names(t["account"]),
    quarter_chance=lambda t: t["quarter_chance"] * 100,
    win_probability=lambda t: t["win_probability"] * 100,
    link=lambda t: pipeline.deal_links(t["opportunity_id"], filters),
)
columns = {  # what a manager reads first on the left: the deal, its value in play and the hours
    "opportunity_id": "Deal",
    "account": "Account",
    "sales_agent": "Rep",
    "objective": st.column_config.NumberColumn(
        f"In play {when}",
        format=money.table_format,
        help=f"Value in play {when}: deal value x chance {when} x chance not {when}.",
    ),
    "hours": st.column_config.NumberColumn("Review hours", format="%g"),
    "quarter_chance": st.column_config.ProgressColumn(
        f"Chance {when}",
        format="%.0f%%",
        min_value=0.0,
        max_value=100.0,
        help=f"Chance the deal is won {when}.",
    ),
    "win_probability": st.column_config.NumberColumn(
        "Win probability",
        format="%.0f%%",
        help="Chance the deal is ever won: a deal sure to be won but not sure to close this quarter is in "
        "play for its timing.",
    ),
    "deal_value": st.column_config.NumberColumn("Deal value", format=money.table_format),
    "stage_name": "Stage",
    "risk_tier": "Risk tier",
    "link": st.column_config.LinkColumn("Open", display_text="Open deal"),
}
st.subheader("The deals to review")
for row in plan.managers.itertuples():
    if row.capacity_hours <= 0 and not row.deals:
        continue  # no hours, no deals: the caption above counts what nobody covers
    mine = shown_table[shown_table["manager"].eq(row.manager)]
    label = (
        f"{row.manager}: {row.deals:,} deal{'s' if row.deals != 1 else ''}, {row.hours_used:g} of "
        f"{row.capacity_hours:g} hours, {money(row.objective)} in play"
    )
    with st.expander(md(label), expanded=len(plan.managers) == 1):
        if mine.empty:
            st.caption("No deal fits these hours." if row.capacity_hours > 0 else "No hours this week.")
            continue
        st.dataframe(
            mine[[c for c in columns if c in mine.columns]],
            hide_index=True,
            width="stretch",
            placeholder=TABLE_PLACEHOLDER,
            key=f"attention_deals_{row.manager}",
            height=min(38 + 35 * len(mine), 600),
            column_config=columns,
        )

st.download_button(
    "Download the plan as CSV",
    data=lambda: attention.plan_csv(table),
    file_name=f"attention_plan_{run.metadata.as_of}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
review = recorded.get("review_hours") or {}
per_tier = ", ".join(f"{tier} {hours_:g} h" for tier, hours_ in review.items())
st.caption(
    f"Value in play {when} = deal value x chance the deal is won {when} x chance it is not: the "
    "money whose quarter is still open, largest for a deal that could go either way and none for one "
    "already decided (so it differs from the Overview's value in play, which takes the chance of ever "
    "winning). Stale and unscored deals are not planned. "
    + (f"A review takes the hours its risk tier asks: {md(per_tier)}. " if per_tier else "")
    + "The plan picks, for each manager, the deals that cover the most value in play within their hours; "
    "the top-of-list approach takes deals by value in play, largest first, until the next one no longer fits."
)
if recorded.get("method"):
    with st.expander("For analysts: how the plan is made"):
        st.caption(md(recorded["method"]))
