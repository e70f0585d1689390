"""The as-of cut: the CRM exactly as it stood on one date (ARCHITECTURE section 2)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from core.data.contract import CLOSED_STAGES, DEAL_COLUMNS, OPEN_STAGES
from core.data.crm import CRMData, with_quality
from core.data.history import HISTORY_FIELDS, state_at
from core.errors import UsageError

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_as_of(value: str | pd.Timestamp) -> pd.Timestamp:
    """Parse an as-of date (YYYY-MM-DD) to a midnight Timestamp, with a one-line error otherwise."""
    if isinstance(value, str) and not ISO_DATE.fullmatch(value.strip()):
        raise UsageError(f"--as-of '{value}' is not a date (use YYYY-MM-DD)")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UsageError(f"--as-of '{value}' is not a date (use YYYY-MM-DD)") from None
    if pd.isna(stamp):
        raise UsageError(f"--as-of '{value}' is not a date (use YYYY-MM-DD)")
    return stamp.normalize()


def cycle_days(deals: pd.DataFrame) -> pd.Series:
    """Days from engagement to close of each closed deal; NaN while open and where the age is unknown (a deal
    entered in the CRM after it closed)."""
    days = (deals["close_date"] - deals["engage_date"]).dt.days.astype(float)
    return days.where(days >= 0)


def stale_threshold_days(deals: pd.DataFrame) -> float | None:
    """Longest engage-to-close time of any deal closed so far (None when nothing has closed)."""
    closed = deals["deal_stage"].isin(CLOSED_STAGES)
    if not closed.any():
        return None
    longest = cycle_days(deals.loc[closed]).max()
    return None if pd.isna(longest) else float(longest)


def cut_at(crm: CRMData, as_of: str | pd.Timestamp) -> CRMData:
    """Return the CRM as it stood at the end of ``as_of``.

    Deals engaged after ``as_of`` are absent; deals closed after it are open (Engaging) with blank close
    fields; Prospecting deals without an engage date exist only at or after the export's end (their
    creation date is unknown). Ages, staleness and the quality report are computed at ``as_of``.
    Cutting can only go back in time from what ``crm`` holds, never forward past a previous cut.
    """
    stamp = parse_as_of(as_of)
    if stamp > crm.as_of and crm.as_of < crm.export_end:
        raise UsageError(
            f"as-of {stamp:%Y-%m-%d} is after this cut's date {crm.as_of:%Y-%m-%d}; cut the full export"
        )
    deals = crm.deals
    undated = deals["engage_date"].isna()
    keep = (deals["engage_date"] <= stamp) | (undated & (stamp >= crm.export_end))
    if not keep.any():
        first = deals["engage_date"].min()
        raise UsageError(
            f"as-of {stamp:%Y-%m-%d} is before the first engage_date in the data ({first:%Y-%m-%d})"
        )
    # undated deals a previous cut already left out still count, so that cuts compose exactly
    excluded_undated = int((undated & ~keep).sum()) + crm.quality.count("undated_prospecting_excluded")
    cut = deals.loc[keep].copy()
    # at the export's own date a deal stays as the CRM has it, even closed with a date after the export's
    closed_later = (cut["close_date"] > stamp) & (stamp < crm.export_end)
    cut.loc[closed_later, "deal_stage"] = "Engaging"
    cut.loc[closed_later, "stage"] = ""  # the CRM's stage at the as-of date is unknown without its history
    if stamp < crm.export_end:  # the rep's claims as exported may postdate a past as-of date: unknown then
        cut["rep_close_date"] = pd.NaT
        cut["forecast_category"] = ""
        cut["rep_probability"] = np.nan
    cut.loc[closed_later, "close_date"] = pd.NaT
    cut.loc[closed_later, "close_value"] = np.nan
    history = crm.history
    if history is not None:  # every historied field of an open deal as it stood at the as-of date
        history = history.loc[history["changed_at"] <= stamp]
        replayed = state_at(history, cut["opportunity_id"], stamp, crm.stage_order)
        still_open = cut["deal_stage"].isin(OPEN_STAGES)
        for column in HISTORY_FIELDS:
            known = replayed[column].notna() & still_open
            cut[column] = cut[column].where(~known, replayed[column])
    cut["is_open"] = cut["deal_stage"].isin(OPEN_STAGES)
    cut["is_won"] = cut["deal_stage"].eq("Won")
    cut["age_days"] = (stamp - cut["engage_date"]).dt.days.astype(float)
    threshold = stale_threshold_days(cut)
    cut["stale"] = cut["is_open"] & (cut["age_days"] > threshold) if threshold is not None else False
    cut["stale"] = cut["stale"].astype(bool)
    cut = cut[list(DEAL_COLUMNS)].reset_index(drop=True)
    return with_quality(replace(crm, history=history), cut, stamp, threshold, excluded_undated)
