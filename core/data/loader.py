"""Load a CRM export: read, validate against the data contract, repair known quirks, normalise, cut at as-of.

Row numbers in error messages are spreadsheet rows: the header is row 1, the first deal is row 2 (below
a report's title rows, the header's own row; see ``core.data.report_files``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.asof import cut_at
from core.data.contract import (
    ACCOUNTS,
    CANONICAL_STAGES,
    CLOSED_STAGES,
    CURRENCIES,
    DEAL_HISTORY,
    FILES,
    OPEN_STAGES,
    PIPELINE,
    PRODUCT_ALIASES,
    PRODUCTS,
    QUOTAS,
    SALES_TEAMS,
    UNKNOWN,
    FileSpec,
)
from core.data.crm import CRMData
from core.data.currency import corporate_currency, rate_per_deal, typed_rates
from core.data.history import HISTORY_FIELDS
from core.data.mapping import DEFAULT_MAPPING, LOOKUP_TARGETS, UNLISTED_STAGE, ColumnMapping, is_set
from core.data.quality import DataQualityReport, QualityItem, ReportLayout
from core.data.report_files import (
    example,
    filled,
    footer_start,
    header_index,
    layout_rows,
    read_workbook,
    skipped,
    split_footer,
    split_title,
)
from core.data.stage_entered import stage_entered_history
from core.errors import DataContractError, RowsBreakContract

HEADER_ROWS = 1


@dataclass(frozen=True)
class Source:
    """Where values come from, for error messages: the file as named on disk and its columns' own names."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, column: str) -> str:
        """The column's name as the user's export spells it (canonical name when not mapped)."""
        return self.labels.get(column, column)


def _source(mapping: ColumnMapping, spec: FileSpec) -> Source:
    """The on-disk file name and source column names of ``spec`` under ``mapping``."""
    labels = {
        canonical: mapping.source_column(spec.name, canonical) for canonical in spec.required + spec.optional
    }
    return Source(mapping.source_file(spec.name), labels)


def _as_found(mapping: ColumnMapping, root: Path) -> ColumnMapping:
    """``mapping`` with each CSV it names that ``root`` holds only as a workbook of the same stem
    (``opportunities.csv`` -> ``opportunities.xlsx``) renamed to that workbook, so that reading and every
    message name the file the user has; ``mapping`` itself when there is none."""
    workbooks = {}
    for spec in FILES:
        name = mapping.source_file(spec.name)
        workbook = Path(name).with_suffix(".xlsx")
        if Path(name).suffix.lower() == ".csv" and not (root / name).exists() and (root / workbook).exists():
            workbooks[spec.name.removesuffix(".csv")] = str(workbook)
    return replace(mapping, files={**mapping.files, **workbooks}) if workbooks else mapping


FALLBACK_ENCODINGS = ("cp1252", "latin-1")  # what exports outside English-speaking orgs often are


def _decode(raw: bytes, display: str, declared: str = "") -> tuple[str, str]:
    """(text, encoding) of a file: the mapping's declared encoding, else UTF-8 (BOM allowed), else cp1252,
    else latin-1 (which decodes any bytes). A file that the declared encoding cannot read is a one-line error
    naming the row and column of the first bad byte."""
    for encoding in (declared,) if declared else ("utf-8-sig", *FALLBACK_ENCODINGS):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            error = exc
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    row = raw[: error.start].count(b"\n") + 1
    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip().lstrip("\ufeff").split(",")
    field_index = raw[line_start : error.start].count(b",")
    column = header[field_index].strip() if row > 1 and field_index < len(header) else None
    raise DataContractError(
        display,
        f"not {declared} text (byte 0x{raw[error.start]:02x}); fix the mapping's encoding or re-export",
        column=column,
        row=row,
    ) from None


def _parse_csv(text: str, display: str, header_row: int = 1) -> pd.DataFrame:
    """All-string frame of a CSV text whose header is spreadsheet row ``header_row``; malformed rows give a
    one-line error with their spreadsheet row."""
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False)
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
        if fields:
            expected, line, seen = fields.groups()
            raise DataContractError(
                display,
                f"malformed CSV row: {seen} fields where the header has {expected} "
                "(an unquoted comma or stray quote?)",
                row=int(line) + header_row - 1,
            ) from None
        quote = re.search(r"EOF inside string starting at row (\d+)", detail)
        if quote:  # the C parser counts lines from 0 (header = 0): spreadsheet row is one more
            raise DataContractError(
                display,
                "malformed CSV: a quote opened here is never closed",
                row=int(quote.group(1)) + header_row,
            ) from None
        raise DataContractError(display, f"malformed CSV ({detail})") from None


def _check_header(text: str, display: str, row: int = 1) -> None:
    """One-line errors for a header that names a column twice or has a blank name (pandas would rename)."""
    _check_names(
        [name.strip() for name in next(csv.reader(io.StringIO(text.lstrip("\r\n"))), [])], display, row
    )


def _check_names(header: list[str], display: str, row: int) -> None:
    """One-line errors for column names given twice, or blank with named columns after it."""
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name == "" and any(header[position:]):
            raise DataContractError(display, f"header has a blank column name (column {position})", row=row)
        if name in seen:
            raise DataContractError(display, "column name appears twice in the header", column=name, row=row)
        seen.add(name)


