"""Plotly figures: data text stays text."""

from __future__ import annotations

import pandas as pd

from app.components import charts
from app.components.charts import plain, risk_by_segment_chart
from app.components.format import Money
from app.filters import STALE_CATEGORY


def test_chart_labels_from_data_are_plain_text() -> None:
    assert plain("<b>Bold</b> & co") == "&lt;b&gt;Bold&lt;/b&gt; &amp; co"
    rows = pd.DataFrame(
        {"segment": ["<b>East</b>"], "category": ["High"], "value_at_risk": [10.0], "deals": [1]}
    )
    figure = risk_by_segment_chart(rows, ["High"], "Region", Money())
    assert list(figure.data[0].y) == ["&lt;b&gt;East&lt;/b&gt;"]


def test_stale_value_at_risk_is_its_own_grey_bar() -> None:
    rows = pd.DataFrame(
        {
            "segment": ["East", "East", "West"],
            "category": ["Critical", STALE_CATEGORY, STALE_CATEGORY],
            "value_at_risk": [2800.0, 900.0, 50.0],
            "deals": [1, 1, 1],
        }
    )
    figure = risk_by_segment_chart(rows, ["Critical", "Low", STALE_CATEGORY], "Region", Money())
    assert [trace.name for trace in figure.data] == ["Critical", STALE_CATEGORY]
    assert list(figure.data[1].x) == [900.0, 50.0]
    assert figure.data[1].marker.color == charts.STALE_COLOUR
    assert figure.data[0].marker.color != charts.STALE_COLOUR


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
    figure = charts.forecast_fan(rows, Money())
    assert figure.layout.xaxis.type == "category"
    assert list(figure.data[0].x) == ["Q1 2018", "Q2 2018"]
    months = rows.assign(period_type="month", period_start=pd.to_datetime(["2018-01-01", "2018-02-01"]))
    assert charts.period_labels(months) == ["Jan 2018", "Feb 2018"]
    weeks = rows.assign(period_type="week", period_start=pd.to_datetime(["2018-01-01", "2018-01-08"]))
    assert charts.period_labels(weeks) == ["Week of 2018-01-01", "Week of 2018-01-08"]


def test_long_driver_labels_wrap_so_the_bars_keep_their_width() -> None:
    """A 68-character feature name on one line took most of a half-width chart and was cut off at the left."""
    long = "win rate from rep, product, account, price and size records together"
    assert (
        charts.wrapped(long, 40) == "win rate from rep, product, account,<br>price and size records together"
    )
    assert charts.wrapped("<b>A</b> & co", 40) == "&lt;b&gt;A&lt;/b&gt; &amp; co"  # still plain text
    assert charts.wrapped("", 40) == ""
    importance = pd.DataFrame({"label": [long, "product"], "mean_abs_shap": [0.058, 0.003]})
    figure = charts.importance_chart(importance)
    assert list(figure.data[0].y) == [charts.wrapped(long, 40), "product"]
    assert figure.layout.height == 260  # two rows stay at the minimum height
    steps = pd.DataFrame(
        {
            "label": ["Base value (average deal)", f"{long} = 0.32", "Win probability"],
            "value": [0.54, -0.13, 0.41],
            "measure": ["absolute", "relative", "total"],
        }
    )
    labels = list(charts.waterfall_chart(steps).data[0].y)
    assert (
        labels[1]
        == "win rate from rep, product,<br>account, price and size records<br>together = 0.32  (-13 pts)"
    )
    assert all(len(line) <= 34 for label in labels for line in label.split("<br>"))


def test_waterfall_rows_leave_room_for_the_longest_label() -> None:
    """A category axis gives every row the same height; sizing the chart on the sum of the labels' lines
    left a three-line label touching the next one (seen on a demo deal with 11 rows)."""
    long = "share of the rep's deals still open 90 days after engagement = 12%"
    steps = pd.DataFrame(
        {
            "label": ["Average deal at this date", *[f"{long} {i}" for i in range(3)], *"abcdef", "Win"],
            "value": [0.5, *[0.01] * 9, 0.59],
            "measure": ["absolute", *["relative"] * 9, "total"],
        }
    )
    figure = charts.waterfall_chart(steps)
    lines = [label.count("<br>") + 1 for label in figure.data[0].y]
    assert max(lines) == 3
    plot_height = figure.layout.height - figure.layout.margin.t - figure.layout.margin.b
    assert plot_height / len(lines) >= 14 * max(lines) + 12  # each row holds three lines and a gap
