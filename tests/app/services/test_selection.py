"""The range the app computes for a selection of deals, checked against the batch step's own ranges."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app.services import pipeline, selection
from app.services.store import load_run

TOLERANCE = 0.03  # of the segment's expected revenue


@pytest.mark.slow
def test_computed_range_of_a_stored_segment_matches_the_batch_forecast(demo_outputs: Path) -> None:
    """For the whole pipeline and every region and manager with 100+ open deals of the demo run, the range
    simulated on the page (two quarter slices, fixed values, the fitted dependence scaled to a quarter, 2,000
    runs) puts P10 and P90 within 3% of the segment's expected revenue of forecast.csv's (10,000 runs,
    monthly shocks, drawn values)."""
    run = load_run(demo_outputs)
    assert run is not None and run.forecast is not None
    predictions = run.predictions
    quarters = sorted(run.forecast.loc[run.forecast["period_type"] == "quarter", "period_start"].unique())[:2]
    checked = 0
    segments = [("all", None)] + [
        (kind, name)
        for kind in ("regional_office", "manager")
        for name, size in predictions[kind].value_counts().items()
        if size >= 100
    ]
    for kind, name in segments:
        deals = predictions if name is None else predictions[predictions[kind] == name]
        band = selection.computed_band(run, deals)
        for k, start in enumerate(quarters):
            rows = pipeline.forecast_rows(run.forecast, "quarter", kind, name)
            row = rows[rows["period_start"] == pd.Timestamp(start)].iloc[0]
            assert band["expected"].iloc[k] == pytest.approx(row["expected"], abs=2.0), (kind, name, k)
            if row["expected"] <= 0:
                continue
            for q in ("p10", "p90"):
                gap = abs(band[q].iloc[k] - row[q]) / row["expected"]
                assert gap <= TOLERANCE, (kind, name, k, q, band[q].iloc[k], row[q])
            checked += 1
    assert checked >= 10


def test_selection_key_is_order_free_and_the_note_names_the_dependence() -> None:
    from app.services.store import PredictionRun
    from core.outputs import RunMetadata

    deals = pd.DataFrame({"opportunity_id": ["B2", "A1", "C3"]})
    assert selection.selection_key(deals) == selection.selection_key(deals.iloc[::-1])
    assert selection.selection_key(deals) != selection.selection_key(deals.iloc[:2])

    def run(simulation: dict) -> PredictionRun:
        return PredictionRun("", "r", RunMetadata("r", "2026-01-01", simulation=simulation), "", deals, None)

    fitted = {"seed": 42, "dependence": {"segment_variance": 0.0018, "persistent_variance": 0.0029}}
    assert (
        selection.simulation_note(run(fitted)) == "the run's fitted dependence (2,000 simulations, seed 42)"
    )
    assert selection.simulation_note(run(fitted), with_settings=False) == "the run's fitted dependence"
    old = run({"seed": 7, "dependence": {"note": "old run"}})
    assert selection.simulation_note(old, with_settings=False) == "deals treated as independent"
    assert selection.simulation_note(run({"seed": 7, "dependence": {"note": "old run"}})) == (
        "deals treated as independent, since the run records no fitted dependence (2,000 simulations, seed 7)"
    )
