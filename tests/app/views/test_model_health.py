"""AppTest of the Model & Data Health page on fixture outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def test_health_shows_backtest_importance_and_quality(app_env: Path) -> None:
    metadata = json.loads((app_env / "predictions_metadata.json").read_text())
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    assert not at.exception
    summary = metadata["model"]["metrics"]["backtest"]["summary"]
    assert next(m.value for m in at.metric if m.label == "AUC (mean)") == f"{summary['auc']:.3f}"
    assert next(m.value for m in at.metric if m.label == "Stale") == f"{metadata['counts']['stale']:,}"
    shap = pd.read_csv(app_env / "shap_values.csv")
    top_feature = shap["shap_value"].abs().groupby(shap["feature"]).mean().idxmax()
    charts = [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]
    importance = next(d for d in charts if d[0].get("orientation") == "h" and d[0]["type"] == "bar")
    assert importance[0]["y"][0] == top_feature
    quality = next(d.value for d in at.dataframe if "description" in d.value.columns)
    assert len(quality) == len(metadata["data_quality"]["items"])
