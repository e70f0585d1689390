"""The batch step behind predict.py: model, scores, drivers, timing, risk, forecast and metadata, in memory.

Everything is returned as bytes per output file so that nothing touches --out-dir until all of it exists.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, replace
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from core.data import CRMData
from core.data.history import status_at, timeline
from core.diagnostics.attention import attention_plan
from core.diagnostics.win_rates import rep_consistency, stage_conversion, win_rate_change, win_rates
from core.errors import UsageError
from core.explain.drivers import shap_long, top_drivers
from core.export import csv_bytes, parquet_bytes
from core.forecast.changes import pipeline_changes
from core.forecast.deals import deal_predictions
from core.forecast.dependence import fit_market
from core.forecast.forecast import SEGMENT_TYPES, forecast_revenue
from core.forecast.new_deals import PAST_QUARTERS, creation_summary, quarter_actuals
from core.forecast.periods import QUARTERS_AHEAD, headline_chance, headline_quarter
from core.forecast.quotas import COLUMNS as TARGET_COLUMNS
from core.forecast.quotas import quarter_targets, unmatched_owners
from core.forecast.seasonality import QuarterSeasonality
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel
from core.model.explanation import GROUP_LABELS
from core.outputs import (
    ACCURACY,
    ACCURACY_FILE,
    CHANGES,
    CHANGES_FILE,
    CONSISTENCY,
    CONSISTENCY_FILE,
    CONVERSION,
    CONVERSION_FILE,
    FORECAST,
    FORECAST_FILE,
    METADATA_FILE,
    PLAN,
    PLAN_FILE,
    PREDICTIONS,
    PREDICTIONS_FILE,
    QUANTILES,
    QUANTILES_FILE,
    QUARTER_ACTUALS,
    QUARTERS_FILE,
    REJECTED_FILE,
    SHAP,
    SHAP_FILE,
    TARGETS,
    TARGETS_FILE,
    TIMELINE,
    TIMELINE_FILE,
    WIN_RATE_CHANGE,
    WIN_RATE_CHANGE_FILE,
    WIN_RATES,
    WIN_RATES_FILE,
    Counts,
    ModelInfo,
    RiskInfo,
    RunMetadata,
    decimals,
    fast_file,
)
from core.risk import TIER_MEANINGS, risk_formula
from models.evaluation.forecast_backtest import (
    Replayed,
    model_free_forecast,
    recent_forecast_backtest,
    track_record,
)
from models.inference.model_store import model_for_run
from models.storage import write_atomically

BACKTEST_CACHE = "forecast_backtest"
BACKTEST_CACHE_VERSION = 4  # raised when the cached backtest or track record changes meaning or columns

STALE_TREATMENT = (
    "Stale deals (open and older than every deal closed by the as-of date) keep the model's win probability "
    "in latest_predictions.csv but contribute nothing to forecast.csv: no deal that old has ever closed, so "
    "there is no evidence of when (or whether) they will; p_close_in_quarter and p_close_next_quarter are 0 "
    "and expected_close_date is blank. Their count and pipeline value are reported under counts."
)
PROSPECTING_TREATMENT = (
    "Deals never engaged (Prospecting without an engage date) are not scored: every training snapshot is of "
    "an engaged deal, so no history resembles them. They keep their row in latest_predictions.csv with "
    "scored = False, tier Unscored and blank probability, expected revenue, value at risk and close chances, "
    "and contribute nothing to forecast.csv; their count and value are under counts (unscored)."
)
TIMING_METHOD = (
    "Aalen-Johansen cumulative incidence of a win (lost as competing event) at day resolution, by product, "
    "each day's hazards shrunk to the pooled hazards with 20 pseudo-deals; fitted on deals closed by as-of "
    "with open deals censored at their age. P(won in period) = win_probability x share of the deal's "
    "remaining win-time distribution (given open at its age) inside the period; "
    "expected_close_date = its median."
)


def _software() -> dict[str, str]:
    """Versions of Python and the libraries that shape the numbers."""
    versions = {"python": platform.python_version()}
    for name in ("lightgbm", "pandas", "numpy", "scikit-learn", "scipy", "shap"):
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_id(data_hash: str, as_of: pd.Timestamp, model_version: str, seed: int, simulations: int) -> str:
    """Identifier of a run derived from its inputs (never the clock)."""
    key = json.dumps([data_hash, f"{as_of:%Y-%m-%d}", model_version, seed, simulations])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _json_bytes(data: Any) -> bytes:
    """Stable, readable JSON."""
    return (json.dumps(data, indent=2, sort_keys=False, default=_plain) + "\n").encode("utf-8")


def _plain(value: Any) -> Any:
    """JSON fallback for numpy/pandas scalars and dates."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def build_outputs(
    crm: CRMData,
    model_dir: Path,
    retrain: bool,
    simulations: int,
    seed: int,
    progress: Any,
    mlflow: bool = True,
    compare_to: pd.Timestamp | None = None,
    attention_hours: dict[str, float] | None = None,
) -> dict[str, bytes]:
    """All output files as bytes, in memory: model -> scores and drivers -> forecast -> changes since
    ``compare_to`` (default a week before the as-of date) -> metadata."""
    with progress.step("train", "finding a compatible model (training one if needed)"):
        chosen = model_for_run(Path(model_dir), crm, retrain, seed, mlflow)
    memo: dict = {}  # fit_market's past monthly forecasts, the same for What Changed's replays (exact)
    with progress.step("market", "time to close, quarter seasonality and shocks"):
        timing = fit_timing(crm.deals, crm.as_of)
        seasonality, dependence = fit_market(crm.deals, crm.as_of, timing, memo=memo)
    scored = _score_and_forecast(
        crm, chosen.model, timing, seasonality, dependence, simulations, seed, progress
    )
    with progress.step(
        "forecast_backtest", "forecast backtest at recent month ends (cached per data and as-of)"
    ):
        cache = forecast_backtest_cache(crm, Path(model_dir), seed)
        backtest = read_forecast_backtest(cache)
        if backtest is None:
            backtest = recent_forecast_backtest(crm, seed)
            if backtest["summary"] is not None:
                write_atomically(cache.parent, {cache.name: _json_bytes(backtest)})
    with progress.step("track_record", "track record: each week of the last two quarters replayed (cached)"):
        accuracy = _track_record(crm, Path(model_dir), seed)
    with progress.step("changes", "what changed in the open pipeline since the compare date"):
        changes, summary = _changes(crm, compare_to, seed, memo)
    quarters = quarter_actuals(crm.deals, crm.as_of, SEGMENT_TYPES)
    targets, target_summary = _targets(crm)
    with progress.step("diagnostics", "win rates, their change, rep consistency and the attention plan"):
        plan = attention_plan(scored.predictions, attention_hours, headline_chance(crm.as_of))
        tables = {
            WIN_RATES_FILE: (win_rates(crm.deals, crm.as_of), WIN_RATES),
            WIN_RATE_CHANGE_FILE: (win_rate_change(crm.deals, crm.as_of), WIN_RATE_CHANGE),
            CONSISTENCY_FILE: (rep_consistency(crm.deals, crm.as_of), CONSISTENCY),
            CONVERSION_FILE: (
                stage_conversion(crm.deals, crm.history, crm.stage_order, crm.as_of),
                CONVERSION,
            ),
            PLAN_FILE: (plan.plan, PLAN),
        }
    history_rows = timeline(crm.history, crm.open_ids, crm.stage_order)
    market = (timing, seasonality, dependence)
    metadata = _metadata(
        crm, chosen, scored.predictions, simulations, seed, market, backtest, progress.timings
    )
    metadata = replace(metadata, changes=summary, attention_plan=plan.summary(), targets=target_summary)
    files = {
        **scored.files,
        CHANGES_FILE: csv_bytes(changes, decimals(CHANGES)),
        ACCURACY_FILE: csv_bytes(accuracy, decimals(ACCURACY)),
        fast_file(ACCURACY_FILE): parquet_bytes(accuracy, decimals(ACCURACY)),
        fast_file(CHANGES_FILE): parquet_bytes(changes, decimals(CHANGES)),
        QUARTERS_FILE: csv_bytes(quarters, decimals(QUARTER_ACTUALS)),
        TARGETS_FILE: csv_bytes(targets, decimals(TARGETS)),
        fast_file(TARGETS_FILE): parquet_bytes(targets, decimals(TARGETS)),
        TIMELINE_FILE: csv_bytes(history_rows, decimals(TIMELINE)),
        fast_file(TIMELINE_FILE): parquet_bytes(history_rows, decimals(TIMELINE)),
        **{name: csv_bytes(frame, decimals(table)) for name, (frame, table) in tables.items()},
        **{fast_file(name): parquet_bytes(frame, decimals(table)) for name, (frame, table) in tables.items()},
        fast_file(QUARTERS_FILE): parquet_bytes(quarters, decimals(QUARTER_ACTUALS)),
        METADATA_FILE: _json_bytes(metadata.to_dict()),
    }
    if crm.rejected is not None:  # --drop-invalid: the rows set aside, with their reasons (none: a header)
        files[REJECTED_FILE] = csv_bytes(crm.rejected)
    return files


