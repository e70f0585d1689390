"""Pure page logic on the prediction frames: filters, headline figures, rankings and segment roll-ups.

Frames in, frames (or small dicts) out; nothing here reads files or imports streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd

from app.filters import (
    FILTER_COLUMNS,
    FORECAST_SEGMENTS,
    STALE_CATEGORY,
    DealFilters,
    filters_query,
)
from core.forecast.periods import NEAR_QUARTER_END_DAYS  # the attention plan's quarter follows it too
from core.risk import UNSCORED_TIER  # the batch step's tier of the deals it does not score

SEARCH_COLUMNS = ("opportunity_id", "account", "sales_agent", "manager", "product")


@dataclass(frozen=True)
class HeadlineQuarter:
    """The quarter the overview leads with, and why."""

    start: pd.Timestamp
    end: pd.Timestamp
    is_next: bool
    probability_column: str
    label: str


def deal_query(opportunity_id: str, filters: DealFilters) -> dict[str, list[str]]:
    """Query parameters of one deal's drill-down that keep the sidebar filters (for ``st.switch_page``)."""
    query: dict[str, list[str]] = {"deal": [opportunity_id]}
    for key, value in filters_query(filters):
        query.setdefault(key, []).append(value)
    return query


def deal_links(opportunity_ids: pd.Series, filters: DealFilters) -> pd.Series:
    """Relative links to each deal's drill-down that keep the sidebar filters (a new tab is a new session,
    which has none of this one's session state)."""
    carried = urlencode(filters_query(filters))
    suffix = f"&{carried}" if carried else ""
    return "deal?deal=" + opportunity_ids.astype(str).map(lambda i: quote(i, safe="")) + suffix


def scored(deals: pd.DataFrame) -> pd.Series:
    """True for deals the model scored: every deal when the run has no ``scored`` column.

    An unscored deal (a Prospecting deal without an engage date, unlike any deal the model learnt from) has
    no win probability, value at risk, quarter chances or drivers, and the tier "Unscored".
    """
    if "scored" not in deals.columns:
        return pd.Series(True, index=deals.index)
    return deals["scored"].astype(bool)


def apply_filters(predictions: pd.DataFrame, filters: DealFilters) -> pd.DataFrame:
    """Open deals matching every sidebar filter (the frame itself when nothing is filtered).

    Unscored deals stay out unless ``filters.include_unscored``: they have no probability to add up.
    """
    drop_unscored = not filters.include_unscored and not bool(scored(predictions).all())
    if not filters.active and not drop_unscored:
        return predictions
    mask = scored(predictions) if drop_unscored else pd.Series(True, index=predictions.index)
    for name, column in FILTER_COLUMNS.items():
        chosen = getattr(filters, name)
        if chosen:
            mask &= predictions[column].isin(chosen)
    if filters.stale == "Stale only":
        mask &= predictions["stale"]
    elif filters.stale == "Exclude stale":
        mask &= ~predictions["stale"]
    return predictions.loc[mask]


def tier_order(predictions: pd.DataFrame, documented: dict | None) -> list[str]:
    """Risk tiers from most to least severe: the documented order (metadata risk.tiers) when it names every
    tier present, else by the tiers' mean win probability; "Unscored" (no probability) comes last."""
    unscored = predictions["risk_tier"].eq(UNSCORED_TIER)
    present = (
        predictions.loc[~unscored]
        .groupby("risk_tier")["win_probability"]
        .mean()
        .sort_values(kind="stable", na_position="last")
    )
    documented_order = [str(t) for t in (documented or {}) if str(t) != UNSCORED_TIER]
    if documented_order and set(map(str, present.index)) <= set(documented_order):
        order = documented_order
    else:
        order = [str(t) for t in present.index]
        order += [t for t in documented_order if t not in order]
    return order + [UNSCORED_TIER] if unscored.any() else order


