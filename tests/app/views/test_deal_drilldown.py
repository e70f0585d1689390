"""AppTest of the Deal Drill-down on fixture outputs: links, escaping, waterfall, actions, comparables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money, md, percent

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def _metric(at: AppTest, label: str) -> str:
    """Value of the metric with ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def _predictions(out: Path) -> pd.DataFrame:
    """The fixture predictions as text-preserving frame."""
    return pd.read_csv(out / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False)


def _open_link(deal_id: str) -> AppTest:
    """The app opened from a shared link ``/?deal=<id>``."""
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.query_params["deal"] = deal_id
    return at.run()


def test_deal_link_opens_that_deal_with_its_numbers(app_env: Path) -> None:
    predictions = _predictions(app_env)
    deal = predictions[predictions["account"] == "**bold**"].iloc[0]
    at = _open_link(deal["opportunity_id"])
    assert not at.exception
    assert at.title[0].value == md("**bold**")  # shown literally, not as bold
    assert _metric(at, "Calibrated win probability") == percent(float(deal["win_probability"]))
    assert _metric(at, "Deal value") == money(float(deal["deal_value"]))
    assert at.markdown[0].value.startswith(f"**Rep** {md(deal['sales_agent'])} ")
    assert at.selectbox(key="_w_deal").value == deal["opportunity_id"]
    assert (
        at.query_params["deal"] == [deal["opportunity_id"]]
        or at.query_params["deal"] == deal["opportunity_id"]
    )


def test_waterfall_ends_at_the_win_probability(app_env: Path) -> None:
    predictions = _predictions(app_env)
    deal = predictions.sort_values("opportunity_id").iloc[5]
    at = _open_link(deal["opportunity_id"])
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    trace = figure["data"][0]
    assert trace["type"] == "waterfall"
    assert trace["y"][0] == "Base value (average deal)  (41.0%)"
    assert trace["y"][-1] == f"Win probability  ({float(deal['win_probability']) * 100:.1f}%)"
    assert abs(trace["x"][-1] - float(deal["win_probability"])) < 1e-6
    assert abs(trace["x"][0] + sum(trace["x"][1:-1]) - trace["x"][-1]) < 1e-6
    shap = pd.read_csv(app_env / "shap_values.csv", dtype={"opportunity_id": str})
    assert len(trace["y"]) == len(shap[shap["opportunity_id"] == deal["opportunity_id"]]) + 2


def test_stale_deal_gets_the_stale_action_and_comparables_are_closed(app_env: Path) -> None:
    predictions = _predictions(app_env)
    stale = predictions[predictions["stale"].astype(str) == "True"].iloc[0]
    at = _open_link(stale["opportunity_id"])
    assert any(
        m.value.startswith("- Zombie deal\\: older than any deal that ever closed") for m in at.markdown
    )
    assert not any("A1" in m.value for m in at.markdown)  # rule ids are for the docs, not the page
    won, lost = at.dataframe[-2].value, at.dataframe[-1].value
    assert len(won) == 5 and len(lost) == 5
    assert (won["close_date"] <= pd.Timestamp("2026-08-14")).all()


def test_unknown_deal_link_warns_and_falls_back(app_env: Path) -> None:
    at = _open_link("NOSUCHID")
    assert not at.exception
    assert at.warning[0].value.startswith(f"Deal {md('NOSUCHID')} is not among the open deals")
    predictions = _predictions(app_env)
    live = predictions[
        predictions["risk_tier"].isin(["Critical", "High"]) & (predictions["stale"].astype(str) == "False")
    ]
    live = live.assign(in_play=live["deal_value"] * live["win_probability"] * (1 - live["win_probability"]))
    top = live.sort_values(["in_play", "opportunity_id"], ascending=[False, True]).iloc[0]
    assert at.selectbox(key="_w_deal").value == top["opportunity_id"]


def test_missing_shap_file_is_named_and_the_rest_still_shows(
    fixture_outputs: Path, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    (out / "shap_values.csv").unlink()
    (out / "shap_values.parquet").unlink()
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    deal = _predictions(out).iloc[0]
    at = _open_link(deal["opportunity_id"])
    assert not at.exception
    assert any(i.value.startswith("The SHAP explanation of this deal is not in this run.") for i in at.info)
    assert _metric(at, "Calibrated win probability") == percent(float(deal["win_probability"]))