def _targets(crm: CRMData) -> tuple[pd.DataFrame, dict]:
    """targets.csv for the past quarters beside the forecast and the quarters ahead (no rows without a
    quotas file), and the metadata's ``targets``: the file, its rows and the owners matched to no one."""
    if crm.quotas is None:
        return pd.DataFrame(columns=TARGET_COLUMNS), {}
    now = crm.as_of.to_period("Q")
    quarters = pd.period_range(now - PAST_QUARTERS, now + QUARTERS_AHEAD, freq="Q")
    table = quarter_targets(crm.quotas, crm.deals, crm.sales_teams, quarters)
    summary = {
        "file": crm.mapping.source_file("quotas.csv"),
        "rows": len(crm.quotas),
        "quarters": sorted({f"{d:%Y-%m-%d}" for d in table["period_start"]}),
        "unmatched_owners": unmatched_owners(crm.quotas, crm.deals, crm.sales_teams),
    }
    return table, summary


def _track_record(crm: CRMData, model_dir: Path, seed: int) -> pd.DataFrame:
    """forecast_accuracy.csv, cached beside the forecast backtest (it depends on data, as-of and seed)."""
    cache = forecast_backtest_cache(crm, model_dir, seed).with_suffix(".track.csv")
    if cache.is_file():
        return pd.read_csv(cache, dtype={"as_of": str, "period_start": str})
    accuracy = track_record(crm, seed)
    write_atomically(cache.parent, {cache.name: accuracy.to_csv(index=False, lineterminator="\n").encode()})
    return accuracy


