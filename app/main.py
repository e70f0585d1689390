"""Router: page config, the shared sidebar, and st.navigation over the pages in app/views/.

A shared link ``/?deal=<opportunity_id>`` (or ``/deal?deal=...``) opens the Deal Drill-down directly.
"""

from __future__ import annotations

import streamlit as st

from app.components.sidebar import render_sidebar
from app.filters import current_filters, restore_filters_from_url
from app.services.pipeline import sidebar_choices
from app.services.store import prefetch_closed_deals, run_state

st.set_page_config(page_title="Revenue intelligence", page_icon="📈", layout="wide")

overview = st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True)
drilldown = st.Page(
    "views/deal_drilldown.py", title="Deal Drill-down", icon=":material/search:", url_path="deal"
)
pages = [
    overview,
    st.Page("views/risk_dashboard.py", title="Risk Dashboard", icon=":material/warning:", url_path="risk"),
    drilldown,
    st.Page("views/forecast.py", title="Forecast", icon=":material/trending_up:", url_path="forecast"),
    st.Page(
        "views/what_changed.py", title="What Changed", icon=":material/compare_arrows:", url_path="changes"
    ),
    st.Page("views/win_rates.py", title="Win Rates", icon=":material/percent:", url_path="win-rates"),
    st.Page(
        "views/attention_plan.py", title="Attention Plan", icon=":material/schedule:", url_path="attention"
    ),
    st.Page(
        "views/model_health.py",
        title="Model & Data Health",
        icon=":material/monitor_heart:",
        url_path="health",
    ),
]
page = st.navigation(pages)
if page is overview and st.query_params.get("deal"):  # keeps the filters a shared link carries
    st.switch_page(drilldown, query_params={key: st.query_params.get_all(key) for key in st.query_params})
run = run_state().run  # without a readable run the page itself says why
if run is not None:
    restore_filters_from_url()
    render_sidebar(run, *sidebar_choices(run.predictions, run.metadata.risk.tiers, current_filters()))
page.run()
if run is not None:
    prefetch_closed_deals(run)  # comparable deals for the drill-down, read after this page is drawn
