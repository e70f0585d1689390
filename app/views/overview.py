"""Overview: the pipeline in one screen for a sales leader."""

from __future__ import annotations

import streamlit as st

from app.components import charts
from app.components import forecast_call as call_view
from app.components.format import TABLE_PLACEHOLDER, Money, account_names, md, percent, whole_amounts
from app.components.gate import missing_notice, require_run
from app.components.notes import unscored_caption
from app.components.quarter import no_period_figures, quarter_metrics
from app.filters import SEGMENT_LABELS, current_filters
from app.services import forecast_call, health, pipeline, selection, whole_quarter
from app.services.store import forecast_quantiles, model_metrics, predict_command, run_state, targets

run = require_run(run_state())
money = Money(run.metadata.currency)
filters = current_filters()
deals = pipeline.apply_filters(run.predictions, filters)
tiers = pipeline.tier_order(run.predictions, run.metadata.risk.tiers)
attention = pipeline.attention_tiers(tiers)
quarter = pipeline.headline_quarter(run.as_of)
summary = pipeline.pipeline_summary(deals, attention, quarter)

st.title("Pipeline overview")
# out of the deals the same unscored choice shows unfiltered: "39 of 1,970" counted the unscored deals
# the figures leave out, beside "all 1,515 open deals" without filters; and "scored" is said whenever
# unscored deals are left out, since Data quality counts "of all 1,970 open deals"
scored_total = int(pipeline.scored(run.predictions).sum())
left_out = 0 if filters.include_unscored else len(run.predictions) - scored_total
everything = len(run.predictions) if filters.include_unscored else scored_total
kind = "scored open deals" if left_out else "open deals"
if filters.active:
    scope = f"{summary['open_count']:,} of {everything:,} {kind} (filtered)"
elif left_out:
    scope = (
        f"{summary['open_count']:,} {kind} (of all {len(run.predictions):,}; {left_out:,} not yet engaged "
        "are not scored)"
    )
else:
    scope = f"all {summary['open_count']:,} {kind}"
st.caption(f"As of {md(run.metadata.as_of)}, {scope}.")
unscored_caption(pipeline.unscored_deals(run.predictions, filters), money)

cols = st.columns(4)
cols[0].metric(
    "Open pipeline", money(summary["open_value"]), help="Sum of deal values of the open deals shown."
)
cols[1].metric("Open deals", f"{summary['open_count']:,}")
cols[2].metric(
    "Value at risk",
    money(summary["value_at_risk"]),
    help="Sum of deal value x (1 - calibrated win probability).",
)
cols[3].metric(
    "Deals needing attention",
    f"{summary['attention_count']:,}",
    help=f"Not stale and in tier {md(' or '.join(attention))}.",
)
if summary["stale_count"]:
    st.caption(
        f"Of the value at risk (deal value x chance of loss), {md(money(summary['stale_value_at_risk']))} "
        f"sits in {summary['stale_count']:,} stale deals (older than any deal that ever closed); "
        f"{md(money(summary['value_at_risk'] - summary['stale_value_at_risk']))} in live deals."
    )

st.subheader(f"Revenue, {quarter.label}")
figures = selection.headline_figures(run, deals, filters, quarter)  # the Forecast page shows the same
quarter_metrics(figures, quarter, selection.simulation_note(run, False), money)
if figures.whole is not None and figures.segment is not None:
    kind, name = figures.segment
    new_deals = whole_quarter.new_deals_sentence(
        run.metadata.simulation.get("new_deals"),
        figures.whole.new_expected,
        quarter.label,
        None if kind == "all" else f"{SEGMENT_LABELS[kind].lower()} {name}",
        int((~pipeline.scored(run.predictions)).sum()),
        money,
    )
    if new_deals:
        st.caption(md(new_deals))
# the target typed on the Forecast page (kept for the session), else the quota for this selection
call_view.target_block(
    st.session_state.get("forecast_target"),
    forecast_call.quota_for(targets(run), quarter, figures.segment),
    run.metadata.targets.get("file", ""),
    figures,
    deals,
    quarter,
    figures.segment,
    forecast_quantiles(run),
    predict_command(run.out_dir),
    money,
    where="on the Forecast page",
)
if quarter.is_next:
    days_left = (run.as_of.to_period("Q").end_time.normalize() - run.as_of).days
    remaining = (
        f"{md(run.metadata.as_of)} is the last day of its quarter"
        if days_left == 0
        else f"only {days_left} days of the as-of date's quarter remain after {md(run.metadata.as_of)}"
    )
    st.caption(f"Leading with the next quarter: {remaining}.")

