"""The headline quarter for whatever the sidebar selects: a stored forecast segment's figures when the
filtered deals are one, else a range simulated here for exactly those deals (cached per run and selection).

Both the Overview and the Forecast page call :func:`headline_figures`, so they show the same numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from app.filters import DealFilters
from app.services import pipeline
from app.services.store import PredictionRun
from core.forecast.selection import QUARTER_CHANCES, quarter_dependence, selection_quantiles

SIMULATIONS = 2_000
QUICK_DEALS = 20_000  # a range for up to this many deals is simulated without asking (about a second)
SIMULATED_COLUMNS = ("opportunity_id", "deal_value", *QUARTER_CHANCES)


def selection_key(deals: pd.DataFrame) -> str:
    """A digest of the deal ids (order-free): the cache key of a selection within one run."""
    ids = np.sort(deals["opportunity_id"].astype(str).to_numpy())
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def simulation_seed(run: PredictionRun) -> int:
    """The run's own simulation seed (metadata ``simulation.seed``; 0 when it records none)."""
    seed = run.metadata.simulation.get("seed")
    return int(seed) if isinstance(seed, int) else 0


def recorded_dependence(run: PredictionRun) -> dict:
    """The dependence the batch step fitted (metadata ``simulation.dependence``), as stored."""
    return dict(run.metadata.simulation.get("dependence") or {})


def simulation_note(run: PredictionRun, with_settings: bool = True) -> str:
    """How a computed range is simulated, for the page's caption; ``with_settings`` False leaves out the
    number of simulations and the seed, which a leader page does not need (the Health page shows them)."""
    stored = recorded_dependence(run)
    dependence = quarter_dependence(stored)
    settings = f"{SIMULATIONS:,} simulations, seed {simulation_seed(run)}"
    if not with_settings:
        fitted = any(k in stored for k in ("market_variance", "segment_variance", "persistent_variance"))
        return "the run's fitted dependence" if fitted else "deals treated as independent"
    fitted = any(k in stored for k in ("market_variance", "segment_variance", "persistent_variance"))
    if not fitted:
        return f"deals treated as independent, since the run records no fitted dependence ({settings})"
    if not (dependence.market_variance or dependence.segment_variance or dependence.persistent_variance):
        return f"the run's fitted dependence, which is none ({settings})"
    return f"the run's fitted dependence ({settings})"


@st.cache_data(show_spinner="Simulating the range of the filtered deals...", max_entries=64)
def _simulated_band(
    run_id: str, key: str, _deals: pd.DataFrame, _dependence: dict, seed: int, simulations: int
) -> pd.DataFrame:
    """core.forecast.selection on one selection of one run (cached on the run id and the ids' digest)."""
    return selection_quantiles(_deals, quarter_dependence(_dependence), simulations, seed)


def computed_band(run: PredictionRun, deals: pd.DataFrame) -> pd.DataFrame:
    """Expected revenue and P10/P50/P90 of the as-of and the next quarter for ``deals``, simulated from
    their quarter chances with the run's fitted dependence and seed (only contributing deals count)."""
    live = deals.loc[pipeline.contributes(deals).to_numpy()]
    shock_column = quarter_dependence(recorded_dependence(run)).segment_type
    columns = [*SIMULATED_COLUMNS, *([shock_column] if shock_column not in SIMULATED_COLUMNS else [])]
    return _simulated_band(
        run.run_id,
        selection_key(live),
        live[columns],
        recorded_dependence(run),
        simulation_seed(run),
        SIMULATIONS,
    )


def headline_figures(
    run: PredictionRun, deals: pd.DataFrame, filters: DealFilters, quarter: pipeline.HeadlineQuarter
) -> pipeline.QuarterFigures:
    """The headline quarter of the filtered ``deals``: forecast.csv's segment figures when the deals are one
    of its segments (and it has the row), else a range simulated for these deals."""
    segment = pipeline.matching_segment(run.predictions, deals, filters)
    stored = None
    if segment is not None and run.forecast is not None:
        stored = pipeline.quarter_row(run.forecast, quarter, *segment)
    computed = computed_band(run, deals) if stored is None else None
    return pipeline.quarter_figures(deals, quarter, segment if stored is not None else None, stored, computed)


def quarter_range(
    run: PredictionRun, deals: pd.DataFrame, quarter: pipeline.HeadlineQuarter
) -> tuple[float, float]:
    """P10 and P90 of the revenue ``deals`` bring in the headline quarter, simulated as a filter selection's
    range is (cached per run and deal set): the model's range beside a group of deals the reps call."""
    row = computed_band(run, deals).iloc[1 if quarter.is_next else 0]
    return float(row["p10"]), float(row["p90"])


def ranges_by(
    run: PredictionRun, deals: pd.DataFrame, column: str, quarter: pipeline.HeadlineQuarter
) -> dict[str, tuple[float, float]]:
    """:func:`quarter_range` of each group of ``deals`` by ``column`` (the reps' forecast categories)."""
    return {
        str(name): quarter_range(run, group, quarter) for name, group in deals.groupby(column, sort=False)
    }
