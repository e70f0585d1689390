"""The shared sidebar: run facts (as-of date, run time, model version) and the filters, which persist
across pages in session state (``app.filters``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.components.format import md
from app.filters import (
    FILTER_LABELS,
    STALE_CHOICES,
    clear_filters,
    copy_to_store,
    current_filters,
    store_key,
    widget_key,
)

if TYPE_CHECKING:
    from app.services.store import PredictionRun


def _run_facts(run: PredictionRun) -> None:
    """As-of date, when the run was written and how long it took, and the model version."""
    metadata = run.metadata
    took = sum(float(v) for v in metadata.timings_seconds.values() if isinstance(v, int | float))
    st.sidebar.markdown(f"**Data as of {md(metadata.as_of)}**")
    st.sidebar.caption(
        f"Run written {md(run.written_at)} (took {took:,.1f} s)  \n"
        f"Model {md(metadata.model.version)}, trained as of {md(metadata.model.trained_as_of)}  \n"
        f"Run id {md(str(run.run_id)[:12])}"
    )


def render_sidebar(run: PredictionRun, options: dict[str, list[str]], has_unscored: bool) -> None:
    """Draw the run's facts and the filters, each offering ``options[name]``; the unscored toggle only when
    the run has unscored deals. The caller restores filters carried by the URL first."""
    _run_facts(run)
    include_unscored = current_filters().include_unscored
    st.sidebar.subheader("Filters")
    for name, label in FILTER_LABELS.items():
        choices = options[name]
        kept = [v for v in st.session_state.get(store_key(name), []) if v in choices]
        st.session_state[store_key(name)] = kept  # a value gone from this run no longer filters
        st.session_state[widget_key(name)] = kept
        st.sidebar.multiselect(
            label, choices, key=widget_key(name), on_change=copy_to_store, args=(name,), placeholder="All"
        )
    stale = st.session_state.get(store_key("stale"), STALE_CHOICES[0])
    st.session_state[widget_key("stale")] = stale if stale in STALE_CHOICES else STALE_CHOICES[0]
    st.sidebar.radio(
        "Stale deals",
        STALE_CHOICES,
        key=widget_key("stale"),
        on_change=copy_to_store,
        args=("stale",),
        horizontal=True,
        help="Stale: open and older than every deal that ever closed (likely a zombie).",
    )
    if has_unscored:
        st.session_state[widget_key("include_unscored")] = include_unscored
        st.sidebar.toggle(
            "Include unscored deals",
            key=widget_key("include_unscored"),
            on_change=copy_to_store,
            args=("include_unscored",),
            help="Prospecting deals without an engage date, unlike any deal the model learnt from, have no "
            "win probability. Included, they count in deals and pipeline value; they add nothing to "
            "expected revenue or value at risk.",
        )
    st.sidebar.button("Clear filters", on_click=clear_filters, width="stretch")
