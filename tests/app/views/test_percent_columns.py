"""Rates in the Win Rates and Model & Data Health tables read rounded, not cut off: Streamlit's "percent"
format with a ``step`` truncates (a rep who won 30 of 43 deals, 69.8%, read "69%"), so these columns hold the
rate x 100 under a printf format, which rounds. Checked on each column's own config and values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")


def _page(view: str) -> AppTest:
    """The app, switched to ``view``."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page(view).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(frame, column: str) -> list[str]:
    """The text each cell of ``column`` reads in the browser: its printf format applied to its value."""
    config = json.loads(frame.proto.columns)[column]["type_config"]
    assert "step" not in config and config["format"].startswith("%."), config  # a format that rounds
    return [config["format"] % value for value in frame.value[column]]


def test_segment_win_rates_are_rounded_not_cut_off(diagnostics_env: Path) -> None:
    rates = pd.read_csv(diagnostics_env / "win_rates.csv", parse_dates=["period_start"])
    latest = rates[
        rates["segment_type"].eq("sales_agent") & rates["period_start"].eq(rates["period_start"].max())
    ]
    at = _page("views/win_rates.py")
    at.selectbox(key="win_rates_compare_all").select("sales_agent").run()
    table = at.dataframe[0]
    by_rep = latest.set_index("segment")["win_rate"]
    assert _shown(table, "win_rate") == [f"{by_rep[rep] * 100:.0f}%" for rep in table.value["segment"]]


def test_backtest_rates_are_rounded_not_cut_off(app_env: Path) -> None:
    backtest = json.loads((app_env / "predictions_metadata.json").read_text())["model"]["metrics"]["backtest"]
    at = _page("views/model_health.py")
    metrics = next(d for d in at.dataframe if "base_rate" in d.value.columns)
    rates = {d["as_of"]: f"{d['base_rate'] * 100:.1f}%" for d in backtest["per_as_of"]}  # a row per model
    assert _shown(metrics, "base_rate") == [rates[day] for day in metrics.value["as_of"]]
    by_age = next(d for d in at.dataframe if "age_days" in d.value.columns)
    groups = [g for d in backtest["per_as_of"] for g in d["calibration_by_age"]]
    assert _shown(by_age, "observed_rate") == [f"{g['observed_rate'] * 100:.1f}%" for g in groups]
    assert _shown(by_age, "mean_predicted") == [f"{g['mean_predicted'] * 100:.1f}%" for g in groups]
