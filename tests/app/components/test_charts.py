"""Plotly figures: data text stays text."""

from __future__ import annotations

import pandas as pd

from app.components import charts
from app.components.charts import plain, risk_by_segment_chart


def test_chart_labels_from_data_are_plain_text() -> None:
    assert plain("<b>Bold</b> & co") == "&lt;b&gt;Bold&lt;/b&gt; &amp; co"
    rows = pd.DataFrame(
        {"segment": ["<b>East</b>"], "risk_tier": ["High"], "value_at_risk": [10.0], "deals": [1]}
    )
    figure = risk_by_segment_chart(rows, ["High"], "Region")
    assert list(figure.data[0].y) == ["&lt;b&gt;East&lt;/b&gt;"]


def test_fan_chart_names_each_period_on_a_category_axis() -> None:
    rows = pd.DataFrame(
        {
            "period_type": ["quarter", "quarter"],
            "period_start": pd.to_datetime(["2018-01-01", "2018-04-01"]),
            "expected": [529_611.93, 120_000.0],
            "p10": [400_000.0, 60_000.0],
            "p50": [520_000.0, 110_000.0],
            "p90": [650_000.0, 190_000.0],
            "closed_won": [0.0, 0.0],
        }
    )
    figure = charts.forecast_fan(rows)
    assert figure.layout.xaxis.type == "category"
    assert list(figure.data[0].x) == ["Q1 2018", "Q2 2018"]
    months = rows.assign(period_type="month", period_start=pd.to_datetime(["2018-01-01", "2018-02-01"]))
    assert charts.period_labels(months) == ["Jan 2018", "Feb 2018"]
    weeks = rows.assign(period_type="week", period_start=pd.to_datetime(["2018-01-01", "2018-01-08"]))
    assert charts.period_labels(weeks) == ["Week of 2018-01-01", "Week of 2018-01-08"]
