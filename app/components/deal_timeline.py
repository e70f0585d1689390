"""What the Deal Drill-down draws for "How this deal got here": the deal's stage step by step and the rep's
close date over time (pushes, pull-ins and amount changes marked), and its changes in words."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app.components.charts import ACCENT, LINE, WON, _layout, plain
from app.components.format import TABLE_PLACEHOLDER

PUSHED = "rgb(214, 69, 65)"
AMOUNT = "rgb(150, 110, 200)"
CLOSE_MARKERS = {  # change code -> legend name, marker symbol, colour
    "close_pushed": ("Close date pushed", "triangle-up", PUSHED),
    "close_pulled": ("Close date pulled in", "triangle-down", WON),
}


def _hover_by_day(changes: pd.DataFrame) -> dict[pd.Timestamp, str]:
    """Each day's changes in words, one line each (Plotly-inert), for the hover of that day's points."""
    return {
        day: f"{day:%Y-%m-%d}<br>" + "<br>".join(plain(text) for text in part["what_changed"])
        for day, part in changes.groupby("changed_at", sort=True)
    }


def _stage_axis(stages: pd.Series, stage_order: tuple[str, ...]) -> list[str]:
    """The stage axis bottom-up: the CRM's order, then any stage it does not name, as they appear."""
    seen = [str(s) for s in stages.dropna().unique() if str(s).strip()]
    return list(stage_order) + [s for s in seen if s not in stage_order]


def timeline_chart(
    timeline: pd.DataFrame, changes: pd.DataFrame, stage_order: tuple[str, ...], as_of: pd.Timestamp
) -> go.Figure:
    """One deal's history: its stage as steps (top) and the rep's close date as steps (below, when the
    history holds one), each carried to the as-of date; pushes, pull-ins and amount changes marked, each
    point's hover the day's changes in words. ``timeline``: the deal's deal_timeline rows; ``changes``:
    their ``deal.timeline_changes``."""
    rows = timeline.sort_values("changed_at", kind="stable")
    end = max(pd.Timestamp(as_of), rows["changed_at"].max())
    x = [*rows["changed_at"], end]
    hover = _hover_by_day(changes)
    text = [hover.get(day, f"{day:%Y-%m-%d}") for day in rows["changed_at"]] + [f"{end:%Y-%m-%d} (as of)"]
    has_close = "rep_close_date" in rows.columns and rows["rep_close_date"].notna().any()
    fig = make_subplots(
        rows=2 if has_close else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.16,
        row_heights=[0.5, 0.5] if has_close else None,
        subplot_titles=("Stage", "Rep's close date") if has_close else ("Stage",),
    )
    if "stage" in rows.columns and rows["stage"].astype(str).str.strip().ne("").any():
        stages = rows["stage"].astype(str).map(plain).tolist()
        fig.add_scatter(
            x=x,
            y=[*stages, stages[-1]],
            mode="lines+markers",
            line={"color": LINE, "width": 3, "shape": "hv"},
            marker={"size": 6},
            name="Stage",
            text=text,
            hovertemplate="%{text}<extra></extra>",
            row=1,
            col=1,
        )
        amounts = changes[changes["change"].isin(("amount_up", "amount_down"))]
        if len(amounts):
            stage_on = rows.drop_duplicates("changed_at", keep="last").set_index("changed_at")["stage"]
            fig.add_scatter(
                x=amounts["changed_at"].tolist(),
                y=[plain(stage_on[day]) for day in amounts["changed_at"]],
                mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": AMOUNT},
                name="Amount changed",
                text=[plain(t) for t in amounts["what_changed"]],
                hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>",
                row=1,
                col=1,
            )
        axis = [plain(s) for s in _stage_axis(rows["stage"], stage_order)]
        # the whole ladder, so the chart shows how far the deal still has to go
        fig.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=axis,
            range=[-0.5, len(axis) - 0.5],
            row=1,
            col=1,
        )
    if has_close:
        close = rows["rep_close_date"]
        fig.add_scatter(
            x=x,
            y=[*close, close.dropna().iloc[-1]],
            mode="lines",
            line={"color": ACCENT, "width": 2, "shape": "hv"},
            name="Rep's close date",
            text=text,
            hovertemplate="%{text}<extra></extra>",
            row=2,
            col=1,
        )
        latest = close.dropna().iloc[-1]
        fig.add_scatter(  # the close date the rep holds today, written at the end of its line
            x=[end],
            y=[latest],
            mode="text",
            text=[f"{latest.day} {latest:%b %Y}"],
            textposition="top left",
            cliponaxis=False,
            showlegend=False,
            hoverinfo="skip",
            row=2,
            col=1,
        )
        for code, (name, symbol, colour) in CLOSE_MARKERS.items():
            part = changes[changes["change"] == code]
            if part.empty:
                continue
            fig.add_scatter(
                x=part["changed_at"].tolist(),
                y=pd.to_datetime(part["after"].astype(str)).tolist(),  # the new close date
                mode="markers",
                marker={"symbol": symbol, "size": 11, "color": colour},
                name=f"{name} ({len(part)})",
                text=[plain(t) for t in part["what_changed"]],
                hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>",
                row=2,
                col=1,
            )
        fig.update_yaxes(type="date", tickformat="%-d %b %Y", nticks=5, row=2, col=1)
    _layout(fig, None, 430 if has_close else 240)
    fig.update_layout(hovermode="closest", margin={"l": 10, "r": 10, "t": 60, "b": 30}, legend={"y": 1.08})
    return fig


def change_table(changes: pd.DataFrame) -> None:
    """The deal's changes in words, oldest first: the day and what changed."""
    st.dataframe(
        changes[["changed_at", "what_changed"]],
        hide_index=True,
        width="stretch",
        placeholder=TABLE_PLACEHOLDER,
        column_config={
            "changed_at": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
            "what_changed": st.column_config.TextColumn("What changed", width="large"),
        },
    )
