"""What Changed: how the open pipeline moved since the run's compare date (new, won, lost, amounts), the deals
behind each step, and the close dates and stages that moved (pipeline_changes.csv)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import charts
from app.components.format import TABLE_PLACEHOLDER, Money, md, whole_amounts
from app.components.gate import missing_notice, require_run
from app.components.quarter import WHOLE_MIDDLE
from app.filters import current_filters
from app.services import changes as what_changed
from app.services import pipeline
from app.services.store import (
    compare_command,
    pipeline_changes,
    predict_command,
    run_state,
)

run = require_run(run_state())
money = Money(run.metadata.currency)
st.title("What changed")
changes = pipeline_changes(run)
if changes is None:
    missing_notice("What changed since the compare date (pipeline_changes.csv)", predict_command(run.out_dir))
    st.stop()
recorded = run.metadata.changes or {}
compare_to = str(recorded.get("compare_to") or "the compare date")
filters = current_filters()
history = what_changed.has_field_history(run.predictions, changes)
shown = what_changed.filter_changes(changes, filters)
move = what_changed.pipeline_move(
    shown, what_changed.pipeline_now(run.predictions, filters), with_amounts=history
)

source = f", read from {recorded['source']}" if recorded.get("source") else ""
if not history:
    source += (
        ". So only new, won and lost deals move the pipeline here: amounts, close dates and stages that "
        "changed need a field history in the export"
    )
st.caption(md(f"From {compare_to} to {run.metadata.as_of}{source}."))
segment = what_changed.segment_filters(filters)
if segment.active:
    st.caption(
        "Only the deals of the selected regions, managers, reps and products, each counted under the rep "
        "who owns it today."
    )
ignored = what_changed.ignored_filters(filters)
if ignored:
    st.caption(
        f"Not applied on this page: the sidebar's {md(', '.join(ignored))} choice. A won or lost deal has no "
        "risk tier, sector or stale flag today, and unscored deals (never engaged) are in no change."
    )

then_text, now_text = money.pair(move.then, move.now)  # $1.66M and $1.65M, not $1.7M and $1.6M
cols = st.columns(3)
cols[0].metric(f"Open pipeline on {compare_to}", then_text, help="Open pipeline now minus the changes.")
cols[1].metric(
    "Open pipeline now",
    now_text,
    help="Deal value of the open deals the model scores (the Overview's open pipeline for these filters).",
)
cols[2].metric("Change", f"{'+' if move.net >= 0 else '-'}{money(abs(move.net))}")
st.markdown(md(what_changed.summary_sentence(move, compare_to, money)))
before = recorded.get("open_pipeline_before")
if not segment.active and isinstance(before, int | float) and abs(float(before) - move.then) > 0.01:
    st.warning(
        f"The batch step recorded an open pipeline of {md(money(before))} on {md(compare_to)}, but today's "
        f"deals less the changes give {md(money(move.then))}: the files may be from different runs. "
        f"Re-run {md(predict_command(run.out_dir))}."
    )
charts.show(charts.pipeline_change_chart(what_changed.waterfall_steps(move, compare_to), money))


def _quarter_outlook(outlook: what_changed.QuarterOutlookMove) -> None:
    """The as-of quarter's outlook for the whole team: its like-for-like move since the compare date beside
    the model's own middle estimate. (No chance of a target here: the replay's levels are not the model's, so
    its chances would sit beside the Forecast page's different ones.)"""
    st.subheader(f"The outlook for {outlook.quarter}")
    if filters.active:
        st.caption(
            "For the whole team: the batch step replays the quarter's outlook for the whole team only, so "
            "the sidebar's filters do not apply to this section."
        )
    model = what_changed.model_quarter(run.forecast, outlook.period_start)
    change = outlook.change
    replayed = ""
    if outlook.then is not None and outlook.now is not None:
        then_text, now_text = money.pair(outlook.then.p50, outlook.now.p50)
        replayed = md(
            f" Replayed middle estimate: {then_text} on {compare_to}, {now_text} on {run.metadata.as_of}."
        )
    cols = st.columns(2)
    if model is not None:
        cols[0].metric(
            f"{WHOLE_MIDDLE} now",
            money.same_unit(model)[0],
            help="The model's forecast of the whole quarter (won so far + open deals + deals not yet "
            "created), as on the Forecast page.",
        )
    cols[1].metric(
        f"Move since {compare_to} (like for like)",
        "n/a" if change is None else what_changed.signed(money, change),
        help="The quarter's middle estimate replayed the same way at both dates, now minus then." + replayed,
    )
    st.markdown(md(what_changed.quarter_move_sentence(outlook, compare_to, run.metadata.as_of, money)))
    why = (
        "The move is measured with a simpler forecast (no model: win chances from how long deals usually "
        "take to close) run the same way on both dates, so only what happened in between moves it"
    )
    if model is not None:
        why += f"; {money.same_unit(model)[0]} is the model's own forecast, as on the Forecast page"
    st.caption(md(f"{why}."))


