"""The batch step's output contract (ARCHITECTURE section 4): file names, columns with their kinds and
decimals, and the typed run metadata.

The writer (``models/inference/batch.py``), the app's one reader (``app/services/store.py``) and the tests'
fixtures all take the files, columns and metadata fields from here. Beside each CSV the batch step writes
the same table as Parquet (``fast_file``): the CSVs stay for users, the app reads the Parquet when present.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

METADATA_FILE = "predictions_metadata.json"
PREDICTIONS_FILE = "latest_predictions.csv"
FORECAST_FILE = "forecast.csv"
SHAP_FILE = "shap_values.csv"
ACCURACY_FILE = "forecast_accuracy.csv"  # the track record: past weeks' forecasts against what was won
CHANGES_FILE = "pipeline_changes.csv"  # what changed since --compare-to (core.forecast.changes)
QUARTERS_FILE = "quarter_actuals.csv"  # revenue won in the last complete quarters, beside the forecast
TIMELINE_FILE = "deal_timeline.csv"  # each open deal's stage, amount and close date after every change
WIN_RATES_FILE = "win_rates.csv"  # win rate by quarter of close and segment, with a 90% interval
WIN_RATE_CHANGE_FILE = "win_rate_change.csv"  # the last two quarters' change split into mix and rate
CONSISTENCY_FILE = "rep_consistency.csv"  # each rep's quarter-to-quarter spread against chance
CONVERSION_FILE = "stage_conversion.csv"  # with a field history: how many deals reaching each stage move on
PLAN_FILE = "attention_plan.csv"  # which deals each manager reviews this week, and for how long
TARGETS_FILE = "targets.csv"  # each quarter's target per segment, from the quotas file (core.forecast.quotas)
QUANTILES_FILE = "forecast_quantiles.csv"  # revenue at q = 0.01 .. 0.99: P(revenue >= any target)
REJECTED_FILE = (
    "rejected_rows.csv"  # with --drop-invalid: rows set aside (file, row, opportunity_id, column, problem)
)


def fast_file(csv_name: str) -> str:
    """The Parquet twin of an output CSV (``latest_predictions.parquet``), which the app reads first."""
    return csv_name.removesuffix(".csv") + ".parquet"


@dataclass(frozen=True)
class Column:
    """One column of an output table: its kind (text, number, date, flag), its decimals in the CSV (None:
    as computed) and whether a reader may rely on it (optional ones are absent from older runs)."""

    name: str
    kind: str = "text"
    decimals: int | None = None
    required: bool = True


def _drivers() -> tuple[Column, ...]:
    """driver_k, its feature, signed impact and comparison with the typical value, k = 1..3."""
    return tuple(
        column
        for k in (1, 2, 3)
        for column in (
            Column(f"driver_{k}"),
            Column(f"driver_{k}_feature", required=False),
            Column(f"driver_{k}_impact", "number", 6, required=False),
            Column(f"driver_{k}_vs_typical", required=False),
        )
    )


PREDICTIONS: tuple[Column, ...] = (
    Column("opportunity_id"),
    Column("sales_agent"),
    Column("manager"),
    Column("regional_office"),
    Column("product"),
    Column("series", required=False),
    Column("account"),
    Column("sector", required=False),
    Column("deal_stage"),
    Column("stage", required=False),  # the CRM's own stage name (blank when not known at the as-of date)
    Column("days_in_stage", "number", 0, required=False),  # from the field history (blank without one)
    Column("close_date_pushes", "number", 0, required=False),
    Column("days_pushed", "number", 0, required=False),
    Column("engage_date", "date"),
    Column("age_days", "number", 0),
    Column("deal_value", "number", 2),
    Column("value_source"),
    Column("win_probability", "number", 6),
    Column("risk_score", "number", 1),
    Column("risk_tier"),
    Column("expected_revenue", "number", 2),
    Column("value_at_risk", "number", 2),
    Column("p_close_in_quarter", "number", 6),
    Column("p_close_next_quarter", "number", 6),
    Column("expected_close_date", "date"),
    Column("rep_close_date", "date", required=False),  # the rep's own claims, as exported (blank: none)
    Column("forecast_category", required=False),
    Column("rep_probability", "number", 6, required=False),
    Column("stale", "flag"),
    Column("scored", "flag", required=False),
    Column("early_stage", "flag", required=False),
    Column("data_flags", required=False),
    *_drivers(),
)
FORECAST: tuple[Column, ...] = (
    Column("period_type"),
    Column("period_start", "date"),
    Column("period_end", "date"),
    Column("segment_type"),
    Column("segment"),
    Column("expected", "number", 2),
    Column("p10", "number", 2),
    Column("p50", "number", 2),
    Column("p90", "number", 2),
    Column("closed_won", "number", 2),
    Column("new_expected", "number", 2),  # deals not yet created, won inside the period
    Column("total_expected", "number", 2),  # closed_won + expected + new_expected
    Column("total_p10", "number", 2),  # the whole period: won already + open deals + not yet created
    Column("total_p50", "number", 2),
    Column("total_p90", "number", 2),
)
ACCURACY: tuple[Column, ...] = (
    Column("as_of", "date"),
    Column("period_start", "date"),
    Column("expected", "number", 2),
    Column("p10", "number", 2),
    Column("p50", "number", 2),
    Column("p90", "number", 2),
    Column("actual", "number", 2),
    Column("total_expected", "number", 2),  # the whole quarter: won already + open + not yet created
    Column("total_p10", "number", 2),
    Column("total_p50", "number", 2),
    Column("total_p90", "number", 2),
    Column("total_actual", "number", 2),  # everything won in the quarter
    Column("rep_commit", "number", 2, required=False),  # blank when the export holds no forecast category
)
QUARTER_ACTUALS: tuple[Column, ...] = (
    Column("period_start", "date"),
    Column("period_end", "date"),
    Column("segment_type"),
    Column("segment"),
    Column("won", "number", 2),
)
TARGETS: tuple[Column, ...] = (
    Column("period_start", "date"),
    Column("period_end", "date"),
    Column("segment_type"),
    Column("segment"),
    Column("target", "number", 2),
    Column("source"),  # the roll-up rule: "quota", "sum of 5 of 6 managers' targets", ...
)
TIMELINE: tuple[Column, ...] = (
    Column("opportunity_id"),
    Column("changed_at", "date"),
    Column("stage", required=False),
    Column("amount", "number", 2, required=False),
    Column("rep_close_date", "date", required=False),
    Column("forecast_category", required=False),
)
WIN_RATES: tuple[Column, ...] = (
    Column("segment_type"),
    Column("segment"),
    Column("period_start", "date"),
    Column("closed", "number", 0),
    Column("won", "number", 0),
    Column("win_rate", "number", 6),
    Column("low", "number", 6),
    Column("high", "number", 6),
    Column("changed", "flag"),  # moved beyond chance from the quarter before (p < 0.1)
    Column("avg_won_value", "number", 2, required=False),
    Column("cycle_days", "number", 2, required=False),  # average days from engage to win
    Column("velocity", "number", 2, required=False),  # closed x win rate x avg won value / cycle days
)
WIN_RATE_CHANGE: tuple[Column, ...] = (
    Column("segment_type"),
    Column("segment"),
    Column("period_before", "date"),
    Column("period_after", "date"),
    Column("closed_before", "number", 0),
    Column("won_before", "number", 0),
    Column("closed_after", "number", 0),
    Column("won_after", "number", 0),
    Column("share_before", "number", 9),
    Column("share_after", "number", 9),
    Column("rate_before", "number", 9),
    Column("rate_after", "number", 9),
    Column("mix_effect", "number", 12),
    Column("rate_effect", "number", 12),
    Column("total_change", "number", 12),
)
CONSISTENCY: tuple[Column, ...] = (
    Column("sales_agent"),
    Column("manager"),
    Column("quarters", "number", 0),
    Column("closed", "number", 0),
    Column("win_rate", "number", 6),
    Column("shrunk_win_rate", "number", 6),
    Column("spread", "number", 6, required=False),
    Column("chance_spread", "number", 6, required=False),
    Column("ratio", "number", 4, required=False),  # spread / chance spread: above 1, less steady than chance
)
CONVERSION: tuple[Column, ...] = (
    Column("stage"),
    Column("position", "number", 0),
    Column("reached", "number", 0),
    Column("moved_on", "number", 0),
    Column("conversion", "number", 6, required=False),
    Column("won", "number", 0),
    Column("win_rate", "number", 6, required=False),
)
PLAN: tuple[Column, ...] = (
    Column("manager"),
    Column("opportunity_id"),
    Column("hours", "number", 2),
    Column("objective", "number", 2),  # the deal's quarter value in play (core.diagnostics.attention)
)
CHANGES: tuple[Column, ...] = (
    Column("opportunity_id"),
    Column("change_type"),
    Column("value_before", "number", 2),
    Column("value_after", "number", 2),
    Column("value_change", "number", 2),
    Column("detail", required=False),
    Column("sales_agent"),
    Column("manager"),
    Column("regional_office"),
    Column("product"),
)
QUANTILES: tuple[Column, ...] = (
    Column("period_type"),
    Column("period_start", "date"),
    Column("segment_type"),
    Column("segment"),
    Column("scope"),  # open: deals open at the as-of date; total: won already + open + not yet created
    Column("q", "number", 2),
    Column("revenue", "number", 2),
)
SHAP: tuple[Column, ...] = (
    Column("opportunity_id"),
    Column("feature"),
    Column("feature_label", required=False),  # the deal's own name: "list price", "rep's win rate on GTX"
    Column("feature_value"),
    Column("shap_value", "number", 6),
    Column("shap_log_odds", "number", 6, required=False),
    Column("base_value", "number", 6, required=False),
    Column("step", "number", required=False),  # the unit's place in the deal's path (the waterfall's order)
)


def names(
    table: tuple[Column, ...], kind: str | None = None, required: bool | None = None
) -> tuple[str, ...]:
    """Column names of ``table`` in file order, optionally only of one kind or only the required ones."""
    return tuple(
        c.name
        for c in table
        if (kind is None or c.kind == kind) and (required is None or c.required == required)
    )


def decimals(table: tuple[Column, ...]) -> dict[str, int]:
    """Column -> decimals the CSV rounds it to."""
    return {c.name: c.decimals for c in table if c.decimals is not None}


PREDICTION_COLUMNS = names(PREDICTIONS)
# blank on a deal the model does not score (``scored`` False: never engaged, unlike any training snapshot)
UNSCORED_BLANK_COLUMNS: tuple[str, ...] = (
    "win_probability",
    "risk_score",
    "expected_revenue",
    "value_at_risk",
    "p_close_in_quarter",
    "p_close_next_quarter",
    "expected_close_date",
    *(f"driver_{k}{part}" for k in (1, 2, 3) for part in ("", "_feature", "_impact")),
)
FORECAST_COLUMNS = names(FORECAST)
SHAP_COLUMNS = names(SHAP)


@dataclass(frozen=True)
class ModelInfo:
    """The model a run scored with (``model`` in the metadata)."""

    version: str = "unknown"
    trained_as_of: str = "unknown"
    trained_data_hash: str = ""
    trained_this_run: bool = False
    metrics: dict = field(default_factory=dict)
    feature_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Counts:
    """Deal counts and pipeline values of a run (``counts``); older runs lack the newer ones (0)."""

    deals: int = 0
    open_deals: int = 0
    scored: int = 0
    unscored: int = 0
    unscored_pipeline_value: float = 0.0
    stale: int = 0
    prospecting: int = 0
    stale_pipeline_value: float = 0.0
    open_pipeline_value: float = 0.0
    risk_tiers: dict[str, int] = field(default_factory=dict)
    rejected_rows: int = 0


@dataclass(frozen=True)
class RiskInfo:
    """How the risk score is made and what each tier means (``risk``), tiers most severe first."""

    formula: str = ""
    tiers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunMetadata:
    """predictions_metadata.json, typed. Nested sections whose shape belongs to another stage (the model's
    metrics, the simulation, the forecast backtest, the data-quality report) stay plain dictionaries."""

    run_id: str
    as_of: str
    export_end: str = ""
    currency: str = "USD"  # the corporate currency every money column is in (ISO 4217 code)
    stage_order: list[str] = field(default_factory=list)  # the open stages' own names, in the CRM's order
    data: dict[str, str] = field(default_factory=dict)
    model: ModelInfo = field(default_factory=ModelInfo)
    counts: Counts = field(default_factory=Counts)
    simulation: dict = field(default_factory=dict)
    forecast_backtest: dict = field(default_factory=dict)
    changes: dict = field(default_factory=dict)  # pipeline_changes.csv's dates, totals and source
    attention_plan: dict = field(default_factory=dict)  # capacity_hours, objective, greedy_objective, method
    targets: dict = field(default_factory=dict)  # the quotas file, its rows and unmatched owners; {} without
    risk: RiskInfo = field(default_factory=RiskInfo)
    timings_seconds: dict[str, float] = field(default_factory=dict)
    data_quality: dict = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, keys in this order."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMetadata:
        """Read the JSON form; sections and fields an older run lacks take their defaults, unknown keys are
        ignored. Raises KeyError when ``run_id`` or ``as_of`` is missing."""
        sections = {"model": ModelInfo, "counts": Counts, "risk": RiskInfo}
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data or data[item.name] is None:
                continue
            raw = data[item.name]
            values[item.name] = _section(sections[item.name], raw) if item.name in sections else raw
        return cls(
            run_id=str(data["run_id"]),
            as_of=str(data["as_of"]),
            **{k: v for k, v in values.items() if k not in ("run_id", "as_of")},
        )


def _section(kind: type, raw: Any) -> Any:
    """A typed section from its dictionary (unknown keys ignored, missing ones defaulted)."""
    known = {item.name for item in fields(kind)}
    return kind(**{k: v for k, v in (raw or {}).items() if k in known})
