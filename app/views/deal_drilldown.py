"""Deal Drill-down: one deal before a one-to-one. ``?deal=<opportunity_id>`` in the URL selects it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import charts
from app.components.deal_timeline import change_table, timeline_chart
from app.components.format import (
    TABLE_PLACEHOLDER,
    Money,
    data_flags_text,
    md,
    percent,
    value_source_text,
    whole_amounts,
)
from app.components.gate import missing_notice, require_run
from app.filters import current_filters
from app.services import deal as deal_logic
from app.services import health, pipeline
from app.services.store import (
    closed_deals,
    deal_rows,
    deal_timeline,
    model_metrics,
    predict_command,
    run_state,
    shap_values,
)

MAX_CHOICES = 1_000

run = require_run(run_state())
money = Money(run.metadata.currency)
predictions = run.predictions
rows = deal_rows(run)
filtered = pipeline.apply_filters(predictions, current_filters())

requested = st.query_params.get("deal")
current = None
if requested:
    if requested in rows.index:
        current = requested
    else:
        st.warning(
            f"Deal {md(requested)} is not among the open deals of this run (as of "
            f"{md(run.metadata.as_of)}); showing another deal instead."
        )
if current is None:
    remembered = st.session_state.get("selected_deal")
    current = remembered if remembered in rows.index else None
if current is None:
    tiers = pipeline.tier_order(predictions, run.metadata.risk.tiers)
    current = deal_logic.default_deal(predictions, filtered, tiers)
labels = deal_logic.deal_choices(predictions, filtered, current, rows, MAX_CHOICES, money)


def _label(opportunity_id: str) -> str:
    """Selectbox text: id, account, product and value at risk."""
    return labels[opportunity_id]


def _remember_choice() -> None:
    """on_change: the chosen deal becomes the remembered one and goes into the shareable URL."""
    st.session_state["selected_deal"] = st.session_state["_w_deal"]
    st.query_params["deal"] = st.session_state["_w_deal"]


st.session_state["_w_deal"] = current
st.selectbox(
    "Deal (filtered view, most value at risk first)",
    list(labels),
    key="_w_deal",
    format_func=_label,
    on_change=_remember_choice,
)
st.session_state["selected_deal"] = current
st.query_params["deal"] = current
deal = predictions.loc[rows[current]]
# an unscored deal (never engaged) has no probability, drivers or close outlook: the page says so once
# rather than showing "nan / 100", an empty chart or a command that would not produce them
is_scored = bool(pipeline.scored(deal.to_frame().T).iloc[0])
NOT_SCORED = (
    "Not scored: a Prospecting deal without an engage date is unlike any deal the model learnt from, so it "
    "has no win probability, drivers or close outlook until it is engaged. It adds nothing to expected "
    "revenue or value at risk."
)

st.title(md(deal["account"] or f"Deal {current} (no account in the CRM)"), anchor=False)
st.caption(f"Deal {md(current)} - shareable link: this page's URL (?deal={md(current)})")
stage = deal_logic.stage_text(deal)
st.markdown(
    f"**Rep** {md(deal['sales_agent'])} &nbsp;·&nbsp; **Manager** {md(deal['manager'])} &nbsp;·&nbsp; "
    f"**Product** {md(deal['product'])} &nbsp;·&nbsp; **Stage** {md(stage)} &nbsp;·&nbsp; "
    f"**Region** {md(deal['regional_office'])} &nbsp;·&nbsp; **Sector** {md(deal.get('sector', 'Unknown'))}"
)
history = deal_logic.history_text(deal)  # the CRM's field history, beside the stage it speaks of
if history:
    st.caption(md(history))
cols = st.columns(4)
cols[0].metric(
    "Deal value", money(deal["deal_value"]), help=f"From {md(value_source_text(deal['value_source']))}."
)
not_engaged = "Not engaged" if str(deal["deal_stage"]) == "Prospecting" else "unknown"  # fits the column
cols[1].metric(
    "Age",
    not_engaged if pd.isna(deal["age_days"]) else f"{deal['age_days']:.0f} days",
    help="Days since the deal was engaged (a Prospecting deal has no engage date yet).",
)
cols[2].metric("Calibrated win probability", percent(deal["win_probability"]))
cols[3].metric("Value at risk", money(deal["value_at_risk"]))
if str(deal["value_source"]) not in ("amount", "", "nan", "None"):
    # said in words, not only in the tooltip: a driver may quote the list price itself ($5,482 beside $5,345)
    st.caption(f"Deal value: {md(value_source_text(deal['value_source']))}.")
st.caption(md(health.trust_sentence(model_metrics(run)[0])))
st.page_link("views/model_health.py", label="How the model was checked (Model & Data Health)", icon="🔎")

st.subheader("Risk components")
risk = run.metadata.risk
tier_meaning = risk.tiers.get(str(deal["risk_tier"]), "")
cols = st.columns(4)
cols[0].metric("Risk tier", str(deal["risk_tier"]), help=md(tier_meaning) or None)
risk_scale = 100 if float(predictions["risk_score"].max()) > 1 else 1
risk_score = float(deal["risk_score"])
cols[1].metric(
    "Risk score",
    "n/a" if pd.isna(risk_score) else f"{risk_score:.0f} / 100" if risk_scale == 100 else f"{risk_score:.2f}",
    help=md(risk.formula) or None,
)
cols[2].metric("Chance of loss", percent(1 - float(deal["win_probability"])))
cols[3].metric(
    "Stale", "yes" if deal["stale"] else "no", help="Stale: open and older than every deal that ever closed."
)
extra = [c for c in predictions.columns if c.startswith("risk_") and c not in ("risk_score", "risk_tier")]
if extra:
    st.dataframe(
        deal[extra].to_frame("value").T, hide_index=True, width="stretch", placeholder=TABLE_PLACEHOLDER
    )
if tier_meaning:
    st.caption(f"Tier {md(deal['risk_tier'])}: {md(tier_meaning)}")
flags = data_flags_text(deal.get("data_flags", ""))
if flags:
    st.caption(f"Data problems on this deal: {md(flags)}.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Why this probability")
    shap = shap_values(run) if is_scored else None
    if shap is None:
        st.info(NOT_SCORED)
    elif shap.rows is None or current not in shap.rows.index:
        missing_notice("The SHAP explanation of this deal", predict_command(run.out_dir))
    else:
        contributions = shap.rows.loc[[current]]
        base = float(shap.base_value.get(current, float("nan")))
        steps = deal_logic.waterfall_steps(contributions, base, stage_order=tuple(run.metadata.stage_order))
        charts.show(charts.waterfall_chart(steps))
        gap = float(steps["value"].iloc[-1]) - float(deal["win_probability"])
        if abs(gap) > 0.005:  # the contract says base + contributions == win probability
            st.caption(
                f"Note: base value plus contributions is {percent(steps['value'].iloc[-1], 1)}, "
                f"not the {percent(deal['win_probability'], 1)} shown above."
            )
with right:
    st.subheader("Top three drivers")
    drivers = [str(deal.get(f"driver_{k}", "") or "") for k in (1, 2, 3)]
    drivers = [text for text in drivers if text and text.lower() not in ("nan", "none")]
    for k, text in enumerate(drivers, start=1):
        st.markdown(f"{k}. {md(text)}")
    if not drivers:
        st.caption("None: the deal is not scored." if not is_scored else "No driver moves this deal's odds.")
    st.subheader("Suggested actions")
    with st.spinner("Loading closed deals for comparison..."):
        closed = closed_deals(run)
        same_product = closed_deals(run, str(deal["product"]))
    typical = deal_logic.typical_won_age(same_product, str(deal["product"])) if closed is not None else None
    for _, action in deal_logic.suggested_actions(deal, typical):
        st.markdown(f"- {md(action)}")
    st.caption(
        "Fixed rules, not model output: each follows from a driver that lowers this deal's probability, "
        "from staleness, the stage or a blank account."
    )

st.subheader("When it may close")
this_q = f"Q{run.as_of.quarter} {run.as_of.year}"
nxt = run.as_of.to_period("Q") + 1
left, right = st.columns([1, 2])
if not is_scored:
    left.caption("No close outlook: the deal is not scored (see above).")
left.metric(
    deal_logic.expected_close_label(deal["win_probability"]),
    "n/a" if pd.isna(deal["expected_close_date"]) else f"{deal['expected_close_date']:%Y-%m-%d}",
    help="If it is won.",
)
close_quantiles = [
    c for c in ("close_date_p10", "close_date_p50", "close_date_p90") if c in predictions.columns
]
if len(close_quantiles) == 3:
    left.caption(
        f"80% of simulated closes between {md(deal['close_date_p10'])} and {md(deal['close_date_p90'])}"
    )
rep_call = deal_logic.rep_call_text(deal, run.as_of)
if rep_call:
    left.caption(md(rep_call))
if is_scored:
    with right:
        outlook = deal_logic.close_outlook(deal, this_q, f"Q{nxt.quarter} {nxt.year}")
        charts.show(charts.close_outlook_chart(outlook))

st.subheader("How this deal got here")
timeline = deal_timeline(run, current)
if timeline is None:
    missing_notice("The deal's change history", predict_command(run.out_dir))
elif timeline.empty:
    st.info(
        "The CRM export holds no field history for this deal, so there is no record of how its stage, "
        "amount or close date changed."
    )
else:
    stage_order = tuple(run.metadata.stage_order)
    changes = deal_logic.timeline_changes(timeline, stage_order, money)
    st.caption(md(deal_logic.timeline_summary(changes)))
    disagreement = deal_logic.push_disagreement(changes, deal)
    if disagreement:
        st.warning(md(disagreement))
    charts.show(timeline_chart(timeline, changes, stage_order, run.as_of))
    change_table(changes)
    st.download_button(
        "Download this deal's timeline as CSV",
        data=lambda: deal_logic.timeline_csv(changes),
        file_name=f"deal_timeline_{current}_{run.metadata.as_of}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )

st.subheader("Comparable closed deals")
if closed is None:
    missing_notice("The CRM export this run was made from", predict_command(run.out_dir))
else:
    known_product = len(same_product) and str(deal["product"]) != deal_logic.UNKNOWN_PRODUCT
    comparables = deal_logic.comparable_deals(same_product if known_product else closed, deal)
    st.caption(
        f"Closed by {md(run.metadata.as_of)}, {md(comparables['basis']['basis'].iloc[0])}, "
        "closest in value, most recent first."
    )
    config = {
        "opportunity_id": "Deal",
        "account": "Account",
        "sales_agent": "Rep",
        "engage_date": st.column_config.DateColumn("Engaged", format="YYYY-MM-DD"),
        "close_date": st.column_config.DateColumn("Closed", format="YYYY-MM-DD"),
        "days_to_close": st.column_config.NumberColumn("Days to close", format="%d"),
        "value": st.column_config.NumberColumn("Value", format=money.table_format),
    }
    for stage in ("Won", "Lost"):
        st.markdown(f"**{stage}**")
        if comparables[stage].empty:
            st.caption(f"No {stage.lower()} deal of this product yet.")
        else:
            st.dataframe(
                whole_amounts(comparables[stage], ["value"]),
                hide_index=True,
                width="stretch",
                placeholder=TABLE_PLACEHOLDER,
                column_config=config,
            )
