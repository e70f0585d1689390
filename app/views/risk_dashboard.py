"""Risk Dashboard: open deals ranked by value at risk (live deals before stale ones by default); select a row
to open it in the drill-down."""

from __future__ import annotations

import streamlit as st

from app.components import charts
from app.components.format import (
    TABLE_PLACEHOLDER,
    Money,
    account_names,
    data_flags_column,
    md,
    whole_amounts,
)
from app.components.gate import require_run
from app.components.notes import unscored_caption
from app.filters import SEGMENT_LABELS, current_filters
from app.services import pipeline
from app.services.store import run_state

MAX_ROWS = 2_000
TABLE_COLUMNS = [
    "opportunity_id",
    "account",
    "value_at_risk",
    "value_in_play",
    "win_probability",
    "risk_tier",
    "stale",
    "data_flags",
    "deal_value",
    "age_days",
    "sales_agent",
    "manager",
    "product",
    "deal_stage",
    "close_date_pushes",
    "expected_close_date",
    "driver_1",
    "driver_2",
    "driver_3",
    "link",
]

run = require_run(run_state())
money = Money(run.metadata.currency)
filters = current_filters()
tiers = pipeline.tier_order(run.predictions, run.metadata.risk.tiers)
deals = pipeline.apply_filters(run.predictions, filters)

st.title("Risk dashboard")
left, right = st.columns([3, 2])
search = left.text_input(
    "Search deals", key="risk_search", placeholder="Deal id, account, rep, manager or product"
)
sort_label = right.selectbox("Sort by", list(pipeline.DEAL_SORTS), key="risk_sort")
sort = pipeline.DEAL_SORTS[sort_label]
history = pipeline.has_history(run.predictions)  # close-date pushes come from the export's field history
slipped_only = history and st.toggle(
    "Slipped only",
    key="risk_slipped",
    help="Only deals whose close date was pushed at least once (from the CRM's field history).",
)
found = pipeline.search_deals(pipeline.slipped(deals) if slipped_only else deals, search)
shown = pipeline.deal_view(found, sort, n=MAX_ROWS)  # the export below takes every row in this order
shown = whole_amounts(shown, ["deal_value", "value_at_risk", "value_in_play"]).assign(
    link=pipeline.deal_links(shown["opportunity_id"], filters),
    win_probability=shown["win_probability"] * 100,
    deal_stage=pipeline.crm_stage(shown),  # the CRM's own stage name (the CSV export keeps both columns)
    account=account_names(shown["account"]),  # a blank account says so instead of an empty cell
)
if not history:  # blank for every deal without a field history: no column of dashes
    shown = shown.drop(columns="close_date_pushes", errors="ignore")
if "data_flags" in shown.columns:  # codes in words (the CSV export keeps the codes)
    shown = shown.assign(data_flags=data_flags_column(shown["data_flags"]))

cols = st.columns(3)
cols[0].metric("Deals in view", f"{len(found):,}")
cols[1].metric("Value at risk in view", money(found["value_at_risk"].sum()))
cols[2].metric("Deal value in view", money(found["deal_value"].sum()))
unscored_caption(pipeline.unscored_deals(run.predictions, filters), money)
if len(found) > MAX_ROWS:
    st.caption(
        f"Showing the first {MAX_ROWS:,} of {len(found):,} deals by {md(sort_label.lower())}; "
        "narrow with filters or search. The CSV export holds all of them."
    )

event = st.dataframe(
    shown[[c for c in TABLE_COLUMNS if c in shown.columns]],
    hide_index=True,
    width="stretch",
    height=420,
    placeholder=TABLE_PLACEHOLDER,  # a stale deal's close date, an unscored deal's value at risk
    key="risk_table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "opportunity_id": "Deal",
        "account": "Account",
        "sales_agent": "Rep",
        "manager": "Manager",
        "product": "Product",
        "deal_stage": "Stage",
        "risk_tier": "Tier",
        "stale": "Stale",
        "data_flags": st.column_config.TextColumn("Data flags", help="Data problems found on this deal"),
        "win_probability": st.column_config.ProgressColumn(
            "Win probability", format="%.0f%%", min_value=0.0, max_value=100.0
        ),
        "deal_value": st.column_config.NumberColumn("Deal value", format=money.table_format),
        "value_at_risk": st.column_config.NumberColumn("Value at risk", format=money.table_format),
        "value_in_play": st.column_config.NumberColumn(
            "Value in play",
            format=money.table_format,
            help="Deal value x win probability x chance of loss: large for big deals that can still go "
            "either way (the Overview's order).",
        ),
        "age_days": st.column_config.NumberColumn(
            "Age (days)",
            format="%d",
            help=f"Days since the deal was engaged; {TABLE_PLACEHOLDER} for Prospecting deals, which have no "
            "engage date yet",
        ),
        "close_date_pushes": st.column_config.NumberColumn(
            "Pushes", format="%d", help="How many times the rep moved the close date later (field history)"
        ),
        "expected_close_date": st.column_config.DateColumn("Expected close", format="YYYY-MM-DD"),
        "driver_1": st.column_config.TextColumn("Driver 1", width="large"),
        "driver_2": st.column_config.TextColumn("Driver 2", width="large"),
        "driver_3": st.column_config.TextColumn("Driver 3", width="large"),
        "link": st.column_config.LinkColumn(
            "Share link", display_text="Open deal", help="Opens the deal in a new tab with these filters"
        ),
    },
)
selected = event.selection.rows if event is not None else []
if selected:
    deal_id = str(shown.iloc[selected[0]]["opportunity_id"])
    st.session_state["selected_deal"] = deal_id
    # the filters stay in session state; in the URL too, so the drill-down's address is a shareable link
    st.switch_page("views/deal_drilldown.py", query_params=pipeline.deal_query(deal_id, filters))

st.download_button(
    "Download this view as CSV",
    data=lambda: pipeline.deal_view_csv(found, sort),
    file_name=f"deals_at_risk_{run.metadata.as_of}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)

st.subheader("Where the risk sits")
segment_column = (
    st.segmented_control(
        "Segment",
        list(SEGMENT_LABELS)[:-1],
        format_func=SEGMENT_LABELS.get,
        default="regional_office",
        key="risk_segment",
    )
    or "regional_office"
)
by_segment = pipeline.risk_by_segment(found, segment_column, tiers)
if by_segment.empty:
    st.caption("No deals in view.")
else:
    charts.show(
        charts.risk_by_segment_chart(
            by_segment, pipeline.risk_categories(tiers), SEGMENT_LABELS[segment_column], money
        )
    )
    st.caption(
        "Top 15 segments by value at risk. Colours are the risk tiers of live deals; hatched grey is "
        "stale deals (any tier), whose value is at risk only because nobody has closed them out."
    )
