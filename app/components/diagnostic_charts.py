"""Plotly figures of the Win Rates page and the Health page's SHAP dependence plots: the win rate by quarter
with its likely range, segments ranked with theirs, the change split into mix and rate, speed per segment,
the reps' consistency against chance, and a feature's value against its impact on the chance."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.components.charts import ACCENT, LINE, TIER_COLOURS, WON, _layout, plain, wrapped
from app.components.format import Money

SEGMENT_COLOURS = (LINE, ACCENT, WON, "rgb(170, 100, 200)", "rgb(214, 69, 65)", "rgb(120, 120, 120)")
GREY = "rgba(128, 128, 128, 0.7)"


def _rgba(colour: str, alpha: float) -> str:
    """An ``rgb(...)`` colour made translucent."""
    return colour.replace("rgb(", "rgba(").replace(")", f", {alpha})")


def quarter_labels(days: pd.Series) -> list[str]:
    """ "Q2 2026" per quarter start."""
    return [f"Q{pd.Timestamp(d).quarter} {pd.Timestamp(d).year}" for d in days]


def win_rate_trend(rows: pd.DataFrame, height: int = 360) -> go.Figure:
    """Each segment's win rate by quarter of close with its likely range as a band; a quarter that moved
    beyond chance from the one before is a larger hollow marker. ``rows``: segment, period_start, closed,
    won, win_rate, low, high, changed."""
    fig = go.Figure()
    quarters = quarter_labels(sorted(rows["period_start"].unique()))
    segments = list(dict.fromkeys(rows["segment"]))
    for i, segment in enumerate(segments):
        part = rows[rows["segment"].eq(segment)].sort_values("period_start")
        colour = SEGMENT_COLOURS[i % len(SEGMENT_COLOURS)]
        x = quarter_labels(part["period_start"])
        name = "Win rate" if len(segments) == 1 else plain(segment)
        fig.add_scatter(
            x=x,
            y=part["high"].tolist(),
            mode="lines",
            line={"width": 0},
            showlegend=False,
            legendgroup=name,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=x,
            y=part["low"].tolist(),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(colour, 0.18),
            name="Likely range" if len(segments) == 1 else f"{plain(segment)}: likely range",
            legendgroup=name,
            showlegend=len(segments) == 1,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=x,
            y=part["win_rate"].tolist(),
            mode="lines+markers",
            name=name,
            legendgroup=name,
            line={"color": colour},
            marker={"color": colour, "size": 7},
            customdata=part[["won", "closed", "low", "high"]].to_numpy(),
            hovertemplate=f"{plain(segment)}: %{{y:.0%}} (won %{{customdata[0]:,}} of %{{customdata[1]:,}}), "
            "likely %{customdata[2]:.0%}-%{customdata[3]:.0%}<extra></extra>",
        )
        moved = part[part["changed"].astype(bool)]
        if not moved.empty:
            fig.add_scatter(
                x=quarter_labels(moved["period_start"]),
                y=moved["win_rate"].tolist(),
                mode="markers",
                name="Moved beyond chance",
                legendgroup="moved",
                showlegend=not any(t.name == "Moved beyond chance" for t in fig.data),
                marker={"symbol": "circle-open", "size": 16, "line": {"width": 2.5, "color": ACCENT}},
                hovertemplate=f"{plain(segment)}: moved beyond chance from the quarter before<extra></extra>",
            )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=quarters, title="Quarter of close")
    fig.update_yaxes(tickformat=".0%", title="Win rate (won / closed)")
    _layout(fig, None, height)
    fig.update_layout(hovermode="closest")
    return fig


def segment_rates_chart(rows: pd.DataFrame, team_rate: float | None, label: str) -> go.Figure:
    """Each segment's latest win rate (dot) and likely range (bar), in ``rows``' order top to bottom, with
    the team's rate as a dashed line. ``rows``: segment, closed, won, win_rate, low, high."""
    names = [wrapped(s, 28) for s in rows["segment"]]
    fig = go.Figure(
        go.Scatter(
            x=rows["win_rate"].tolist(),
            y=names,
            mode="markers",
            marker={"color": LINE, "size": 9},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (rows["high"] - rows["win_rate"]).tolist(),
                "arrayminus": (rows["win_rate"] - rows["low"]).tolist(),
                "color": _rgba(LINE, 0.6),
                "thickness": 6,
                "width": 0,
            },
            customdata=rows[["won", "closed", "low", "high"]].to_numpy(),
            hovertemplate="%{y}: %{x:.0%} (won %{customdata[0]:,} of %{customdata[1]:,}), likely "
            "%{customdata[2]:.0%}-%{customdata[3]:.0%}<extra></extra>",
            name="Win rate and likely range",
        )
    )
    if team_rate is not None:
        fig.add_vline(
            x=team_rate,
            line={"color": GREY, "dash": "dash"},
            annotation_text=f"Team {team_rate:.0%}",
            annotation_position="top",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], title=label)
    fig.update_xaxes(tickformat=".0%", title="Win rate, last complete quarter", rangemode="tozero")
    _layout(fig, None, max(220, 26 * len(names) + 100))
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def mix_rate_chart(rows: pd.DataFrame, label: str) -> go.Figure:
    """Each segment's part of the team's win-rate change in points: the mix effect (its share of closed
    deals moved) and the rate effect (its own rate moved), stacked, with their sum as a marker."""
    names = [wrapped(s, 28) for s in rows["segment"]]
    fig = go.Figure()
    for column, name, colour in (
        ("mix_effect", "Its share of the closed deals moved", ACCENT),
        ("rate_effect", "Its own win rate moved", LINE),
    ):
        fig.add_bar(
            y=names,
            x=(rows[column] * 100).tolist(),
            orientation="h",
            name=name,
            marker_color=_rgba(colour, 0.75),
            hovertemplate=f"%{{y}}: %{{x:+.2f}} points ({name.lower()})<extra></extra>",
        )
    fig.add_scatter(
        y=names,
        x=(rows["total_change"] * 100).tolist(),
        mode="markers",
        name="Together",
        marker={
            "symbol": "diamond",
            "size": 10,
            "color": "rgb(150, 150, 150)",
            "line": {"width": 1, "color": GREY},
        },
        hovertemplate="%{y}: %{x:+.2f} points together<extra></extra>",
    )
    fig.update_layout(barmode="relative")
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], title=label)
    fig.update_xaxes(ticksuffix=" pts", title="Points of the team's win-rate change", zeroline=True)
    _layout(fig, None, max(240, 26 * len(names) + 110))
    fig.update_layout(hovermode="closest")
    return fig


