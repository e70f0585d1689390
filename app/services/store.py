"""The only place the app reads files: the batch outputs of one prediction run, cached on its run id.

Each interaction does one cheap ``stat`` of ``predictions_metadata.json``; its mtime and size key the
(cached) metadata read, whose ``run_id`` keys the (cached) frames. A new batch run therefore shows up on
the next interaction without restarting the app. Frames are cached with ``cache_resource`` (no copy per
rerun: a 100k-deal pipeline must feel instant) and are read-only by convention: app code never mutates
them (pandas Copy-on-Write makes every derived frame a new one).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from core.data.mapping import mapping_for
from core.errors import RevIntelError
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
    Column,
    RunMetadata,
    fast_file,
    names,
)
from core.settings import PROJECT_ROOT, SETTINGS

PREDICTIONS_DIR_ENV = "REVINTEL_PREDICTIONS_DIR"
# rows of older runs' SHAP files that carried the base value as a pseudo-feature
BASE_VALUE_FEATURES = ("base_value", "__base__", "_base_value", "(base value)", "expected_value")
PREDICT_COMMAND = "python models/inference/predict.py"


class PredictionFilesError(Exception):
    """The batch outputs are missing or break the file contract (one-line message naming file and column)."""


@dataclass(frozen=True)
class PredictionRun:
    """What one batch run wrote, as typed frames (read-only); the SHAP table is read when a page asks
    (:func:`shap_values`), so the first page of a new run does not wait for it."""

    out_dir: str
    run_id: str
    metadata: RunMetadata
    written_at: str
    predictions: pd.DataFrame
    forecast: pd.DataFrame | None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def as_of(self) -> pd.Timestamp:
        """The as-of date the run stands at."""
        return pd.Timestamp(self.metadata.as_of)


@dataclass(frozen=True)
class RunState:
    """The current run, or why there is none: what the page guard needs to explain it."""

    out_dir: Path
    run: PredictionRun | None
    error: str | None = None

    @property
    def command(self) -> str:
        """The command that (re)writes the outputs."""
        return predict_command(self.out_dir)


def predictions_dir() -> Path:
    """Where the batch step wrote its outputs: $REVINTEL_PREDICTIONS_DIR or the default out dir."""
    return Path(os.environ.get(PREDICTIONS_DIR_ENV) or SETTINGS.out_dir)


def predict_command(out_dir: Path) -> str:
    """The command that produces the outputs the app reads into ``out_dir``."""
    default = Path(SETTINGS.out_dir).resolve()
    return PREDICT_COMMAND if Path(out_dir).resolve() == default else f"{PREDICT_COMMAND} --out-dir {out_dir}"


def backtest_command(run: PredictionRun) -> str:
    """The command (ARCHITECTURE section 3) that backtests the model and the forecast for this run's data."""
    data_dir = run.metadata.data.get("data_dir", "DIR")
    return (
        f"python models/evaluation/backtest.py --data-dir {data_dir} --as-of-dates D1,D2,... "
        f"--out-dir {run.out_dir}"
    )


def forecast_backtest_command(run: PredictionRun) -> str:
    """The command that backtests the revenue forecast for this run's data (models/evaluation)."""
    data_dir = run.metadata.data.get("data_dir", "DIR")
    return f"python -m models.evaluation.forecast_backtest --data-dir {data_dir} --as-of-dates D1,D2,..."


def compare_command(run: PredictionRun) -> str:
    """The command that rewrites this run's outputs comparing with another date (``--compare-to``): the
    same export, as-of date and out dir, so only pipeline_changes.csv's compare date moves."""
    data = run.metadata.data
    mapping = f" --mapping {data['mapping_file']}" if data.get("mapping_file") else ""
    return (
        f"{PREDICT_COMMAND} --data-dir {data.get('data_dir', 'DIR')}{mapping} --as-of {run.metadata.as_of} "
        f"--out-dir {run.out_dir} --compare-to YYYY-MM-DD"
    )


def _run_key(out_dir: Path) -> tuple[str, int, int] | None:
    """Cheap change detector: (path, mtime_ns, size) of the metadata file, None when it is absent."""
    path = out_dir / METADATA_FILE
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return str(path), info.st_mtime_ns, info.st_size