COMPARE_DAYS = 7  # --compare-to defaults to a week before the as-of date


def _changes(
    crm: CRMData, compare_to: pd.Timestamp | None, seed: int, memo: dict
) -> tuple[pd.DataFrame, dict]:
    """pipeline_changes.csv and its metadata: the compare date, the open pipeline at both ends (they add up
    with the changes to the cent), per change type the deals and value, what the changes rest on, and how the
    headline quarter's forecast moved (``quarter``: replayed the same way at both dates)."""
    compare = compare_to if compare_to is not None else crm.as_of - pd.Timedelta(days=COMPARE_DAYS)
    if compare >= crm.as_of:
        raise UsageError(f"--compare-to {compare:%Y-%m-%d} is not before the as-of date {crm.as_of:%Y-%m-%d}")
    first = crm.deals["engage_date"].min()
    if pd.isna(first) or compare < first:  # nothing existed then: every open deal is new
        compare = first - pd.Timedelta(days=1) if pd.notna(first) else crm.as_of - pd.Timedelta(days=1)
    found = pipeline_changes(crm, compare, crm.as_of)
    moved = found.rows.groupby("change_type", sort=False)["value_change"]
    quarter_start = headline_quarter(crm.as_of).start_time.normalize()  # as the app's headline
    outlooks = {
        name: _quarter_outlook(model_free_forecast(crm, date, seed, memo, grid=True), quarter_start)
        for name, date in (("then", compare), ("now", crm.as_of))
    }
    summary = {
        "compare_to": f"{compare:%Y-%m-%d}",
        "source": (
            "the field history (amounts, stages and close dates as they were then)"
            if crm.history is not None
            else "the export's creation and close dates (no field history: amounts, stages and close dates "
            "only as exported now, so none of them moves)"
        ),
        "open_pipeline_before": found.open_before,
        "open_pipeline_after": found.open_after,
        "by_type": {
            str(kind): {"deals": int(count), "value_change": round(float(value), 2)}
            for kind, count, value in zip(moved.size().index, moved.size(), moved.sum(), strict=True)
        },
        "quarter": {
            "period_start": f"{quarter_start:%Y-%m-%d}",
            "method": "the headline quarter's whole-period forecast replayed at both dates the same way "
            "(model-free win chances from the time-to-close curves, as the track record), so the move is "
            "like for like; the model's own forecast is forecast.csv's",
            **outlooks,
        },
    }
    return found.rows, summary