def speed_chart(rows: pd.DataFrame, money: Money, label: str) -> go.Figure:
    """Sales velocity (won revenue per day of the sales cycle) and average days to win per segment, side by
    side in ``rows``' order."""
    names = [wrapped(s, 28) for s in rows["segment"]]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Sales velocity (revenue per day)", "Average days to win"),
    )
    fig.add_bar(
        y=names,
        x=rows["velocity"].tolist(),
        orientation="h",
        marker_color=_rgba(WON, 0.75),
        row=1,
        col=1,
        hovertemplate=f"%{{y}}: {money.hover('x')} a day<extra></extra>",
        name="Sales velocity",
    )
    fig.add_bar(
        y=names,
        x=rows["cycle_days"].tolist(),
        orientation="h",
        marker_color=_rgba(LINE, 0.75),
        row=1,
        col=2,
        hovertemplate="%{y}: %{x:.0f} days<extra></extra>",
        name="Days to win",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1], row=1, col=1, title=label)
    fig.update_xaxes(**money.axis, row=1, col=1)
    fig.update_xaxes(ticksuffix=" d", row=1, col=2)
    _layout(fig, None, max(240, 26 * len(names) + 110))
    fig.update_layout(hovermode="closest", showlegend=False, margin={"l": 10, "r": 10, "t": 50, "b": 30})
    return fig