def _spreadsheet_rows(
    text: str, columns: list[str], n_records: int, display: str, header_row: int = 1
) -> np.ndarray:
    """Spreadsheet row of each parsed record (the header is row ``header_row``); a one-line error at the
    first row with too few fields.

    pandas silently pads short rows and skips blank lines, which would shift row numbers. The fast path
    proves neither happened (one line per record, one comma per separator, no quotes); otherwise the
    file is re-scanned with the csv module, where a quoted multi-line cell is one row, as in a spreadsheet.
    """
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if '"' not in text and n_lines == n_records + 1 and text.count(",") == (len(columns) - 1) * n_lines:
        return np.arange(n_records, dtype=np.int64) + header_row + HEADER_ROWS
    rows: list[int] = []
    header_seen = False
    for row_number, record in enumerate(csv.reader(io.StringIO(text)), start=header_row):
        if not record:  # a blank line: pandas skips it, the spreadsheet still counts it
            continue
        if not header_seen:
            header_seen = True
            continue
        if len(record) < len(columns):
            raise DataContractError(
                display,
                f"malformed CSV row: {len(record)} fields where the header has {len(columns)} "
                "(a truncated row or a missing comma?)",
                column=str(columns[len(record)]).strip(),
                row=row_number,
            )
        rows.append(row_number)
    if len(rows) != n_records:  # cannot happen unless pandas and csv disagree on the dialect
        raise DataContractError(display, f"malformed CSV: {len(rows)} rows found, pandas read {n_records}")
    return np.asarray(rows, dtype=np.int64)


def _read_raw(path: Path, display: str, declared_encoding: str) -> tuple[pd.DataFrame, str]:
    """A plain CSV the mapping reads beside the export's tables (lookups, exchange rates): all-string cells,
    stripped header names and values, ``source_row`` (spreadsheet rows), and the encoding it was read in;
    one-line errors for encoding, emptiness and shape."""
    try:
        raw = path.read_bytes()
    except (IsADirectoryError, PermissionError):
        raise DataContractError(display, "cannot be read as a CSV file") from None
    if not raw.strip():
        raise DataContractError(display, "file is empty (no header, no rows)")
    text, encoding = _decode(raw, display, declared_encoding)
    _check_header(text, display, 1)
    frame = _parse_csv(text, display, 1)
    source_rows = _spreadsheet_rows(text, list(frame.columns), len(frame), display, 1)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    frame["source_row"] = source_rows
    return frame, encoding


def _read_csv(
    path: Path, source: Source, spec: FileSpec, mapping: ColumnMapping
) -> tuple[pd.DataFrame, str, ReportLayout]:
    """Read one CSV as strings (with the encoding it was read in and the report layout rows skipped), with
    one-line errors for encoding, emptiness, shape and missing columns."""
    display = source.name
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DataContractError(display, "is a directory, not a CSV file") from None
    except PermissionError:
        raise DataContractError(display, "cannot be read (permission denied)") from None
    if not raw.strip():
        raise DataContractError(display, "file is empty (no header, no rows)")
    text, encoding = _decode(raw, display, mapping.encoding)
    text, header_row, titles = split_title(text, source.label(spec.required[0]))
    text, footer = split_footer(text, header_row)
    _check_header(text, display, header_row)
    frame = _parse_csv(text, display, header_row)
    source_rows = _spreadsheet_rows(text, list(frame.columns), len(frame), display, header_row)
    frame, inside = _to_contract(frame, source_rows, source, spec, mapping)
    return frame, encoding, skipped(display, titles, inside, footer)


def _read_xlsx(
    path: Path, source: Source, spec: FileSpec, mapping: ColumnMapping
) -> tuple[pd.DataFrame, str, ReportLayout]:
    """Read the first worksheet of a workbook as the strings a CSV export would hold (no text encoding:
    ""), its report layout rows skipped and counted, with the CSV's one-line errors and Excel row numbers.
    A blank header cell names no column: what is under it is ignored, as unmapped columns are."""
    display = source.name
    rows = read_workbook(path, display, mapping.date_format)
    header = header_index(rows, source.label(spec.required[0]))
    if header is None:  # no row holds the key column: the first non-blank row is the header, as in a CSV
        header = next((i for i, cells in enumerate(rows) if filled(cells)), None)
        if header is None:
            raise DataContractError(display, "file is empty (no header, no rows)")
    titles = [example(i + 1, cells) for i, cells in enumerate(rows[:header]) if filled(cells)]
    names = [name.strip() for name in rows[header]]
    while names and not names[-1]:
        names.pop()
    _check_names([name for name in names if name], display, header + 1)
    body = rows[header + 1 :]
    end = footer_start([filled(cells) for cells in body])
    end = len(body) if end is None else end
    footer = [
        example(header + 2 + i, cells) for i, cells in enumerate(body[end:], start=end) if filled(cells)
    ]
    records = [(header + 2 + i, cells) for i, cells in enumerate(body[:end]) if filled(cells)]
    width = len(names)
    frame = pd.DataFrame(
        [(cells + [""] * width)[:width] for _, cells in records],
        columns=[name or f"(column {position})" for position, name in enumerate(names, start=1)],
        dtype=str,
    )
    source_rows = np.asarray([row for row, _ in records], dtype=np.int64)
    frame, inside = _to_contract(frame, source_rows, source, spec, mapping)
    return frame, "", skipped(display, titles, inside, footer)


def _to_contract(
    frame: pd.DataFrame, source_rows: np.ndarray, source: Source, spec: FileSpec, mapping: ColumnMapping
) -> tuple[pd.DataFrame, list[str]]:
    """The raw all-string table of one file as the contract's columns, stripped, with each row's spreadsheet
    row in ``source_row``; a pipeline's group header, subtotal and total rows are skipped and returned as
    examples (``core.data.report_files`` rule 3)."""
    display = source.name
    frame.columns = [str(c).strip() for c in frame.columns]
    inside: list[str] = []
    key = source.label("opportunity_id")
    if spec is PIPELINE and key in frame.columns:
        mapped = [source.label(c) for c in spec.required + spec.optional if source.label(c) in frame.columns]
        blank, layout = layout_rows(frame, key, mapped)
        inside = [
            example(int(row), frame.loc[index].tolist())
            for index, row in zip(frame.index[layout], source_rows[layout.to_numpy()], strict=True)
        ]
        keep = ~(blank | layout).to_numpy()
        frame, source_rows = frame.loc[keep].reset_index(drop=True), source_rows[keep]
    frame = mapping.apply(spec.name, frame)
    missing = [c for c in spec.required if c not in frame.columns]
    if missing:
        found = ", ".join(str(c) for c in frame.columns) or "none"
        raise DataContractError(
            display, f"required column missing (found: {found})", column=source.label(missing[0])
        )
    if frame.empty and spec.required_file:
        raise DataContractError(display, "file has a header but no rows")
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    frame["source_row"] = source_rows
    return frame, inside