@st.cache_data(show_spinner=False, max_entries=8)
def _read_metadata(path: str, mtime_ns: int, size: int) -> RunMetadata:
    """Parse predictions_metadata.json into RunMetadata (cached on its mtime and size)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PredictionFilesError(
            f"{METADATA_FILE}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    try:
        return RunMetadata.from_dict(data)
    except KeyError as exc:
        raise PredictionFilesError(f"{METADATA_FILE}: required key {exc} missing") from None


def _as_bool(values: pd.Series) -> pd.Series:
    """Parse a True/False (or 1/0) column."""
    if pd.api.types.is_bool_dtype(values):
        return values
    return values.astype(str).str.strip().str.lower().isin(("true", "1", "yes"))


def _read_table(root: Path, name: str, table: tuple[Column, ...]) -> pd.DataFrame:
    """An output table typed by the contract (core.outputs): its Parquet twin when the batch step wrote
    one (no parsing), else the CSV with text kept as text (a blank account stays blank). A required column
    that is missing is a one-line error naming the file and the column."""
    fast = root / fast_file(name)
    if fast.exists():
        frame, source = pd.read_parquet(fast), fast.name
    else:
        frame, source = pd.read_csv(root / name, dtype=str, keep_default_na=False), name
    missing = [c for c in names(table, required=True) if c not in frame.columns]
    if missing:
        raise PredictionFilesError(
            f"{source}: required column '{missing[0]}' missing (found: {', '.join(map(str, frame.columns))})"
        )
    for column in (c for c in table if c.name in frame.columns):
        values = frame[column.name]
        if column.kind == "number":
            frame[column.name] = pd.to_numeric(values, errors="coerce")
        elif column.kind == "date":
            frame[column.name] = pd.to_datetime(values.replace("", None), errors="coerce")
        elif column.kind == "flag":
            frame[column.name] = _as_bool(values)
        elif values.isna().any():  # a blank text cell reads "" from either file
            frame[column.name] = values.fillna("")
    return frame


def _read_predictions(root: Path) -> pd.DataFrame:
    """latest_predictions, sorted by opportunity_id once, so every later single-key stable sort breaks ties
    by id without sorting strings."""
    frame = _read_table(root, PREDICTIONS_FILE, PREDICTIONS)
    if "sector" not in frame.columns:
        frame["sector"] = "Unknown"
    return frame.sort_values("opportunity_id", kind="stable").reset_index(drop=True)


def _read_forecast(root: Path) -> pd.DataFrame:
    """forecast with typed periods and amounts (a blank amount is 0)."""
    frame = _read_table(root, FORECAST_FILE, FORECAST)
    amounts = list(names(FORECAST, kind="number"))
    frame[amounts] = frame[amounts].fillna(0.0)
    return frame


@st.cache_resource(show_spinner="Loading the deals' explanations...", max_entries=2)
def _read_shap(out_dir: str, run_id: str, labels: tuple[tuple[str, str], ...]) -> ShapValues:
    """SHAP long table indexed (sorted) by opportunity_id, and each deal's base value (cached per run)."""
    root = Path(out_dir)
    if not ((root / SHAP_FILE).exists() or (root / fast_file(SHAP_FILE)).exists()):
        return ShapValues(None, None)
    frame = _read_table(root, SHAP_FILE, SHAP)
    base_rows = frame["feature"].isin(BASE_VALUE_FEATURES)
    if "base_value" in frame.columns:
        base = frame["base_value"].groupby(frame["opportunity_id"]).first()
    elif base_rows.any():
        base = frame.loc[base_rows].groupby("opportunity_id")["shap_value"].first()
    else:
        raise PredictionFilesError(
            f"{SHAP_FILE}: no base value (expected a 'base_value' column or rows with "
            f"feature in {', '.join(BASE_VALUE_FEATURES[:2])})"
        )
    keep = ["opportunity_id", "feature", "feature_value", "shap_value", "feature_label", "step"]
    features = frame.loc[~base_rows, [c for c in keep if c in frame.columns]]
    features = features.set_index("opportunity_id").sort_index(kind="stable")
    return ShapValues(_with_feature_labels(features, dict(labels)), base)


@dataclass(frozen=True)
class ShapValues:
    """The run's SHAP rows per deal (index opportunity_id) and each deal's base value; None when absent."""

    rows: pd.DataFrame | None
    base_value: pd.Series | None