def filter_options(
    predictions: pd.DataFrame, tiers: list[str], include_unscored: bool = True
) -> dict[str, list[str]]:
    """The choices each sidebar filter offers (sorted values present in the run; tiers by risk; the
    "Unscored" tier only when unscored deals are included)."""
    options = {
        name: sorted(predictions[column].astype(str).unique().tolist())
        for name, column in FILTER_COLUMNS.items()
        if name != "tiers"
    }
    present = set(predictions["risk_tier"]) - (set() if include_unscored else {UNSCORED_TIER})
    options["tiers"] = [t for t in tiers if t in present]
    return options


def sidebar_choices(
    predictions: pd.DataFrame, documented_tiers: dict | None, filters: DealFilters
) -> tuple[dict[str, list[str]], bool]:
    """What the sidebar offers: each filter's choices, and whether the run has unscored deals to include."""
    tiers = tier_order(predictions, documented_tiers)
    return filter_options(predictions, tiers, filters.include_unscored), not bool(scored(predictions).all())


def crm_stage(deals: pd.DataFrame) -> pd.Series:
    """Each deal's stage as its CRM names it ("Verhandlung"): the ``stage`` column, else (blank, or runs
    before it) the outcome state ``deal_stage`` ("Engaging"), which names every open deal alike."""
    outcome_state = deals["deal_stage"].astype(str)
    if "stage" not in deals.columns:
        return outcome_state
    own = deals["stage"].fillna("").astype(str).str.strip()
    return own.where(own.ne(""), outcome_state)


def has_history(deals: pd.DataFrame) -> bool:
    """True when the run's export had a field history: its deals carry close-date pushes (blank without)."""
    return "close_date_pushes" in deals.columns and bool(deals["close_date_pushes"].notna().any())


def slipped(deals: pd.DataFrame) -> pd.DataFrame:
    """Deals whose close date was pushed at least once (the field history's ``close_date_pushes``)."""
    return deals.loc[deals["close_date_pushes"].ge(1).to_numpy()]


def search_deals(deals: pd.DataFrame, text: str) -> pd.DataFrame:
    """Deals whose id, account, rep, manager or product contains ``text`` (case-insensitive, literal)."""
    needle = text.strip().lower()
    if not needle:
        return deals
    mask = pd.Series(False, index=deals.index)
    for column in SEARCH_COLUMNS:
        mask |= deals[column].astype(str).str.lower().str.contains(needle, regex=False)
    return deals.loc[mask]


def headline_quarter(as_of: pd.Timestamp, near_days: int = NEAR_QUARTER_END_DAYS) -> HeadlineQuarter:
    """The current quarter, or the next one when fewer than ``near_days`` days of the current one remain."""
    start = as_of.to_period("Q").start_time
    end = as_of.to_period("Q").end_time.normalize()
    days_left = (end - as_of).days
    if days_left < near_days:
        nxt = as_of.to_period("Q") + 1
        return HeadlineQuarter(
            nxt.start_time,
            nxt.end_time.normalize(),
            True,
            "p_close_next_quarter",
            f"Q{nxt.quarter} {nxt.year} (next quarter)",
        )
    return HeadlineQuarter(
        start, end, False, "p_close_in_quarter", f"Q{as_of.quarter} {as_of.year} (this quarter)"
    )


def pipeline_summary(deals: pd.DataFrame, attention: list[str], quarter: HeadlineQuarter) -> dict[str, float]:
    """Headline figures of the (filtered) open pipeline."""
    stale = deals["stale"]
    unscored = ~scored(deals)
    return {
        "unscored_count": int(unscored.sum()),
        "unscored_value": float(deals.loc[unscored, "deal_value"].sum()),
        "open_value": float(deals["deal_value"].sum()),
        "open_count": int(len(deals)),
        "expected_revenue": float(deals["expected_revenue"].sum()),
        "expected_in_quarter": float((deals["deal_value"] * deals[quarter.probability_column]).sum()),
        "value_at_risk": float(deals["value_at_risk"].sum()),
        "attention_count": int((deals["risk_tier"].isin(attention) & ~stale).sum()),
        "stale_count": int(stale.sum()),
        "stale_value": float(deals.loc[stale, "deal_value"].sum()),
        "stale_value_at_risk": float(deals.loc[stale, "value_at_risk"].sum()),
    }