def _first_bad(frame: pd.DataFrame, mask: pd.Series) -> tuple[int, pd.Series]:
    """Spreadsheet row number and contents of the first row where ``mask`` holds."""
    first = frame.loc[mask].iloc[0]
    return int(first["source_row"]), first


def _fail_if(frame: pd.DataFrame, mask: pd.Series, file: Source, column: str, problem: str) -> None:
    """Raise one line at the first row where ``mask`` holds (``{v}`` is its value), saying how many rows
    share the problem; the error carries them all (``RowsBreakContract``) for ``drop_invalid``."""
    if not bool(mask.any()):
        return
    row, first = _first_bad(frame, mask)
    ident = first.get("opportunity_id", "")
    suffix = f" ({file.label('opportunity_id')} {ident})" if ident and column != "opportunity_id" else ""
    count = int(mask.sum())
    share = (
        "" if count == 1 else f"; {count - 1:,} more row{'s share' if count > 2 else ' shares'} this problem"
    )
    values = frame.loc[mask, column] if column in frame.columns else pd.Series("", index=frame.index[mask])
    raise RowsBreakContract(
        file.name,
        problem.format(v=first.get(column, "")) + suffix + share,
        column=file.label(column),
        row=row,
        rows=frame.index[mask],
        reasons=values.map(lambda v: problem.format(v=v)),
    )


_NO_REJECTS = pd.DataFrame(
    {c: pd.Series(dtype=object) for c in ("file", "row", "opportunity_id", "column", "problem")}
)


