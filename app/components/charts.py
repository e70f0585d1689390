"""Plotly figures for the app. Colours are mid-tones with transparency so they read in light and dark themes;
legends sit in their own strip above the plot so they never cover data."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app.components.format import Money, step_points
from app.filters import STALE_CATEGORY

BAND = "rgba(99, 142, 230, 0.28)"
LINE = "rgb(72, 118, 222)"
WON = "rgb(46, 160, 110)"
ACCENT = "rgb(232, 133, 51)"
TIER_COLOURS = (
    "rgb(214, 69, 65)",
    "rgb(236, 138, 52)",
    "rgb(222, 190, 60)",
    "rgb(120, 170, 110)",
    "rgb(90, 140, 200)",
    "rgb(150, 150, 150)",
)
STALE_COLOUR = "rgba(150, 150, 150, 0.55)"

LIKELY_RANGE = "Likely range (80% of outcomes)"  # the P10-P90 band in a leader's words; hovers keep P10
MIDDLE_ESTIMATE = "Middle estimate"  # the P50 in a leader's words


def plain(text: object) -> str:
    """Data text made inert for Plotly, whose labels understand a little HTML (<b>, <br>, <a>)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrapped(text: object, width: int = 34) -> str:
    """:func:`plain` text broken into lines of at most ``width`` characters (at spaces) for an axis label: a
    long feature name on one line squeezed the bars of a half-width chart into a sliver and was cut off."""
    lines = textwrap.wrap(plain(text), width, break_long_words=False, break_on_hyphens=False)
    return "<br>".join(lines) or plain(text)


def label_rows_height(labels: list[str], per_row: int, per_extra_line: int = 14) -> int:
    """Height of a horizontal chart whose category labels may span several lines.

    A category axis gives every row the same height, so each row needs the room of the longest label: a
    sum over the labels left a three-line label touching its neighbour's text.
    """
    if not labels:
        return 0
    return len(labels) * (per_row + per_extra_line * max(label.count("<br>") for label in labels))


PLOTLY_CONFIG = {"displayModeBar": False, "responsive": True}


def show(fig: go.Figure, key: str | None = None) -> None:
    """Draw a figure full width, without the Plotly toolbar (it covered legends)."""
    st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key)


