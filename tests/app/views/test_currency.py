"""AppTest of the pages on a run whose corporate currency is the euro: every amount names it, none reads $."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
EUR = Money("EUR")


@pytest.fixture
def euro_run(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run with its metadata naming EUR as the corporate currency."""
    out = tmp_path / "euro"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata.update(currency="EUR", run_id="euro-run")
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def _page(path: str) -> AppTest:
    """The app on the page at ``path`` (the Overview is the default page)."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    if path != "views/overview.py":
        at.switch_page(path).run()
    assert not at.exception
    return at


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def _money_formats(at: AppTest) -> set[str]:
    """The formats of the number columns of every table on the page that show money (not %, not days)."""
    configs = [json.loads(d.proto.columns) for d in at.dataframe if d.proto.columns]
    formats = {
        column.get("type_config", {}).get("format")
        for config in configs
        for column in config.values()
        if column.get("type_config", {}).get("type") == "number"
    }
    return {f for f in formats if f and "%," in f}


def _shown_text(at: AppTest) -> str:
    """Every text the page draws (metrics, text, widget labels, table configs, chart specs) in one string."""
    parts = [f"{m.label} {m.value}" for m in at.metric]
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success"):
        parts += [element.value for element in getattr(at, kind)]
    parts += [w.label for w in at.number_input] + [o for s in at.selectbox for o in s.options]
    parts += [json.dumps(json.loads(d.proto.columns), ensure_ascii=False) for d in at.dataframe]
    parts += [json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart")]
    return "\n".join(parts)


def test_overview_shows_euros(euro_run: Path) -> None:
    predictions = pd.read_csv(euro_run / "latest_predictions.csv")
    at = _page("views/overview.py")
    assert _metric(at, "Open pipeline") == EUR(predictions["deal_value"].sum())
    assert _metric(at, "Open pipeline").startswith("€")
    assert _metric(at, "Value at risk") == EUR(predictions["value_at_risk"].sum())
    assert _money_formats(at) == {"€%,.0f"}  # the five deals' table
    fan = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fan["layout"]["yaxis"]["tickprefix"] == "€"
    assert {t["hovertemplate"] for t in fan["data"]} >= {"P50 €%{y:,.0f}", "Expected €%{y:,.0f}"}
    assert "$" not in _shown_text(at)


def test_forecast_shows_euros_down_to_the_target(euro_run: Path) -> None:
    forecast = pd.read_csv(euro_run / "forecast.csv")
    quarter = forecast[(forecast.period_type == "quarter") & (forecast.segment_type == "all")].iloc[0]
    at = _page("views/forecast.py")
    target = at.number_input(key="forecast_target")
    assert target.label == "Quarter target (€, optional)"
    target.set_value(200_000.0).run()
    assert _metric(at, "Won so far") == EUR(quarter["closed_won"]) and _metric(at, "Won so far")[0] == "€"
    assert _metric(at, "Gap to target (expected)") == EUR(200_000 - quarter["total_expected"])
    _, _, low, high = EUR.same_unit(*quarter[["total_expected", "total_p50", "total_p10", "total_p90"]])
    assert _metric(at, "Whole quarter: likely range") == f"{low} - {high}"  # in one unit, with its euros
    assert _money_formats(at) == {"€%,.0f"}  # the forecast table and the segment breakdown
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    cumulative = next(s for s in specs if s["layout"].get("shapes"))
    assert cumulative["layout"]["annotations"][0]["text"] == "Target €200,000"
    assert "$" not in _shown_text(at)


@pytest.mark.parametrize("page", ["views/risk_dashboard.py", "views/deal_drilldown.py"])
def test_deal_pages_show_euros(euro_run: Path, page: str) -> None:
    at = _page(page)
    shown = _shown_text(at)
    assert "€" in shown and "$" not in shown
    assert _money_formats(at) <= {"€%,.0f"}


def test_health_names_the_currency_beside_the_mapping(euro_run: Path) -> None:
    at = _page("views/model_health.py")
    facts = next(d.value for d in at.dataframe if list(d.value.columns) == ["item", "value"])
    items = facts["item"].tolist()
    assert items.index("Currency") == items.index("Mapping file") + 1
    assert facts.set_index("item").loc["Currency", "value"] == "Amounts in EUR (€), the corporate currency"


def test_a_currency_without_a_symbol_reads_as_its_code(euro_run: Path) -> None:
    metadata = json.loads((euro_run / "predictions_metadata.json").read_text())
    metadata.update(currency="CHF", run_id="franc-run")
    (euro_run / "predictions_metadata.json").write_text(json.dumps(metadata))
    predictions = pd.read_csv(euro_run / "latest_predictions.csv")
    at = _page("views/overview.py")
    assert _metric(at, "Open pipeline") == Money("CHF")(predictions["deal_value"].sum())
    assert _metric(at, "Open pipeline").startswith("CHF ")
    assert _money_formats(at) == {"CHF %,.0f"}