def _rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows set aside, in the order they were found (an empty table when none was)."""
    return pd.concat(parts, ignore_index=True) if parts else _NO_REJECTS.copy()


def _set_aside(
    validate: Callable[[pd.DataFrame], pd.DataFrame], frame: pd.DataFrame, rejected: list[pd.DataFrame] | None
) -> pd.DataFrame:
    """``validate(frame)``; with ``rejected`` (``--drop-invalid``), rows that break a rule are moved there
    with their reason, rule by rule, and the rest validated again (without it the first break is an error)."""
    while True:
        try:
            return validate(frame)
        except RowsBreakContract as broken:
            if rejected is None:
                raise
            rows = frame.loc[broken.rows]
            rejected.append(
                pd.DataFrame(
                    {
                        "file": broken.file,
                        "row": rows["source_row"].to_numpy(),
                        "opportunity_id": rows.get(
                            "opportunity_id", pd.Series("", index=rows.index)
                        ).to_numpy(),
                        "column": broken.column,
                        "problem": broken.reasons.to_numpy(),
                    }
                )
            )
            frame = frame.drop(index=broken.rows)


def _parse_dates(frame: pd.DataFrame, column: str, file: Source, date_format: str) -> pd.Series:
    """Parse a date column to midnight of each day; blank is NaT, anything else unparsable is an error.

    A date-time whose date part has the format (``2024-03-15 10:42:00``, ``2024-03-15T10:42:00Z``,
    ``8/17/2025 3:45 PM``: CRM exports write record timestamps so) counts as its calendar day.
    """
    parsed = pd.to_datetime(frame[column], format=date_format, errors="coerce")
    timestamped = frame[column].ne("") & parsed.isna() & frame[column].str.contains(r"\d[ T]\d", regex=True)
    if timestamped.any():
        day = frame.loc[timestamped, column].str.split(r"[ T]", n=1, regex=True).str[0]
        parsed.loc[timestamped] = pd.to_datetime(day, format=date_format, errors="coerce")
    _fail_if(
        frame,
        frame[column].ne("") & parsed.isna(),
        file,
        column,
        "unparsable date '{v}' (expected "
        + date_format.replace("%", "").replace("Y", "YYYY").replace("m", "MM").replace("d", "DD")
        + ")",
    )
    return parsed.astype("datetime64[ns]").dt.normalize()  # a timestamp counts as its calendar day


def _parse_numbers(frame: pd.DataFrame, column: str, file: Source, allow_negative: bool = False) -> pd.Series:
    """Parse a numeric column; blank is NaN, anything else non-numeric (or negative) is an error."""
    parsed = pd.to_numeric(frame[column].str.replace(",", "", regex=False), errors="coerce")
    _fail_if(frame, frame[column].ne("") & parsed.isna(), file, column, "not a number: '{v}'")
    if not allow_negative:
        _fail_if(frame, parsed < 0, file, column, "negative value '{v}'")
    return parsed.astype(float)


def _validate_pipeline(
    frame: pd.DataFrame, file: Source, date_format: str, probability_scale: float = 100.0
) -> pd.DataFrame:
    """Check every pipeline rule and return typed columns; raise at the first violation."""
    _fail_if(frame, frame["opportunity_id"].eq(""), file, "opportunity_id", "blank opportunity_id")
    dup = frame["opportunity_id"].duplicated(keep="first")
    if dup.any():
        row, first = _first_bad(frame, dup)
        earlier = int(frame.loc[frame["opportunity_id"].eq(first["opportunity_id"]), "source_row"].iloc[0])
        raise DataContractError(
            file.name,
            f"duplicate opportunity_id '{first['opportunity_id']}' (first seen at row {earlier})",
            column=file.label("opportunity_id"),
            row=row,
        )
    _fail_if(
        frame,
        ~frame["deal_stage"].isin(CANONICAL_STAGES),
        file,
        "deal_stage",
        "unknown stage '{v}' (expected one of "
        + ", ".join(CANONICAL_STAGES)
        + "; map others in a column mapping)",
    )
    _fail_if(frame, frame["sales_agent"].eq(""), file, "sales_agent", "blank sales_agent")
    has_product = "product" in frame.columns
    if has_product:
        _fail_if(frame, frame["product"].eq(""), file, "product", "blank product")
    engage = _parse_dates(frame, "engage_date", file, date_format)
    close = _parse_dates(frame, "close_date", file, date_format)
    close_value = _parse_numbers(frame, "close_value", file)
    stage = frame["deal_stage"]
    closed = stage.isin(CLOSED_STAGES)
    _fail_if(
        frame,
        stage.ne("Prospecting") & engage.isna(),
        file,
        "engage_date",
        "missing engage_date on a deal past Prospecting",
    )
    _fail_if(
        frame, closed & close.isna(), file, "close_date", "missing close_date on a closed (Won/Lost) deal"
    )
    _fail_if(
        frame, stage.eq("Won") & close_value.isna(), file, "close_value", "missing close_value on a Won deal"
    )
    _fail_if(
        frame,
        stage.isin(OPEN_STAGES) & close.notna(),
        file,
        "close_date",
        "open deal has a close_date '{v}' (open deals must have it blank)",
    )
    _fail_if(
        frame,
        stage.isin(OPEN_STAGES) & close_value.notna(),
        file,
        "close_value",
        "open deal has a close_value '{v}' (open deals must have it blank; an expected value goes in amount)",
    )
    # entered after it closed (Salesforce deals are back-filled so): kept as closed, its age unknown
    closed_before_created = closed & (close < engage)
    typed = pd.DataFrame(
        {
            "opportunity_id": frame["opportunity_id"],
            "sales_agent": frame["sales_agent"],
            "product": frame["product"] if has_product else UNKNOWN,
            "flag_no_product": not has_product,
            "account": frame["account"],
            "deal_stage": stage,
            "engage_date": engage,
            "close_date": close,
            "close_value": close_value,
            "amount": _parse_numbers(frame, "amount", file) if "amount" in frame.columns else np.nan,
            "stage": frame["stage"] if "stage" in frame.columns else stage,
            **_rep_claims(frame, file, date_format, probability_scale),
            "deal_type": frame.get("deal_type", ""),
            "lead_source": frame.get("lead_source", ""),
            "deal_currency": frame.get("currency", ""),
            "modified_at": _parse_dates(frame, "modified_at", file, date_format)
            if "modified_at" in frame.columns
            else pd.NaT,
            "flag_unlisted_stage": frame.get(UNLISTED_STAGE, pd.Series("", index=frame.index)).eq("1"),
            "flag_closed_before_created": closed_before_created,
            "source_row": frame["source_row"],
        }
    )
    return typed


def _rep_claims(
    frame: pd.DataFrame, file: Source, date_format: str, probability_scale: float
) -> dict[str, pd.Series]:
    """The rep's own claims about a deal, typed: expected close date, forecast category, probability (the
    export's 0-100, or 0-1 with ``probability_scale`` 1, as a fraction); blank (NaT, "", NaN) when the export
    has no such column."""
    blank = pd.Series("", index=frame.index)
    probability = (
        _parse_numbers(frame, "rep_probability", file) / probability_scale
        if "rep_probability" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    _fail_if(
        frame,
        probability > 1,
        file,
        "rep_probability",
        "probability '{v}' is over " + ("100" if probability_scale == 100 else f"{probability_scale:g}"),
    )
    return {
        "rep_close_date": _parse_dates(
            frame.assign(rep_close_date=frame.get("rep_close_date", blank)),
            "rep_close_date",
            file,
            date_format,
        ),
        "forecast_category": frame.get("forecast_category", blank),
        "rep_probability": probability,
    }


def _validate_history(
    frame: pd.DataFrame, file: Source, date_format: str, probability_scale: float
) -> pd.DataFrame:
    """Typed history rows (``core.data.history``): a deal id and the day of each change; a blank field is
    one the row does not change (NaN)."""
    frame = _with_columns(frame, DEAL_HISTORY.optional)
    _fail_if(frame, frame["opportunity_id"].eq(""), file, "opportunity_id", "blank opportunity_id")
    _fail_if(frame, frame["changed_at"].eq(""), file, "changed_at", "blank changed_at")
    claims = _rep_claims(frame, file, date_format, probability_scale)
    return pd.DataFrame(
        {
            "opportunity_id": frame["opportunity_id"],
            "changed_at": _parse_dates(frame, "changed_at", file, date_format),
            "stage": frame["stage"].where(frame["stage"].ne("")),
            "amount": _parse_numbers(frame, "amount", file),
            "rep_close_date": claims["rep_close_date"],
            "forecast_category": claims["forecast_category"].where(claims["forecast_category"].ne("")),
            "rep_probability": claims["rep_probability"],
            "source_row": frame["source_row"],
        }
    )


def _typed_history(
    raw: pd.DataFrame, source: Source, mapping: ColumnMapping, rejected: list | None
) -> pd.DataFrame:
    """One history file's rows typed (bad rows set aside with --drop-invalid, else a one-line error)."""
    return _set_aside(
        lambda f: _validate_history(f, source, mapping.date_format, mapping.probability_scale), raw, rejected
    )


