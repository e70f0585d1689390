"""The sidebar's filters and the one list of segment labels: plain values and session state, shared by the
services that apply the filters, the components that draw them and the pages that read them.

Filter values live in plain session-state keys (``filter_<name>``) that survive page switches; each widget
has its own key (``_w_filter_<name>``) that is re-seeded from the stored value on every run and copies its
value back in an ``on_change`` callback. Widget state alone would be dropped whenever a widget is not drawn.

A shared deal link opens in a new tab, i.e. a new session without this one's state, so deal links carry the
filters in their query string (:func:`filters_query`); :func:`restore_filters_from_url` puts them back into
the session, once per distinct set, and a filter changed while the URL carries filters rewrites them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

STALE_CHOICES = ("All deals", "Exclude stale", "Stale only")
SEGMENT_LABELS = {  # the one list of segment names a leader reads
    "regional_office": "Region",
    "manager": "Manager",
    "sales_agent": "Rep",
    "product": "Product",
    "sector": "Sector",
    "all": "Whole pipeline",
}
FORECAST_SEGMENT_TYPES = ("regional_office", "manager", "sales_agent", "product")  # forecast.csv's segments
FILTER_COLUMNS = {
    "regions": "regional_office",
    "managers": "manager",
    "reps": "sales_agent",
    "products": "product",
    "sectors": "sector",
    "tiers": "risk_tier",
}
FORECAST_SEGMENTS = {name: col for name, col in FILTER_COLUMNS.items() if col in FORECAST_SEGMENT_TYPES}
FILTER_LABELS = {name: SEGMENT_LABELS.get(column, "Risk tier") for name, column in FILTER_COLUMNS.items()}
FILTER_QUERY_KEYS = {  # filter name: query-string key of a shared link
    "regions": "region",
    "managers": "manager",
    "reps": "rep",
    "products": "product",
    "sectors": "sector",
    "tiers": "tier",
    "stale": "stale",
    "include_unscored": "unscored",
}
STALE_QUERY_VALUES = {"Exclude stale": "exclude", "Stale only": "only"}
STALE_CATEGORY = "Stale (any tier)"


@dataclass(frozen=True)
class DealFilters:
    """The sidebar's filter choices (empty tuple = no restriction)."""

    regions: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    stale: str = STALE_CHOICES[0]
    include_unscored: bool = False

    def not_applied(self, *names: str) -> list[str]:
        """In words, for a page's caption: the chosen ones among the list filters ``names`` (FILTER_COLUMNS
        keys) and a stale or unscored choice, which the page says it cannot apply."""
        chosen = [FILTER_LABELS[name].lower() for name in names if getattr(self, name)]
        if self.stale != STALE_CHOICES[0]:
            chosen.append("stale deals")
        if self.include_unscored:
            chosen.append("unscored deals")
        return chosen

    @property
    def active(self) -> bool:
        """True when any filter restricts the pipeline (beyond leaving unscored deals out)."""
        return any(getattr(self, name) for name in FILTER_COLUMNS) or self.stale != STALE_CHOICES[0]


def filters_query(filters: DealFilters) -> list[tuple[str, str]]:
    """The filters as query-string pairs (one per chosen value), so a shared link carries them."""
    pairs = [(FILTER_QUERY_KEYS[name], value) for name in FILTER_COLUMNS for value in getattr(filters, name)]
    if filters.stale in STALE_QUERY_VALUES:
        pairs.append((FILTER_QUERY_KEYS["stale"], STALE_QUERY_VALUES[filters.stale]))
    if filters.include_unscored:
        pairs.append((FILTER_QUERY_KEYS["include_unscored"], "1"))
    return pairs


def filters_from_query(params: Mapping[str, list[str]]) -> DealFilters | None:
    """The filters a link's query string carries (``params``: key -> every value), None when it has none.

    Unknown stale values are ignored; values no longer in the run are dropped later by the sidebar.
    """
    if not any(params.get(key) for key in FILTER_QUERY_KEYS.values()):
        return None
    chosen = {
        name: tuple(dict.fromkeys(params.get(FILTER_QUERY_KEYS[name]) or ())) for name in FILTER_COLUMNS
    }
    stale_values = {v: k for k, v in STALE_QUERY_VALUES.items()}
    stale = next((stale_values[v] for v in params.get("stale") or () if v in stale_values), STALE_CHOICES[0])
    unscored = any(v in ("1", "true", "yes") for v in params.get(FILTER_QUERY_KEYS["include_unscored"]) or ())
    return DealFilters(**chosen, stale=stale, include_unscored=unscored)


URL_FILTERS_KEY = "_url_filters"  # the filter set last taken from the URL


def store_key(name: str) -> str:
    """Session-state key that keeps a filter's value across pages."""
    return f"filter_{name}"


def widget_key(name: str) -> str:
    """Session-state key of the widget that edits a filter."""
    return f"_w_filter_{name}"


URL_FILTERS_KEY = "_url_filters"  # the filter set last taken from the URL


def copy_to_store(name: str) -> None:
    """on_change: keep the widget's new value in the persistent key."""
    st.session_state[store_key(name)] = st.session_state[widget_key(name)]
    rewrite_url_filters()


def clear_filters() -> None:
    """on_click: reset every filter."""
    for name in FILTER_COLUMNS:
        st.session_state[store_key(name)] = []
    st.session_state[store_key("stale")] = STALE_CHOICES[0]
    st.session_state[store_key("include_unscored")] = False
    rewrite_url_filters()


def current_filters() -> DealFilters:
    """The filters chosen in the sidebar (persisted in session state)."""
    values = {name: tuple(st.session_state.get(store_key(name), [])) for name in FILTER_COLUMNS}
    stale = st.session_state.get(store_key("stale"), STALE_CHOICES[0])
    return DealFilters(
        **values,
        stale=stale if stale in STALE_CHOICES else STALE_CHOICES[0],
        include_unscored=bool(st.session_state.get(store_key("include_unscored"), False)),
    )


def store_filters(filters: DealFilters) -> None:
    """Make ``filters`` the session's sidebar filters."""
    for name in FILTER_COLUMNS:
        st.session_state[store_key(name)] = list(getattr(filters, name))
    st.session_state[store_key("stale")] = filters.stale
    st.session_state[store_key("include_unscored")] = filters.include_unscored


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
    store_filters(carried)


def rewrite_url_filters() -> None:
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
