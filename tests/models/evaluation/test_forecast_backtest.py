"""Forecast backtest: pinball and coverage by hand, windows and actuals on a small synthetic export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import read_crm
from core.data.synthetic import generate_crm
from models.evaluation.forecast_backtest import (
    forecast_backtest_markdown,
    pinball,
    recent_as_of_dates,
    run_forecast_backtest,
    summarise,
)
from models.generate import write_crm


def test_pinball_by_hand() -> None:
    np.testing.assert_allclose(pinball(np.array([10.0, 10.0]), np.array([8.0, 14.0]), 0.9), [1.8, 0.4])


def test_summary_by_hand() -> None:
    windows = pd.DataFrame(
        {
            "as_of": ["2024-01-31"] * 2,
            "actual": [100.0, 50.0],
            "p10": [80.0, 60.0],
            "p50": [100.0, 80.0],
            "p90": [120.0, 90.0],
            "naive_p10": [90.0, 70.0],
            "naive_p50": [95.0, 75.0],
            "naive_p90": [99.0, 80.0],
            "total_actual": [300.0, 150.0],  # the whole period: won before as-of + open + not yet created
            "total_p10": [250.0, 160.0],
            "total_p50": [290.0, 170.0],
            "total_p90": [310.0, 180.0],
        }
    )
    summary = summarise(windows)
    assert summary["coverage_p10_p90"] == 0.5 and summary["naive_coverage_p10_p90"] == 0.0
    assert summary["total_coverage_p10_p90"] == 0.5 and summary["total_below_p10"] == 0.5
    # window 1 (actual 100): losses 0.1*20, 0, 0.1*20 -> 4/3
    # window 2 (actual 50): 0.9*10, 0.5*30, 0.1*40 -> 28/3
    assert summary["pinball"] == pytest.approx(round((4 / 3 + 28 / 3) / 2, 2))
    assert summary["windows"] == 2 and summary["below_p10"] == 0.5


def test_backtest_windows_on_synthetic_export(tmp_path) -> None:
    write_crm(generate_crm(n_deals=2500, seed=5), tmp_path)
    full = read_crm(tmp_path)
    result = run_forecast_backtest(full, ["2025-12-31", "2026-02-28"], "curves", simulations=300, seed=1)
    summary, windows = result["summary"], pd.DataFrame(result["windows"])
    assert summary["windows"] == len(windows) >= 20
    assert set(windows["segment_type"]) == {"all", "regional_office"}
    assert {
        "as_of",
        "period_type",
        "period_start",
        "segment_type",
        "segment",
        "actual",
        "p10",
        "p50",
        "p90",
    } <= set(windows.columns)
    assert 0.0 <= summary["coverage_p10_p90"] <= 1.0 and summary["probability_source"] == "curves"
    # the actual of one window, recomputed from the export: deals open at 2025-12-31 won in January 2026
    deals = full.deals
    open_then = (deals["engage_date"] <= "2025-12-31") & ~(deals["close_date"] <= "2025-12-31")
    won_january = open_then & deals["is_won"] & deals["close_date"].between("2026-01-01", "2026-01-31")
    row = windows[
        (windows["as_of"] == "2025-12-31")
        & (windows["period_type"] == "month")
        & (windows["period_start"] == "2026-01-01")
        & (windows["segment_type"] == "all")
    ]
    assert row["actual"].iloc[0] == pytest.approx(deals.loc[won_january, "close_value"].sum())
    assert (windows["p10"] <= windows["p90"]).all()


def test_unknown_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="probability_source must be 'model' or 'curves'"):
        run_forecast_backtest(None, [], "oracle")  # type: ignore[arg-type]


def test_recent_as_of_dates_leave_a_whole_month_to_judge() -> None:
    dates = recent_as_of_dates(pd.Timestamp("2017-12-31"))
    assert [f"{d:%Y-%m-%d}" for d in dates] == ["2017-07-31", "2017-08-31", "2017-09-30", "2017-10-31"]
    assert recent_as_of_dates(pd.Timestamp("2026-08-14"), count=1) == [pd.Timestamp("2026-06-30")]


def test_markdown_section_reports_both_forecasts() -> None:
    windows = pd.DataFrame(
        {
            "as_of": ["2024-01-31"] * 2,
            "actual": [100.0, 50.0],
            "p10": [80.0, 60.0],
            "p50": [100.0, 80.0],
            "p90": [120.0, 90.0],
            "naive_p10": [90.0, 70.0],
            "naive_p50": [95.0, 75.0],
            "naive_p90": [99.0, 80.0],
            "total_actual": [300.0, 150.0],
            "total_p10": [250.0, 100.0],
            "total_p50": [290.0, 140.0],
            "total_p90": [310.0, 180.0],
        }
    )
    summary = summarise(windows)
    summary.update({"probability_source": "model", "simulations": 10_000})
    text = forecast_backtest_markdown({"summary": summary, "windows": []})
    assert "| shipped (dependent deals) | 50% | 50% | 0% | 5 |" in text
    assert "| naive (independent deals) | 0% | 50% | 50% |" in text
    assert "| whole period (won already + open + not yet created) | 100% | 0% | 0% | n/a |" in text