def _repaired_history(
    history: pd.DataFrame, deals: pd.DataFrame, stage_order: tuple[str, ...], file: str
) -> tuple[pd.DataFrame, tuple[QualityItem, ...]]:
    """The history rows that can describe a deal while it was open, and what was left out or noted: rows of
    deals the pipeline lacks and rows dated after the deal closed are left out (the close is the pipeline's
    fact); changes of one deal on one day apply in export order; a stage outside the open stages' order
    has no position."""
    known = deals.set_index("opportunity_id")
    close = history["opportunity_id"].map(known["close_date"])
    unknown = ~history["opportunity_id"].isin(known.index)
    after_close = close.notna() & (history["changed_at"] > close)
    same_day = history.duplicated(["opportunity_id", "changed_at"], keep=False) & ~unknown
    closed_names = set(known.loc[~known["deal_stage"].isin(OPEN_STAGES), "stage"])
    stages = history["stage"].dropna()
    unordered = stages[~stages.isin(stage_order) & ~stages.isin(closed_names)]
    checks = [
        (
            "history_unknown_deal",
            "opportunity_id",
            unknown,
            "left out",
            "history row of a deal the pipeline lacks",
        ),
        (
            "history_after_close",
            "changed_at",
            after_close,
            "left out: the pipeline's close is the deal's last fact",
            "history row dated after the deal closed",
        ),
        (
            "history_same_day",
            "changed_at",
            same_day,
            "applied in the export's order",
            "several changes of one deal on one day",
        ),
        (
            "history_stage_not_in_order",
            "stage",
            history["stage"].isin(set(unordered)),
            "kept; no stage position",
            "stage in the history that no open deal has (not in the stage order)",
        ),
    ]
    findings = tuple(
        QualityItem(
            code, file, column, int(mask.sum()), action, description, _examples_of(history, mask, column)
        )
        for code, column, mask, action, description in checks
        if mask.any()
    )
    kept = history.loc[~unknown & ~after_close, ["opportunity_id", "changed_at", *HISTORY_FIELDS]]
    return kept.reset_index(drop=True), findings


def _typed_quotas(
    frame: pd.DataFrame, file: Source, mapping: ColumnMapping, rates: pd.DataFrame, corporate: str
) -> tuple[pd.DataFrame, tuple[QualityItem, ...]]:
    """The quotas file typed: ``period_start``, ``owner`` ("" for the whole team) and ``quota`` in the
    corporate currency (converted at the period's start). Rows without an amount (Salesforce quantity
    quotas) and rows of another forecast type than the mapping's ``quota_forecast_type`` are left out and
    counted; quotas of several forecast types with none chosen would add up twice, a one-line error."""
    frame = _with_columns(frame, QUOTAS.optional)
    start = _parse_dates(frame, "period_start", file, mapping.date_format)
    _fail_if(
        frame, start.isna(), file, "period_start", "blank period start (the first day of the quota's period)"
    )
    amount = _parse_numbers(frame, "quota", file)
    kinds = frame["forecast_type"]
    chosen = mapping.quota_forecast_type
    if chosen and not kinds.eq(chosen).any():
        raise DataContractError(
            file.name,
            f"no quota of the forecast type '{chosen}' the mapping names as [options] quota_forecast_type",
            column=file.label("forecast_type"),
        )
    several = sorted(kinds[amount.notna()].unique())
    if not chosen and len(several) > 1:
        raise DataContractError(
            file.name,
            f"quotas of {len(several)} forecast types ({', '.join(several[:3])}) would add up twice; name "
            "the one to read as [options] quota_forecast_type in the mapping",
            column=file.label("forecast_type"),
        )
    other_type = kinds.ne(chosen) if chosen else pd.Series(False, index=frame.index)
    no_amount = amount.isna() & ~other_type
    keep = ~other_type & ~no_amount
    factor = _corporate_factor(frame, frame["currency"], start, file, rates, corporate, mapping, keep)
    checks = [
        ("quota_no_amount", "quota", no_amount, "quota without an amount (a quantity quota)"),
        (
            "quota_other_type",
            "forecast_type",
            other_type,
            "quota of another forecast type than the mapping's",
        ),
    ]
    findings = tuple(
        QualityItem(
            code,
            file.name,
            file.label(column),
            int(mask.sum()),
            "left out",
            description,
            _examples_of(frame, mask, column),
        )
        for code, column, mask, description in checks
        if mask.any()
    )
    quotas = pd.DataFrame(
        {
            "period_start": start[keep],
            "owner": frame.loc[keep, "owner"],
            "quota": (amount[keep] * factor[keep]).round(2),
        }
    )
    return quotas.reset_index(drop=True), findings


def _examples_of(frame: pd.DataFrame, mask: pd.Series, column: str) -> tuple[str, ...]:
    """A few distinct values of ``column`` where ``mask`` holds, as text."""
    return tuple(frame.loc[mask, column].astype(str).drop_duplicates().head(3))


def _validate_products(frame: pd.DataFrame, file: Source) -> pd.DataFrame:
    """Typed products table: unique product names and a non-negative list price."""
    _fail_if(frame, frame["product"].eq(""), file, "product", "blank product")
    _fail_if(frame, frame["product"].duplicated(), file, "product", "duplicate product '{v}'")
    return pd.DataFrame(
        {
            "product": frame["product"],
            "series": frame["series"],
            "sales_price": _parse_numbers(frame, "sales_price", file),
        }
    )


def _validate_accounts(frame: pd.DataFrame, file: Source) -> pd.DataFrame:
    """Typed accounts table: unique names; numeric revenue, employees and founding year."""
    _fail_if(frame, frame["account"].eq(""), file, "account", "blank account")
    _fail_if(frame, frame["account"].duplicated(), file, "account", "duplicate account '{v}'")
    frame = _with_columns(frame, ACCOUNTS.optional)
    return pd.DataFrame(
        {
            "account": frame["account"],
            "sector": frame["sector"].replace("", UNKNOWN),
            "account_year_established": _parse_numbers(frame, "year_established", file),
            "account_revenue": _parse_numbers(frame, "revenue", file),
            "account_employees": _parse_numbers(frame, "employees", file),
            "office_location": frame["office_location"],
            "subsidiary_of": frame["subsidiary_of"],
        }
    )


