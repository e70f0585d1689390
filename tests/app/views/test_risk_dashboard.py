"""AppTest of the Risk Dashboard on fixture outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import NO_ACCOUNT, Money

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

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
    """The table's money format and the metrics must not round one amount two ways: the table gets whole
    amounts (Streamlit's dollar format truncated cents; its printf rounds halves up, the metrics to even)."""
    predictions = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    cents = predictions["value_at_risk"] % 1
    deal = predictions.loc[(cents > 0.5).idxmax()]  # truncating would show one unit less
    at = _dashboard()
    at.text_input(key="risk_search").input(deal["opportunity_id"]).run()
    row = at.dataframe[0].value.iloc[0]
    assert row["opportunity_id"] == deal["opportunity_id"]
    assert row["value_at_risk"] == round(deal["value_at_risk"])
    assert money(row["value_at_risk"]) == _metric(at, "Value at risk in view")
    assert row["deal_value"] == round(deal["deal_value"])


def _export_csv(monkeypatch, at: AppTest, run: bool = True) -> pd.DataFrame:
    """The rows the page's "Download this view as CSV" button would send (its deferred callable, called)."""
    import io

    from streamlit.runtime.media_file_manager import MediaFileManager

    registered = []
    original = MediaFileManager.add_deferred

    def recording(self, data_callable, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        registered.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    at.run()
    assert registered, "the page registered no deferred download"
    return pd.read_csv(io.StringIO(registered[-1]()), dtype={"opportunity_id": str}, keep_default_na=False)


def test_csv_export_holds_every_deal_of_the_view_in_its_order(app_env: Path, monkeypatch) -> None:
    """The export once passed its live-first flag as ``n``: 1 row by default, 0 with any other sort."""
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    at = _dashboard()
    for sort in ("Value at risk (live deals first)", "Deal value", "Win probability (lowest first)"):
        at.selectbox(key="risk_sort").set_value(sort)
        exported = _export_csv(monkeypatch, at)
        table = at.dataframe[0].value
        assert len(exported) == len(predictions) == len(table), sort
        assert exported["opportunity_id"].tolist() == table["opportunity_id"].tolist(), sort
    at.sidebar.multiselect(key="_w_filter_regions").select("East")
    at.text_input(key="risk_search").input("a")
    exported = _export_csv(monkeypatch, at)
    east = predictions[predictions["regional_office"] == "East"]
    matching = east[
        east[["opportunity_id", "account", "sales_agent", "manager", "product"]]
        .apply(lambda c: c.str.lower().str.contains("a", regex=False))
        .any(axis=1)
    ]
    assert len(exported) == len(matching) == len(at.dataframe[0].value)
    assert _metric(at, "Deals in view") == f"{len(matching):,}"


def test_where_the_risk_sits_keeps_stale_value_apart_from_the_tiers(app_env: Path) -> None:
    import base64
    import json

    import numpy as np

    from app.filters import STALE_CATEGORY

    def numbers(values: list | dict) -> np.ndarray:
        """A trace's array as Plotly's JSON holds it: a list, or typed base64 bytes."""
        if isinstance(values, dict):
            return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        return np.asarray(values, dtype=float)

    predictions = pd.read_csv(app_env / "latest_predictions.csv", keep_default_na=False)
    at = _dashboard()
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    by_name = {t["name"]: float(numbers(t["x"]).sum()) for t in traces}
    stale = predictions[predictions["stale"]]
    live = predictions[~predictions["stale"]]
    assert round(by_name[STALE_CATEGORY], 2) == round(stale["value_at_risk"].sum(), 2)
    for tier, value in live.groupby("risk_tier")["value_at_risk"].sum().items():
        assert round(by_name[tier], 2) == round(value, 2)


def test_push_count_and_slipped_only_with_a_field_history(history_env: Path) -> None:
    predictions = pd.read_csv(history_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    pushes = predictions.set_index("opportunity_id")["close_date_pushes"]
    at = _dashboard()
    table = at.dataframe[0].value
    assert table["close_date_pushes"].tolist() == pushes.loc[table["opportunity_id"]].tolist()
    at.toggle(key="risk_slipped").set_value(True).run()
    slipped = predictions[predictions["close_date_pushes"] >= 1]
    table = at.dataframe[0].value
    assert sorted(table["opportunity_id"]) == sorted(slipped["opportunity_id"])
    assert _metric(at, "Deals in view") == f"{len(slipped):,}"
    assert _metric(at, "Value at risk in view") == money(slipped["value_at_risk"].sum())


def test_no_push_column_or_slipped_filter_without_a_history(app_env: Path) -> None:
    at = _dashboard()
    assert "close_date_pushes" not in at.dataframe[0].value.columns
    assert not [t for t in at.toggle if t.label == "Slipped only"]


def test_a_blank_account_reads_as_such_not_as_an_empty_cell(app_env: Path) -> None:
    """The review found empty Account cells for deals with no account in the CRM (the drill-down heading
    already said so); the table now says it, and the CSV export keeps the blank as exported."""
    predictions = pd.read_csv(
        app_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    blank = set(predictions.loc[predictions["account"].eq(""), "opportunity_id"])
    assert blank  # the fixture has deals without an account
    table = _dashboard().dataframe[0].value
    shown = table.set_index("opportunity_id")["account"]
    assert (shown.loc[sorted(blank)] == NO_ACCOUNT).all()
    assert not shown.drop(index=sorted(blank)).eq(NO_ACCOUNT).any()