def _layout(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    """Shared layout: legend strip on top, compact margins, hover on x."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top"} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 70 if title else 40, "b": 40},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "x": 0,
            "xanchor": "left",
            "traceorder": "normal",
        },
        hovermode="x unified",
    )
    return fig


def period_labels(rows: pd.DataFrame) -> list[str]:
    """One label per period as a leader names it: "Q1 2018", "Jan 2018", "Week of 2018-01-01"."""
    start = rows["period_start"]
    kind = rows["period_type"] if "period_type" in rows.columns else pd.Series("day", index=rows.index)
    labels = []
    for period_type, day in zip(kind, start, strict=True):
        if period_type == "quarter":
            labels.append(f"Q{day.quarter} {day.year}")
        elif period_type == "month":
            labels.append(day.strftime("%b %Y"))
        elif period_type == "week":
            labels.append(f"Week of {day:%Y-%m-%d}")
        else:
            labels.append(f"{day:%Y-%m-%d}")
    return labels


def _likely_range(
    fig: go.Figure,
    x: list,
    rows: pd.DataFrame,
    hover: Callable[[str], str],
    group: str | None = None,
    legend: bool | None = None,
) -> None:
    """The P10-P90 band of ``rows``: an invisible P90 line and the P10 line filled up to it; ``hover`` gives
    each line's hover text from its name ("P90", "P10")."""
    fig.add_scatter(
        x=x,
        y=rows["p90"].tolist(),
        mode="lines",
        line={"width": 0},
        showlegend=False,
        legendgroup=group,
        name="P90",
        hovertemplate=hover("P90"),
    )
    fig.add_scatter(
        x=x,
        y=rows["p10"].tolist(),
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor=BAND,
        name=LIKELY_RANGE,
        legendgroup=group,
        showlegend=legend,
        hovertemplate=hover("P10"),
    )


def forecast_fan(rows: pd.DataFrame, money: Money, title: str | None = None, height: int = 360) -> go.Figure:
    """P10-P90 band, P50 line and expected value per period, with closed-won revenue as bars, in ``money``.

    Periods sit on a category axis (one slot each, named like "Q1 2018"): on a date axis two quarters
    would be joined by a line across the weeks between them, which reads as a trend inside the quarter.
    """
    x = period_labels(rows)
    fig = go.Figure()
    if rows["closed_won"].sum() > 0:
        fig.add_bar(
            x=x,
            y=rows["closed_won"].tolist(),
            name="Closed won (before as-of)",
            marker_color=WON,
            opacity=0.6,
            hovertemplate=money.hover(),
        )
    _likely_range(fig, x, rows, lambda q: f"{q} {money.hover()}")
    fig.add_scatter(
        x=x,
        y=rows["p50"].tolist(),
        mode="lines+markers",
        line={"color": LINE, "width": 2},
        name=MIDDLE_ESTIMATE,
        hovertemplate=f"P50 {money.hover()}",
    )
    fig.add_scatter(
        x=x,
        y=rows["expected"].tolist(),
        mode="markers",
        marker={"color": ACCENT, "symbol": "diamond", "size": 8},
        name="Expected",
        hovertemplate=f"Expected {money.hover()}",
    )
    fig.update_yaxes(**money.axis, rangemode="tozero")
    fig.update_xaxes(type="category")
    return _layout(fig, title, height)


def cumulative_quarter_chart(
    points: pd.DataFrame, target: float | None, title: str, money: Money
) -> go.Figure:
    """Closed-won to date plus expected weekly revenue from open deals, and with deals not yet created too,
    ending at the whole quarter's likely range; and a target. ``points``: ``pipeline.cumulative_quarter``."""
    fig = go.Figure()
    fig.add_scatter(
        x=points["date"],
        y=points["whole"],
        mode="lines+markers",
        line={"color": ACCENT, "width": 2, "dash": "dash"},
        marker={"size": 5},
        name="Won to date + expected from open deals and deals not yet created",
        hovertemplate=f"With deals not yet created {money.hover()}<extra></extra>",
    )
    fig.add_scatter(
        x=points["date"],
        y=points["cumulative"],
        mode="lines+markers",
        line={"color": LINE, "width": 2},
        name="Won to date + expected from open deals",
        hovertemplate=f"Open deals only {money.hover()}<extra></extra>",
    )
    end = points[points["kind"] == "quarter end"]
    if not end.empty:
        row = end.iloc[0]
        fig.add_scatter(
            x=[row["date"]],
            y=[row["whole"]],
            mode="markers",
            name="Whole quarter: likely range",
            marker={"color": ACCENT, "size": 10},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [row["p90"] - row["whole"]],
                "arrayminus": [row["whole"] - row["p10"]],
                "color": ACCENT,
                "thickness": 2,
                "width": 12,
            },
            customdata=[[row["p10"], row["p90"]]],
            hovertemplate=f"Whole quarter: expected {money.hover()}, likely range "
            f"{money.prefix}%{{customdata[0]:,.0f}} - {money.prefix}%{{customdata[1]:,.0f}}<extra></extra>",
        )
    start = points[points["kind"] == "won to date"]
    if not start.empty:
        fig.add_scatter(
            x=start["date"],
            y=start["cumulative"],
            mode="markers",
            name="Closed won to date",
            marker={"color": WON, "size": 10},
            hovertemplate=f"Won to date {money.hover()}<extra></extra>",
        )
    if target:
        fig.add_hline(
            y=target,
            line={"color": "rgb(214, 69, 65)", "dash": "dash"},
            annotation_text=f"Target {money.exact(target)}",
            annotation_position="top left",
        )
    fig.update_yaxes(**money.axis, rangemode="tozero")
    fig = _layout(fig, title)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 100 if title else 70, "b": 40})
    return fig