def attention_tiers(tiers: list[str]) -> list[str]:
    """The tiers that call for a manager's attention: the two riskiest (one if only two tiers exist)."""
    tiers = [t for t in tiers if t != UNSCORED_TIER]
    return tiers[: 2 if len(tiers) > 2 else 1]


@dataclass(frozen=True)
class UnscoredDeals:
    """Unscored deals of the filtered selection: how many, their deal value, and whether the view has them."""

    count: int
    value: float
    included: bool


def unscored_deals(predictions: pd.DataFrame, filters: DealFilters) -> UnscoredDeals:
    """The unscored deals the sidebar filters select, counted whether or not the view includes them."""
    if bool(scored(predictions).all()):
        return UnscoredDeals(0, 0.0, filters.include_unscored)
    chosen = apply_filters(predictions, replace(filters, include_unscored=True))
    unscored = chosen.loc[~scored(chosen), "deal_value"]
    return UnscoredDeals(int(len(unscored)), float(unscored.sum()), filters.include_unscored)


def value_in_play(deals: pd.DataFrame) -> pd.Series:
    """deal value x p x (1 - p): large where much money rides on a deal that can still go either way.

    Ranking by value at risk alone puts deals that are all but lost (p near 0) first, where a manager's
    hour changes nothing.
    """
    p = deals["win_probability"]
    return deals["deal_value"] * p * (1 - p)


NO_RISK_DRIVER = "None lowers its chance"
NO_LIFT_DRIVER = "None raises its chance"


def main_risk_driver(deals: pd.DataFrame) -> pd.Series:
    """The strongest reason each deal is at risk: of driver_1..3, the one with the most negative
    ``driver_k_impact`` (:data:`NO_RISK_DRIVER` when none is negative), never a reason its chance goes up.

    Runs without impact columns fall back to the first driver sentence that says it lowers the chance.
    """
    return _strongest_driver(deals, lowers=True)


def main_lift_driver(deals: pd.DataFrame) -> pd.Series:
    """The strongest reason each deal may win: of driver_1..3, the one with the most positive
    ``driver_k_impact`` (:data:`NO_LIFT_DRIVER` when none is positive), never a reason its chance goes down.

    Runs without impact columns fall back to the first driver sentence that says it raises the chance.
    """
    return _strongest_driver(deals, lowers=False)


def _strongest_driver(deals: pd.DataFrame, lowers: bool) -> pd.Series:
    """Of driver_1..3, the one pushing each deal's chance furthest down (``lowers``) or up."""
    none = NO_RISK_DRIVER if lowers else NO_LIFT_DRIVER
    ks = [k for k in (1, 2, 3) if f"driver_{k}" in deals.columns]
    if not ks:
        return pd.Series(none, index=deals.index, dtype=object)
    texts = deals[[f"driver_{k}" for k in ks]].astype(str).to_numpy(dtype=object)
    rows = np.arange(len(deals))
    if all(f"driver_{k}_impact" in deals.columns for k in ks):
        impacts = deals[[f"driver_{k}_impact" for k in ks]].apply(pd.to_numeric, errors="coerce")
        signed = impacts.to_numpy(dtype=float) * (1.0 if lowers else -1.0)  # most negative is strongest
        signed = np.where(np.isnan(signed), np.inf, signed)
        strongest = signed.argmin(axis=1) if len(deals) else np.zeros(0, dtype=int)
        found = signed[rows, strongest] < 0 if len(deals) else np.zeros(0, dtype=bool)
        chosen = np.where(found, texts[rows, strongest], none)
    else:
        word = "lower" if lowers else "raise"
        says = np.char.find(np.char.lower(texts.astype(str)), word) >= 0
        first = says.argmax(axis=1)
        chosen = np.where(says.any(axis=1), texts[rows, first], none)
    return pd.Series(chosen, index=deals.index, dtype=object)


def deals_needing_attention(deals: pd.DataFrame, attention: list[str], n: int | None = 5) -> pd.DataFrame:
    """Live (not stale) deals in the attention tiers, most value in play first."""
    chosen = deals[deals["risk_tier"].isin(attention) & ~deals["stale"]]
    return deal_view(chosen, ATTENTION_SORT, n=n)


