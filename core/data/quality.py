"""The data-quality report: what each load found in the export and what was done about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from core.data.contract import PRODUCT_ALIASES


@dataclass(frozen=True)
class QualityItem:
    """One kind of issue found in the data, how many rows it touches and what the loader did."""

    code: str
    file: str
    column: str
    count: int
    action: str
    description: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataQualityReport:
    """All quality findings of one load, at one as-of date; serialisable to JSON for the app."""

    as_of: str
    n_deals: int
    n_open: int
    items: tuple[QualityItem, ...] = field(default_factory=tuple)
    pipeline_file: str = "sales_pipeline.csv"

    def count(self, code: str) -> int:
        """Rows affected by the issue ``code`` (0 when it was not found)."""
        return sum(item.count for item in self.items if item.code == code)

    def to_dict(self) -> dict:
        """Plain-JSON form, written into predictions_metadata.json."""
        return {
            "as_of": self.as_of,
            "n_deals": self.n_deals,
            "n_open": self.n_open,
            "pipeline_file": self.pipeline_file,
            "items": [{**asdict(item), "examples": list(item.examples)} for item in self.items],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per finding, for display."""
        return pd.DataFrame(
            [asdict(item) for item in self.items], columns=list(QualityItem.__dataclass_fields__)
        )


def _examples(deals: pd.DataFrame, mask: pd.Series, column: str, limit: int = 3) -> tuple[str, ...]:
    """A few distinct example values (as text) of ``column`` where ``mask`` holds."""
    values = deals.loc[mask, column].astype(str).drop_duplicates().head(limit)
    return tuple(values.tolist())


def _alias_examples(deals: pd.DataFrame, mask: pd.Series) -> tuple[str, ...]:
    """The spelling repairs made, as 'GTXPro -> GTX Pro'."""
    repaired = set(deals.loc[mask, "product"])
    return tuple(
        f"{alias} -> {canonical}"
        for alias, canonical in sorted(PRODUCT_ALIASES.items())
        if canonical in repaired
    )


def assess_quality(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    stale_threshold_days: float | None,
    excluded_undated: int = 0,
    missing_files: tuple[str, ...] = (),
    pipeline_file: str = "sales_pipeline.csv",
    rejected: pd.DataFrame | None = None,
    decoded_as: tuple[tuple[str, str], ...] = (),
    currency: str = "USD",
    deleted_rows: int = 0,
    export_end: pd.Timestamp | None = None,
) -> DataQualityReport:
    """Count every repaired or flagged quirk among the deals present at ``as_of``."""
    file = pipeline_file
    open_deals = deals["is_open"]
    checks: list[tuple[str, str, pd.Series, str, str, str]] = [
        (
            "product_alias",
            "product",
            deals["flag_product_alias"],
            "product",
            "renamed to the products.csv spelling",
            "product name spelled differently from products.csv",
        ),
        (
            "blank_account",
            "account",
            deals["flag_blank_account"] & open_deals,
            "opportunity_id",
            "kept; account features left unknown",
            "open deal with a blank account",
        ),
        (
            "blank_account_closed",
            "account",
            deals["flag_blank_account"] & ~open_deals,
            "opportunity_id",
            "kept; account features left unknown",
            "closed deal with a blank account",
        ),
        (
            "unknown_account",
            "account",
            deals["flag_unknown_account"],
            "account",
            "kept; account features left unknown",
            "account not listed in accounts.csv",
        ),
        (
            "unknown_sales_agent",
            "sales_agent",
            deals["flag_unknown_agent"],
            "sales_agent",
            "kept; manager and office set to Unknown",
            "sales agent not listed in sales_teams.csv",
        ),
        (
            "unknown_product",
            "product",
            deals["flag_unknown_product"],
            "product",
            "kept; list price unknown, value from amount or won history",
            "product not listed in products.csv",
        ),
        (
            "prospecting_without_engage_date",
            "engage_date",
            deals["flag_no_engage_date"],
            "opportunity_id",
            "kept, not scored: no deal in the history was scored before engagement",
            "Prospecting deal without engage_date",
        ),
        (
            "no_product_column",
            "product",
            deals["flag_no_product"],
            "opportunity_id",
            "product set to Unknown; deal values from amounts or past won deals",
            "the export has no product per deal",
        ),
        (
            "unlisted_stage",
            "deal_stage",
            deals["flag_unlisted_stage"],
            "stage",
            "kept as an open deal under its own stage name; list it in the mapping's [stages]",
            "stage the column mapping does not list",
        ),
        (
            "closed_before_created",
            "close_date",
            deals["flag_closed_before_created"],
            "opportunity_id",
            "kept as closed; its age unknown, so it adds nothing to time-to-close and cycle figures",
            "closed deal whose close date is before it was created (entered after it closed)",
        ),
        (
            "other_currency",
            "currency",
            deals["flag_other_currency"],
            "deal_currency",
            f"amounts converted to {currency}",
            "deal in another currency than the corporate one",
        ),
        (
            "closed_after_export",
            "close_date",
            ~open_deals & (deals["close_date"] > export_end)
            if export_end is not None
            else open_deals & False,
            "opportunity_id",
            "kept closed as the CRM has it",
            "closed deal dated after the export's date (its latest record timestamp)",
        ),
        (
            "stale_open_deal",
            "engage_date",
            deals["stale"],
            "opportunity_id",
            "flagged stale; treated explicitly in the forecast",
            f"open deal older than every deal that ever closed ({stale_threshold_days:.0f} days)"
            if stale_threshold_days is not None
            else "open deal older than every deal that ever closed",
        ),
    ]
    items = [
        QualityItem(
            code,
            file,
            column,
            int(mask.sum()),
            action,
            description,
            _alias_examples(deals, mask) if code == "product_alias" else _examples(deals, mask, example_col),
        )
        for code, column, mask, example_col, action, description in checks
        if int(mask.sum()) > 0
    ]
    if excluded_undated:
        items.append(
            QualityItem(
                "undated_prospecting_excluded",
                file,
                "engage_date",
                excluded_undated,
                "left out of this historical as-of cut",
                "Prospecting deal without engage_date: its creation date is unknown, so it cannot be placed "
                "before an as-of date earlier than the export",
            )
        )
    if rejected is not None:  # rows set aside by --drop-invalid, one finding per file and rule
        for (name, column, rule), rows in rejected.groupby(
            ["file", "column", rejected["problem"].str.replace(r"'[^']*'", "'...'", regex=True)], sort=False
        ):
            items.append(
                QualityItem(
                    "rejected_row",
                    str(name),
                    str(column),
                    len(rows),
                    "set aside in rejected_rows.csv (--drop-invalid)",
                    f"row breaks the data contract: {rule}",
                    tuple(rows["row"].astype(str).head(3)),
                )
            )
    if deleted_rows:
        items.append(
            QualityItem(
                "deleted_record",
                file,
                "",
                deleted_rows,
                "left out",
                "row the export marks deleted",
            )
        )
    for name, encoding in decoded_as:
        items.append(
            QualityItem(
                "not_utf8_file",
                name,
                "",
                0,
                f"read as {encoding}",
                f"file is not UTF-8; read as {encoding} (declare encoding in the mapping's [options] if not)",
            )
        )
    for name in missing_files:
        items.append(
            QualityItem(
                "missing_optional_file",
                name,
                "",
                0,
                "features from it left unknown",
                f"optional file {name} is absent",
            )
        )
    return DataQualityReport(
        as_of=as_of.strftime("%Y-%m-%d"),
        n_deals=len(deals),
        n_open=int(open_deals.sum()),
        items=tuple(items),
        pipeline_file=pipeline_file,
    )
