"""Column mapping (TOML) that lets a Salesforce- or HubSpot-style export load through the MavenTech path."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.data.contract import (
    CANONICAL_STAGES,
    CURRENCIES,
    DEAL_HISTORY,
    FILES,
    OPEN_STAGES,
    PIPELINE,
    QUOTAS,
)
from core.data.history import HISTORY_FIELDS
from core.data.stage_entered import stage_entered_pattern
from core.errors import DataContractError

TRUE_VALUES = frozenset({"1", "true", "yes", "y", "t"})  # how exports write a set flag (any case)
# A lookup turns the ids an export holds into names: the columns each one rewrites, per canonical file.
LOOKUP_TARGETS: dict[str, dict[str, tuple[str, ...]]] = {
    "sales_agent": {
        "sales_pipeline": ("sales_agent",),
        "sales_teams": ("sales_agent", "manager"),
        "quotas": ("owner",),
    },
    "account": {"sales_pipeline": ("account",), "accounts": ("account", "subsidiary_of")},
}
RATE_STYLES = ("corporate_per_unit", "units_per_corporate")


def is_set(values: pd.Series) -> pd.Series:
    """True where a flag column holds a set value ("1", "true", "yes", ...)."""
    return values.str.strip().str.lower().isin(TRUE_VALUES)


@dataclass(frozen=True)
class Lookup:
    """Names for the ids an export holds: ``file``'s ``id`` column to its ``name`` columns joined by spaces
    (Salesforce's OwnerId -> User.csv FirstName LastName)."""

    file: str
    id: str
    name: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """Columns of the export that say a deal's outcome and its stage's place, beside the stage name:
    ``closed`` and ``won`` flags (Salesforce IsClosed / IsWon), ``deleted`` (rows to set aside), and
    ``stage_order`` (a number per stage, Salesforce StageSortOrder). Each is optional; a flag the export
    lacks falls back to the stage names of [stages]."""

    closed: str = ""
    won: str = ""
    deleted: str = ""
    stage_order: str = ""


@dataclass(frozen=True)
class ColumnMapping:
    """How one CRM's export maps onto the data contract.

    ``files`` renames files (canonical name -> source name); ``columns`` renames columns per file
    (source -> canonical); ``stages`` maps source stage values to the four canonical stages;
    ``date_format`` is the strftime format of the source dates; ``blank_open_close_fields`` moves the close
    date some CRMs keep on open deals to ``rep_close_date`` (the rep's expected close, a claim, not a fact)
    and drops their close value;
    ``won_value_from_amount`` fills a Won deal's close_value from its amount. Several source columns may map
    to one contract column: the first the export has wins (HubSpot's "Amount in company currency", else
    "Amount"). ``outcome`` reads Won/Lost from flags, ``lookups`` resolve ids to names,
    ``probability_scale`` is what a certain deal's probability reads (100 for percent, 1 for a fraction),
    ``currency`` names the corporate currency when the export does not, and ``rate_style`` says how the
    currencies file's rates read (``units_per_corporate`` for Salesforce's ConversionRate).
    ``forecast_categories`` renames forecast category values in the pipeline and the history alike
    (Salesforce writes API values such as ``BestCase`` in OpportunityHistory, labels such as ``Best Case`` in
    Opportunity.ForecastCategoryName); ``stage_entered`` is the label template of the pipeline's "date
    entered" columns that give the stage history when there is no history file (``core.data.stage_entered``).
    """

    name: str = "MavenTech"
    # the TOML file it was read from ("" for the built-in MavenTech schema); not part of the data's meaning
    source: str = field(default="", compare=False, repr=False)
    files: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d"
    encoding: str = ""  # the files' text encoding; "" detects UTF-8, else cp1252, else latin-1
    blank_open_close_fields: bool = False
    won_value_from_amount: bool = False
    outcome: Outcome = field(default_factory=Outcome)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    probability_scale: float = 100.0
    currency: str = ""
    rate_style: str = RATE_STYLES[0]
    forecast_categories: dict[str, str] = field(default_factory=dict)
    stage_entered: str = ""
    # a long-format history file (Salesforce OpportunityFieldHistory: one row per changed field): the column
    # naming the field, the one holding its new value, and which fields are which history columns
    history_field: str = ""
    history_value: str = ""
    history_fields: dict[str, str] = field(default_factory=dict)
    # the forecast type whose quotas to read when the quotas file holds several (Salesforce ForecastingTypeId)
    quota_forecast_type: str = ""

    def source_files(self, canonical: str) -> tuple[str, ...]:
        """Every file name the canonical file ``canonical`` may be read from, in the mapping's order."""
        named = self.files.get(canonical.removesuffix(".csv"), canonical)
        return (named,) if isinstance(named, str) else named

    def source_file(self, canonical: str) -> str:
        """The (first) file name to read for the canonical file ``canonical``."""
        return self.source_files(canonical)[0]

    def source_column(self, canonical_file: str, canonical: str) -> str:
        """The export's own name for the canonical column ``canonical`` of ``canonical_file``."""
        renames = self.columns.get(canonical_file.removesuffix(".csv"), {})
        return next((source for source, target in renames.items() if target == canonical), canonical)

    def apply(self, canonical_file: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Rename columns and map stage values of one raw frame (all-string) to the canonical form."""
        renames = self.columns.get(canonical_file.removesuffix(".csv"), {})
        present = [source for source in renames if source in frame.columns]
        first = {target: source for source, target in reversed([(s, renames[s]) for s in present])}
        out = frame.drop(columns=[s for s in present if first[renames[s]] != s]).rename(columns=renames)
        if canonical_file == PIPELINE.name and "deal_stage" in out.columns:
            out = self._outcome_states(out)
        if canonical_file == PIPELINE.name:
            out = self._fill_contract_fields(out)
        if canonical_file == DEAL_HISTORY.name and self.history_field in out.columns:
            out = self._wide_history(out)
        renamed = self.forecast_categories and "forecast_category" in out.columns
        if renamed and canonical_file in (PIPELINE.name, DEAL_HISTORY.name):
            out["forecast_category"] = out["forecast_category"].str.strip().replace(self.forecast_categories)
        return out

    def _wide_history(self, out: pd.DataFrame) -> pd.DataFrame:
        """A long-format history (one row per changed field) as history rows that each change one field:
        the new value goes to the field's history column; a field the mapping does not list changes
        nothing (its row stays, blank, so every row keeps its spreadsheet row number)."""
        named = out[self.history_field].str.strip().map(self.history_fields)
        value = out.get(self.history_value, pd.Series("", index=out.index))
        for column in dict.fromkeys(self.history_fields.values()):
            out[column] = value.where(named.eq(column), "")
        return out.drop(columns=[c for c in (self.history_field, self.history_value) if c in out.columns])

    def _outcome_states(self, out: pd.DataFrame) -> pd.DataFrame:
        """Keep the CRM's own stage name in ``stage``; set ``deal_stage`` to the outcome state from the
        export's closed/won flags where it has them, else from [stages] (a stage the mapping does not list
        is an open deal, flagged, never an error)."""
        stripped = out["deal_stage"].str.strip()
        if "stage" not in out.columns:  # the export's own stage column, when it has one, is the stage
            out["stage"] = stripped
        closed_flag, won_flag = self.outcome.closed, self.outcome.won
        has_closed, has_won = closed_flag in out.columns, won_flag in out.columns
        mapped = stripped.map(self.stages) if self.stages else stripped.where(stripped.isin(CANONICAL_STAGES))
        if has_closed or has_won:
            closed = is_set(out[closed_flag]) if has_closed else mapped.isin(("Won", "Lost"))
            won = is_set(out[won_flag]) if has_won else mapped.eq("Won")
            open_state = mapped.where(mapped.isin(OPEN_STAGES), OPEN_STAGES[-1])
            state = pd.Series(open_state, index=out.index).where(
                ~closed, won.map({True: "Won", False: "Lost"})
            )
            unlisted = ~closed & mapped.isna() & stripped.ne("") & bool(self.stages)
        elif self.stages:
            unlisted = mapped.isna() & stripped.ne("")
            state = mapped.where(~unlisted, OPEN_STAGES[-1]).fillna(stripped)
        else:
            return out
        out["deal_stage"] = state
        out[UNLISTED_STAGE] = unlisted.map({True: "1", False: ""})
        return out

    def _fill_contract_fields(self, out: pd.DataFrame) -> pd.DataFrame:
        """Apply the open-deal and won-value options once stages are canonical."""
        if "deal_stage" not in out.columns:
            return out
        is_open = out["deal_stage"].isin(OPEN_STAGES)
        if self.blank_open_close_fields:
            if "close_date" in out.columns and "rep_close_date" not in out.columns:
                # an open deal's close date is the rep's expected close: a claim, kept as such
                out["rep_close_date"] = out["close_date"].where(is_open, "")
            for column in ("close_date", "close_value"):
                if column in out.columns:
                    out[column] = out[column].where(~is_open, "")
        if self.won_value_from_amount and "amount" in out.columns:
            if "close_value" not in out.columns:
                out["close_value"] = ""
            won = out["deal_stage"].eq("Won")
            out["close_value"] = out["close_value"].where(~won | out["close_value"].ne(""), out["amount"])
        return out


DEFAULT_MAPPING = ColumnMapping()
UNLISTED_STAGE = "unlisted_stage"  # marks a row whose stage the mapping's [stages] does not list
DATA_DIR_MAPPING = "revintel.toml"  # a mapping kept beside the export is used without a --mapping flag


def mapping_for(data_dir: str | Path, path: str | Path | None = None) -> ColumnMapping:
    """The mapping a command reads ``data_dir`` with: ``path`` (its ``--mapping``), else a ``revintel.toml``
    inside ``data_dir``, else the MavenTech schema itself."""
    if path is not None:
        return load_mapping(Path(path))
    beside = Path(data_dir) / DATA_DIR_MAPPING
    return load_mapping(beside) if beside.is_file() else DEFAULT_MAPPING


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a column-mapping TOML file."""
    name = path.name
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise DataContractError(name, f"mapping file not found at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataContractError(name, f"not valid TOML ({exc})") from None
    canonical_files = {
        spec.name.removesuffix(".csv"): spec for spec in (*FILES, CURRENCIES, DEAL_HISTORY, QUOTAS)
    }
    columns = raw.get("columns", {})
    for file_key, renames in columns.items():
        spec = canonical_files.get(file_key)
        if spec is None:
            raise DataContractError(name, f"[columns.{file_key}] is not one of {sorted(canonical_files)}")
        allowed = set(spec.required) | set(spec.optional)
        for source, target in renames.items():
            if target not in allowed:
                raise DataContractError(
                    name,
                    f"[columns.{file_key}] maps '{source}' to '{target}', "
                    f"which is not a column of {spec.name}",
                )
    stages = raw.get("stages", {})
    for source, target in stages.items():
        if target not in CANONICAL_STAGES:
            raise DataContractError(
                name, f"[stages] maps '{source}' to '{target}'; use one of {', '.join(CANONICAL_STAGES)}"
            )
    files = raw.get("files", {})
    for key in files:
        if key not in canonical_files:
            raise DataContractError(name, f"[files] key '{key}' is not one of {sorted(canonical_files)}")
    options = raw.get("options", {})
    rate_style = str(options.get("rate_style", RATE_STYLES[0]))
    if rate_style not in RATE_STYLES:
        raise DataContractError(
            name, f"[options] rate_style '{rate_style}' is not one of {', '.join(RATE_STYLES)}"
        )
    outcome = raw.get("outcome", {})
    unknown = set(outcome) - set(Outcome.__dataclass_fields__)
    if unknown:
        raise DataContractError(name, f"[outcome] has unknown key '{sorted(unknown)[0]}'")
    forecast_categories = raw.get("forecast_categories", {})
    history = raw.get("history", {})
    for section, table in (("forecast_categories", forecast_categories), ("history", history)):
        if not isinstance(table, dict):
            raise DataContractError(name, f"{section} must be a [{section}] table")
    for source, target in forecast_categories.items():
        if not isinstance(target, str) or not target.strip():
            raise DataContractError(
                name, f"[forecast_categories] renames '{source}' to {target!r}; give the name as text"
            )
    unknown = set(history) - {"stage_entered", "field", "value", "fields"}
    if unknown:
        raise DataContractError(
            name,
            f"[history] has unknown key '{sorted(unknown)[0]}' (use stage_entered, field, value, fields)",
        )
    history_fields = history.get("fields", {})
    for source, target in history_fields.items() if isinstance(history_fields, dict) else [("fields", "")]:
        if target not in HISTORY_FIELDS:
            raise DataContractError(
                name,
                f"[history.fields] maps '{source}' to {target!r}; use one of {', '.join(HISTORY_FIELDS)}",
            )
    stage_entered = history.get("stage_entered", "")
    try:
        if not isinstance(stage_entered, str):
            raise ValueError(f"{stage_entered!r} is not text")
        if stage_entered:
            stage_entered_pattern(stage_entered)
    except ValueError as exc:
        raise DataContractError(name, f"[history] stage_entered {exc}") from None
    lookups = {}
    for target, spec in raw.get("lookups", {}).items():
        if target not in LOOKUP_TARGETS:
            raise DataContractError(name, f"[lookups.{target}] is not one of {sorted(LOOKUP_TARGETS)}")
        if not {"file", "id", "name"} <= set(spec):
            raise DataContractError(name, f"[lookups.{target}] needs file, id and name")
        names = spec["name"]
        lookups[target] = Lookup(
            str(spec["file"]), str(spec["id"]), (names,) if isinstance(names, str) else tuple(map(str, names))
        )
    return ColumnMapping(
        name=str(raw.get("name", path.stem)),
        source=str(path.resolve()),
        files={str(k): v if isinstance(v, str) else tuple(map(str, v)) for k, v in files.items()},
        columns={k: {str(s): str(t) for s, t in v.items()} for k, v in columns.items()},
        stages={str(k): str(v) for k, v in stages.items()},
        date_format=str(options.get("date_format", "%Y-%m-%d")),
        encoding=str(options.get("encoding", "")),
        blank_open_close_fields=bool(options.get("blank_open_close_fields", False)),
        won_value_from_amount=bool(options.get("won_value_from_amount", False)),
        outcome=Outcome(**{k: str(v) for k, v in outcome.items()}),
        lookups=lookups,
        probability_scale=float(options.get("probability_scale", 100.0)),
        currency=str(options.get("currency", "")),
        rate_style=rate_style,
        forecast_categories={str(k): v.strip() for k, v in forecast_categories.items()},
        stage_entered=stage_entered,
        history_field=str(history.get("field", "")),
        history_value=str(history.get("value", "")),
        history_fields={str(k): str(v) for k, v in history_fields.items()},
        quota_forecast_type=str(options.get("quota_forecast_type", "")),
    )