def consistency_chart(rows: pd.DataFrame, clearly: float) -> go.Figure:
    """Each rep's quarter-to-quarter spread of win rates (up) against what chance alone gives at their
    volume (across), dot size their closed deals; on the grey line a rep swings as chance does, above the
    dotted one ``clearly`` times as much."""
    top = float(max(rows["spread"].max(), rows["chance_spread"].max(), 0.01)) * 100 * 1.1
    fig = go.Figure()
    fig.add_scatter(
        x=[0, top],
        y=[0, top],
        mode="lines",
        line={"color": GREY, "dash": "dash"},
        name="What chance alone gives",
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=[0, top / clearly],
        y=[0, top],
        mode="lines",
        line={"color": GREY, "dash": "dot"},
        name=f"{clearly:g} times chance",
        hoverinfo="skip",
    )
    swings = rows["ratio"] >= clearly
    size = 8 + 22 * (rows["closed"] / max(float(rows["closed"].max()), 1.0)) ** 0.5
    for mask, name, colour in (
        (~swings, "Rep", LINE),
        (swings, f"Rep swinging {clearly:g}x chance or more", ACCENT),
    ):
        part = rows[mask]
        if part.empty:
            continue
        fig.add_scatter(
            x=(part["chance_spread"] * 100).tolist(),
            y=(part["spread"] * 100).tolist(),
            mode="markers+text" if len(rows) <= 15 else "markers",
            text=[plain(n) for n in part["sales_agent"]],
            textposition="top center",
            textfont={"size": 10},
            name=name,
            marker={
                "color": _rgba(colour, 0.7),
                "size": size[mask].tolist(),
                "line": {"width": 1, "color": colour},
            },
            customdata=part[["sales_agent", "closed", "quarters", "win_rate"]].to_numpy(),
            hovertemplate="%{customdata[0]}: swings %{y:.0f} points a quarter, chance alone %{x:.0f} "
            "(%{customdata[1]:,} closed in %{customdata[2]} quarters, won "
            "%{customdata[3]:.0%})<extra></extra>",
        )
    fig.update_xaxes(range=[0, top], ticksuffix=" pts", title="Swing chance alone gives at the rep's volume")
    fig.update_yaxes(range=[0, top], ticksuffix=" pts", title="Rep's swing in win rate, quarter to quarter")
    _layout(fig, None, 420)
    fig.update_layout(hovermode="closest")
    return fig


def dependence_chart(
    points: pd.DataFrame,
    label: str,
    tiers: list[str],
    as_rate: bool,
    names: list[str] | None = None,
    height: int = 300,
) -> go.Figure:
    """One feature's value (across) against its impact on each deal's chance in points (up), coloured by
    risk tier; a feature of categories as one column of dots per category. ``points``: value (number, or
    NaN), category (text), impact (probability), risk_tier, opportunity_id. ``names``: what the values 0,
    1, 2, ... stand for (the stages of a stage position)."""
    numeric = points["value"].notna().any()
    fig = go.Figure()
    for i, tier in enumerate(tiers):
        part = points[points["risk_tier"].eq(tier)]
        if part.empty:
            continue
        colour = TIER_COLOURS[min(i, len(TIER_COLOURS) - 1)]
        if numeric:
            part = part[part["value"].notna()]
            x = (part["value"] * (100 if as_rate else 1)).tolist()
            fig.add_scattergl(
                x=x,
                y=(part["impact"] * 100).tolist(),
                mode="markers",
                name=plain(tier),
                marker={"color": _rgba(colour, 0.55), "size": 5},
                customdata=part["opportunity_id"],
                hovertemplate="%{customdata}: %{x:,.4g}"
                + ("%" if as_rate else "")
                + " → %{y:+.1f} pts<extra></extra>",
            )
        else:
            fig.add_box(
                x=[plain(c) for c in part["category"]],
                y=(part["impact"] * 100).tolist(),
                name=plain(tier),
                boxpoints="all",
                jitter=0.6,
                pointpos=0,
                fillcolor="rgba(0,0,0,0)",
                line={"width": 0},
                marker={"color": _rgba(colour, 0.55), "size": 4},
                customdata=part["opportunity_id"],
                hovertemplate="%{customdata}: %{x} → %{y:+.1f} pts<extra></extra>",
            )
    if not numeric:
        fig.update_layout(boxmode="group")
    fig.add_hline(y=0, line={"color": GREY, "width": 1})
    fig.update_xaxes(title=plain(label), ticksuffix="%" if as_rate and numeric else "")
    if names and numeric:
        fig.update_xaxes(tickvals=list(range(len(names))), ticktext=[plain(n) for n in names])
    fig.update_yaxes(ticksuffix=" pts", title="Impact on the chance")
    _layout(fig, None, height)
    fig.update_layout(hovermode="closest")
    return fig