def contributes(deals: pd.DataFrame) -> pd.Series:
    """True for the deals forecast.csv simulates: scored and not stale (stale deals' quarter chances are 0;
    unscored deals have none)."""
    return scored(deals) & ~deals["stale"].astype(bool)


def matching_segment(
    predictions: pd.DataFrame, deals: pd.DataFrame, prefer: DealFilters | None = None
) -> tuple[str, str | None] | None:
    """The forecast.csv segment whose deals are the filtered ones, judged on the deals, not the widgets.

    ``deals`` are rows of ``predictions``. They match a stored segment (the whole pipeline, segment None, or
    one region, manager, rep or product) when their contributing deals (:func:`contributes`) are exactly the
    segment's: Region=West plus a West rep is that rep, Manager plus one of their reps is the rep, "Exclude
    stale" is the whole pipeline. When several segments hold the same deals (a manager with one rep),
    the narrowest one ``prefer`` (the sidebar filters) names wins (rep, manager, product, region: it is the
    closest to the filters' intersection), else the broadest: their closed-won revenue differs.
    When no filtered deal contributes anything the deals cannot tell, so the filters decide: one region,
    manager, rep or product and nothing else (a manager whose open deals are all stale still has revenue
    won so far and from deals not yet created). None when no segment matches.
    """
    live_all = contributes(predictions)
    chosen = deals.loc[contributes(deals).to_numpy()]
    n = len(chosen)
    if n == 0:
        return _named_segment(prefer)
    matches: list[tuple[str, str | None]] = [("all", None)] if n == int(live_all.sum()) else []
    for segment_type in FORECAST_SEGMENTS.values():
        values = chosen[segment_type].unique()
        if len(values) == 1 and int((live_all & predictions[segment_type].eq(values[0])).sum()) == n:
            matches.append((segment_type, str(values[0])))
    if prefer is not None:
        for name in ("reps", "managers", "products", "regions"):
            segment_type = FORECAST_SEGMENTS[name]
            picked = getattr(prefer, name)
            if len(picked) == 1 and (segment_type, str(picked[0])) in matches:
                return (segment_type, str(picked[0]))
    return matches[0] if matches else None


def _named_segment(filters: DealFilters | None) -> tuple[str, str] | None:
    """The stored segment the filters name when they name one value of one region, manager, rep or product
    and restrict nothing else (no sector or tier, not "Stale only"); else None."""
    if filters is None or filters.sectors or filters.tiers or filters.stale == "Stale only":
        return None
    named = [(FORECAST_SEGMENTS[name], getattr(filters, name)) for name in FORECAST_SEGMENTS]
    named = [(segment_type, values) for segment_type, values in named if values]
    if len(named) != 1 or len(named[0][1]) != 1:
        return None
    return (named[0][0], str(named[0][1][0]))


@dataclass(frozen=True)
class WholeQuarter:
    """A stored segment's whole quarter (forecast.csv): revenue already won + from open deals + from deals not
    yet created, simulated together. ``expected`` is ``total_expected``; p10/p50/p90 the ``total_*``."""

    new_expected: float
    expected: float
    p10: float
    p50: float
    p90: float


def whole_quarter(row: pd.Series) -> WholeQuarter:
    """The whole quarter of one forecast.csv row."""
    return WholeQuarter(
        *(float(row[c]) for c in ("new_expected", "total_expected", "total_p10", "total_p50", "total_p90"))
    )