def risk_by_segment_chart(
    rows: pd.DataFrame, categories: list[str], segment_label: str, money: Money
) -> go.Figure:
    """Horizontal stacked bars of value at risk per segment: one colour per risk tier of live deals, and
    hatched grey for stale deals (``STALE_CATEGORY``), so zombies never read as live risk."""
    fig = go.Figure()
    segments = [plain(v) for v in dict.fromkeys(rows["segment"])]
    for i, category in enumerate(categories):
        part = rows[rows["category"] == category]
        if part.empty:
            continue
        stale = category == STALE_CATEGORY
        fig.add_bar(
            y=[plain(v) for v in part["segment"]],
            x=part["value_at_risk"],
            name=plain(category),
            orientation="h",
            marker_color=STALE_COLOUR if stale else TIER_COLOURS[min(i, len(TIER_COLOURS) - 2)],
            marker_pattern_shape="/" if stale else "",
            customdata=part["deals"],
            hovertemplate=f"%{{y}}: {money.hover('x')} at risk in %{{customdata}} deals",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(categoryorder="array", categoryarray=segments[::-1], title=segment_label)
    fig.update_xaxes(**money.axis, title="Value at risk")
    _layout(fig, None, height=max(260, 28 * len(segments) + 90))
    fig.update_layout(hovermode="closest")
    return fig


def waterfall_chart(steps: pd.DataFrame) -> go.Figure:
    """SHAP waterfall in probability points: base value, top features, all others, final probability."""
    text = [  # steps read like the driver sentences beside the chart ("-2 pts", not "-2.5 pts")
        f"{v * 100:.1f}%" if m != "relative" else step_points(v)
        for v, m in zip(steps["value"], steps["measure"], strict=True)
    ]
    labels = [wrapped(f"{label}  ({t})") for label, t in zip(steps["label"], text, strict=True)]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=steps["value"].tolist(),
            measure=steps["measure"].tolist(),
            text=text,
            textposition="none",
            increasing={"marker": {"color": WON}},
            decreasing={"marker": {"color": "rgb(214, 69, 65)"}},
            totals={"marker": {"color": LINE}},
            connector={"line": {"color": "rgba(128,128,128,0.5)"}},
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", title="Win probability")
    _layout(fig, None, height=max(300, label_rows_height(labels, 34) + 60))
    fig.update_layout(hovermode="closest", showlegend=False, margin={"l": 10, "r": 20, "t": 20, "b": 10})
    return fig


def close_outlook_chart(outlook: pd.DataFrame) -> go.Figure:
    """Horizontal bars: chance of winning this quarter, next quarter, later, or losing."""
    colours = [WON, "rgb(96, 190, 150)", "rgb(160, 210, 185)", "rgb(214, 69, 65)"]
    fig = go.Figure(
        go.Bar(
            y=outlook["outcome"],
            x=outlook["probability"],
            orientation="h",
            marker_color=colours[: len(outlook)],
            text=[f"{p:.0%}" for p in outlook["probability"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.08])
    _layout(fig, None, height=230)
    fig.update_layout(hovermode="closest", showlegend=False, margin={"l": 10, "r": 30, "t": 10, "b": 10})
    return fig


def backtest_windows_chart(windows: pd.DataFrame, money: Money) -> go.Figure:
    """Each backtest window's P10-P90 range against what was actually won, one row per window."""
    label = windows["label"].tolist()
    fig = go.Figure()
    fig.add_scatter(
        y=label,
        x=windows["p50"].tolist(),
        mode="markers",
        orientation="h",
        name="Likely range (middle estimate marked)",
        marker={"color": LINE, "size": 9},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": (windows["p90"] - windows["p50"]).tolist(),
            "arrayminus": (windows["p50"] - windows["p10"]).tolist(),
            "color": LINE,
        },
        hovertemplate=f"P50 {money.hover('x')}",
    )
    fig.add_scatter(
        y=label,
        x=windows["actual"].tolist(),
        mode="markers",
        name="Actually won",
        marker={"color": ACCENT, "symbol": "x", "size": 11},
        hovertemplate=f"Actual {money.hover('x')}",
    )
    fig.update_xaxes(**money.axis, rangemode="tozero")
    fig.update_yaxes(autorange="reversed", type="category")
    _layout(fig, None, max(260, 24 * len(label) + 90))
    fig.update_layout(hovermode="y unified")
    return fig


def backtest_metrics_chart(table: pd.DataFrame) -> go.Figure:
    """AUC and Brier skill per backtest as-of date, model against baselines, side by side in one figure
    (one chart to draw instead of two keeps the page quick at scale)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("AUC (0.5 = no better than chance)", "Brier skill vs base rate (0 = none)"),
        horizontal_spacing=0.08,
    )
    colours = {
        "Model": LINE,
        "Baseline: stage and age": ACCENT,
        "Baseline: base rate": "rgb(150, 150, 150)",
        "Oracle (true probabilities, synthetic data only)": WON,
    }
    for col, metric in ((1, "auc"), (2, "brier_skill")):
        for name, part in table.groupby("model", sort=False):
            fig.add_bar(
                x=part["as_of"].astype(str).tolist(),
                y=part[metric].tolist(),
                name=str(name),
                legendgroup=str(name),
                showlegend=col == 1,
                marker_color=colours.get(name),
                hovertemplate="%{y:.3f}",
                row=1,
                col=col,
            )
    fig.update_xaxes(type="category", title="Backtest as-of date")
    _layout(fig, None, 360)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 80, "b": 40}, legend={"y": 1.12})
    return fig


def reliability_chart(bins: pd.DataFrame) -> go.Figure:
    """Predicted probability against observed win rate per bin; the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"color": "rgba(128,128,128,0.7)", "dash": "dash"},
        name="Perfect calibration",
        hoverinfo="skip",
    )
    size = 8 + 22 * (bins["n"] / max(float(bins["n"].max()), 1.0)) ** 0.5 if len(bins) else 10
    fig.add_scatter(
        x=bins["mean_predicted"],
        y=bins["observed_rate"],
        mode="lines+markers",
        name="Model",
        marker={"color": LINE, "size": size},
        line={"color": LINE},
        customdata=bins["n"],
        hovertemplate="predicted %{x:.0%} → won %{y:.0%} (%{customdata} deals)<extra></extra>",
    )
    if "chance_low" in bins:
        fig.add_scatter(
            x=bins["mean_predicted"],
            y=bins["mean_predicted"],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 8, "color": "rgba(60,60,60,0.9)"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (bins["chance_high"] - bins["mean_predicted"]).tolist(),
                "arrayminus": (bins["mean_predicted"] - bins["chance_low"]).tolist(),
                "color": "rgba(60,60,60,0.9)",
                "thickness": 2,
                "width": 6,
            },
            name="Calibrated model, 5-95% by chance",
            customdata=bins[["chance_low", "chance_high", "n"]],
            hovertemplate="a calibrated model: %{customdata[0]:.0%}-%{customdata[1]:.0%} "
            "(%{customdata[2]} deals)<extra></extra>",
        )
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title="Predicted win probability")
    fig.update_yaxes(tickformat=".0%", range=[0, 1], title="Observed win rate")
    _layout(fig, None, 380)
    fig.update_layout(hovermode="closest")
    return fig


