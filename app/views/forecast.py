"""Forecast: P10/P50/P90 revenue by week, month and quarter; by segment; the whole quarter (won, open deals
and deals not yet created) beside the last complete quarters; the quarter so far and a target's chance; the
track record; and how far to trust the band (the forecast backtest)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import charts
from app.components import forecast_call as call_view
from app.components.format import TABLE_PLACEHOLDER, Money, md, percent, whole_amounts
from app.components.gate import missing_notice, require_run
from app.components.quarter import NO_WHOLE_QUARTER, no_period_figures, quarter_metrics
from app.filters import FORECAST_SEGMENT_TYPES, SEGMENT_LABELS, current_filters
from app.services import forecast_call, health, pipeline, selection, whole_quarter
from app.services.store import (
    forecast_accuracy,
    forecast_backtest_command,
    forecast_quantiles,
    predict_command,
    quarter_actuals,
    run_state,
    targets,
)

PERIODS = {"week": "Weekly", "month": "Monthly", "quarter": "Quarterly"}
PERIOD_FORMAT = {"week": "%Y-%m-%d", "month": "%b %Y", "quarter": "Q%q %Y"}

run = require_run(run_state())
money = Money(run.metadata.currency)
st.title("Revenue forecast")
if run.forecast is None:
    missing_notice("forecast.csv", predict_command(run.out_dir))
    st.stop()
forecast = run.forecast
filters = current_filters()
deals = pipeline.apply_filters(run.predictions, filters)
quarter = pipeline.headline_quarter(run.as_of)
figures = selection.headline_figures(run, deals, filters, quarter)  # the Overview shows the same
segment = figures.segment  # None: the filtered deals are none of the segments forecast.csv holds
if segment is None:
    st.caption(
        f"Showing the {len(deals):,} filtered deals, which are not one of the forecast's segments: their "
        "quarter figures are in the quarter view below."
    )
else:
    st.caption(
        f"Showing: {md(SEGMENT_LABELS[segment[0]])}"
        f"{'' if segment[1] is None else ' ' + md(segment[1])}. Revenue from deals open on "
        f"{md(run.metadata.as_of)} that are won in each period; closed-won bars are revenue already "
        "won in the period before the as-of date. Deals not yet created are in the whole-quarter view below."
    )
money_col = {
    c: st.column_config.NumberColumn(label, format=money.table_format)
    for c, label in (
        ("closed_won", "Closed won"),
        ("expected", "Expected"),
        ("p10", "P10"),
        ("p50", "P50"),
        ("p90", "P90"),
    )
}

period_type = (
    st.segmented_control(
        "Period", list(PERIODS), format_func=PERIODS.get, default="month", key="forecast_period"
    )
    or "month"
)
rows = pipeline.forecast_rows(forecast, period_type, *segment) if segment is not None else None
finished, ahead = pipeline.split_finished_periods(rows, run.as_of) if rows is not None else (None, None)
if segment is None:
    st.info(no_period_figures("in the quarter view below"))  # never the company's chart beside these numbers
elif ahead.empty:
    st.info("No forecast rows for this period type and segment.")
else:
    charts.show(charts.forecast_fan(ahead, money))
    for _, period in finished.iterrows():
        st.caption(
            f"The {period_type} from {period['period_start']:%Y-%m-%d} to "
            f"{period['period_end']:%Y-%m-%d} ends on the as-of date: nothing left to forecast in it; "
            f"{md(money(period['closed_won']))} was won in it."
        )
    table = rows[["period_start", "period_end", "closed_won", "expected", "p10", "p50", "p90"]]
    with st.expander("Forecast table"):
        st.dataframe(
            whole_amounts(table, list(money_col)),
            hide_index=True,
            width="stretch",
            placeholder=TABLE_PLACEHOLDER,
            column_config={
                "period_start": st.column_config.DateColumn("Period start", format="YYYY-MM-DD"),
                "period_end": st.column_config.DateColumn("Period end", format="YYYY-MM-DD"),
                **money_col,
            },
        )

st.subheader("By segment")
if filters.active:
    st.caption("The whole forecast split by segment: the sidebar filters do not apply to this table.")
left, right = st.columns(2)
segment_type = left.selectbox(
    "Segment", FORECAST_SEGMENT_TYPES, format_func=SEGMENT_LABELS.get, key="forecast_seg"
)
starts = pipeline.forecast_rows(forecast, period_type)["period_start"].tolist()
period_start = (
    right.selectbox(
        "Period starting",
        starts,
        format_func=lambda d: f"{pd.Timestamp(d):%Y-%m-%d}",
        index=min(pipeline.first_busy_period(forecast, period_type, segment_type), max(len(starts) - 1, 0)),
        key="forecast_seg_period",
    )
    if starts
    else None
)
if period_start is not None:
    breakdown = pipeline.segment_breakdown(forecast, period_type, period_start, segment_type)
    st.dataframe(
        whole_amounts(breakdown, list(money_col)),
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        column_config={"segment": SEGMENT_LABELS[segment_type], **money_col},
    )

st.subheader("The whole quarter: won, open deals and deals not yet created")
if segment is None:
    st.info(NO_WHOLE_QUARTER)
else:
    actuals = quarter_actuals(run)
    bars = whole_quarter.quarter_bars(forecast, actuals, run.as_of, segment)
    bars = whole_quarter.with_quotas(bars, targets(run), segment)
    charts.show(charts.whole_quarter_chart(bars, money), key="whole_quarter")
    who = None if segment[0] == "all" else f"{SEGMENT_LABELS[segment[0]].lower()} {segment[1]}"
    if figures.whole is not None:
        not_engaged = int((~pipeline.scored(run.predictions)).sum())
        sentence = whole_quarter.new_deals_sentence(
            run.metadata.simulation.get("new_deals"),
            figures.whole.new_expected,
            quarter.label,
            who,
            not_engaged,
            money,
        )
        if sentence:
            st.markdown(md(sentence))
    st.caption(
        "Grey: what each complete quarter won. Each quarter ahead stacks won so far, expected from open "
        "deals and expected from deals not yet created (their sum, the expected whole quarter, is written "
        "under its name); the dark mark is the middle estimate and the whisker the likely range (80% of "
        "outcomes)."
        + (
            " The red line is each quarter's quota from the export's quotas file."
            if bars["quota"].notna().any()
            else ""
        )
    )
    nothing = bars.loc[bars["complete"] & bars["won"].eq(0), "label"].tolist()
    if nothing:
        st.caption(
            f"Nothing won is recorded in {md(', '.join(nothing))}{'' if who is None else ' for ' + md(who)}."
        )
    if actuals is None:
        missing_notice("Past quarters' revenue (quarter_actuals.csv)", predict_command(run.out_dir))

st.subheader(f"Quarter view: {quarter.label}")
target = st.number_input(
    f"Quarter target ({money.unit}, optional)",
    min_value=0.0,
    value=None,
    step=10_000.0,
    key="forecast_target",
    persist_state="session",  # kept when the leader goes to another page and back
    format="%.0f",
    placeholder="the quota" if run.metadata.targets else "no target",
    help="Leave it empty to use the quota from the export's quotas file, when it has one."
    if run.metadata.targets
    else None,
)
quarter_metrics(figures, quarter, selection.simulation_note(run, False), money)
target = call_view.target_block(
    target,
    forecast_call.quota_for(targets(run), quarter, segment),
    run.metadata.targets.get("file", ""),
    figures,
    deals,
    quarter,
    segment,
    forecast_quantiles(run),
    predict_command(run.out_dir),
    money,
)
points = pipeline.cumulative_quarter(forecast, quarter, run.as_of, *segment) if segment is not None else None
if points is None:
    st.caption(
        "The week-by-week build-up exists for the whole pipeline or one region, manager, rep or product only."
    )
elif not points.empty:
    charts.show(
        charts.cumulative_quarter_chart(points, target or None, f"Cumulative revenue, {quarter.label}", money)
    )
    st.caption(
        "Weekly points add expected revenue from open deals (solid) and, dashed, from deals not yet created "
        "too (expected values add up); the likely range exists only at the quarter's end, for the whole "
        "quarter, because ranges do not add week by week."
    )

if forecast_call.has_categories(deals):
    st.subheader(f"The reps' call against the model, {quarter.label}")
    called = forecast_call.call_deals(deals, quarter)
    if called.empty:
        st.caption(f"No filtered deal has a rep close date in {md(quarter.label)}.")
    else:
        simulate = len(called) <= selection.QUICK_DEALS or st.toggle(
            "Simulate the model's likely range for these deals",
            key="call_ranges",
            help=f"{len(called):,} deals: the first simulation takes a few seconds, then it is kept.",
        )
        ranges = selection.ranges_by(run, called, "category", quarter) if simulate else {}
        table = forecast_call.with_ranges(forecast_call.rep_call(called), ranges, money)
        st.markdown(md(forecast_call.call_sentence(table, quarter.label, money)))
        call_view.rep_call_table(table, money)
        st.caption(
            f"Each category holds the filtered open deals whose rep close date is in {md(quarter.label)}. "
            "The model's expected value and range are for the same deals, from its chance of winning each "
            "inside the quarter; "
            + (
                f"the range is simulated for them with {md(selection.simulation_note(run, False))}."
                if simulate
                else "the range is simulated when the toggle above asks for it."
            )
        )
    at_risk = forecast_call.commit_at_risk(called)
    upside = forecast_call.upside(deals, quarter)
    call_view.deal_list(
        f"Commit at risk: {len(at_risk):,} deal{'s' if len(at_risk) != 1 else ''}",
        at_risk,
        "No Commit deal due this quarter has a model chance under 30%.",
        money,
        "call_at_risk",
        "Main risk driver",
    )
    call_view.deal_list(
        f"Upside: {len(upside):,} deal{'s' if len(upside) != 1 else ''}",
        upside,
        "No Pipeline or Best Case deal has a model chance over 60% this quarter.",
        money,
        "call_upside",
        "Main reason it may win",
    )
    st.caption(
        "Commit at risk: Commit deals the rep expects this quarter that the model gives under 30% in it. "
        "Upside: Pipeline and Best Case deals the model gives over 60% this quarter, whatever the rep's date."
    )
    st.download_button(
        "Download the reps' call as CSV",
        data=lambda: forecast_call.call_csv(called, at_risk, upside),
        file_name=f"reps_call_{run.metadata.as_of}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )

accuracy = forecast_accuracy(run)
record = None  # the open deals' track record: the backtest below replays open deals' forecasts too
if accuracy is not None and not accuracy.empty:
    st.subheader("Track record: past weeks' forecasts against what was won")
    scope = (
        st.segmented_control(
            "Forecast of",
            forecast_call.SCOPES,
            format_func={"total": "The whole quarter", "open": "The deals open that week"}.get,
            default="total",
            key="track_record_scope",
        )
        or "total"
    )
    record = forecast_call.track_record(accuracy, "open")
    shown = record if scope == "open" else forecast_call.track_record(accuracy, scope)
    st.markdown(md(forecast_call.track_record_sentence(shown, money)))
    rows = forecast_call.track_record_rows(accuracy)
    charts.show(charts.track_record_chart(rows, money, scope), key="track_record")
    st.caption(
        (
            "Each Friday of the last two complete quarters, the forecast of that quarter's whole revenue "
            "(won before that day, from the deals open then and from deals created later) against "
            "everything the quarter won. "
            if scope == "total"
            else "Each Friday of the last two complete quarters, the forecast of that quarter's revenue from "
            "the deals open that day, against what those deals went on to win in it (both shrink as the "
            "quarter goes on). "
        )
        + ("The whole pipeline's: the sidebar filters do not apply." if filters.active else "")
    )
    st.download_button(
        "Download the track record as CSV",
        data=lambda: rows.to_csv(index=False),
        file_name=f"forecast_track_record_{run.metadata.as_of}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )

st.subheader("How far to trust the open deals' range")
backtest = run.metadata.forecast_backtest
if not backtest or not backtest.get("summary"):
    missing_notice(
        "The forecast backtest (past forecasts against what was won)",
        forecast_backtest_command(run),
        (backtest or {}).get("status"),
    )
else:
    summary = backtest["summary"]
    checks = forecast_call.band_checks_sentence(record, summary)
    if checks:
        st.markdown(md(checks))
    trust = health.forecast_trust(summary, forecast_call.weekly_share(record))
    if trust:
        st.markdown(md(trust))
    whole_period = forecast_call.whole_period_backtest_sentence(summary)
    if whole_period:
        st.markdown(md(whole_period))
    st.page_link(
        "views/model_health.py",
        label="How the win probabilities were checked (Model & Data Health)",
        icon="🔎",
    )
    change = health.miss_change(summary)
    cols = st.columns(3)
    cols[0].metric(
        "Past periods inside the range",
        percent(summary.get("coverage_p10_p90")),
        help="Share of past periods whose actual revenue fell between the P10 and the P90 (80% is the aim).",
    )
    cols[1].metric(
        "Same, treating deals as independent",
        percent(summary.get("naive_coverage_p10_p90")),
        help="The same forecast with every deal closing independently of the others.",
    )
    cols[2].metric(
        "Misses against that forecast",
        "n/a" if change is None else f"{abs(change):.0%} {'smaller' if change < 0 else 'larger'}",
        help="How far actual revenue fell from the P10, P50 and P90, against the independent-deals forecast.",
    )
    with st.expander("Statistical detail"):
        cols = st.columns(2)
        cols[0].metric("Pinball loss", money(summary.get("pinball")), help="Lower is better.")
        cols[1].metric("Naive pinball loss", money(summary.get("naive_pinball")))
        st.caption(
            f"Over {int(summary.get('windows', 0)):,} backtest windows. The band is well sized when coverage "
            "is near 80%, and useful when its pinball loss (the mean quantile loss over P10, P50 and P90) is "
            "below the naive forecast's (independent deals)."
        )
        if summary.get("note"):
            st.caption(md(f"How the backtest was made: {summary['note']}."))
    shown = pipeline.backtest_windows_to_show(pd.DataFrame(backtest.get("windows") or []))
    if not shown.empty:
        charts.show(charts.backtest_windows_chart(shown, money))
        st.caption("Whole-pipeline windows only (segment windows count in the share above).")