@dataclass(frozen=True)
class QuarterFigures:
    """The headline quarter for the filtered deals: won so far, expected from open deals and their range,
    and for a stored segment the whole quarter (with deals not yet created).

    ``source``: "stored" (forecast.csv's rows of ``segment``), "computed" (simulated for these deals on the
    page) or "none" (no range). ``won_so_far`` is None when it is not known for the selection (forecast.csv
    keeps closed-won revenue per segment, not per deal); ``whole`` is None unless the figures are stored
    (deals not yet created are forecast per segment only).
    """

    expected: float
    won_so_far: float | None
    p10: float | None
    p50: float | None
    p90: float | None
    source: str
    segment: tuple[str, str | None] | None
    contributing: int
    whole: WholeQuarter | None = None

    @property
    def won_and_open(self) -> float | None:
        """Won so far plus expected from open deals (None when won so far is unknown)."""
        return None if self.won_so_far is None else self.won_so_far + self.expected

    @property
    def won_and_open_range(self) -> tuple[float, float] | None:
        """P10 and P90 of won so far + the open deals (won so far is certain: it shifts the open deals'
        range)."""
        if self.won_so_far is None or self.p10 is None or self.p90 is None:
            return None
        return (self.won_so_far + self.p10, self.won_so_far + self.p90)


def quarter_figures(
    deals: pd.DataFrame,
    quarter: HeadlineQuarter,
    segment: tuple[str, str | None] | None,
    stored: pd.Series | None,
    computed: pd.DataFrame | None,
) -> QuarterFigures:
    """Headline-quarter figures of the filtered deals, the same on the Overview and the Forecast page.

    Expected revenue is always the sum of deal value x the quarter's chance over the filtered deals (it adds
    up, so it needs no segment). The range is forecast.csv's ``stored`` quarter row when the deals are one of
    its segments, else the ``computed`` band (rows: as-of quarter, next quarter); the next quarter has won
    nothing so far, so won + open is known either way. The whole quarter comes from the stored row only.
    """
    expected = float((deals["deal_value"] * deals[quarter.probability_column]).sum())
    contributing = int(contributes(deals).sum())
    won = float(stored["closed_won"]) if stored is not None else (0.0 if quarter.is_next else None)
    if stored is not None:
        row, source = stored, "stored"
    elif computed is not None and not computed.empty:
        row, source, segment = computed.iloc[1 if quarter.is_next else 0], "computed", None
    else:
        return QuarterFigures(expected, won, None, None, None, "none", None, contributing)
    p10, p50, p90 = (float(row[q]) for q in ("p10", "p50", "p90"))
    whole = whole_quarter(stored) if stored is not None else None
    return QuarterFigures(expected, won, p10, p50, p90, source, segment, contributing, whole)


def first_busy_period(forecast: pd.DataFrame, period_type: str, segment_type: str) -> int:
    """Index (in time order) of the first period where this segment type expects any revenue (else 0)."""
    rows = forecast[(forecast["period_type"] == period_type) & (forecast["segment_type"] == segment_type)]
    totals = rows.groupby("period_start")["expected"].sum().sort_index()
    busy = [i for i, value in enumerate(totals.to_numpy()) if value > 0]
    return busy[0] if busy else 0


