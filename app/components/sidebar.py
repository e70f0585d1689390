"""The shared sidebar: run facts (as-of date, run time, model version) and filters that persist across pages.

Filter values live in plain session-state keys (``filter_<name>``) that survive page switches; each widget
has its own key (``_w_filter_<name>``) that is re-seeded from the stored value on every run and copies its
value back in an ``on_change`` callback. Widget state alone would be dropped whenever a widget is not drawn.

A shared deal link opens in a new tab, i.e. a new session without this one's state, so deal links carry the
filters in their query string (``pipeline.deal_links``); :func:`restore_filters_from_url` puts them back
into the session, once per distinct set, and a filter changed while the URL carries filters rewrites them.
"""

from __future__ import annotations

import streamlit as st

from app.components.format import md
from app.services.pipeline import (
    FILTER_COLUMNS,
    FILTER_QUERY_KEYS,
    STALE_CHOICES,
    DealFilters,
    filter_options,
    filters_from_query,
    filters_query,
    scored,
    tier_order,
)
from app.services.store import PredictionFilesError, PredictionRun, load_run

FILTER_LABELS = {
    "regions": "Region",
    "managers": "Manager",
    "reps": "Rep",
    "products": "Product",
    "sectors": "Sector",
    "tiers": "Risk tier",
}


def _store_key(name: str) -> str:
    """Session-state key that keeps a filter's value across pages."""
    return f"filter_{name}"


def _widget_key(name: str) -> str:
    """Session-state key of the widget that edits a filter."""
    return f"_w_filter_{name}"


URL_FILTERS_KEY = "_url_filters"  # the filter set last taken from the URL


def _copy_to_store(name: str) -> None:
    """on_change: keep the widget's new value in the persistent key."""
    st.session_state[_store_key(name)] = st.session_state[_widget_key(name)]
    _rewrite_url_filters()


def _clear_filters() -> None:
    """on_click: reset every filter."""
    for name in FILTER_COLUMNS:
        st.session_state[_store_key(name)] = []
    st.session_state[_store_key("stale")] = STALE_CHOICES[0]
    st.session_state[_store_key("include_unscored")] = False
    _rewrite_url_filters()


def current_filters() -> DealFilters:
    """The filters chosen in the sidebar (persisted in session state)."""
    values = {name: tuple(st.session_state.get(_store_key(name), [])) for name in FILTER_COLUMNS}
    stale = st.session_state.get(_store_key("stale"), STALE_CHOICES[0])
    return DealFilters(
        **values,
        stale=stale if stale in STALE_CHOICES else STALE_CHOICES[0],
        include_unscored=bool(st.session_state.get(_store_key("include_unscored"), False)),
    )


def _store_filters(filters: DealFilters) -> None:
    """Make ``filters`` the session's sidebar filters."""
    for name in FILTER_COLUMNS:
        st.session_state[_store_key(name)] = list(getattr(filters, name))
    st.session_state[_store_key("stale")] = filters.stale
    st.session_state[_store_key("include_unscored")] = filters.include_unscored


def restore_filters_from_url() -> None:
    """Filters carried by the page's URL (a shared deal link) become the sidebar's, once per distinct set:
    later changes in the sidebar are not undone by the same URL on the next rerun."""
    carried = filters_from_query({key: st.query_params.get_all(key) for key in FILTER_QUERY_KEYS.values()})
    if carried is None:
        return
    signature = tuple(sorted(filters_query(carried)))
    if st.session_state.get(URL_FILTERS_KEY) == signature:
        return
    st.session_state[URL_FILTERS_KEY] = signature
    _store_filters(carried)


def _rewrite_url_filters() -> None:
    """When the URL carries filters (a deal link), make it carry the current ones, so it stays shareable."""
    keys = set(FILTER_QUERY_KEYS.values())
    if not keys & set(st.query_params.keys()):
        return
    for key in keys:
        if key in st.query_params:
            del st.query_params[key]
    pairs = filters_query(current_filters())
    for key in dict.fromkeys(k for k, _ in pairs):
        st.query_params[key] = [v for k, v in pairs if k == key]
    st.session_state[URL_FILTERS_KEY] = tuple(sorted(pairs))


def _run_facts(run: PredictionRun) -> None:
    """As-of date, when the run was written and how long it took, and the model version."""
    metadata = run.metadata
    model = metadata.get("model") or {}
    took = sum(
        float(v) for v in (metadata.get("timings_seconds") or {}).values() if isinstance(v, int | float)
    )
    st.sidebar.markdown(f"**Data as of {md(metadata['as_of'])}**")
    st.sidebar.caption(
        f"Run written {md(run.written_at)} (took {took:,.1f} s)  \n"
        f"Model {md(model.get('version', 'unknown'))}, "
        f"trained as of {md(model.get('trained_as_of', 'unknown'))}  \n"
        f"Run id {md(str(run.run_id)[:12])}"
    )


def render_sidebar() -> None:
    """Draw run facts and filters; draws nothing when there is no readable run (the page explains why)."""
    try:
        run = load_run()
    except PredictionFilesError:
        return
    if run is None:
        return
    _run_facts(run)
    restore_filters_from_url()
    tiers = tier_order(run.predictions, (run.metadata.get("risk") or {}).get("tiers"))
    include_unscored = bool(st.session_state.get(_store_key("include_unscored"), False))
    options = filter_options(run.predictions, tiers, include_unscored)
    st.sidebar.subheader("Filters")
    for name, label in FILTER_LABELS.items():
        choices = options[name]
        kept = [v for v in st.session_state.get(_store_key(name), []) if v in choices]
        st.session_state[_store_key(name)] = kept  # a value gone from this run no longer filters
        st.session_state[_widget_key(name)] = kept
        st.sidebar.multiselect(
            label, choices, key=_widget_key(name), on_change=_copy_to_store, args=(name,), placeholder="All"
        )
    stale = st.session_state.get(_store_key("stale"), STALE_CHOICES[0])
    st.session_state[_widget_key("stale")] = stale if stale in STALE_CHOICES else STALE_CHOICES[0]
    st.sidebar.radio(
        "Stale deals",
        STALE_CHOICES,
        key=_widget_key("stale"),
        on_change=_copy_to_store,
        args=("stale",),
        horizontal=True,
        help="Stale: open and older than every deal that ever closed (likely a zombie).",
    )
    if not bool(scored(run.predictions).all()):
        st.session_state[_widget_key("include_unscored")] = include_unscored
        st.sidebar.toggle(
            "Include unscored deals",
            key=_widget_key("include_unscored"),
            on_change=_copy_to_store,
            args=("include_unscored",),
            help="Prospecting deals without an engage date, unlike any deal the model learnt from, have no "
            "win probability. Included, they count in deals and pipeline value; they add nothing to "
            "expected revenue or value at risk.",
        )
    st.sidebar.button("Clear filters", on_click=_clear_filters, width="stretch")
