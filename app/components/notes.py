"""Short notes the deal pages share, so one fact reads the same on every page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.components.format import Money, md

if TYPE_CHECKING:
    from app.services.pipeline import UnscoredDeals


def unscored_text(unscored: UnscoredDeals, money: Money) -> str | None:
    """What the page says about deals the model could not score, their value in ``money`` (None when the
    selection has none)."""
    if not unscored.count:
        return None
    deals = f"{unscored.count:,} unscored deal{'s' if unscored.count != 1 else ''} ({money(unscored.value)})"
    if unscored.included:
        return (
            f"{deals} included: they count in the deals and pipeline value shown, but have no win "
            "probability yet, so they add nothing to expected revenue or value at risk."
        )
    return (
        f"{deals} left out of every figure: Prospecting deals without an engage date, unlike any deal the "
        "model learnt from, have no win probability. The sidebar's 'Include unscored deals' adds them to "
        "the deal counts and pipeline value."
    )


def unscored_caption(unscored: UnscoredDeals, money: Money) -> None:
    """Draw :func:`unscored_text` as a caption (nothing when every selected deal is scored)."""
    text = unscored_text(unscored, money)
    if text:
        st.caption(md(text))