def shap_values(run: PredictionRun) -> ShapValues:
    """The run's SHAP values, read on first use (the drill-down and the Health page need them)."""
    labels = tuple(sorted(run.metadata.model.feature_labels.items()))
    return _read_shap(run.out_dir, run.run_id, labels)


@st.cache_resource(show_spinner="Loading the latest prediction run...", max_entries=2)
def _load_run(out_dir: str, run_id: str, metadata_path: str, mtime_ns: int, size: int) -> PredictionRun:
    """Read and type the prediction and forecast tables of one run (cached on the run id)."""
    root = Path(out_dir)
    metadata = _read_metadata(metadata_path, mtime_ns, size)
    if not ((root / PREDICTIONS_FILE).exists() or (root / fast_file(PREDICTIONS_FILE)).exists()):
        raise PredictionFilesError(f"{PREDICTIONS_FILE} not found in {root}")
    problems = [
        f"{name} is missing"
        for name in (FORECAST_FILE, SHAP_FILE)
        if not ((root / name).exists() or (root / fast_file(name)).exists())
    ]
    forecast = None if f"{FORECAST_FILE} is missing" in problems else _read_forecast(root)
    written_at = pd.Timestamp(mtime_ns, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    return PredictionRun(
        out_dir=str(root),
        run_id=run_id,
        metadata=metadata,
        written_at=written_at,
        predictions=_read_predictions(root),
        forecast=forecast,
        problems=tuple(problems),
    )


def _with_feature_labels(shap: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """SHAP rows with the plain-language name of each feature from the metadata (when the file has none)."""
    if not labels or "feature_label" in shap.columns:
        return shap
    # mapped over the feature categories, not the rows (1.7M rows at 100k open deals)
    named = shap["feature"].astype("category").map(lambda name: labels.get(name) or name)
    return shap.assign(feature_label=named.astype("category"))


@st.cache_resource(show_spinner=False, max_entries=20)  # two runs x ten tables
def _read_extra(out_dir: str, run_id: str, name: str) -> pd.DataFrame | None:
    """One of the run's later tables (pipeline_changes, forecast_quantiles, forecast_accuracy,
    quarter_actuals, targets, deal_timeline, win_rates, win_rate_change, rep_consistency, attention_plan),
    typed by the contract and cached on the run id; None when the run did not write it (older runs)."""
    root = Path(out_dir)
    if not ((root / name).exists() or (root / fast_file(name)).exists()):
        return None
    table = EXTRA_TABLES[name]
    frame = _read_table(root, name, table)
    for column in (c.name for c in table if c.kind == "text" and c.name not in frame.columns):
        frame[column] = ""  # an optional text column an older writer left out (``detail``)
    return frame


EXTRA_TABLES: dict[str, tuple[Column, ...]] = {
    CHANGES_FILE: CHANGES,
    QUANTILES_FILE: QUANTILES,
    ACCURACY_FILE: ACCURACY,
    QUARTERS_FILE: QUARTER_ACTUALS,
    TARGETS_FILE: TARGETS,
    TIMELINE_FILE: TIMELINE,
    WIN_RATES_FILE: WIN_RATES,
    WIN_RATE_CHANGE_FILE: WIN_RATE_CHANGE,
    CONSISTENCY_FILE: CONSISTENCY,
    CONVERSION_FILE: CONVERSION,
    PLAN_FILE: PLAN,
}


def pipeline_changes(run: PredictionRun) -> pd.DataFrame | None:
    """pipeline_changes.csv of the run (what changed since its compare date), read when a page asks."""
    return _read_extra(run.out_dir, run.run_id, CHANGES_FILE)


def forecast_quantiles(run: PredictionRun) -> pd.DataFrame | None:
    """forecast_quantiles.csv of the run (revenue at q = 0.01 .. 0.99 per period and segment)."""
    return _read_extra(run.out_dir, run.run_id, QUANTILES_FILE)


def forecast_accuracy(run: PredictionRun) -> pd.DataFrame | None:
    """forecast_accuracy.csv of the run (the track record: past Fridays' forecasts against what was won)."""
    return _read_extra(run.out_dir, run.run_id, ACCURACY_FILE)


def quarter_actuals(run: PredictionRun) -> pd.DataFrame | None:
    """quarter_actuals.csv of the run (revenue won in each of the last complete quarters, per segment)."""
    return _read_extra(run.out_dir, run.run_id, QUARTERS_FILE)


def targets(run: PredictionRun) -> pd.DataFrame | None:
    """targets.csv of the run (each quarter's target per segment, from the export's quotas file; no rows
    without one), None for runs before it."""
    return _read_extra(run.out_dir, run.run_id, TARGETS_FILE)


def deal_timeline(run: PredictionRun, opportunity_id: str) -> pd.DataFrame | None:
    """The deal's rows of deal_timeline.csv (its stage, amount, rep close date and forecast category after
    each field-history change, by day), read when the drill-down asks; empty when the export holds no field
    history for it, None when the run did not write the file (runs before it)."""
    timeline = _read_extra(run.out_dir, run.run_id, TIMELINE_FILE)
    return None if timeline is None else timeline[timeline["opportunity_id"] == opportunity_id]


def win_rates(run: PredictionRun) -> pd.DataFrame | None:
    """win_rates.csv of the run (win rate by quarter of close and segment, with its likely range)."""
    return _read_extra(run.out_dir, run.run_id, WIN_RATES_FILE)


def win_rate_change(run: PredictionRun) -> pd.DataFrame | None:
    """win_rate_change.csv of the run (the last two quarters' change, mix and rate per segment)."""
    return _read_extra(run.out_dir, run.run_id, WIN_RATE_CHANGE_FILE)


def rep_consistency(run: PredictionRun) -> pd.DataFrame | None:
    """rep_consistency.csv of the run (each rep's quarter-to-quarter spread against chance's)."""
    return _read_extra(run.out_dir, run.run_id, CONSISTENCY_FILE)


def stage_conversion(run: PredictionRun) -> pd.DataFrame | None:
    """stage_conversion.csv of the run (of the deals that reached each stage, how many moved on and won)."""
    return _read_extra(run.out_dir, run.run_id, CONVERSION_FILE)


def attention_plan(run: PredictionRun) -> pd.DataFrame | None:
    """attention_plan.csv of the run (the deals each manager reviews this week, with hours and value in
    play)."""
    return _read_extra(run.out_dir, run.run_id, PLAN_FILE)


_PREFETCHED: set[str] = set()
_PREFETCH_LOCK = threading.Lock()


def _read_closed_deals_quietly(run: PredictionRun) -> None:
    """Thread body: fill the closed-deals cache; a failure here resurfaces when the drill-down asks."""
    try:
        closed_deals(run)
    except Exception:  # noqa: BLE001 - the drill-down's own call reports it to the user
        return


def prefetch_closed_deals(run: PredictionRun) -> None:
    """Start reading the run's CRM export for comparable deals in the background, once per run (called
    once a page is drawn, so the read never competes with drawing a new run's first page).

    The cache's per-key compute lock makes a drill-down that arrives early wait for this read instead
    of starting a second one.
    """
    with _PREFETCH_LOCK:
        if run.run_id in _PREFETCHED:
            return
        _PREFETCHED.add(run.run_id)
    threading.Thread(
        target=_read_closed_deals_quietly, args=(run,), daemon=True, name=f"prefetch-closed-{run.run_id[:8]}"
    ).start()


def load_run(out_dir: Path | None = None) -> PredictionRun | None:
    """The current prediction run (cached), or None when no batch run has written outputs yet."""
    root = out_dir or predictions_dir()
    key = _run_key(root)
    if key is None:
        return None
    metadata = _read_metadata(*key)
    return _load_run(str(root), metadata.run_id, *key)


def run_state(out_dir: Path | None = None) -> RunState:
    """The current run, or the one-line reason it cannot be read (for the page guard to show)."""
    root = out_dir or predictions_dir()
    try:
        return RunState(root, load_run(root))
    except PredictionFilesError as exc:
        return RunState(root, None, str(exc))


@st.cache_resource(show_spinner=False, max_entries=2)
def _closed_deals(
    data_dir: str, as_of: str, data_hash: str, mapping_file: str
) -> dict[str | None, pd.DataFrame]:
    """Deals closed by ``as_of`` in the CRM export the run was made from (read with the run's column
    mapping), all (key None) and per product."""
    from core.data import load_crm, mapping_for

    crm = load_crm(data_dir, as_of, mapping_for(data_dir, mapping_file or None))
    deals = crm.deals
    closed = deals[~deals["is_open"]].reset_index(drop=True)
    by_product: dict[str | None, pd.DataFrame] = {str(k): v for k, v in closed.groupby("product", sort=True)}
    by_product[None] = closed
    return by_product


def closed_deals(run: PredictionRun, product: str | None = None) -> pd.DataFrame | None:
    """Historical closed deals known at the run's as-of date (of one product, if given), or None when the
    run's data directory is gone."""
    data = run.metadata.data
    data_dir = data.get("data_dir")
    if not data_dir:
        return None
    path = Path(data_dir)
    if not path.is_absolute():
        path = (PROJECT_ROOT / path).resolve()
    mapping_file = str(data.get("mapping_file") or "")
    try:
        pipeline_file = mapping_for(path, mapping_file or None).source_file("sales_pipeline.csv")
    except RevIntelError:  # the mapping the run was made with is gone: no comparable deals, no error
        return None
    if not (path / pipeline_file).exists():
        return None
    by_product = _closed_deals(str(path), run.metadata.as_of, str(data.get("data_hash", "")), mapping_file)
    return by_product.get(product, by_product[None].iloc[0:0])


@st.cache_resource(show_spinner=False, max_entries=2)
def _rows_by_id(run_id: str, _predictions: pd.DataFrame) -> pd.Series:
    """opportunity_id -> row label of the run's predictions (cached on the run id)."""
    return pd.Series(_predictions.index, index=_predictions["opportunity_id"].to_numpy())


def deal_rows(run: PredictionRun) -> pd.Series:
    """Where each deal sits in ``run.predictions``: look deals up without re-indexing 100k rows per rerun."""
    return _rows_by_id(run.run_id, run.predictions)


@st.cache_data(show_spinner=False, max_entries=4)
def _importance(run_id: str, _shap: pd.DataFrame) -> pd.DataFrame:
    """Mean |SHAP| per feature of one run (cached on the run id)."""
    from app.services.health import feature_importance as compute

    return compute(_shap)


def feature_importance(run: PredictionRun) -> pd.DataFrame:
    """Global feature importance (mean |SHAP|) of the run, cached on its run id."""
    return _importance(run.run_id, shap_values(run).rows)


@st.cache_data(show_spinner=False, max_entries=4)
def _dependence(run_id: str, features: tuple[str, ...], _shap: pd.DataFrame, _tiers: pd.Series) -> tuple:
    """The SHAP dependence plots' points of one run (cached on the run id and the features)."""
    from app.services.health import dependence_points

    return dependence_points(_shap, _tiers, list(features))


def shap_dependence(run: PredictionRun, features: list[str]) -> tuple[pd.DataFrame, int]:
    """Each of ``features``' value against its impact on a fixed sample of the explained deals, with their
    risk tier, and how many deals the SHAP rows explain (``health.dependence_points``, cached per run)."""
    tiers = pd.Series(run.predictions["risk_tier"].to_numpy(), index=run.predictions["opportunity_id"])
    return _dependence(run.run_id, tuple(features), shap_values(run).rows, tiers)


BACKTEST_FILE = "backtest.json"


@st.cache_data(show_spinner=False, max_entries=4)
def _read_backtest(path: str, mtime_ns: int, size: int) -> dict | None:
    """backtest.json as written by models/evaluation/backtest.py (cached on its mtime and size)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def model_metrics(run: PredictionRun) -> tuple[dict, str | None]:
    """The run's model metrics, with the backtest taken from backtest.json beside the outputs when the
    metadata has none; the second value says where the backtest came from (or why it was not used)."""
    metrics = dict(run.metadata.model.metrics)
    if metrics.get("backtest"):
        return metrics, "predictions_metadata.json"
    path = Path(run.out_dir) / BACKTEST_FILE
    try:
        info = path.stat()
    except FileNotFoundError:
        return metrics, None
    report = _read_backtest(str(path), info.st_mtime_ns, info.st_size)
    if not report or not isinstance(report.get("win_probability"), dict):
        return metrics, f"{BACKTEST_FILE} is unreadable or has no win_probability section"
    run_hash = run.metadata.data.get("data_hash")
    if report.get("data_hash") != run_hash:
        return (
            metrics,
            f"{BACKTEST_FILE} was made from other data (its data hash differs from this run's); not shown",
        )
    metrics["backtest"] = report["win_probability"]
    return metrics, f"{BACKTEST_FILE} (same data hash as this run)"
