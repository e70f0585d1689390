"""The data contract of a CRM export (MavenTech schema): files, columns and allowed values."""

from __future__ import annotations

from dataclasses import dataclass

CANONICAL_STAGES: tuple[str, ...] = ("Prospecting", "Engaging", "Won", "Lost")
OPEN_STAGES: tuple[str, ...] = ("Prospecting", "Engaging")
CLOSED_STAGES: tuple[str, ...] = ("Won", "Lost")
DATE_FORMAT = "%Y-%m-%d"

# Known spelling variants of product names, repaired at load and counted in the quality report.
PRODUCT_ALIASES: dict[str, str] = {"GTXPro": "GTX Pro"}


@dataclass(frozen=True)
class FileSpec:
    """One CSV of the export: its name, the columns it must have and those it may have."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    required_file: bool = False


PIPELINE = FileSpec(
    "sales_pipeline.csv",
    (
        "opportunity_id",
        "sales_agent",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    # many CRMs have no product per deal (then every product is Unknown); the rep's own claims about an open
    # deal (expected close date, forecast category, probability in %) are kept, never taken as outcomes;
    # currency is each deal's own (amounts are converted to the corporate currency with currencies.csv)
    (
        "product",
        "amount",
        "rep_close_date",
        "forecast_category",
        "rep_probability",
        "currency",
        "deal_type",
        "lead_source",
        "modified_at",  # the record's last-modified timestamp: dates the export, never an outcome
    ),
    required_file=True,
)
# enrichment files need only their key: a CRM that lacks an attribute (Salesforce has no founding year) leaves
# it unknown
ACCOUNTS = FileSpec(
    "accounts.csv",
    ("account",),
    ("sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of"),
)
PRODUCTS = FileSpec("products.csv", ("product", "series", "sales_price"))
SALES_TEAMS = FileSpec("sales_teams.csv", ("sales_agent",), ("manager", "regional_office"))
FILES: tuple[FileSpec, ...] = (PIPELINE, ACCOUNTS, PRODUCTS, SALES_TEAMS)
# Exchange rates (Salesforce CurrencyType / DatedConversionRate): corporate amount = amount *
# rate_to_corporate; a dated rate holds from valid_from until the next one. Read apart from FILES: a
# mapping may name several.
CURRENCIES = FileSpec("currencies.csv", ("currency", "rate_to_corporate"), ("valid_from", "is_corporate"))
# The field history (Salesforce OpportunityHistory, our deal_history.csv): one row per change, each field the
# value from changed_at on (blank: not changed by this row). Read apart from FILES, after the pipeline.
DEAL_HISTORY = FileSpec(
    "deal_history.csv",
    ("opportunity_id", "changed_at"),
    ("stage", "amount", "rep_close_date", "forecast_category", "rep_probability"),
)
# Sales targets (Salesforce ForecastingQuota, our quotas.csv): one row per owner and period, the owner a
# rep or a manager (blank: the whole team), period_start any day of the period (monthly quotas add up to
# the quarter). Read apart from FILES, when present; forecast_type tells one forecast's quotas from another's.
QUOTAS = FileSpec("quotas.csv", ("period_start", "quota"), ("owner", "currency", "forecast_type"))
DEFAULT_CURRENCY = "USD"  # what amounts are in when the export names no currency (MavenTech)

# Columns of the normalised deals frame that every downstream stage may rely on.
DEAL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "sales_agent",
    "manager",
    "regional_office",
    "product",
    "series",
    "list_price",
    "account",
    "sector",
    "account_revenue",
    "account_employees",
    "account_year_established",
    "deal_stage",
    "stage",
    "engage_date",
    "close_date",
    "close_value",
    "amount",
    "rep_close_date",
    "forecast_category",
    "rep_probability",
    "deal_type",
    "lead_source",
    "deal_currency",
    "is_open",
    "is_won",
    "age_days",
    "stale",
    "source_row",
    "flag_product_alias",
    "flag_blank_account",
    "flag_unknown_account",
    "flag_unknown_agent",
    "flag_rep_without_team",
    "flag_unknown_product",
    "flag_no_engage_date",
    "flag_unlisted_stage",
    "flag_no_product",
    "flag_closed_before_created",
    "flag_other_currency",
)
UNKNOWN = "Unknown"
