"""What the Forecast page draws for the weekly forecast call: a target's chance, coverage and gap, the reps'
call by forecast category against the model, the deals where they disagree, and the track record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from app.components.format import TABLE_PLACEHOLDER, Money, account_names, md, whole_amounts

if TYPE_CHECKING:
    from app.services.forecast_call import TargetOutlook


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
        help="Open pipeline divided by what is still needed (target minus won so far).",
    )
    cols[2].metric(
        "Gap to target (expected)",
        "n/a" if outlook.gap is None else money(max(outlook.gap, 0.0)),
        help="Target minus the whole quarter (expected): won so far + expected from open deals + expected "
        "from deals not yet created; 0 when the target is covered.",
    )


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