st.markdown("**Revenue from today's open deals, by month**")
if run.forecast is None:
    missing_notice("forecast.csv", predict_command(run.out_dir))
elif figures.segment is None:
    st.caption(no_period_figures("above"))  # never the company's chart under the selection's numbers
else:
    rows = pipeline.forecast_rows(run.forecast, "month", *figures.segment)
    rows = pipeline.split_finished_periods(rows, run.as_of)[1]
    if rows.empty:
        st.caption("No monthly forecast rows for this selection.")
    else:
        charts.show(charts.forecast_fan(rows, money, height=300))

st.subheader("Five deals most worth attention")
top = pipeline.deals_needing_attention(deals, attention, 5)
if top.empty:
    st.caption("No live deal is in the attention tiers for this selection.")
else:
    st.caption(
        f"Not stale, tier {md(' or '.join(attention))}, most value in play first (deal value x win "
        "probability x chance of loss: big deals that can still go either way). The main risk driver is "
        "the reason that lowers the deal's chance most. Click a deal to open it."
    )
    st.dataframe(
        whole_amounts(top, ["value_in_play", "value_at_risk"]).assign(
            opportunity_id=pipeline.deal_links(top["opportunity_id"], filters),
            win_probability=top["win_probability"] * 100,
            main_risk_driver=pipeline.main_risk_driver(top),
            account=account_names(top["account"]),
        )[
            [
                "opportunity_id",
                "account",
                "sales_agent",
                "product",
                "value_in_play",
                "value_at_risk",
                "win_probability",
                "main_risk_driver",
            ]
        ],
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        key="overview_top5",
        column_config={
            "opportunity_id": st.column_config.LinkColumn(
                "Deal", display_text=r"deal\?deal=([^&]*)", width="small"
            ),
            "account": "Account",
            "sales_agent": "Rep",
            "product": "Product",
            "value_in_play": st.column_config.NumberColumn(
                "Value in play",
                format=money.table_format,
                help="Deal value x win probability x chance of loss: what the list is sorted by.",
            ),
            "value_at_risk": st.column_config.NumberColumn(
                "Value at risk", format=money.table_format, help="Deal value x chance of loss."
            ),
            "win_probability": st.column_config.NumberColumn("Win prob.", format="%.0f%%"),
            "main_risk_driver": st.column_config.TextColumn(
                "Main risk driver",
                width="large",
                help="Of the deal's three drivers, the one that lowers its win probability most.",
            ),
        },
    )
if summary["stale_count"]:
    st.warning(
        f"{summary['stale_count']:,} stale deals, {md(money(summary['stale_value']))} in deal value "
        f"({md(money(summary['stale_value_at_risk']))} of it at risk), are older than any deal that ever "
        "closed: confirm or close them out. They are not counted as needing attention."
    )

metrics, _ = model_metrics(run)
# how far to trust the numbers in plain words; the statistics are on the Health page
st.info(md(health.trust_sentence(metrics)))
no_signal = health.no_signal_warning(metrics)
if no_signal:
    st.warning(md(no_signal))
st.page_link("views/model_health.py", label="How the model was checked (Model & Data Health)", icon="🔎")

st.subheader("Data quality")
warnings = health.quality_warnings(run.metadata.data_quality, run.metadata.counts.open_deals)
if not run.metadata.data_quality:
    missing_notice("The data-quality report", predict_command(run.out_dir))
elif not warnings:
    st.success("No data-quality issues found in this export.")
else:
    st.warning("\n".join(f"- {md(line[:1].upper() + line[1:])}" for line in warnings))
    st.caption("Details and examples on the Model & Data Health page.")
for problem in run.problems:
    st.warning(md(f"{problem}: re-run {predict_command(run.out_dir)}"))
st.caption(
    "Share of the pipeline value expected to be won: "
    f"{percent(summary['expected_revenue'] / summary['open_value']) if summary['open_value'] else 'n/a'}."
)