def _quarter_outlook(replayed: Replayed | None, quarter_start: pd.Timestamp) -> dict | None:
    """The whole-team forecast of the quarter starting ``quarter_start`` in a replayed run: expected, P10,
    P50, P90 of the whole period and its quantile grid (q, revenue); None when nothing could be fitted."""
    if replayed is None:
        return None
    forecast, grid = replayed.forecast, replayed.grid
    row = forecast[
        forecast["period_type"].eq("quarter")
        & forecast["segment_type"].eq("all")
        & forecast["period_start"].eq(quarter_start)
    ]
    if row.empty:
        return None
    cells = grid[
        grid["period_type"].eq("quarter")
        & grid["segment_type"].eq("all")
        & grid["period_start"].eq(quarter_start)
        & grid["scope"].eq("total")
    ]
    return {
        "as_of": f"{replayed.cut.as_of:%Y-%m-%d}",
        **{k: round(float(row[f"total_{k}"].iloc[0]), 2) for k in ("expected", "p10", "p50", "p90")},
        "grid": {"q": cells["q"].round(2).tolist(), "revenue": cells["revenue"].round(2).tolist()},
    }


def fit_timing(deals: pd.DataFrame, as_of: pd.Timestamp) -> CloseTimingModel:
    """Time-to-close curves at as-of; no win in the history is bad input, not a crash."""
    try:
        return CloseTimingModel().fit(deals, as_of)
    except ValueError as exc:
        raise UsageError(f"cannot forecast at as-of {as_of:%Y-%m-%d}: {exc}") from None


@dataclass(frozen=True)
class ScoredRun:
    """The three CSV files (predictions, forecast, SHAP) and the prediction table the metadata counts."""

    files: dict[str, bytes]
    predictions: pd.DataFrame


def _score_and_forecast(
    crm: CRMData,
    model: Any,
    timing: CloseTimingModel,
    seasonality: QuarterSeasonality,
    dependence: Dependence,
    simulations: int,
    seed: int,
    progress: Any,
) -> ScoredRun:
    """Score, explain and forecast every open deal with ``model``; the CSV files as bytes."""
    deals = crm.deals
    open_deals = deals[deals["is_open"]].reset_index(drop=True)
    open_deals = open_deals.join(
        status_at(crm.history, open_deals["opportunity_id"], crm.as_of, crm.stage_order)
    )
    with progress.step(
        "score", f"scoring {len(open_deals):,} open deals (with exact TreeSHAP contributions)"
    ):
        # Deals never engaged are not scored: every training snapshot is of an engaged deal, so the history
        # holds nothing that looked like them (their score would be an extrapolation, not a probability).
        unscored = pd.Index(open_deals.loc[open_deals["engage_date"].isna(), "opportunity_id"])
        # one pass gives both: the calibrated probability is the explanation's base value + contributions
        explanation = model.explain(crm, pd.Index(open_deals["opportunity_id"]).difference(unscored))
        win_probability = explanation.win_probability
    with progress.step("explain", "driver sentences and SHAP values in probability points"):
        drivers = top_drivers(explanation, currency=crm.currency, stage_order=crm.stage_order)
        long = shap_long(explanation, currency=crm.currency)
    with progress.step("forecast", f"time to close and {simulations:,}-run revenue simulation"):
        predictions = deal_predictions(
            open_deals,
            deals,
            win_probability,
            drivers,
            timing,
            crm.as_of,
            seasonality,
            dependence.realisation_factors,
            unscored,
        )
        scored = open_deals.assign(  # unscored deals add nothing to the forecast
            win_probability=win_probability.reindex(open_deals["opportunity_id"]).fillna(0.0).to_numpy()
        )
        forecast, quantiles = forecast_revenue(
            scored,
            deals,
            timing,
            dependence,
            crm.as_of,
            simulations,
            seed,
            progress.fraction("simulation"),
            seasonality,
            grid=True,
        )
    with progress.step("write", "formatting the output files (CSV for users, Parquet for the app)"):
        files = {}
        for name, frame, table in (
            (PREDICTIONS_FILE, predictions, PREDICTIONS),
            (FORECAST_FILE, forecast, FORECAST),
            (QUANTILES_FILE, quantiles, QUANTILES),
            (SHAP_FILE, long, SHAP),
        ):
            files[name] = csv_bytes(frame, decimals(table))
            files[fast_file(name)] = parquet_bytes(frame, decimals(table))
    return ScoredRun(files, predictions)


