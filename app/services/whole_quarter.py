"""The whole quarter: revenue already won, expected from open deals and expected from deals not yet created,
quarter by quarter beside what the last complete quarters actually won; and why deals not yet created add
what they add, in one sentence.

Frames in, frames (or text) out; nothing here reads files or imports streamlit. Every figure is one the batch
step wrote: forecast.csv's quarter rows, quarter_actuals.csv and the metadata's ``simulation.new_deals``.
"""

from __future__ import annotations

import pandas as pd

from app.components.format import Money, percent
from app.services.pipeline import forecast_rows

BAR_COLUMNS = [
    "period_start",
    "label",
    "complete",
    "won",
    "expected",
    "new_expected",
    "total_expected",
    "total_p10",
    "total_p50",
    "total_p90",
]


def quarter_label(start: pd.Timestamp) -> str:
    """A quarter as a leader names it: "Q1 2018"."""
    return f"Q{start.quarter} {start.year}"


def quarter_bars(
    forecast: pd.DataFrame,
    actuals: pd.DataFrame | None,
    as_of: pd.Timestamp,
    segment: tuple[str, str | None],
) -> pd.DataFrame:
    """One row per quarter for one stored segment, in time order: the complete quarters of
    quarter_actuals.csv (``won``; a segment without a row there won nothing in them), then forecast.csv's
    quarters from the as-of quarter on. A forecast quarter ending on or before the as-of date is complete
    (its closed_won is all it won); the others carry won so far (``won``), ``expected``, ``new_expected`` and
    the whole quarter's ``total_*``. ``complete`` flags the quarters already over."""
    kind, name = segment
    rows = forecast_rows(forecast, "quarter", kind, name)
    rows = rows[rows["period_start"] >= as_of.to_period("Q").start_time]
    ahead = pd.DataFrame(
        {
            "period_start": rows["period_start"],
            "complete": rows["period_end"] <= as_of,
            "won": rows["closed_won"],
            **{c: rows[c] for c in BAR_COLUMNS[4:]},
        }
    )
    past = _past_quarters(actuals, kind, name, rows["period_start"].min() if len(rows) else as_of)
    bars = pd.concat([past, ahead], ignore_index=True) if len(past) else ahead.reset_index(drop=True)
    return bars.assign(label=[quarter_label(s) for s in bars["period_start"]])[BAR_COLUMNS]


def _past_quarters(
    actuals: pd.DataFrame | None, kind: str, name: str | None, before: pd.Timestamp
) -> pd.DataFrame:
    """quarter_actuals.csv's complete quarters before ``before`` for one segment, 0 where it has no row."""
    if actuals is None or actuals.empty:
        return pd.DataFrame(columns=["period_start", "complete", "won"])
    starts = sorted(actuals.loc[actuals["period_start"] < before, "period_start"].unique())
    chosen = actuals[actuals["segment_type"].eq(kind)]
    if name is not None:
        chosen = chosen[chosen["segment"].eq(name)]
    won = chosen.groupby("period_start")["won"].sum().reindex(starts, fill_value=0.0)
    return pd.DataFrame({"period_start": pd.to_datetime(starts), "complete": True, "won": won.to_numpy()})


def segment_targets(targets: pd.DataFrame, segment: tuple[str, str | None]) -> pd.DataFrame:
    """targets.csv's rows of one stored segment (name None: the whole pipeline), one per quarter."""
    kind, name = segment
    return targets[targets["segment_type"].eq(kind) & targets["segment"].eq("All" if name is None else name)]


def with_quotas(
    bars: pd.DataFrame, targets: pd.DataFrame | None, segment: tuple[str, str | None]
) -> pd.DataFrame:
    """``bars`` with each quarter's ``quota`` for the segment from targets.csv (NaN where it has none)."""
    if targets is None or targets.empty:
        return bars.assign(quota=float("nan"))
    quota = segment_targets(targets, segment).set_index("period_start")["target"]
    return bars.assign(quota=bars["period_start"].map(quota).astype(float).to_numpy())


def pace_words(days: int) -> str:
    """A window of days as a leader counts it: 91 -> "13 weeks", 30 -> "30 days"."""
    return f"{days // 7} weeks" if days % 7 == 0 else f"{days} days"


def new_deals_sentence(
    new_deals: dict | None,
    new_expected: float,
    quarter_label_text: str,
    who: str | None,
    not_engaged: int,
    money: Money,
) -> str | None:
    """Why deals not yet created add ``new_expected`` to the quarter, from the metadata's
    ``simulation.new_deals``: the forecast repeats the last ``recent_days``' creation, and how many deals
    were created then against the window before (counted over the whole pipeline; ``who`` names the
    segment shown, None for the whole pipeline). ``not_engaged``: open deals without an engage date, which
    the count leaves out. None when the run records no counts. Plain text."""
    if not new_deals or "recent_created" not in new_deals:
        return None
    days = int(new_deals.get("recent_days") or 91)
    window = pace_words(days)
    recent, previous = int(new_deals["recent_created"]), int(new_deals.get("previous_created") or 0)
    change = ""
    if previous:
        step = recent / previous - 1
        if abs(step) >= 0.005:
            change = f" ({percent(abs(step))} {'fewer' if step < 0 else 'more'})"
    scope = "" if who is None else f" for {who}"
    where = "" if who is None else "across the whole pipeline, "
    created = f"{where}{recent:,} deal{'s were' if recent != 1 else ' was'} created in the last {window}"
    text = (
        f"Deals not yet created add {money(new_expected)} to {quarter_label_text}{scope}: the forecast "
        f"expects the coming weeks to create deals at the pace of the last {window}. {created[:1].upper()}"
        f"{created[1:]}, against {previous:,} in the {window} before{change}."
    )
    if not_engaged:
        text += (
            f" The {not_engaged:,} open deal{'s' if not_engaged != 1 else ''} without an engage date "
            f"{'are' if not_engaged != 1 else 'is'} not counted: the forecast dates a deal from its engage "
            "date."
        )
    return text
