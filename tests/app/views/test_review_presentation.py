"""AppTest of presentation found wrong in a review on real outputs (demo CRM and MavenTech): a drill-down of
an unscored deal, table cells reading "None", an Overview scope counted on other deals than its figures, a
sentence pointing "above" at figures shown below, a chart titled "this quarter" over the next one, and a
deal value that only its tooltip told apart from the list price a driver quotes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import TABLE_PLACEHOLDER, Money
from core.outputs import UNSCORED_BLANK_COLUMNS

money = Money("USD")  # the fixture runs are in USD
MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
CSV_ONLY = shutil.ignore_patterns("*.parquet")
BLANK_WHEN_UNSCORED = (*UNSCORED_BLANK_COLUMNS, "age_days")  # never engaged: no age either


@pytest.fixture
def unscored_run(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run with six live deals turned into never-engaged, unscored Prospecting deals (blank
    probabilities, tier "Unscored", no SHAP rows), as predict.py writes them."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out, ignore=CSV_ONLY)
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    chosen = predictions.index[predictions["stale"].eq("False")][:6]
    predictions["scored"] = "True"
    predictions.loc[chosen, "scored"] = "False"
    predictions.loc[chosen, [c for c in BLANK_WHEN_UNSCORED if c in predictions]] = ""
    predictions.loc[chosen, "risk_tier"] = "Unscored"
    predictions.loc[chosen, "deal_stage"] = "Prospecting"
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    shap = pd.read_csv(out / "shap_values.csv", dtype=str, keep_default_na=False)
    unscored_ids = set(predictions.loc[chosen, "opportunity_id"])
    shap[~shap["opportunity_id"].isin(unscored_ids)].to_csv(out / "shap_values.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "review-unscored"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def _texts(at: AppTest) -> list[str]:
    """Every text the page draws outside tables and charts."""
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.title, *at.subheader]
    return [str(p.value) for p in parts] + [f"{m.label}: {m.value}" for m in at.metric]


def test_an_unscored_deal_reads_as_not_scored(unscored_run: Path) -> None:
    """MavenTech's 00400B1S showed "nan / 100", a SHAP notice asking to re-run predict.py (which cannot
    explain a deal it does not score), an empty drivers heading and an empty close-outlook chart."""
    predictions = pd.read_csv(unscored_run / "latest_predictions.csv", dtype={"opportunity_id": str})
    deal_id = predictions.loc[~predictions["scored"], "opportunity_id"].iloc[0]
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["deal"] = deal_id
    at.query_params["unscored"] = "1"
    at.run()
    assert not at.exception
    texts = _texts(at)
    joined = "\n".join(texts)
    assert "nan" not in joined.lower()
    assert "SHAP" not in joined and "predict.py" not in joined
    assert "Risk score: n/a" in texts
    assert "Age: Not engaged" in texts
    assert any(t.startswith("Not scored:") for t in texts)
    assert len(at.get("plotly_chart")) == 0  # neither a waterfall nor an empty close outlook


def test_tables_show_a_dash_for_missing_values(unscored_run: Path) -> None:
    """Streamlit draws a missing cell as "None": a raw code on a leader page (an unscored deal's value at
    risk, a stale deal's expected close)."""
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["unscored"] = "1"
    at.run()
    at.switch_page("views/risk_dashboard.py").run()
    assert not at.exception
    assert at.dataframe[0].value["value_at_risk"].isna().any()
    assert at.dataframe[0].proto.placeholder == TABLE_PLACEHOLDER
    at.switch_page("views/overview.py").run()
    assert at.dataframe[0].proto.placeholder == TABLE_PLACEHOLDER


def test_overview_scope_counts_the_deals_its_figures_count(unscored_run: Path) -> None:
    """With unscored deals left out, the unfiltered Overview said "all 594 open deals" and a filtered one
    "71 of 600 open deals": the 600 counted the six unscored deals no figure includes."""
    predictions = pd.read_csv(unscored_run / "latest_predictions.csv", dtype={"opportunity_id": str})
    scored = predictions[predictions["scored"]]
    region = scored["regional_office"].iloc[0]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    unscored = len(predictions) - len(scored)
    assert any(  # beside Data quality's "of all 600 open deals, unscored included": never "all 594"
        f"As of 2026-08-14, {len(scored):,} scored open deals (of all {len(predictions):,}; {unscored} not "
        "yet engaged are not scored)." == c.value.replace("\\", "")
        for c in at.caption
    )
    at.sidebar.multiselect(key="_w_filter_regions").select(region).run()
    shown = int((scored["regional_office"] == region).sum())
    assert any(f"{shown:,} of {len(scored):,} scored open deals (filtered)" in c.value for c in at.caption)
    at.sidebar.toggle(key="_w_filter_include_unscored").set_value(True).run()
    shown = int((predictions["regional_office"] == region).sum())
    assert any(f"{shown:,} of {len(predictions):,} open deals (filtered)" in c.value for c in at.caption)


def test_overview_says_which_measure_each_stale_dollar_figure_is(app_env: Path) -> None:
    """The caption's $614,358 (value at risk) and the warning's $621,730 (deal value) read as two totals
    of the same stale deals."""
    predictions = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    stale = predictions[predictions["stale"]]
    assert len(stale)
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at_risk, value = money(stale["value_at_risk"].sum()), money(stale["deal_value"].sum())
    texts = [t.value.replace("\\", "") for t in (*at.caption, *at.warning)]
    assert any(
        t.startswith(
            f"Of the value at risk (deal value x chance of loss), {at_risk} sits in {len(stale)} stale"
        )
        for t in texts
    )
    assert any(
        t.startswith(f"{len(stale)} stale deals, {value} in deal value ({at_risk} of it at risk), are older")
        for t in texts
    )


def test_forecast_page_points_down_to_the_quarter_view(app_env: Path) -> None:
    """On the Forecast page a selection's quarter figures are in the quarter view below the notice, which
    said they were "shown above"."""
    predictions = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    sector = predictions["sector"].value_counts().index[0]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_sectors").select(sector).run()
    assert any("shown, above" in c.value for c in at.caption)  # the Overview: figures above the notice
    at.switch_page("views/forecast.py").run()
    assert not at.exception
    notice = next(i.value for i in at.info if "Weekly and monthly figures" in i.value)
    assert "in the quarter view below" in notice and "above" not in notice


def test_cumulative_chart_names_the_headline_quarter(app_env: Path) -> None:
    """MavenTech leads with Q1 2018 (next quarter); the build-up chart was titled "this quarter"."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/forecast.py").run()
    heading = next(s.value for s in at.subheader if s.value.startswith("Quarter view: "))
    label = heading.removeprefix("Quarter view: ")
    titles = [
        (json.loads(c.proto.spec).get("layout", {}).get("title") or {}).get("text")
        for c in at.get("plotly_chart")
    ]
    assert f"Cumulative revenue, {label}" in titles


def test_a_list_price_deal_says_its_value_is_not_the_list_price(app_env: Path) -> None:
    """A driver quotes "List price is $5,482" beside a deal value of $5,345 (list price less the usual
    discount); only the metric's tooltip said so."""
    predictions = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str})
    deal_id = predictions.loc[predictions["value_source"] == "list_price", "opportunity_id"].iloc[0]
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["deal"] = deal_id
    at.run()
    assert not at.exception
    assert any(
        c.value.startswith("Deal value: the product") and "list price less the usual discount" in c.value
        for c in at.caption
    )