def forecast_backtest_cache(crm: CRMData, model_dir: Path, seed: int) -> Path:
    """Where the forecast backtest of this data, as-of date and seed is cached."""
    name = f"{crm.data_hash[:16]}-{crm.as_of:%Y%m%d}-{seed}-v{BACKTEST_CACHE_VERSION}.json"
    return model_dir / BACKTEST_CACHE / name


def read_forecast_backtest(cache: Path) -> dict | None:
    """The cached forecast backtest, or None (absent or damaged: it is recomputed and replaced)."""
    if not cache.exists():
        return None
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _metadata(
    crm: CRMData,
    chosen: Any,
    predictions: pd.DataFrame,
    simulations: int,
    seed: int,
    market: tuple[CloseTimingModel, QuarterSeasonality, Dependence],
    forecast_backtest: dict,
    timings: dict[str, float],
) -> RunMetadata:
    """predictions_metadata.json (plan/contracts.md section 4)."""
    timing, seasonality, dependence = market
    model = chosen.model
    version = getattr(model, "version_", chosen.path.name)
    stale = predictions["stale"].astype(bool)
    unscored = ~predictions["scored"].astype(bool)
    return RunMetadata(
        run_id=run_id(crm.data_hash, crm.as_of, version, seed, simulations),
        as_of=f"{crm.as_of:%Y-%m-%d}",
        export_end=f"{crm.export_end:%Y-%m-%d}",
        currency=crm.currency,
        stage_order=list(crm.stage_order),
        data={
            "data_dir": str(crm.data_dir),
            "data_hash": crm.data_hash,
            "mapping": crm.mapping.name,
            "mapping_file": crm.mapping.source,
        },
        model=ModelInfo(
            version=version,
            trained_as_of=f"{model.trained_as_of_:%Y-%m-%d}",
            trained_data_hash=model.data_hash_,
            trained_this_run=chosen.trained_now,
            metrics=chosen.metrics,
            feature_labels={
                **{
                    name: model.feature_spec_.labels.get(name, name.replace("_", " "))
                    for name in model.feature_spec_.names
                },
                **GROUP_LABELS,
            },
        ),
        counts=Counts(
            deals=int(len(crm.deals)),
            open_deals=int(crm.deals["is_open"].sum()),
            scored=int((~unscored).sum()),
            unscored=int(unscored.sum()),
            unscored_pipeline_value=round(float(predictions.loc[unscored, "deal_value"].sum()), 2),
            stale=int(stale.sum()),
            prospecting=int(predictions["early_stage"].sum()),
            stale_pipeline_value=round(float(predictions.loc[stale, "deal_value"].sum()), 2),
            open_pipeline_value=round(float(predictions["deal_value"].sum()), 2),
            risk_tiers={tier: int((predictions["risk_tier"] == tier).sum()) for tier in TIER_MEANINGS},
            rejected_rows=0 if crm.rejected is None else len(crm.rejected),
        ),
        simulation={
            "runs": simulations,
            "seed": seed,
            "dependence": {
                "market_variance": dependence.market_variance,
                "segment_variance": dependence.segment_variance,
                "segment_type": dependence.segment_type,
                "shock": "mean-1 gamma multipliers on every deal's chance of being won in a month: one per "
                "simulation for the whole horizon (persistent), one per simulation and month (market), one "
                "per simulation, month and regional office (segment)",
                **dependence.details,
            },
            "time_to_close": {
                "method": TIMING_METHOD,
                "longest_close_days": timing.max_close_age_,
                "median_won_days": timing.median_won_age_,
                "p90_won_days": timing.p90_won_age_,
            },
            "stale_treatment": STALE_TREATMENT,
            "prospecting_treatment": PROSPECTING_TREATMENT,
            "value": "amount when present, else list price x a draw from the realised-to-list ratios of won "
            "deals (deal_value in latest_predictions uses the mean ratio); "
            "unknown products: median won value",
            "quarter_seasonality": seasonality.to_dict(),
            "new_deals": creation_summary(crm.deals, crm.as_of),
        },
        forecast_backtest=forecast_backtest,
        risk=RiskInfo(formula=risk_formula(), tiers=dict(TIER_MEANINGS)),
        timings_seconds=dict(timings),
        data_quality=crm.quality.to_dict(),
        software=_software(),
    )
