"""AppTest of the Health page's SHAP dependence plots: one per top feature (by mean |SHAP|), each deal's
feature value against its impact in points, coloured by its risk tier, computed here from the fixture's
shap_values.csv and latest_predictions.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.services.health import DEPENDENCE_FEATURES

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def test_dependence_plots_show_each_deals_value_and_impact_by_tier(app_env: Path) -> None:
    shap = pd.read_csv(app_env / "shap_values.csv", dtype={"opportunity_id": str, "feature_value": str})
    tiers = pd.read_csv(app_env / "latest_predictions.csv", dtype={"opportunity_id": str}).set_index(
        "opportunity_id"
    )["risk_tier"]
    importance = shap["shap_value"].abs().groupby(shap["feature"]).mean()
    top = importance.sort_values(ascending=False, kind="stable").index[:DEPENDENCE_FEATURES]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    assert not at.exception
    assert any(h.value == "How the top features move the chance" for h in at.subheader)
    charts = {c.proto.id: json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")}
    for feature in top:
        traces = next(data for key, data in charts.items() if key.endswith(f"dependence_{feature}"))
        rows = shap[shap["feature"].eq(feature)]
        numeric = pd.to_numeric(rows["feature_value"], errors="coerce")
        known = rows["feature_value"].notna()  # a blank value reads NaN here
        if numeric[known].notna().mean() >= 0.9:  # a number axis: the deals with a value
            rows = rows[numeric.notna()]
        for trace in traces:
            if trace.get("name") is None:
                continue
            mine = rows[rows["opportunity_id"].map(tiers).eq(trace["name"])]
            assert sorted(trace["y"]) == pytest.approx(sorted(mine["shap_value"] * 100), abs=1e-6)
        plotted = sum(len(t["y"]) for t in traces if t.get("name"))
        assert plotted == len(rows)
    caption = next(c.value for c in at.caption if c.value.startswith("SHAP dependence"))
    assert f"All {shap['opportunity_id'].nunique():,} explained deals" in caption
