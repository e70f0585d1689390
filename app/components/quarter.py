"""The headline quarter's figures, drawn the same way (same labels, same numbers) on the Overview and the
Forecast page: won so far + expected from open deals = the quarter total, and the total's P10-P90."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.components.format import Money, md
from app.filters import SEGMENT_LABELS

if TYPE_CHECKING:
    from app.services.pipeline import HeadlineQuarter, QuarterFigures

WON = "Won so far"
EXPECTED = "Expected from open deals"
TOTAL = "Quarter total (expected)"
TOTAL_RANGE = "Likely range of the total"  # its P10 - P90, said in the help
OPEN_RANGE = "Likely range from open deals"


def no_period_figures(where: str) -> str:
    """Why a selection has no weekly or monthly figures; ``where`` the page shows its quarter figures
    ("above" on the Overview, "in the quarter view below" on the Forecast page)."""
    return (
        "Weekly and monthly figures exist for the whole pipeline or one region, manager, rep or product (the "
        "segments the batch step simulated); the filtered deals are none of these, so only their quarter "
        f"figures are shown, {where}."
    )


def source_text(figures: QuarterFigures, quarter: HeadlineQuarter, simulated_with: str) -> str:
    """Where the range and the won-so-far figure come from, in one sentence or two (Markdown-safe)."""
    if figures.source == "stored" and figures.segment is not None:
        kind, name = figures.segment
        who = "the whole pipeline" if kind == "all" else f"{SEGMENT_LABELS[kind].lower()} {md(name)}"
        return (
            f"These are the open deals of {who} (stale and unscored deals aside, which add nothing to the "
            "forecast), so won so far and the range are the batch forecast's for it."
        )
    won = (
        "Nothing is won in it yet (it has not started)."
        if quarter.is_next
        else "Won so far is kept per segment (forecast.csv), not per deal, so it is not available for this "
        "selection, and neither is the quarter total."
    )
    if figures.source == "computed" and figures.contributing == 0:
        return (
            "None of the filtered deals can be won in the quarter (stale and unscored deals add nothing). "
            f"{won}"
        )
    return (
        f"The filtered deals are not one of the batch forecast's segments, so the range was computed on this "
        f"page for the {figures.contributing:,} filtered deals that can be won from their quarter chances "
        f"and {simulated_with}. {won}"
    )


def quarter_metrics(
    figures: QuarterFigures, quarter: HeadlineQuarter, simulated_with: str, money: Money
) -> None:
    """Won so far | expected from open deals | quarter total | its P10-P90 (in ``money``), and where they
    come from."""
    cols = st.columns([1, 1, 1, 1.6])
    cols[0].metric(
        WON,
        "n/a" if figures.won_so_far is None else money(figures.won_so_far),
        help="Revenue already won inside the quarter, up to the as-of date.",
    )
    cols[1].metric(
        EXPECTED,
        money(figures.expected),
        help="Sum over today's open deals of deal value x the chance of being won inside the quarter.",
    )
    cols[2].metric(
        TOTAL, "n/a" if figures.total is None else money(figures.total), help=f"{WON} + {EXPECTED.lower()}."
    )
    if figures.total_range is not None:
        cols[3].metric(
            TOTAL_RANGE,
            money.range(*figures.total_range),
            help="P10 - P90: 80% of simulated outcomes of the quarter total fall inside this range; the "
            "median is "
            f"{money((figures.won_so_far or 0.0) + (figures.p50 or 0.0))}.",
        )
    elif figures.p10 is not None and figures.p90 is not None:
        cols[3].metric(
            OPEN_RANGE,
            money.range(figures.p10, figures.p90),
            help="P10 - P90: 80% of simulated outcomes of the revenue from open deals fall inside this "
            "range.",
        )
    else:
        cols[3].caption("No range: the forecast has no row for this quarter.")
    st.caption(source_text(figures, quarter, md(simulated_with)))