try:
    quarter_outlook = what_changed.quarter_outlook_move(recorded)
except ValueError as exc:  # a malformed changes.quarter: the rest of the page still reads
    quarter_outlook = None
    st.warning(
        f"The quarter's outlook in the run's metadata cannot be read ({md(str(exc))}). "
        f"Re-run {md(predict_command(run.out_dir))}."
    )
if quarter_outlook is not None:
    _quarter_outlook(quarter_outlook)

# a hash index: Series.isin over Arrow strings converts every value of a 100,000-deal set on each call
open_ids = pd.Index(run.predictions["opportunity_id"].to_numpy(dtype=object))
money_columns = {
    "value_before": st.column_config.NumberColumn("Value then", format=money.table_format),
    "value_after": st.column_config.NumberColumn("Value now", format=money.table_format),
    "value_change": st.column_config.NumberColumn("Change", format=money.table_format),
}
table_columns = {
    "change": "Change",
    "opportunity_id": "Deal",
    "sales_agent": "Rep",
    "manager": "Manager",
    "regional_office": "Region",
    "product": "Product",
    "detail": "Detail",
    "link": st.column_config.LinkColumn("Open", display_text="Open deal", help="Deals still open today"),
}


def _deal_table(rows: pd.DataFrame, values: list[str], key: str) -> None:
    """The change rows as a table: deal, its people and product, ``values``, the detail and a link to the
    drill-down for deals still open."""
    still_open = open_ids.get_indexer(rows["opportunity_id"].to_numpy(dtype=object)) >= 0
    links = pipeline.deal_links(rows["opportunity_id"], filters).where(still_open)
    table = whole_amounts(rows, values).assign(link=links)
    if not table["detail"].astype(str).str.strip().ne("").any():
        table = table.drop(columns="detail")
    columns = ["change", "opportunity_id", *(["detail"] if "detail" in table.columns else []), *values]
    columns += ["sales_agent", "manager", "regional_office", "product", "link"]
    st.dataframe(
        table[columns],
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        key=key,
        column_config={**table_columns, **{c: money_columns[c] for c in values}},
    )


st.subheader("The deals behind each step")
for step in move.steps.itertuples():
    if not step.deals:
        continue
    sign = "+" if step.value_change >= 0 else "-"
    deals = f"{step.deals:,} deal{'s' if step.deals != 1 else ''}"
    label = f"{step.label}: {deals}, {sign}{money(abs(step.value_change))}"
    with st.expander(md(label)):
        values = ["value_change"] if step.change_type in ("new", "won", "lost") else list(money_columns)
        _deal_table(what_changed.deals_of(shown, (step.change_type,)), values, f"changes_{step.change_type}")


def _moves(kinds: tuple[str, ...], title: str, none_text: str, note: str) -> None:
    """A section listing the deals whose close date or stage moved (no value moves with them)."""
    rows = what_changed.deals_of(shown, kinds)
    if rows.empty and not history:
        return  # the caption at the top says these need a field history
    st.subheader(title)
    if rows.empty:
        st.caption(none_text)
        return
    counts = rows["change"].value_counts()
    st.caption(md("; ".join(f"{label}: {n:,}" for label, n in counts.items()) + f". {note}"))
    _deal_table(rows, ["value_after"], f"changes_{kinds[0]}")


quarter = f"Q{run.as_of.quarter} {run.as_of.year}"  # the as-of date's quarter, whose end the batch step uses
_moves(
    what_changed.CLOSE_DATE_MOVES,
    f"Close dates moved across the end of {quarter}",
    f"No rep close date moved across the end of {quarter}.",
    f"Pushed out: the rep's close date moved from inside {quarter} to after it; pulled in: the reverse. The "
    "pipeline's value stays; only when the rep expects the money moves.",
)
_moves(what_changed.STAGE_MOVES, "Stage moves", "No deal moved stage.", "Stages as the CRM names them.")

st.download_button(
    "Download these changes as CSV",
    data=lambda: what_changed.changes_csv(shown),
    file_name=f"pipeline_changes_{compare_to}_to_{run.metadata.as_of}.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
st.caption(f"Compared with {md(compare_to)}. Another compare date needs a rerun of the batch step.")
with st.expander("For analysts: rerun with another compare date"):
    st.code(compare_command(run), language="bash", wrap_lines=True)