def _with_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with each of ``columns`` it lacks added blank (an attribute this CRM does not keep)."""
    return frame.assign(**{c: "" for c in columns if c not in frame.columns})


def _validate_teams(frame: pd.DataFrame, file: Source) -> pd.DataFrame:
    """Typed sales-team table: one row per rep."""
    _fail_if(frame, frame["sales_agent"].eq(""), file, "sales_agent", "blank sales_agent")
    _fail_if(frame, frame["sales_agent"].duplicated(), file, "sales_agent", "duplicate sales_agent '{v}'")
    teams = _with_columns(frame, SALES_TEAMS.optional)[["sales_agent", "manager", "regional_office"]]
    # a rep without a manager or office (top of the hierarchy, a CRM without divisions) rolls up as Unknown
    return teams.replace({"manager": {"": UNKNOWN}, "regional_office": {"": UNKNOWN}}).reset_index(drop=True)


def _empty(spec: FileSpec, columns: list[str]) -> pd.DataFrame:
    """An empty typed table standing in for an absent optional file."""
    return pd.DataFrame(
        {
            c: pd.Series(dtype="float64" if c.startswith(("account_", "sales_price")) else "object")
            for c in columns
        }
    )


def _hash_files(paths: list[Path], mapping: ColumnMapping = DEFAULT_MAPPING) -> str:
    """SHA-256 over the names and bytes of the files read (sorted), identifying the data version.

    A non-default column mapping is part of the data's meaning, so it is hashed too; the MavenTech
    schema hashes the files alone (hashes of plain exports never change).
    """
    digest = hashlib.sha256()
    if mapping != DEFAULT_MAPPING:
        digest.update(repr(mapping).encode())
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _normalise(
    pipeline: pd.DataFrame, accounts: pd.DataFrame, products: pd.DataFrame, teams: pd.DataFrame
) -> pd.DataFrame:
    """Repair known quirks, flag unknown references and join hierarchy, product and account attributes."""
    deals = pipeline.copy()
    alias = deals["product"].isin(list(PRODUCT_ALIASES)) & ~deals["product"].isin(products["product"])
    deals["flag_product_alias"] = alias
    deals["product"] = deals["product"].where(~alias, deals["product"].map(PRODUCT_ALIASES))
    deals["flag_blank_account"] = deals["account"].eq("")
    deals["flag_no_engage_date"] = deals["engage_date"].isna()
    deals["flag_unknown_agent"] = ~deals["sales_agent"].isin(teams["sales_agent"]) if len(teams) else False
    partial = teams["manager"].eq(UNKNOWN) | teams["regional_office"].eq(UNKNOWN)
    deals["flag_rep_without_team"] = deals["sales_agent"].isin(teams.loc[partial, "sales_agent"])
    deals["flag_unknown_product"] = (
        ~deals["product"].isin(products["product"]) & ~deals["flag_no_product"] if len(products) else False
    )
    deals["flag_unknown_account"] = (
        ~deals["account"].isin(accounts["account"]) & ~deals["flag_blank_account"] if len(accounts) else False
    )
    deals = deals.merge(teams, on="sales_agent", how="left", validate="many_to_one")
    deals = deals.merge(
        products.rename(columns={"sales_price": "list_price"}),
        on="product",
        how="left",
        validate="many_to_one",
    )
    deals = deals.merge(
        accounts[["account", "sector", "account_revenue", "account_employees", "account_year_established"]],
        on="account",
        how="left",
        validate="many_to_one",
    )
    for column in ("manager", "regional_office", "series", "sector"):
        deals[column] = deals[column].fillna(UNKNOWN)
    deals["account"] = deals["account"].astype(object)
    deals["list_price"] = deals["list_price"].astype(float)
    for flag in [c for c in deals.columns if c.startswith("flag_")]:
        deals[flag] = deals[flag].astype(bool)
    return deals


def _find(root: Path, name: str) -> Path:
    """The file ``name`` in ``root``; a name with ``*`` (HubSpot dates its export files) matches exactly one
    file, else a one-line error lists them (no match: the pattern's path, reported as missing)."""
    if "*" not in name:
        return root / name
    matches = sorted(root.glob(name))
    if len(matches) > 1:
        listed = ", ".join(m.name for m in matches[:3])
        raise DataContractError(name, f"{len(matches)} files match in {root} ({listed}); keep one")
    return matches[0] if matches else root / name


def _resolve_lookups(frames: dict[str, pd.DataFrame], root: Path, mapping: ColumnMapping) -> list[Path]:
    """Replace the ids an export holds (owners, accounts) by names from the mapping's [lookups] files, in
    every column that holds such ids; returns the files read. Two records with one name keep their id beside
    it; an id the lookup file lacks stays as it is (then reported as an unknown rep or account)."""
    read: list[Path] = []
    for target, lookup in mapping.lookups.items():
        path = root / lookup.file
        if not path.exists():
            continue
        table, _ = _read_raw(path, lookup.file, mapping.encoding)
        for column in (lookup.id, *lookup.name):
            if column not in table.columns:
                raise DataContractError(
                    lookup.file, f"column named in the mapping's [lookups.{target}] is missing", column=column
                )
        ids = table[lookup.id].str.strip()
        names = table[list(lookup.name)].apply(lambda c: c.str.strip()).agg(" ".join, axis=1).str.strip()
        names = names.where(names.ne(""), ids)
        twice = names.duplicated(keep=False)
        by_id = dict(zip(ids, names.where(~twice, names + " (" + ids + ")"), strict=True))
        for canonical, columns in LOOKUP_TARGETS[target].items():
            frame = frames.get(f"{canonical}.csv")
            for column in columns if frame is not None else ():
                if column in frame.columns:
                    frame[column] = frame[column].map(by_id).fillna(frame[column])
        read.append(path)
    return read


def _without_deleted(frame: pd.DataFrame, mapping: ColumnMapping) -> tuple[pd.DataFrame, int]:
    """The pipeline without the rows the export marks deleted (Salesforce IsDeleted), and their count."""
    flag = mapping.outcome.deleted
    if not flag or flag not in frame.columns:
        return frame, 0
    deleted = is_set(frame[flag])
    return frame.loc[~deleted], int(deleted.sum())


def _corporate_factor(
    frame: pd.DataFrame,
    codes: pd.Series,
    on: pd.Series,
    file: Source,
    rates: pd.DataFrame,
    corporate: str,
    mapping: ColumnMapping,
    needed: pd.Series | None = None,
) -> pd.Series:
    """Each row's multiplier from its currency ``codes`` to ``corporate`` on the dates ``on``; a currency
    without a rate (on the ``needed`` rows, default all) is a one-line error at its first row."""
    factor = rate_per_deal(codes, on, rates, corporate, mapping.rate_style == "units_per_corporate")
    _fail_if(
        frame,
        factor.isna() if needed is None else needed & factor.isna(),
        file,
        "currency",
        "currency '{v}' has no exchange rate to " + corporate + " (add it to the currencies file)",
    )
    return factor


def _in_corporate_currency(
    typed: pd.DataFrame,
    frame: pd.DataFrame,
    file: Source,
    rates: pd.DataFrame,
    corporate: str,
    mapping: ColumnMapping,
) -> pd.DataFrame:
    """``typed`` with amount and close value in the corporate currency (to the cent); a currency without a
    rate is a one-line error at its first row."""
    on = typed["close_date"].fillna(typed["rep_close_date"]).fillna(typed["engage_date"])
    factor = _corporate_factor(frame, typed["deal_currency"], on, file, rates, corporate, mapping)
    other = factor.ne(1.0) | (
        typed["deal_currency"].str.upper().ne(corporate) & typed["deal_currency"].ne("")
    )
    return typed.assign(
        amount=(typed["amount"] * factor).round(2).where(other, typed["amount"]),
        close_value=(typed["close_value"] * factor).round(2).where(other, typed["close_value"]),
        flag_other_currency=other,
    )


def _stage_order(frame: pd.DataFrame, mapping: ColumnMapping) -> tuple[str, ...]:
    """The open stages' names in their order: as the mapping lists them, then by the export's stage sort
    order, else by the rep's probability (median per stage), then Prospecting before Engaging, then as first
    seen. A stage's place never depends on stages after it (an earlier cut sees fewer)."""
    if "stage" not in frame.columns:
        return ()
    # deals never engaged have no place in the order (no date, no history, not scored)
    dated = frame["engage_date"].ne("") if "engage_date" in frame.columns else True
    open_rows = frame["deal_stage"].isin(OPEN_STAGES) & frame["stage"].ne("") & dated
    names = frame.loc[open_rows, "stage"]
    listed = [name for name, state in mapping.stages.items() if state in OPEN_STAGES]
    key = next((c for c in (mapping.outcome.stage_order, "rep_probability") if c and c in frame.columns), "")
    rank = (
        pd.to_numeric(frame.loc[open_rows, key].str.replace(",", "", regex=False), errors="coerce")
        .groupby(names, sort=False)
        .median()
        if key
        else pd.Series(dtype=float)
    )
    seen = list(dict.fromkeys(names))
    return tuple(
        sorted(
            seen,
            key=lambda n: (
                listed.index(n) if n in listed else len(listed),
                rank.get(n, np.inf) if pd.notna(rank.get(n, np.nan)) else np.inf,
                OPEN_STAGES.index(n) if n in OPEN_STAGES else len(OPEN_STAGES),
                seen.index(n),
            ),
        )
    )


def read_crm(
    data_dir: str | Path, mapping: ColumnMapping = DEFAULT_MAPPING, drop_invalid: bool = False
) -> CRMData:
    """Read and validate the whole export in ``data_dir`` (no cut yet: as_of is the export's latest date).

    With ``drop_invalid`` rows that break the contract are set aside (``CRMData.rejected``, with the file,
    spreadsheet row, column and reason) instead of stopping the load at the first one.
    """
    rejected: list[pd.DataFrame] | None = [] if drop_invalid else None
    root = Path(data_dir)
    if not root.is_dir():
        problem = "is a file, not a data directory" if root.exists() else "data directory not found"
        raise DataContractError(str(root), problem)
    mapping = _as_found(mapping, root)
    frames: dict[str, pd.DataFrame] = {}
    read_paths: list[Path] = []
    missing_files: list[str] = []
    decoded_as: list[tuple[str, str]] = []  # files that were not UTF-8, and what they were read as
    layout: list[ReportLayout] = []  # report title, subtotal and footer rows skipped, per file
    for spec in (*FILES, QUOTAS):  # quotas too: their owners are resolved below as reps are
        source_name = mapping.source_file(spec.name)
        path = _find(root, source_name)
        source_name = path.name
        if not path.exists():
            if spec.required_file:
                raise DataContractError(source_name, f"required file not found in {root}")
            if spec in FILES:  # an export without quotas lacks nothing the analysis reads
                missing_files.append(source_name)
            continue
        read = _read_xlsx if path.suffix.lower() == ".xlsx" else _read_csv
        frames[spec.name], encoding, skipped_rows = read(path, _source(mapping, spec), spec, mapping)
        if encoding and encoding not in ("utf-8-sig", mapping.encoding):  # a workbook has no text encoding
            decoded_as.append((source_name, encoding))
        if skipped_rows.count:
            layout.append(skipped_rows)
        read_paths.append(path)
    read_paths += _resolve_lookups(frames, root, mapping)
    frames[PIPELINE.name], deleted = _without_deleted(frames[PIPELINE.name], mapping)
    rate_frames = []
    for name in mapping.source_files(CURRENCIES.name):
        if (root / name).exists():
            frame, _ = _read_raw(root / name, name, mapping.encoding)
            rate_frames.append((name, mapping.apply(CURRENCIES.name, frame)))
            read_paths.append(root / name)
    rates, flagged = typed_rates(rate_frames, mapping.date_format)
    codes = frames[PIPELINE.name].get("currency", pd.Series("", dtype=object))
    corporate = corporate_currency(mapping, flagged, rates, codes)
    pipeline_name = _find(root, mapping.source_file(PIPELINE.name)).name
    pipeline_source = _source(mapping, PIPELINE)

    def validate_pipeline(frame: pd.DataFrame) -> pd.DataFrame:
        typed = _validate_pipeline(frame, pipeline_source, mapping.date_format, mapping.probability_scale)
        return _in_corporate_currency(typed, frame, pipeline_source, rates, corporate, mapping)

    pipeline = _set_aside(validate_pipeline, frames[PIPELINE.name], rejected)
    stage_order = _stage_order(frames[PIPELINE.name], mapping)
    history, history_findings = None, ()
    history_name, typed_parts = "", []
    for name in mapping.source_files(DEAL_HISTORY.name):  # OpportunityHistory, OpportunityFieldHistory, ...
        history_path = _find(root, name)
        if not history_path.exists():
            continue
        source = replace(_source(mapping, DEAL_HISTORY), name=history_path.name)
        read = _read_xlsx if history_path.suffix.lower() == ".xlsx" else _read_csv
        raw_history, _, _ = read(history_path, source, DEAL_HISTORY, mapping)
        read_paths.append(history_path)
        typed_parts.append(_typed_history(raw_history, source, mapping, rejected))
        history_name = ", ".join(filter(None, (history_name, history_path.name)))
    if not typed_parts and mapping.stage_entered:  # no history file: the pipeline's "date entered" columns
        key = pipeline_source.label("opportunity_id")
        labels = {"opportunity_id": key, "changed_at": mapping.stage_entered}
        history_name = pipeline_name
        entered = stage_entered_history(frames[PIPELINE.name], mapping.stage_entered, mapping.date_format)
        if len(entered):
            typed_parts.append(_typed_history(entered, Source(pipeline_name, labels), mapping, rejected))
    if typed_parts:
        typed = pd.concat(typed_parts, ignore_index=True)  # files in the mapping's order, rows in theirs
        currency = (
            typed["opportunity_id"].map(pipeline.set_index("opportunity_id")["deal_currency"]).fillna("")
        )
        factor = rate_per_deal(
            currency, typed["changed_at"], rates, corporate, mapping.rate_style == "units_per_corporate"
        )
        typed["amount"] = (typed["amount"] * factor).round(2)
        history, history_findings = _repaired_history(typed, pipeline, stage_order, history_name)
    quotas, quota_findings = None, ()
    if QUOTAS.name in frames:
        quotas, quota_findings = _typed_quotas(
            frames.pop(QUOTAS.name), _source(mapping, QUOTAS), mapping, rates, corporate
        )
    products = (
        _set_aside(
            lambda f: _validate_products(f, _source(mapping, PRODUCTS)), frames[PRODUCTS.name], rejected
        )
        if PRODUCTS.name in frames
        else _empty(PRODUCTS, ["product", "series", "sales_price"])
    )
    accounts = (
        _set_aside(
            lambda f: _validate_accounts(f, _source(mapping, ACCOUNTS)), frames[ACCOUNTS.name], rejected
        )
        if ACCOUNTS.name in frames
        else _empty(
            ACCOUNTS,
            [
                "account",
                "sector",
                "account_year_established",
                "account_revenue",
                "account_employees",
                "office_location",
                "subsidiary_of",
            ],
        )
    )
    teams = (
        _set_aside(
            lambda f: _validate_teams(f, _source(mapping, SALES_TEAMS)), frames[SALES_TEAMS.name], rejected
        )
        if SALES_TEAMS.name in frames
        else _empty(SALES_TEAMS, ["sales_agent", "manager", "regional_office"])
    )
    deals = _normalise(pipeline, accounts, products, teams)
    # the export's date is its latest record timestamp (creation, close, last change); never a rep's claim
    stamps = [deals["engage_date"], deals["modified_at"]]
    if history is not None:
        stamps.append(history["changed_at"])
    export_end = pd.concat(
        stamps if deals["modified_at"].notna().any() else [*stamps, deals["close_date"]]
    ).max()
    if pd.isna(export_end):
        raise DataContractError(
            pipeline_name, "no engage_date or close_date anywhere: nothing to date the export"
        )
    full = CRMData(
        deals=deals,
        accounts=accounts,
        products=products,
        sales_teams=teams,
        as_of=pd.Timestamp(export_end),
        export_end=pd.Timestamp(export_end),
        quality=DataQualityReport(as_of="", n_deals=0, n_open=0, pipeline_file=pipeline_name),
        data_dir=str(root),
        data_hash=_hash_files(read_paths, mapping),
        missing_files=tuple(missing_files),
        decoded_as=tuple(decoded_as),
        deleted_rows=deleted,
        stage_order=stage_order,
        history=history,
        load_findings=history_findings + quota_findings,
        quotas=quotas,
        currency=corporate,
        layout_rows=tuple(layout),
        mapping=mapping,
        rejected=None if rejected is None else _rejects(rejected),
    )
    return cut_at(full, full.export_end)


def load_crm(
    data_dir: str | Path,
    as_of: str | pd.Timestamp | None = None,
    mapping: ColumnMapping = DEFAULT_MAPPING,
    drop_invalid: bool = False,
) -> CRMData:
    """Load the export in ``data_dir`` as it stood on ``as_of`` (default: the latest date in the data)."""
    full = read_crm(data_dir, mapping, drop_invalid)
    return full if as_of is None else cut_at(full, as_of)
