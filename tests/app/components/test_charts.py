"""Plotly figures: data text stays text."""

from __future__ import annotations

import pandas as pd

from app.components.charts import plain, risk_by_segment_chart


def test_chart_labels_from_data_are_plain_text() -> None:
    assert plain("<b>Bold</b> & co") == "&lt;b&gt;Bold&lt;/b&gt; &amp; co"
    rows = pd.DataFrame(
        {"segment": ["<b>East</b>"], "risk_tier": ["High"], "value_at_risk": [10.0], "deals": [1]}
    )
    figure = risk_by_segment_chart(rows, ["High"], "Region")
    assert list(figure.data[0].y) == ["&lt;b&gt;East&lt;/b&gt;"]
