"""AppTest of the whole quarter (won so far + open deals + deals not yet created) on the Overview and the
Forecast page: every figure is computed here from the fixture's forecast.csv, quarter_actuals.csv and
metadata, for the whole pipeline, one manager, and a selection that is no stored segment."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money, percent

money = Money("USD")  # the fixture runs are in USD

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
AS_OF_QUARTER = "2026-07-01"  # the fixture's as-of date 2026-08-14 leads with this quarter
RANGE_TRACE = "Middle estimate and likely range (80% of outcomes)"


def _texts(at: AppTest) -> list[str]:
    """Every markdown and caption text, Markdown escapes removed."""
    return [t.value.replace("\\", "") for t in (*at.markdown, *at.caption)]


def _quarters(out: Path, segment_type: str, segment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """forecast.csv's quarter rows and quarter_actuals.csv's rows of one segment, in time order."""
    forecast = pd.read_csv(out / "forecast.csv")
    rows = forecast[
        (forecast.period_type == "quarter")
        & (forecast.segment_type == segment_type)
        & (forecast.segment == segment)
    ].sort_values("period_start")
    actuals = pd.read_csv(out / "quarter_actuals.csv")
    past = actuals[(actuals.segment_type == segment_type) & (actuals.segment == segment)]
    return rows.reset_index(drop=True), past.sort_values("period_start").reset_index(drop=True)


def _whole_quarter_chart(at: AppTest) -> dict[str, dict]:
    """The whole-quarter figure's traces by name."""
    spec = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if any(
            t.get("name") == "Expected from deals not yet created" for t in json.loads(c.proto.spec)["data"]
        )
    )
    return {t.get("name"): t for t in spec["data"] if t.get("name")}


def _check_page(at: AppTest, rows: pd.DataFrame, past: pd.DataFrame) -> None:
    """The chart's stacks, range and past bars, and the metrics, are the files' figures for the segment."""
    traces = _whole_quarter_chart(at)
    labels = [f"Q{pd.Timestamp(d).quarter} {pd.Timestamp(d).year}" for d in rows["period_start"]]
    assert traces["Won so far"]["x"] == labels
    assert traces["Won so far"]["y"] == rows["closed_won"].tolist()
    assert traces["Expected from open deals"]["y"] == rows["expected"].tolist()
    assert traces["Expected from deals not yet created"]["y"] == rows["new_expected"].tolist()
    band = traces[RANGE_TRACE]
    assert band["y"] == rows["total_p50"].tolist()
    assert [round(p + up, 2) for p, up in zip(band["y"], band["error_y"]["array"], strict=True)] == rows[
        "total_p90"
    ].tolist()
    assert [
        round(p - down, 2) for p, down in zip(band["y"], band["error_y"]["arrayminus"], strict=True)
    ] == rows["total_p10"].tolist()
    assert traces["Won (complete quarters)"]["y"] == past["won"].tolist()  # the last four quarters
    assert len(past) == 4
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Expected from deals not yet created"] == money(rows.iloc[0]["new_expected"])
    _check_whole_quarter(metrics, rows.iloc[0])


def _check_whole_quarter(metrics: dict[str, str], row: pd.Series) -> None:
    """The whole quarter's expected, middle estimate and likely range are forecast.csv's, in one unit."""
    figures = row[["total_expected", "total_p50", "total_p10", "total_p90"]]
    expected, middle, low, high = money.same_unit(*figures)
    assert metrics["Whole quarter (expected)"] == expected
    assert metrics["Whole quarter: middle estimate"] == middle
    assert metrics["Whole quarter: likely range"] == f"{low} - {high}"


def test_the_whole_quarter_beside_the_last_four_for_the_pipeline_and_one_manager(app_env: Path) -> None:
    metadata = json.loads((app_env / "predictions_metadata.json").read_text())
    created = metadata["simulation"]["new_deals"]
    rows, past = _quarters(app_env, "all", "All")
    assert rows.iloc[0]["period_start"] == AS_OF_QUARTER and rows["new_expected"].gt(0).all()
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    _check_whole_quarter({m.label: m.value for m in at.metric}, rows.iloc[0])  # the Overview's headline
    at.switch_page("views/forecast.py").run()
    assert not at.exception
    _check_page(at, rows, past)
    recent, previous = created["recent_created"], created["previous_created"]
    assert recent != previous
    sentence = next(t for t in _texts(at) if t.startswith("Deals not yet created add"))
    assert sentence == (
        f"Deals not yet created add {money(rows.iloc[0]['new_expected'])} to Q3 2026 (this quarter): the "
        "forecast expects the coming weeks to create deals at the pace of the last 13 weeks. "
        f"{recent:,} deals were created in the last 13 weeks, against {previous:,} in the 13 weeks before "
        f"({percent(abs(recent / previous - 1))} {'fewer' if recent < previous else 'more'})."
    )

    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    manager = sorted(predictions["manager"].unique())[0]
    rows, past = _quarters(app_env, "manager", manager)
    at.sidebar.multiselect(key="_w_filter_managers").select(manager).run()
    assert not at.exception
    _check_page(at, rows, past)  # the manager's own rows, never the team's
    sentence = next(t for t in _texts(at) if t.startswith("Deals not yet created add"))
    assert sentence.startswith(
        f"Deals not yet created add {money(rows.iloc[0]['new_expected'])} to Q3 2026 (this quarter) for "
        f"manager {manager}: "
    )
    assert (
        f"Across the whole pipeline, {recent:,} deals were created" in sentence
    )  # the counts are everyone's

    at.sidebar.multiselect(key="_w_filter_tiers").select("Critical").run()  # no stored segment
    assert not at.exception
    assert not [c for c in at.get("plotly_chart") if "not yet created" in c.proto.spec]
    assert any(i.value.startswith("The whole-quarter view (deals not yet created") for i in at.info)
    labels = {m.label for m in at.metric}
    assert not labels & {"Expected from deals not yet created", "Whole quarter: likely range"}
    assert not [t for t in _texts(at) if t.startswith("Deals not yet created add")]