def split_finished_periods(rows: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(periods ending on or before the as-of date, periods with days left to forecast).

    A period that ends on the as-of date has nothing left to win: its P10-P90 is a point at zero, which a
    fan chart would draw as a collapsed band. Its closed-won revenue is reported beside the chart instead.
    """
    finished = rows["period_end"] <= as_of
    return rows[finished].reset_index(drop=True), rows[~finished].reset_index(drop=True)


def forecast_rows(
    forecast: pd.DataFrame, period_type: str, segment_type: str = "all", segment: str | None = None
) -> pd.DataFrame:
    """Forecast rows of one period type and segment in time order (segment None: the only one of its type)."""
    rows = forecast[(forecast["period_type"] == period_type) & (forecast["segment_type"] == segment_type)]
    if segment is not None:
        rows = rows[rows["segment"] == segment]
    return rows.sort_values("period_start", kind="stable").reset_index(drop=True)


def quarter_row(
    forecast: pd.DataFrame, quarter: HeadlineQuarter, segment_type: str = "all", segment: str | None = None
) -> pd.Series | None:
    """The headline quarter's forecast row for one segment (None when the batch step did not write it)."""
    rows = forecast_rows(forecast, "quarter", segment_type, segment)
    rows = rows[rows["period_start"] == quarter.start]
    return None if rows.empty else rows.iloc[0]


def segment_breakdown(
    forecast: pd.DataFrame, period_type: str, period_start: pd.Timestamp, segment_type: str
) -> pd.DataFrame:
    """One period's forecast per segment, largest expected revenue first."""
    rows = forecast[
        (forecast["period_type"] == period_type)
        & (forecast["segment_type"] == segment_type)
        & (forecast["period_start"] == period_start)
    ]
    columns = ["segment", "closed_won", "expected", "p10", "p50", "p90"]
    return rows.sort_values(["expected", "segment"], ascending=[False, True], kind="stable")[
        columns
    ].reset_index(drop=True)


def cumulative_quarter(
    forecast: pd.DataFrame,
    quarter: HeadlineQuarter,
    as_of: pd.Timestamp,
    segment_type: str = "all",
    segment: str | None = None,
) -> pd.DataFrame:
    """Closed-won to date plus cumulative expected revenue by week through the quarter's end: from open
    deals (``cumulative``) and with deals not yet created too (``whole``).

    Expected values add up week by week; the likely range exists only for the whole quarter (quantiles do
    not add), so the whole quarter's P10 and P90 are attached to the quarter-end point alone.
    """
    quarter_rows = quarter_row(forecast, quarter, segment_type, segment)
    if quarter_rows is None:
        return pd.DataFrame(columns=["date", "cumulative", "whole", "p10", "p90", "kind"])
    closed_won = float(quarter_rows["closed_won"]) if not quarter.is_next else 0.0
    weeks = forecast_rows(forecast, "week", segment_type, segment)
    weeks = weeks[(weeks["period_end"] >= quarter.start) & (weeks["period_start"] <= quarter.end)]
    start_date = max(as_of, quarter.start - pd.Timedelta(days=1))
    point = {"p10": None, "p90": None}
    points = [
        {"date": start_date, "cumulative": closed_won, "whole": closed_won, **point, "kind": "won to date"}
    ]
    running, whole = closed_won, closed_won
    for _, week in weeks.iterrows():
        if week["period_end"] >= quarter.end:
            break
        running += float(week["expected"])
        whole += float(week["expected"]) + float(week["new_expected"])
        points.append(
            {"date": week["period_end"], "cumulative": running, "whole": whole, **point, "kind": "expected"}
        )
    points.append(
        {
            "date": quarter.end,
            "cumulative": closed_won + float(quarter_rows["expected"]),
            "whole": float(quarter_rows["total_expected"]),
            "p10": float(quarter_rows["total_p10"]),
            "p90": float(quarter_rows["total_p90"]),
            "kind": "quarter end",
        }
    )
    return pd.DataFrame(points)


def risk_categories(tiers: list[str]) -> list[str]:
    """The categories of the value-at-risk chart, most severe first: the risk tiers, then stale deals."""
    return [*tiers, STALE_CATEGORY]


def risk_by_segment(
    deals: pd.DataFrame, segment_column: str, tiers: list[str], top: int = 15
) -> pd.DataFrame:
    """Value at risk per segment and category (long), for the ``top`` segments with most value at risk.

    The category is the risk tier of a live deal and :data:`STALE_CATEGORY` for a stale one, whatever its
    tier: a zombie's value is "at risk" only because nobody closed it out, which is a different job from a
    live deal's. Deals without a value at risk (unscored) are left out.
    """
    deals = deals[deals["value_at_risk"].notna()]
    totals = deals.groupby(segment_column)["value_at_risk"].sum().sort_values(ascending=False, kind="stable")
    keep = totals.head(top).index
    subset = deals[deals[segment_column].isin(keep)]
    category = subset["risk_tier"].astype(str).where(~subset["stale"].to_numpy(dtype=bool), STALE_CATEGORY)
    grouped = (
        subset.assign(category=category)
        .groupby([segment_column, "category"], observed=True)
        .agg(value_at_risk=("value_at_risk", "sum"), deals=("opportunity_id", "size"))
        .reset_index()
        .rename(columns={segment_column: "segment"})
    )
    categories = risk_categories(tiers)
    rank = grouped["category"].map({t: i for i, t in enumerate(categories)}).fillna(len(categories))
    grouped = grouped.assign(
        category_rank=rank, segment_rank=grouped["segment"].map({s: i for i, s in enumerate(keep)})
    ).sort_values(["segment_rank", "category_rank"], kind="stable")
    return grouped[["segment", "category", "value_at_risk", "deals"]].reset_index(drop=True)


def ranked_deals(
    deals: pd.DataFrame,
    sort_by: str,
    *,
    ascending: bool = False,
    live_first: bool = False,
    n: int | None = None,
) -> pd.DataFrame:
    """The first ``n`` (default all) deals ordered by ``sort_by``; ties keep the input order.

    Everything after ``sort_by`` is keyword-only: a positional ``(column, ascending, live_first)`` tuple once
    landed its live-first flag in ``n`` and cut a CSV export to one row. ``sort_by="value_in_play"`` ranks by
    :func:`value_in_play` when the frame has no such column.

    With ``live_first``, stale deals follow every live one (each group in ``sort_by`` order): by value at
    risk alone a pipeline of zombies (win probability ~0, so all their value is "at risk") would fill the
    top of the list, where a manager's hour changes nothing; they are counted and valued on their own.
    The run is sorted by opportunity_id at load, so ties fall back to the id without sorting strings; only
    the sort columns are sorted and only the rows kept are copied (fast at 100k deals).
    """
    keys = value_in_play(deals) if sort_by == "value_in_play" and sort_by not in deals else deals[sort_by]
    keys = keys.reset_index(drop=True)  # positions, so a frame with repeated labels ranks too
    order = keys.sort_values(ascending=ascending, kind="stable", na_position="last").index.to_numpy()
    if live_first:
        stale = deals["stale"].to_numpy(dtype=bool)[order]
        order = np.concatenate([order[~stale], order[stale]])
    return deals.iloc[order if n is None else order[:n]]


@dataclass(frozen=True)
class DealSort:
    """One ordering of a deal list: a column (or ``value_in_play``), its direction, live deals first."""

    column: str
    ascending: bool = False
    live_first: bool = False


ATTENTION_SORT = DealSort("value_in_play", live_first=True)
DEAL_SORTS: dict[str, DealSort] = {
    "Value at risk (live deals first)": DealSort("value_at_risk", live_first=True),
    "Value in play (live deals first, as on the Overview)": ATTENTION_SORT,
    "Value at risk (stale deals included)": DealSort("value_at_risk"),
    "Deal value": DealSort("deal_value"),
    "Win probability (lowest first)": DealSort("win_probability", ascending=True),
    "Age (oldest first)": DealSort("age_days"),
    "Expected close date": DealSort("expected_close_date", ascending=True),
}


def deal_view(deals: pd.DataFrame, sort: DealSort, *, n: int | None = None) -> pd.DataFrame:
    """The deals in ``sort`` order (the first ``n``, default all) with their value in play.

    The one ordering the Risk Dashboard's table (first rows) and its CSV export (every row) share.
    """
    ranked = ranked_deals(deals, sort.column, ascending=sort.ascending, live_first=sort.live_first, n=n)
    return ranked.assign(value_in_play=value_in_play(ranked))


def deal_view_csv(deals: pd.DataFrame, sort: DealSort) -> str:
    """Every deal of the view as CSV, in the table's order (the Risk Dashboard's export)."""
    return deal_view(deals, sort).to_csv(index=False)


def backtest_windows_to_show(windows: pd.DataFrame, limit: int = 24) -> pd.DataFrame:
    """Whole-pipeline backtest windows (one per as-of date and period), labelled for a chart, time order.

    Segment windows share their period's x position and would pile up on it; the table behind the
    coverage figure still counts them.
    """
    if windows.empty:
        return windows.assign(label=pd.Series(dtype=str))
    chosen = windows[windows["segment_type"] == "all"] if "segment_type" in windows.columns else windows
    chosen = chosen.sort_values(["period_type", "as_of", "period_start"], kind="stable").head(limit)
    label = (
        chosen["period_type"].astype(str)
        + " from "
        + chosen["period_start"].astype(str).str[:10]
        + ", as of "
        + chosen["as_of"].astype(str).str[:10]
    )
    return chosen.assign(label=label).reset_index(drop=True)
