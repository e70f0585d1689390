"""AppTest of the Risk Dashboard on fixture outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import money

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def _dashboard() -> AppTest:
    """The app, switched to the Risk Dashboard."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    return at.switch_page("views/risk_dashboard.py").run()


def test_table_is_ranked_by_value_at_risk_and_counts_match(app_env: Path) -> None:
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    at = _dashboard()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(predictions)
    # live deals first (stale ones after them), each by value at risk
    expected_top = predictions.sort_values(
        ["stale", "value_at_risk", "opportunity_id"], ascending=[True, False, True]
    )
    assert (predictions["stale"].astype(str) == "True").any()  # the fixture has stale deals to push down
    assert table["opportunity_id"].head(3).tolist() == expected_top["opportunity_id"].head(3).tolist()
    assert table["link"].iloc[0] == f"deal?deal={expected_top['opportunity_id'].iloc[0]}"
    assert _metric(at, "Value at risk in view") == money(predictions["value_at_risk"].sum())


def test_tier_filter_and_search_narrow_the_rows(app_env: Path) -> None:
    predictions = pd.read_csv(app_env / "latest_predictions.csv", keep_default_na=False)
    at = _dashboard()
    at.sidebar.multiselect(key="_w_filter_tiers").select("Critical").run()
    critical = predictions[predictions["risk_tier"] == "Critical"]
    assert len(at.dataframe[0].value) == len(critical)
    assert _metric(at, "Deals in view") == f"{len(critical):,}"
    at.text_input(key="risk_search").input("<script>").run()
    table = at.dataframe[0].value
    assert table["account"].tolist() == ["<script>alert(1)</script>"]  # the raw text, shown as text
    assert all("<script>" not in m.value for m in at.markdown)


def test_stale_only_and_sort_by_win_probability(app_env: Path) -> None:
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    at = _dashboard()
    at.sidebar.radio(key="_w_filter_stale").set_value("Stale only").run()
    stale = predictions[predictions["stale"]]
    assert len(at.dataframe[0].value) == len(stale)
    at.selectbox(key="risk_sort").set_value("Win probability (lowest first)").run()
    table = at.dataframe[0].value
    assert table["win_probability"].is_monotonic_increasing
    assert len(table) == len(stale)


def test_one_deal_shows_one_amount_in_the_table_and_the_metrics(app_env: Path) -> None:
    """The table's dollar format truncates cents, the metrics round: the table gets whole dollars."""
    predictions = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    cents = predictions["value_at_risk"] % 1
    deal = predictions.loc[(cents > 0.5).idxmax()]  # truncating would show a dollar less
    at = _dashboard()
    at.text_input(key="risk_search").input(deal["opportunity_id"]).run()
    row = at.dataframe[0].value.iloc[0]
    assert row["opportunity_id"] == deal["opportunity_id"]
    assert row["value_at_risk"] == round(deal["value_at_risk"])
    assert money(row["value_at_risk"]) == _metric(at, "Value at risk in view")
    assert row["deal_value"] == round(deal["deal_value"])