def importance_chart(importance: pd.DataFrame) -> go.Figure:
    """Mean |SHAP| per feature as horizontal bars (probability points)."""
    labels = [wrapped(label, 40) for label in importance["label"]]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=(importance["mean_abs_shap"] * 100).tolist(),
            orientation="h",
            marker_color=LINE,
            hovertemplate="%{y}: %{x:.1f} pts<extra></extra>",
            text=[f"{v * 100:.1f} pts" for v in importance["mean_abs_shap"]],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(ticksuffix=" pts", title="Mean |SHAP| (probability points)")
    _layout(fig, None, max(260, label_rows_height(labels, 26) + 80))
    fig.update_layout(hovermode="closest", showlegend=False, margin={"l": 10, "r": 60, "t": 20, "b": 10})
    return fig


def pipeline_change_chart(steps: pd.DataFrame, money: Money) -> go.Figure:
    """The open pipeline's waterfall: its value on the compare date, each change type's value (green up,
    red down, with the number of deals), its value now."""
    deals = ["" if pd.isna(n) else f"{int(n):,} deal{'s' if int(n) != 1 else ''}" for n in steps["deals"]]
    ends = steps["measure"] != "relative"
    end_text = iter(money.pair(*steps.loc[ends, "value"].tolist()))  # both ends in one unit: $1.66M, $1.65M
    text = [
        next(end_text) if m != "relative" else f"{'+' if v >= 0 else '-'}{money(abs(v))}"
        for v, m in zip(steps["value"], steps["measure"], strict=True)
    ]
    fig = go.Figure(
        go.Waterfall(
            x=[plain(label) for label in steps["label"]],
            y=steps["value"].tolist(),
            measure=steps["measure"].tolist(),
            text=text,
            textposition="outside",
            customdata=deals,
            increasing={"marker": {"color": WON}},
            decreasing={"marker": {"color": "rgb(214, 69, 65)"}},
            totals={"marker": {"color": LINE}},
            connector={"line": {"color": "rgba(128,128,128,0.5)"}},
            cliponaxis=False,
            hovertemplate="%{x}: %{text} %{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(**money.axis)
    fig.update_xaxes(type="category")
    _layout(fig, None, 380)
    fig.update_layout(hovermode="closest", showlegend=False, margin={"l": 10, "r": 10, "t": 30, "b": 40})
    return fig


def track_record_chart(rows: pd.DataFrame, money: Money, scope: str = "open") -> go.Figure:
    """Each past Friday's forecast of its quarter (P10-P90 band, P50) against what was won: for ``scope``
    "open" the deals open that day (and the reps' Commit when there is one), for "total" the whole quarter
    against everything it won. One band per quarter, so no line joins two quarters."""
    prefix = "total_" if scope == "total" else ""
    won_name = "Won in the whole quarter" if scope == "total" else "Actually won"
    fig = go.Figure()
    for k, (start, part) in enumerate(rows.groupby("period_start", sort=True)):
        first = k == 0
        quarter = f"Q{pd.Timestamp(start).quarter} {pd.Timestamp(start).year}"
        x = part["as_of"].tolist()
        band = pd.DataFrame({"p10": part[f"{prefix}p10"], "p90": part[f"{prefix}p90"]})
        _likely_range(
            fig,
            x,
            band,
            lambda q, quarter=quarter: f"{quarter} {q} {money.hover()}<extra></extra>",
            group="band",
            legend=first,
        )
        fig.add_scatter(
            x=x,
            y=part[f"{prefix}p50"].tolist(),
            mode="lines",
            line={"color": LINE, "width": 2},
            name=MIDDLE_ESTIMATE,
            legendgroup="p50",
            showlegend=first,
            hovertemplate=f"P50 {money.hover()}<extra></extra>",
        )
        fig.add_scatter(
            x=x,
            y=part[f"{prefix}actual"].tolist(),
            mode="markers",
            marker={"color": ACCENT, "symbol": "x", "size": 9},
            name=won_name,
            legendgroup="actual",
            showlegend=first,
            hovertemplate=f"Won {money.hover()}<extra></extra>",
        )
        if scope == "open" and "rep_commit" in part.columns and part["rep_commit"].notna().any():
            fig.add_scatter(
                x=x,
                y=part["rep_commit"].tolist(),
                mode="lines+markers",
                line={"color": "rgb(150, 150, 150)", "dash": "dot", "width": 1.5},
                marker={"size": 5},
                name="Reps' Commit",
                legendgroup="commit",
                showlegend=first,
                hovertemplate=f"Reps' Commit {money.hover()}<extra></extra>",
            )
    fig.update_yaxes(**money.axis, rangemode="tozero")
    fig.update_xaxes(title="Forecast made on (each Friday)")
    return _layout(fig, None, 360)


def _whole_expected(row: tuple, money: Money) -> str:
    """A quarter's expected whole quarter as its metric reads it: in one unit with its middle estimate and
    likely range ($2.10M beside $1.99M - $2.22M)."""
    return money.same_unit(row.total_expected, row.total_p50, row.total_p10, row.total_p90)[0]


PAST = "rgba(140, 140, 140, 0.6)"
QUOTA = "rgb(200, 30, 30)"  # the quota marks on the whole-quarter chart, red as the target line
NOT_YET_CREATED = "rgba(236, 160, 80, 0.75)"
OPEN_DEALS = "rgba(72, 118, 222, 0.7)"
WON_SO_FAR = "rgba(46, 160, 110, 0.8)"


def whole_quarter_chart(bars: pd.DataFrame, money: Money, height: int = 380) -> go.Figure:
    """Quarter by quarter: the complete quarters' won revenue (grey), then each forecast quarter as a stack of
    won so far, expected from open deals and expected from deals not yet created (their sum, the expected
    whole quarter, under its label), with the whole quarter's likely range (P10-P90) and middle estimate
    drawn on it. ``bars``: ``whole_quarter.quarter_bars``."""
    done = bars[bars["complete"]]
    ahead = bars[~bars["complete"]]
    fig = go.Figure()
    fig.add_bar(
        x=done["label"].tolist(),
        y=done["won"].tolist(),
        name="Won (complete quarters)",
        marker_color=PAST,
        text=[money(v) for v in done["won"]],
        # mid-bar when quotas are drawn: a quota near what was won would strike the label through
        textposition="inside" if "quota" in bars and bars["quota"].notna().any() else "outside",
        insidetextanchor="middle",
        cliponaxis=False,
        hovertemplate=f"Won {money.hover()}<extra></extra>",
    )
    x = ahead["label"].tolist()
    for column, name, colour in (
        ("won", "Won so far", WON_SO_FAR),
        ("expected", "Expected from open deals", OPEN_DEALS),
        ("new_expected", "Expected from deals not yet created", NOT_YET_CREATED),
    ):
        fig.add_bar(
            x=x,
            y=ahead[column].tolist(),
            name=name,
            marker_color=colour,
            hovertemplate=f"{name} {money.hover()}<extra></extra>",
        )
    fig.add_scatter(
        x=x,
        y=ahead["total_p50"].tolist(),
        mode="markers",
        name=f"{MIDDLE_ESTIMATE} and {LIKELY_RANGE[0].lower()}{LIKELY_RANGE[1:]}",
        marker={"color": "rgb(60, 60, 60)", "symbol": "line-ew-open", "size": 16, "line": {"width": 2}},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (ahead["total_p90"] - ahead["total_p50"]).tolist(),
            "arrayminus": (ahead["total_p50"] - ahead["total_p10"]).tolist(),
            "color": "rgb(60, 60, 60)",
            "thickness": 1.5,
            "width": 10,
        },
        customdata=ahead[["total_p10", "total_p90", "total_expected"]].to_numpy(),
        hovertemplate=f"Middle estimate {money.hover()}, likely range "
        f"{money.prefix}%{{customdata[0]:,.0f}} - {money.prefix}%{{customdata[1]:,.0f}}, "
        f"expected {money.prefix}%{{customdata[2]:,.0f}}<extra></extra>",
    )
    if "quota" in bars and bars["quota"].notna().any():  # the quarter's target from the quotas file
        quota = bars[bars["quota"].notna()]
        fig.add_scatter(
            x=quota["label"].tolist(),
            y=quota["quota"].tolist(),
            mode="markers",
            name="Quota",
            marker={
                "color": QUOTA,
                "symbol": "line-ew",
                "size": 34,
                "line": {"width": 3, "color": QUOTA},  # a line marker takes its colour from its line
            },
            hovertemplate=f"Quota {money.hover()}<extra></extra>",
        )
    # each quarter ahead names its expected whole quarter under its label (above the bar it met the whisker)
    ticks = [
        row.label if row.complete else f"{row.label}<br>{_whole_expected(row, money)} expected"
        for row in bars.itertuples(index=False)
    ]
    fig.update_layout(barmode="stack")
    fig.update_yaxes(**money.axis, rangemode="tozero")
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=bars["label"].tolist(),
        tickvals=bars["label"].tolist(),
        ticktext=ticks,
    )
    _layout(fig, None, height)
    fig.update_layout(hovermode="x unified", margin={"l": 10, "r": 10, "t": 70, "b": 40})
    return fig
