"""Stage history from a deals export's "date entered" columns (HubSpot): one column per stage, labelled
after a template such as ``Date entered "{stage} ({pipeline})"``, holding when the deal (last) entered that
stage. Each filled cell is one history row: the deal, the moment, the stage; nothing else is historied.
"""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd

PLACEHOLDERS = {"stage": "(?P<stage>.+?)", "pipeline": "(?P<pipeline>.+)"}


def stage_entered_pattern(template: str) -> re.Pattern[str]:
    """The column labels ``template`` describes: ``{stage}`` (exactly once) stands for a stage name,
    ``{pipeline}`` (optional) for a pipeline's, the rest is literal. A ``ValueError`` says what is wrong."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"'{template}' is not a template ({exc})") from None
    named = [name for _, name, _, _ in parts if name is not None]
    unknown = sorted(set(named) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(f"'{template}' names {{{unknown[0]}}}; use {{stage}} and {{pipeline}}")
    if named.count("stage") != 1 or named.count("pipeline") > 1:
        raise ValueError(f"'{template}' must name {{stage}} once (and {{pipeline}} at most once)")
    return re.compile(
        "".join(re.escape(text) + (PLACEHOLDERS[name] if name else "") for text, name, _, _ in parts)
    )


def stage_entered_history(deals: pd.DataFrame, template: str, date_format: str) -> pd.DataFrame:
    """History rows as a history file holds them (text: ``opportunity_id, changed_at, stage`` and the deal's
    ``source_row``), one per filled "date entered" cell of ``deals`` (the export as read, its own column
    names), each deal's rows in time order (at equal times, in the columns' order)."""
    pattern = stage_entered_pattern(template)
    stages = {column: found["stage"] for column in deals.columns if (found := pattern.fullmatch(column))}
    long = deals[["opportunity_id", "source_row", *stages]].melt(
        id_vars=["opportunity_id", "source_row"],
        var_name="column",
        value_name="changed_at",
        ignore_index=False,
    )
    long = long.loc[long["changed_at"].ne("")]
    order = np.lexsort(
        (
            long["column"].map({column: k for k, column in enumerate(stages)}).to_numpy(),
            _moments(long["changed_at"], date_format).to_numpy(),
            long.index.to_numpy(),  # the deal's row: deals keep their export order
        )
    )
    rows = long.iloc[order].reset_index(drop=True)
    return pd.DataFrame(
        {
            "opportunity_id": rows["opportunity_id"],
            "changed_at": rows["changed_at"],
            "stage": rows["column"].map(stages).astype(rows["changed_at"].dtype),
            "source_row": rows["source_row"].astype(np.int64),
        }
    )


def _moments(values: pd.Series, date_format: str) -> pd.Series:
    """Date-times in ``date_format`` with a time of day (seconds optional) or without one, else ISO 8601
    (a time zone read as UTC); NaT where none fits (the history's date check then names the cell)."""
    moments = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for layout in (f"{date_format} %H:%M:%S", f"{date_format} %H:%M", date_format, "ISO8601"):
        parsed = pd.to_datetime(values, format=layout, errors="coerce", utc=True).dt.tz_localize(None)
        moments = moments.fillna(parsed.astype("datetime64[ns]"))
    return moments
