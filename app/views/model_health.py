"""Model & Data Health: how good the model is against baselines, whether its probabilities are calibrated,
what drives it, what the data looked like, and the run's metadata."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app.components import charts
from app.components.diagnostic_charts import dependence_chart
from app.components.format import TABLE_PLACEHOLDER, Money, is_rate, md
from app.components.gate import missing_notice, require_run
from app.services import health, pipeline
from app.services.store import (
    backtest_command,
    feature_importance,
    model_metrics,
    predict_command,
    run_state,
    shap_dependence,
    shap_values,
)

# rates x 100 shown rounded to a tenth: Streamlit's "percent" format with a step cuts the digits off
# (0.53658 read 53.6%), without one it shows as many as the number has
PERCENT = {"format": "%.1f%%"}

run = require_run(run_state())
metadata = run.metadata
metrics, backtest_source = model_metrics(run)

st.title("Model & data health")
backtest = metrics.get("backtest") or {}
if backtest.get("signal_statement"):
    st.info(md(backtest["signal_statement"]))
no_signal = health.signal_warning(metrics)
if no_signal:
    st.warning(md(no_signal))

st.subheader("Model quality")
table = health.backtest_table(metrics)
validation = metrics.get("validation") or {}
if validation:
    st.markdown("**Held-out validation of the model in this run**")
    cols = st.columns(5)
    for col, (key, label) in zip(
        cols,
        (
            ("auc", "AUC"),
            ("brier", "Brier score"),
            ("log_loss", "Log loss"),
            ("ece", "ECE"),
            ("n", "Snapshots"),
        ),
        strict=True,
    ):
        value = validation.get(key)
        text = "n/a" if value is None else (f"{int(value):,}" if key == "n" else f"{float(value):.3f}")
        col.metric(
            f"Validation {label}",
            text,
            help="ECE: expected calibration error (0 = probabilities match observed win rates)"
            if key == "ece"
            else None,
        )
    details = [
        f"calibration: {validation['calibration_method']}" if validation.get("calibration_method") else "",
        f"validation as of {validation['inner_as_of']}" if validation.get("inner_as_of") else "",
    ]
    st.caption(
        "Weekly snapshots of deals from the last weeks before the as-of date, each scored by a model that "
        "did not train on its deal; AUC only over snapshots whose deal has since closed (win versus loss), "
        "the other figures also over still-open deals with their estimated outcome. "
        + md("; ".join(d for d in details if d))
    )
if table.empty:
    missing_notice(
        "The model backtest against baselines (per as-of date)", backtest_command(run), backtest_source
    )
else:
    st.markdown("**Rolling-origin backtest: model against baselines**")
    outcomes = health.outcome_note(metrics)
    st.caption(f"Source: {md(backtest_source)}." + (f" {md(outcomes)}" if outcomes else ""))
    summary = backtest.get("summary") or {}
    cols = st.columns(5)
    for col, (key, label) in zip(
        cols[:4],
        (("auc", "AUC"), ("brier", "Brier score"), ("brier_skill", "Brier skill"), ("ece", "ECE")),
        strict=True,
    ):
        value = summary.get(key)
        col.metric(f"{label} (mean)", "n/a" if value is None else f"{float(value):.3f}")
    pooled_ece = (summary.get("pooled") or {}).get("ece")
    cols[4].metric(
        "ECE (dates pooled)",
        "n/a" if pooled_ece is None else f"{float(pooled_ece):.3f}",
        help="The ECE of every date's scores taken together: several times the deals of one date, so much "
        "less sampling noise than each date's ECE (see the reliability diagram below).",
    )
    charts.show(charts.backtest_metrics_chart(table))
    with st.expander("All backtest metrics"):
        st.dataframe(
            table.assign(base_rate=table["base_rate"].astype(float) * 100),
            hide_index=True,
            width="stretch",
            column_config={"base_rate": st.column_config.NumberColumn("Base rate", **PERCENT)},
        )
    by_age = health.calibration_by_age_table(metrics)
    if not by_age.empty:
        with st.expander("Calibration by deal age"):
            st.caption(
                "The deals open at each backtest date, grouped by days since engagement: the model's "
                "average probability against the share won, and the range a perfectly calibrated model's "
                "share falls in by chance (5-95%). Over-predicted: predicted minus won, in deals. With "
                "several groups per date, about one group in ten falls outside its range by chance alone; a "
                "group far outside it is where the model was wrong, such as a cohort unlike any before it."
            )
            st.dataframe(
                by_age.assign(
                    mean_predicted=by_age["mean_predicted"] * 100, observed_rate=by_age["observed_rate"] * 100
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "as_of": "As of",
                    "age_days": "Age (days)",
                    "n": st.column_config.NumberColumn("Deals", format="localized"),
                    "mean_predicted": st.column_config.NumberColumn("Predicted", **PERCENT),
                    "observed_rate": st.column_config.NumberColumn("Won", **PERCENT),
                    "chance": "Calibrated model, 5-95%",
                    "over": st.column_config.NumberColumn("Over-predicted (deals)", format="%+.1f"),
                    "outside": st.column_config.CheckboxColumn("Outside the range"),
                },
            )

left, right = st.columns(2)
with left:
    st.subheader("Reliability")
    bins = health.reliability_bins(metrics)
    if bins.empty:
        missing_notice("The reliability diagram (needs backtest reliability bins)", backtest_command(run))
    else:
        charts.show(charts.reliability_chart(bins))
        caption = (
            "Pooled over every backtest as-of date; dot size is the number of deals. On the diagonal, "
            "a predicted 30% wins 30% of the time."
        )
        if "chance_low" in bins:
            caption += (
                " Grey bars: where a perfectly calibrated model's dot would fall by chance (5-95%) with as "
                "many deals, a deal open at several dates drawing one outcome; a dot outside its bar is "
                "miscalibration."
            )
        else:
            caption += " No chance ranges: this model's backtest predates them (retrain to add them)."
        pooled_note = health.pooled_calibration_note(metrics)
        st.caption(caption + (f" {md(pooled_note)}" if pooled_note else ""))
with right:
    st.subheader("What drives the model")
    if shap_values(run).rows is None:
        missing_notice("The SHAP explanation (shap_values.csv)", predict_command(run.out_dir))
    else:
        charts.show(charts.importance_chart(feature_importance(run)))
        st.caption("Mean absolute SHAP contribution over the scored open deals, in probability points.")

if shap_values(run).rows is not None:
    st.subheader("How the top features move the chance")
    top = feature_importance(run)["feature"].head(health.DEPENDENCE_FEATURES).tolist()
    points, explained = shap_dependence(run, top)
    present = set(points["risk_tier"])
    tiers = [t for t in pipeline.tier_order(run.predictions, metadata.risk.tiers) if t in present]
    labels = metadata.model.feature_labels
    cols = st.columns(2)
    unknown = 0
    for i, feature in enumerate(top):
        part = points[points["feature"].eq(feature)]
        numeric = bool(part["numeric"].any())
        label = labels.get(feature) or feature
        meaning = str(part["meaning"].iloc[0]) if len(part) else ""
        axis = f"{label}: {meaning}" if meaning else label
        unknown += int(part["value"].isna().sum()) if numeric else 0
        with cols[i % 2]:
            stages = metadata.stage_order if feature == "stage_position" else None  # 0 = the first stage
            figure = dependence_chart(part, axis, tiers, numeric and is_rate(feature, label), stages)
            charts.show(figure, key=f"dependence_{feature}")
    sampled = min(explained, health.DEPENDENCE_DEALS)
    sample_note = (
        f" A fixed sample of {sampled:,} of the {explained:,} explained deals, the same deals in every plot, "
        "keeps the page quick."
        if explained > sampled
        else f" All {explained:,} explained deals."
    )
    st.caption(
        "SHAP dependence: each dot is a deal; across, the feature's value for it; up, how many probability "
        "points that value moved its chance from the average deal's. Colour: its risk tier. A feature of "
        "categories shows one column of dots per category."
        + sample_note
        + (f" {unknown:,} dots without a value for their feature are left out." if unknown else "")
    )

st.subheader("Data quality")
quality = metadata.data_quality
if not quality:
    missing_notice("The data-quality report", predict_command(run.out_dir))
else:
    st.markdown(md(health.rows_left_out(quality, metadata.counts.rejected_rows)))
    st.dataframe(
        health.quality_table_in_words(quality),
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,  # a finding about a whole file counts no rows
        column_config={
            "description": "Finding",
            "count": st.column_config.NumberColumn("Rows", format="localized"),
            "action": "What was done",
            "file": "File",
            "column": "Column",
            "examples": "Examples",
            "code": "Code",
        },
    )

st.subheader("Run metadata")
counts = metadata.counts
cols = st.columns(5)
for col, key in zip(cols, ("deals", "open_deals", "scored", "stale", "prospecting"), strict=True):
    col.metric(key.replace("_", " ").capitalize(), f"{int(getattr(counts, key)):,}")
facts = {
    "Run id": metadata.run_id,
    "As of": metadata.as_of,
    "Export ends": metadata.export_end,
    "Data directory": metadata.data.get("data_dir"),
    "Data hash": metadata.data.get("data_hash"),
    "Column mapping": metadata.data.get("mapping") or "MavenTech (no mapping recorded)",
    "Mapping file": metadata.data.get("mapping_file") or "none: the MavenTech schema itself",
    "Currency": f"Amounts in {Money(metadata.currency).name}, the corporate currency",
    "Model version": metadata.model.version,
    "Model trained as of": metadata.model.trained_as_of,
    "Simulation runs": metadata.simulation.get("runs"),
    "Simulation seed": metadata.simulation.get("seed"),
    "Run written": run.written_at,
}
st.dataframe(
    pd.DataFrame({"item": list(facts), "value": [str(v) for v in facts.values()]}),
    hide_index=True,
    width="stretch",
)
timings = metadata.timings_seconds
if timings:
    st.caption(
        "Timings: "
        + ", ".join(f"{md(k)} {float(v):.1f} s" for k, v in timings.items() if isinstance(v, int | float))
    )
if st.toggle("Show the full metadata (JSON)", key="health_show_json"):
    st.json(
        json.loads(
            json.dumps({k: v for k, v in metadata.to_dict().items() if k != "data_quality"}, default=str)
        ),
        expanded=False,
    )
