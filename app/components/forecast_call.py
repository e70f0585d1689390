"""What the Forecast page draws for the weekly forecast call: a target's chance, coverage and gap, the reps'
call by forecast category against the model, the deals where they disagree, and the track record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from app.components.format import TABLE_PLACEHOLDER, Money, account_names, md, whole_amounts
from app.components.gate import missing_notice
from app.services import forecast_call

if TYPE_CHECKING:
    from app.services.forecast_call import Quota, TargetOutlook
    from app.services.pipeline import HeadlineQuarter, QuarterFigures


def target_metrics(outlook: TargetOutlook, chance: str, money: Money) -> None:
    """Chance of reaching the target | pipeline coverage | gap to target, each "n/a" when not known."""
    cols = st.columns(3)
    cols[0].metric(
        "Chance of reaching the target",
        chance,
        help="Share of the batch step's simulated quarters in which the whole quarter (won so far + open "
        "deals + deals not yet created) reaches the target.",
    )
    coverage = outlook.coverage
    cols[1].metric(
        "Pipeline coverage",
        "n/a" if coverage is None else f"{coverage:.1f}x",
        help="Open pipeline divided by what is still needed (target minus won so far). Stale deals (older "
        "than any deal that ever closed) are left out.",
    )
    cols[2].metric(
        "Gap to target (expected)",
        "n/a" if outlook.gap is None else money(max(outlook.gap, 0.0)),
        help="Target minus the whole quarter (expected): won so far + expected from open deals + expected "
        "from deals not yet created; 0 when the target is covered.",
    )


def target_block(
    typed: float | None,
    quota: Quota | None,
    quota_file: str,
    figures: QuarterFigures,
    deals: pd.DataFrame,
    quarter: HeadlineQuarter,
    segment: tuple[str, str | None] | None,
    quantiles: pd.DataFrame | None,
    command: str,
    money: Money,
    where: str = "above",
) -> float | None:
    """The quarter target's chance, coverage and gap (Forecast and Overview): the target typed ``where``,
    else the quota targets.csv holds for the selection; returns the target used (None: neither)."""
    if quota is not None:
        st.caption(md(forecast_call.quota_sentence(quota, quota_file, typed, where, money)))
    elif quota_file and not typed:
        st.caption(
            md(f"No quota in {quota_file} for this selection: type a target {where} to see its chance.")
        )
    target = typed or (quota.value if quota is not None else None)
    if not target:
        return None
    grid = (  # the whole quarter's revenue: won so far + open deals + deals not yet created
        forecast_call.quarter_quantiles(quantiles, quarter, segment, "total")
        if quantiles is not None and segment is not None
        else None
    )
    outlook = forecast_call.target_outlook(target, figures, deals, grid)
    target_metrics(outlook, forecast_call.chance_text(outlook.chance), money)
    if outlook.won is not None:
        st.markdown(md(forecast_call.target_sentence(outlook, money)))
    else:
        st.caption(
            "No coverage or gap to target: both need won so far, which is kept for the forecast's segments "
            "only (see above)."
        )
    if segment is None:
        st.caption(
            "The chance of reaching a target and the gap to it need the whole quarter (with deals not yet "
            "created) and the whole distribution of its revenue, which the batch step keeps for the whole "
            "pipeline and for one region, manager, rep or product; the filtered deals are none of these."
        )
    elif quantiles is None:
        missing_notice("The chance of reaching a target (forecast_quantiles.csv)", command)
    elif grid is None:
        st.caption("forecast_quantiles.csv has no row for this quarter and selection: no chance to show.")
    return target


def rep_call_table(table: pd.DataFrame, money: Money) -> None:
    """Per forecast category: deals, the reps' roll-up, the model's expected value and its P10-P90."""
    money_columns = ["reps_rollup", "model_expected"]
    st.dataframe(
        whole_amounts(table, money_columns),
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        key="call_table",
        column_config={
            "category": "Forecast category",
            "deals": st.column_config.NumberColumn("Deals", format="%d"),
            "reps_rollup": st.column_config.NumberColumn(
                "Reps' roll-up",
                format=money.table_format,
                help="Deal value of the open deals in this category whose rep close date is in the quarter.",
            ),
            "model_expected": st.column_config.NumberColumn(
                "Model: expected",
                format=money.table_format,
                help="The same deals' value x the model's chance of winning each inside the quarter.",
            ),
            "model_range": st.column_config.TextColumn(
                "Model: likely range",
                help="P10 - P90: 80% of simulated outcomes of these deals fall inside this range.",
            ),
        },
    )


def call_deals_table(deals: pd.DataFrame, money: Money, key: str, driver_label: str) -> None:
    """Deals the reps and the model see differently: value, the rep's date and category, the model's chance,
    whether the deal is stale and its main driver (headed ``driver_label``)."""
    shown = deals.drop(columns=["driver_1"], errors="ignore")
    st.dataframe(
        whole_amounts(shown, ["deal_value", "model_expected"]).assign(
            model_chance=shown["model_chance"] * 100,
            account=account_names(shown["account"]),
        ),
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        key=key,
        column_config={
            "opportunity_id": "Deal",
            "account": "Account",
            "sales_agent": "Rep",
            "category": "Forecast category",
            "rep_close_date": st.column_config.DateColumn("Rep's close date", format="YYYY-MM-DD"),
            "deal_value": st.column_config.NumberColumn("Deal value", format=money.table_format),
            "model_chance": st.column_config.NumberColumn("Model: chance this quarter", format="%.0f%%"),
            "model_expected": st.column_config.NumberColumn("Model: expected", format=money.table_format),
            "stale": st.column_config.CheckboxColumn(
                "Stale", help="Older than any deal that ever closed: confirm it or close it out."
            ),
            "main_driver": st.column_config.TextColumn(driver_label, width="large"),
        },
    )


def deal_list(
    title: str, deals: pd.DataFrame, none_text: str, money: Money, key: str, driver_label: str
) -> None:
    """A titled list of deals (:func:`call_deals_table`), or one line saying there is none."""
    st.markdown(f"**{md(title)}**")
    if deals.empty:
        st.caption(md(none_text))
    else:
        call_deals_table(deals, money, key, driver_label)
