"""Spreadsheet-safe, deterministic CSV text (and its Parquet twin) for exported frames (pure: returns bytes,
writes nothing).

Neutralisation: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return would be read
as a formula by Excel, LibreOffice or Google Sheets; it gets a leading apostrophe (OWASP CSV-injection
advice), which spreadsheets show as plain text. Numbers and dates are never touched.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")  # "-4.0" is a number to a spreadsheet, never a formula


def neutralise_cell(text: str) -> str:
    """Prefix an apostrophe to a text cell a spreadsheet would execute as a formula (a plain signed number,
    such as a feature value of -4, is left as it is)."""
    return "'" + text if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text) else text


def neutralise_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are all spreadsheet-safe."""
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            is_text = series.map(lambda v: isinstance(v, str)) if series.dtype == object else None
            text = series.where(is_text) if is_text is not None else series
            starts = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            risky = starts & ~text.str.fullmatch(PLAIN_NUMBER).fillna(False).astype(bool)
            if risky.any():
                safe[column] = series.where(~risky, "'" + text.where(risky, ""))
    return safe


def exported(
    frame: pd.DataFrame, decimals: dict[str, int] | None = None, default_decimals: int = 6
) -> pd.DataFrame:
    """What an output file holds: text cells spreadsheet-safe, floats rounded (``decimals``, else 6)."""
    rounded = neutralise_text_columns(frame)
    decimals = decimals or {}
    for column in rounded.columns:
        if pd.api.types.is_float_dtype(rounded[column]):
            rounded[column] = rounded[column].round(decimals.get(column, default_decimals))
    return rounded


def csv_bytes(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> bytes:
    """Deterministic, spreadsheet-safe CSV bytes: floats rounded, dates as YYYY-MM-DD, '\\n' line ends."""
    text = exported(frame, decimals).to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return text.encode("utf-8")


def parquet_bytes(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> bytes:
    """The same table as :func:`csv_bytes` as Parquet (dates as dates), for readers that want it fast."""
    buffer = io.BytesIO()
    exported(frame, decimals).to_parquet(buffer, index=False, engine="pyarrow", compression="snappy")
    return buffer.getvalue()
