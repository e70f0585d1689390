"""The loaded export as every stage sees it: :class:`CRMData`, and how a cut gets its quality report."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from core.data.mapping import DEFAULT_MAPPING, ColumnMapping
from core.data.quality import DataQualityReport, QualityItem, ReportLayout, assess_quality


@dataclass(frozen=True)
class CRMData:
    """A validated, normalised CRM export as it stood on ``as_of``.

    ``deals`` has the columns of ``core.data.contract.DEAL_COLUMNS``: one row per deal present at
    ``as_of``, typed (datetimes, floats, booleans), with rep hierarchy, product and account attributes
    joined in. ``export_end`` is the latest date in the whole export, whatever the cut.
    """

    deals: pd.DataFrame
    accounts: pd.DataFrame
    products: pd.DataFrame
    sales_teams: pd.DataFrame
    as_of: pd.Timestamp
    export_end: pd.Timestamp
    quality: DataQualityReport
    data_dir: str
    data_hash: str
    missing_files: tuple[str, ...] = ()
    decoded_as: tuple[tuple[str, str], ...] = ()  # (file, encoding) of files that were not UTF-8
    layout_rows: tuple[ReportLayout, ...] = ()  # report title, subtotal and footer rows skipped, per file
    currency: str = "USD"  # the corporate currency every amount was converted to
    deleted_rows: int = 0  # rows the export marks deleted, left out
    stage_order: tuple[str, ...] = ()  # the open stages' own names in the CRM's order
    history: pd.DataFrame | None = (
        None  # the field history (core.data.history), None when the export has none
    )
    load_findings: tuple[QualityItem, ...] = ()  # what reading found whatever the cut (history repairs)
    # sales targets (core.data.contract QUOTAS: period_start, owner, quota in the corporate currency), None
    # when the export has no quotas file
    quotas: pd.DataFrame | None = None
    mapping: ColumnMapping = DEFAULT_MAPPING  # how the export was read (its name and file go to the metadata)
    rejected: pd.DataFrame | None = (
        None  # rows set aside by --drop-invalid: file, row, opportunity_id, column, problem
    )

    @property
    def open_ids(self) -> pd.Series:
        """The ``opportunity_id`` of every deal open at ``as_of``, in ``deals``' row order."""
        return self.deals.loc[self.deals["is_open"], "opportunity_id"]


def with_quality(
    crm: CRMData, deals: pd.DataFrame, as_of: pd.Timestamp, stale_days: float | None, excluded_undated: int
) -> CRMData:
    """A copy of ``crm`` holding ``deals`` at ``as_of`` with a freshly assessed quality report."""
    quality = assess_quality(
        deals,
        as_of,
        stale_days,
        excluded_undated,
        crm.missing_files,
        crm.quality.pipeline_file,
        crm.rejected,
        crm.decoded_as,
        crm.currency,
        crm.deleted_rows,
        crm.export_end,
        crm.layout_rows,
        crm.load_findings,
    )
    return replace(crm, deals=deals, as_of=as_of, quality=quality)
