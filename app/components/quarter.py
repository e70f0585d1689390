"""The headline quarter's figures, drawn the same way (same labels, same numbers) on the Overview and the
Forecast page: won so far + expected from open deals + expected from deals not yet created = the whole
quarter (expected), the whole quarter's middle estimate and likely range, and the range of won + open deals.
A selection that is no stored segment has no whole quarter: won + open deals and their range instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.components.format import Money, md
from app.filters import SEGMENT_LABELS

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.services.pipeline import HeadlineQuarter, QuarterFigures

WON = "Won so far"
EXPECTED = "Expected from open deals"
NEW = "Expected from deals not yet created"
WHOLE = "Whole quarter (expected)"
WHOLE_MIDDLE = "Whole quarter: middle estimate"
WHOLE_RANGE = "Whole quarter: likely range"  # its P10 - P90, said in the help
KNOWN = "Won + open deals (expected)"
KNOWN_RANGE = "Won + open deals: likely range"
OPEN_RANGE = "Open deals: likely range"
NO_WHOLE_QUARTER = (
    "The whole-quarter view (deals not yet created, and the whole quarter's middle estimate and likely "
    "range) is not available for this selection: the batch step forecasts deals not yet created for the "
    "whole pipeline and for one region, manager, rep or product only, and the filtered deals are none of "
    "these."
)
NO_WHOLE_QUARTER_SHORT = (
    "No whole quarter for this selection: deals not yet created are forecast for the whole pipeline and "
    "for one region, manager, rep or product only, so the figures above leave them out."
)


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
            "forecast), so won so far, deals not yet created and the ranges are the batch forecast's for it."
        )
    won = (
        "Nothing is won in it yet (it has not started)."
        if quarter.is_next
        else "Won so far is kept per segment (forecast.csv), not per deal, so it is not available for this "
        "selection, and neither is won + open deals."
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
    """The headline quarter in ``money``: for a stored segment won so far | expected from open deals |
    expected from deals not yet created | the whole quarter, then its middle estimate and likely range
    beside won + open deals' range; for any other selection won so far | open deals | won + open | their
    range, and why there is no whole quarter. Then where the figures come from."""
    if figures.whole is None:
        _won_and_open_metrics(figures, money)
    else:
        _whole_quarter_metrics(figures, money)
    st.caption(source_text(figures, quarter, md(simulated_with)))
    if figures.whole is None and figures.source != "none":
        st.caption(NO_WHOLE_QUARTER_SHORT)


def _won_so_far(column: DeltaGenerator, figures: QuarterFigures, money: Money) -> None:
    """The won-so-far metric ("n/a" when it is not known for the selection)."""
    column.metric(
        WON,
        "n/a" if figures.won_so_far is None else money(figures.won_so_far),
        help="Revenue already won inside the quarter, up to the as-of date.",
    )


def _expected_open(column: DeltaGenerator, figures: QuarterFigures, money: Money) -> None:
    """The open deals' expected revenue in the quarter."""
    column.metric(
        EXPECTED,
        money(figures.expected),
        help="Sum over today's open deals of deal value x the chance of being won inside the quarter.",
    )


def _whole_quarter_metrics(figures: QuarterFigures, money: Money) -> None:
    """A stored segment: the whole quarter's parts and total, then its middle estimate and likely range
    beside the range of won + open deals alone."""
    whole = figures.whole
    assert whole is not None
    cols = st.columns([0.75, 1, 1.35, 1])  # room for the longest label, "Expected from deals not yet created"
    _won_so_far(cols[0], figures, money)
    _expected_open(cols[1], figures, money)
    cols[2].metric(
        NEW,
        money(whole.new_expected),
        help="Deals created after the as-of date and won inside the quarter, expected from the pace at "
        "which deals were created lately and how often and how fast such deals are won.",
    )
    # the whole quarter's four figures in one unit, as the sentence beside a target quotes them
    expected, middle, low, high = money.same_unit(whole.expected, whole.p50, whole.p10, whole.p90)
    cols[3].metric(
        WHOLE,
        expected,
        help=f"{WON} + {EXPECTED.lower()} + {NEW.lower()}: the average of the simulated quarters.",
    )
    cols = st.columns([1, 1.6, 1.6])
    cols[0].metric(
        WHOLE_MIDDLE,
        middle,
        help="P50: half of the simulated quarters (won so far + open deals + deals not yet created) end "
        "below it, half above.",
    )
    cols[1].metric(
        WHOLE_RANGE,
        f"{low} - {high}",
        help="P10 - P90: 80% of the simulated quarters (won so far + open deals + deals not yet created) "
        "fall inside this range.",
    )
    known = figures.won_and_open_range
    if known is not None:
        cols[2].metric(
            KNOWN_RANGE,
            money.range(*known),
            help="P10 - P90 of won so far + the open deals alone, without deals not yet created: 80% of "
            f"simulated outcomes fall inside it; the expected value is {money(figures.won_and_open)}.",
        )


def _won_and_open_metrics(figures: QuarterFigures, money: Money) -> None:
    """A selection that is no stored segment: won so far | open deals | won + open | their range."""
    cols = st.columns([1, 1, 1, 1.6])
    _won_so_far(cols[0], figures, money)
    _expected_open(cols[1], figures, money)
    cols[2].metric(
        KNOWN,
        "n/a" if figures.won_and_open is None else money(figures.won_and_open),
        help=f"{WON} + {EXPECTED.lower()}; deals not yet created are not in it.",
    )
    if figures.won_and_open_range is not None:
        cols[3].metric(
            KNOWN_RANGE,
            money.range(*figures.won_and_open_range),
            help="P10 - P90: 80% of simulated outcomes of won so far + the open deals fall inside this "
            f"range; the median is {money((figures.won_so_far or 0.0) + (figures.p50 or 0.0))}.",
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
