"""The weekly forecast call on the Forecast page: the chance of making a quarter target, the reps' call by
forecast category against the model, and the track record of past weeks' forecasts.

Frames in, frames (or small dataclasses) out; nothing here reads files or imports streamlit. Every figure is
one the batch step wrote or a sum of them: P(whole-quarter revenue >= target) is read off
forecast_quantiles.csv's ``total`` grid by ``core.forecast.targets.chance_of_reaching``, expected values are
deal value x the quarter's chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from app.components.format import Money, percent
from app.services.health import LIKELY_RANGE, WEEKLY_MISSES_BELOW
from app.services.pipeline import (
    HeadlineQuarter,
    QuarterFigures,
    WholeQuarter,
    main_lift_driver,
    main_risk_driver,
)
from app.services.whole_quarter import segment_targets
from core.forecast.targets import chance_of_reaching

CATEGORY_ORDER = ("Commit", "Best Case", "Pipeline")  # the reps' categories, most sure first
NOT_SET = "Not set"  # a deal without a forecast category, as forecast.csv names it
COMMIT_AT_RISK_BELOW = 0.3  # a Commit deal due this quarter the model gives less than this
UPSIDE_ABOVE = 0.6  # a Pipeline or Best Case deal the model gives more than this
UPSIDE_CATEGORIES = ("Pipeline", "Best Case")
GRID_EDGE = 0.01  # forecast_quantiles.csv spans q = 0.01 .. 0.99: it says no more beyond


def quarter_quantiles(
    quantiles: pd.DataFrame,
    quarter: HeadlineQuarter,
    segment: tuple[str, str | None],
    scope: str = "total",
) -> pd.DataFrame | None:
    """The quantile grid (q, revenue) of the headline quarter for one stored segment (segment name None: the
    only one of its type, the whole pipeline); ``scope`` "total" is the whole quarter's revenue (won so far +
    open deals + deals not yet created), "open" the open deals' alone. None when it is not there."""
    kind, name = segment
    rows = quantiles[
        quantiles["period_type"].eq("quarter")
        & quantiles["period_start"].eq(quarter.start)
        & quantiles["segment_type"].eq(kind)
        & quantiles["scope"].eq(scope)
    ]
    if name is not None:
        rows = rows[rows["segment"].eq(name)]
    return None if rows.empty else rows[["q", "revenue"]].reset_index(drop=True)


@dataclass(frozen=True)
class TargetOutlook:
    """A quarter target against the headline quarter: what is won, expected and open, the whole quarter
    (None unless stored for the selection), and the chance of reaching the target (None when the whole
    quarter's revenue distribution is not known for the selection)."""

    target: float
    won: float | None
    expected: float
    open_pipeline: float
    chance: float | None
    whole: WholeQuarter | None = None
    stale_value: float = 0.0  # deal value of the stale deals left out of ``open_pipeline``

    @property
    def still_needed(self) -> float | None:
        """Target minus what is already won (None when won so far is unknown)."""
        return None if self.won is None else self.target - self.won

    @property
    def coverage(self) -> float | None:
        """Open pipeline / (target - already won): how many times the open deals cover what is left."""
        needed = self.still_needed
        return None if needed is None or needed <= 0 else self.open_pipeline / needed

    @property
    def gap(self) -> float | None:
        """Target - the whole quarter's expected revenue (won so far + open deals + deals not yet created);
        negative when the expected whole quarter is above; None when the whole quarter is not known."""
        return None if self.whole is None else self.target - self.whole.expected


def target_outlook(
    target: float, figures: QuarterFigures, deals: pd.DataFrame, grid: pd.DataFrame | None
) -> TargetOutlook:
    """The outlook for ``target`` from the headline quarter's ``figures`` of the filtered ``deals``: their
    live open pipeline (deal value; stale deals, older than any deal that ever closed, left out: they are
    no pipeline to cover a target with) and P(whole-quarter revenue >= target) from the
    quarter's ``total`` quantile ``grid`` (1 once the target is already won; None without a grid or a
    whole quarter)."""
    won, whole = figures.won_so_far, figures.whole
    if won is not None and target <= won:
        chance = 1.0
    elif grid is None or whole is None:
        chance = None
    else:
        chance = chance_of_reaching(grid, target)
    stale = deals["stale"].astype(bool) if "stale" in deals else pd.Series(False, index=deals.index)
    live, dead = (float(deals.loc[mask, "deal_value"].sum()) for mask in (~stale, stale))
    return TargetOutlook(target, won, figures.expected, live, chance, whole, dead)


@dataclass(frozen=True)
class Quota:
    """The headline quarter's target for one selection as targets.csv holds it (from the export's quotas
    file): the figure and the roll-up rule that gave it ("quota", "sum of 6 managers' targets", ...)."""

    value: float
    source: str
    owner: str = ""  # whose quota "quota" is (the selected rep or manager)


def quota_for(
    targets: pd.DataFrame | None, quarter: HeadlineQuarter, segment: tuple[str, str | None] | None
) -> Quota | None:
    """targets.csv's target of ``quarter`` for a stored segment (name None: the whole pipeline); None when
    the run has no quotas, the selection is none of the segments, or no quota covers it."""
    if targets is None or segment is None:
        return None
    rows = segment_targets(targets, segment)
    rows = rows[rows["period_start"].eq(quarter.start)]
    if rows.empty:
        return None
    name = segment[1] or ""
    return Quota(float(rows["target"].iloc[0]), str(rows["source"].iloc[0]), name)


def quota_sentence(quota: Quota, file: str, typed: float | None, where: str, money: Money) -> str:
    """Where the target comes from: the quota, or a figure typed ``where`` ("above", "on the Forecast
    page") in its place (plain text)."""
    rule = f"{quota.owner}'s own quota" if quota.source == "quota" else quota.source
    origin = f"{money.exact(quota.value)} in {file} ({rule})"
    if typed:
        typed_text = money.exact(typed)
        return (
            f"The figures use the target typed {where}, {typed_text}, not this selection's quota of {origin}."
        )
    return f"Target: the quota, {origin}. Type another figure {where} to replace it."


def chance_text(chance: float | None) -> str:
    """The chance as a leader reads it; at the grid's edges it says no more than the grid does."""
    if chance is None or math.isnan(chance):
        return "n/a"
    if chance >= 1.0:
        return "Already reached"
    if chance >= 1 - GRID_EDGE:
        return "99% or more"
    if chance <= GRID_EDGE:
        return "1% or less"
    return percent(chance)


def target_sentence(outlook: TargetOutlook, money: Money) -> str:
    """The target's outlook in plain words, with the figures the metrics beside it show (plain text)."""
    target = money.exact(outlook.target)
    needed = outlook.still_needed
    if needed is None:
        return ""
    if needed <= 0:
        return f"The {money(outlook.won)} already won this quarter reaches the target of {target}."
    left = (
        f"{money(needed)} more than the {money(outlook.won)} already won"
        if outlook.won
        else f"all {money(needed)} from open deals and deals not yet created (nothing is won in it yet)"
    )
    coverage = outlook.coverage
    covers = (
        ""
        if coverage is None
        else f" The open pipeline of {money(outlook.open_pipeline)}{_stale_words(outlook, money)} is "
        f"{coverage:.1f} times that."
    )
    whole, gap = outlook.whole, outlook.gap
    if whole is None or gap is None:
        expects = (
            f" The model expects {money(outlook.expected)} from open deals; deals not yet created are "
            "forecast for the whole pipeline and one region, manager, rep or product only, so this "
            "selection has no expected whole quarter to set against the target."
        )
    else:
        short = (
            f"{money(gap)} short of the target"
            if gap > 0
            else f"{money(-gap)} above the target"
            if gap < 0
            else "exactly the target"
        )
        expected = money.same_unit(whole.expected, whole.p50, whole.p10, whole.p90)[0]  # as its metric reads
        expects = (
            f" The model expects {money(outlook.expected)} from open deals and {money(whole.new_expected)} "
            f"from deals not yet created, so the whole quarter's expected {expected} is {short}."
        )
    chance = (
        "" if outlook.chance is None else f" Chance of reaching it: {chance_text(outlook.chance).lower()}."
    )
    return f"To reach {target} the quarter needs {left}.{covers}{expects}{chance}"


def _stale_words(outlook: TargetOutlook, money: Money) -> str:
    """' (not counting $X in stale deals)' when stale deals were left out of the open pipeline."""
    return f" (not counting {money(outlook.stale_value)} in stale deals)" if outlook.stale_value > 0 else ""


def has_categories(deals: pd.DataFrame) -> bool:
    """True when the deals carry the reps' forecast category (blank for every deal without one)."""
    return "forecast_category" in deals.columns and bool(
        deals["forecast_category"].fillna("").astype(str).str.strip().ne("").any()
    )


def category_of(deals: pd.DataFrame) -> pd.Series:
    """Each deal's forecast category, "Not set" for a blank one."""
    category = deals["forecast_category"].fillna("").astype(str).str.strip()
    return category.where(category.ne(""), NOT_SET)


def due_in_quarter(deals: pd.DataFrame, quarter: HeadlineQuarter) -> pd.Series:
    """True for deals the rep expects to close inside the quarter (their ``rep_close_date``; none when the
    export has categories but no rep close dates)."""
    if "rep_close_date" not in deals.columns:
        return pd.Series(False, index=deals.index)
    close = deals["rep_close_date"]
    return (close >= quarter.start) & (close <= quarter.end)


def call_deals(deals: pd.DataFrame, quarter: HeadlineQuarter) -> pd.DataFrame:
    """The deals the reps call for the quarter (rep close date inside it) with their category and the
    model's expected value for the quarter (deal value x the quarter's chance; 0 for an unscored deal)."""
    chosen = deals.loc[due_in_quarter(deals, quarter).to_numpy()]
    chance = chosen[quarter.probability_column]
    return chosen.assign(
        category=category_of(chosen),
        model_chance=chance,
        model_expected=(chosen["deal_value"] * chance.fillna(0.0)).round(2),
    )


def category_rank(categories: pd.Series) -> pd.Series:
    """Commit, Best Case, Pipeline, then any other category by name, "Not set" last."""
    known = {name: i for i, name in enumerate(CATEGORY_ORDER)}
    return categories.map(lambda c: (known.get(c, len(known)) if c != NOT_SET else len(known) + 1, c))


def rep_call(called: pd.DataFrame) -> pd.DataFrame:
    """Per category: deals, the reps' roll-up (their deal value) and the model's expected value for the same
    deals, Commit first (columns category, deals, reps_rollup, model_expected)."""
    table = (
        called.groupby("category", sort=False)
        .agg(
            deals=("opportunity_id", "size"),
            reps_rollup=("deal_value", "sum"),
            model_expected=("model_expected", "sum"),
        )
        .reset_index()
    )
    table = table.iloc[category_rank(table["category"]).sort_values(kind="stable").index]
    return table.reset_index(drop=True)


def with_ranges(table: pd.DataFrame, ranges: dict[str, tuple[float, float]], money: Money) -> pd.DataFrame:
    """The call table with the model's P10-P90 of each category's deals as text (``model_range``; blank
    for a category without one, as when the range was not simulated)."""
    text = {name: money.range(*band) for name, band in ranges.items()}
    return table.assign(model_range=table["category"].map(text))


def call_sentence(table: pd.DataFrame, quarter_label: str, money: Money) -> str:
    """The reps' Commit against the model's view of the same deals, in one plain sentence (plain text)."""
    commit = table[table["category"].eq("Commit")]
    if commit.empty:
        return f"No deal is in Commit for {quarter_label}."
    row = commit.iloc[0]
    expected, rollup = float(row["model_expected"]), float(row["reps_rollup"])
    share = expected / rollup if rollup else 0.0
    n = int(row["deals"])
    return (
        f"The reps commit {money(rollup)} in {n:,} deal{'s' if n != 1 else ''} for {quarter_label}; for the "
        f"same deals the model expects {money(expected)} inside the quarter, {percent(share)} of it."
    )


DEAL_COLUMNS = [
    "opportunity_id",
    "account",
    "sales_agent",
    "category",
    "rep_close_date",
    "deal_value",
    "model_chance",
    "model_expected",
    "driver_1",
]
LIST_COLUMNS = [*DEAL_COLUMNS, "stale", "main_driver"]  # the deal lists add the flag and the telling driver


def commit_at_risk(called: pd.DataFrame) -> pd.DataFrame:
    """Commit deals the reps call for the quarter that the model gives under 30% in it, largest first, each
    with its main risk driver (the reason that lowers its chance most) and whether it is stale."""
    chosen = called[called["category"].eq("Commit") & called["model_chance"].lt(COMMIT_AT_RISK_BELOW)]
    chosen = chosen.sort_values("deal_value", ascending=False, kind="stable")
    chosen = chosen.assign(main_driver=main_risk_driver(chosen), stale=_stale(chosen))
    return chosen[[c for c in LIST_COLUMNS if c in chosen.columns]].reset_index(drop=True)


def _stale(deals: pd.DataFrame) -> pd.Series:
    """Each deal's stale flag (False for a run without the column)."""
    if "stale" not in deals.columns:
        return pd.Series(False, index=deals.index, dtype=bool)
    return deals["stale"].fillna(False).astype(bool)


def upside(deals: pd.DataFrame, quarter: HeadlineQuarter) -> pd.DataFrame:
    """Pipeline and Best Case deals (whatever their rep close date) the model gives over 60% in the quarter,
    most expected value first, each with the reason that raises its chance most and its stale flag."""
    chance = deals[quarter.probability_column]
    category = category_of(deals)
    chosen = deals.loc[(category.isin(UPSIDE_CATEGORIES) & chance.gt(UPSIDE_ABOVE)).to_numpy()]
    chosen = chosen.assign(
        category=category.loc[chosen.index],
        model_chance=chance.loc[chosen.index],
        model_expected=(chosen["deal_value"] * chance.loc[chosen.index]).round(2),
    ).sort_values("model_expected", ascending=False, kind="stable")
    chosen = chosen.assign(main_driver=main_lift_driver(chosen), stale=_stale(chosen))
    return chosen[[c for c in LIST_COLUMNS if c in chosen.columns]].reset_index(drop=True)


def call_csv(called: pd.DataFrame, at_risk: pd.DataFrame, extra: pd.DataFrame) -> str:
    """The deals behind the reps' call as CSV: every deal called for the quarter plus the upside deals the
    reps date later, each flagged "commit at risk", "upside" or blank."""
    rows = pd.concat([called, extra[~extra["opportunity_id"].isin(called["opportunity_id"])]])
    flag = pd.Series("", index=rows.index, dtype=object)
    flag[rows["opportunity_id"].isin(at_risk["opportunity_id"]).to_numpy()] = "commit at risk"
    flag[rows["opportunity_id"].isin(extra["opportunity_id"]).to_numpy()] = "upside"
    rows = rows.assign(flag=flag)
    rows = rows.iloc[category_rank(rows["category"]).reset_index(drop=True).sort_values(kind="stable").index]
    return rows[[c for c in [*DEAL_COLUMNS, "flag"] if c in rows.columns]].to_csv(index=False)


SCOPES = ("total", "open")  # the track record's two forecasts: the whole quarter, the deals open that week


def _scoped(scope: str) -> str:
    """The column prefix of a track-record scope: "total_" for the whole quarter, "" for the open deals."""
    if scope not in SCOPES:
        raise ValueError(f"unknown track-record scope {scope!r} (expected one of {', '.join(SCOPES)})")
    return "total_" if scope == "total" else ""


def forecastable(accuracy: pd.DataFrame) -> pd.Series:
    """True for the weeks that had something left to forecast: made before their quarter's last day. A
    forecast made on that day has its range collapsed onto what was won, which it "holds" whatever the
    model: counting it would flatter the share inside."""
    quarter_end = pd.to_datetime(accuracy["period_start"]).dt.to_period("Q").dt.end_time.dt.normalize()
    return pd.to_datetime(accuracy["as_of"]) < quarter_end


@dataclass(frozen=True)
class TrackRecord:
    """forecast_accuracy.csv summed up for one scope (the whole quarter or the open deals): the weeks with
    something left to forecast, those whose actual fell inside P10-P90, the mean miss, and the weeks left
    out (nothing left to forecast)."""

    weeks: int
    inside: int
    mean_miss: float  # mean of P50 - actual: positive when the forecast was above what was won
    miss_share: float  # the same, as a share of the mean actual
    rep_mean_miss: float | None  # mean of the reps' Commit - actual (None without categories)
    scope: str = "open"
    settled: int = 0  # weeks with nothing left to forecast, not counted


def track_record(accuracy: pd.DataFrame, scope: str = "open") -> TrackRecord:
    """How past weeks' quarter forecasts did: the whole quarter's (``scope`` "total") against everything the
    quarter won, or the open deals' ("open") against what those deals went on to win. The reps' Commit is
    set against the open deals' actual only (it is a call on those deals)."""
    prefix = _scoped(scope)
    counted = forecastable(accuracy)
    rows = accuracy[counted]
    actual = rows[f"{prefix}actual"]
    inside = actual.between(rows[f"{prefix}p10"], rows[f"{prefix}p90"])
    miss = rows[f"{prefix}p50"] - actual
    mean_actual = float(actual.mean()) if len(rows) else 0.0
    rep = rows["rep_commit"] if "rep_commit" in rows.columns and scope == "open" else pd.Series(dtype=float)
    rep_miss = (rep - actual).dropna() if rep.notna().any() else pd.Series(dtype=float)
    return TrackRecord(
        weeks=int(len(rows)),
        inside=int(inside.sum()),
        mean_miss=float(miss.mean()) if len(rows) else 0.0,
        miss_share=float(miss.mean()) / mean_actual if mean_actual else 0.0,
        rep_mean_miss=float(rep_miss.mean()) if len(rep_miss) else None,
        scope=scope,
        settled=int((~counted).sum()),
    )


def track_record_sentence(record: TrackRecord, money: Money) -> str:
    """The track record in one or two plain sentences, for the forecast it counts (plain text)."""
    if not record.weeks:
        return ""
    share = record.inside / record.weeks
    side = "above" if record.mean_miss > 0 else "below"
    what = (
        "the quarter's whole revenue (won before that week, from deals open then and from deals created "
        "later) fell inside that week's"
        if record.scope == "total"
        else "what the open deals went on to win fell inside the"
    )
    text = (
        f"In {record.inside} of the {record.weeks} past weeks ({percent(share)}) {what} {LIKELY_RANGE} (it "
        f"aims to hold 80% of outcomes); on average the middle estimate was {money(abs(record.mean_miss))} "
        f"({percent(abs(record.miss_share))}) {side} it."
    )
    if record.settled:
        text += (
            f" {record.settled} more week{'s' if record.settled != 1 else ''}, made on its quarter's last "
            f"day, had nothing left to forecast and {'are' if record.settled != 1 else 'is'} not counted."
        )
    if record.rep_mean_miss is not None:
        rep_side = "above" if record.rep_mean_miss > 0 else "below"
        text += f" The reps' Commit was on average {money(abs(record.rep_mean_miss))} {rep_side} it."
    return text


def weekly_share(record: TrackRecord | None) -> float | None:
    """The track record's share of weeks whose actual fell inside the likely range (None without weeks)."""
    return record.inside / record.weeks if record is not None and record.weeks else None


def band_checks_sentence(record: TrackRecord | None, summary: dict) -> str | None:
    """One plain sentence saying what the weekly track record and the forecast backtest each replay, so
    their shares inside the likely range are not read as two verdicts on the same thing (None unless the
    page shows both)."""
    weekly = weekly_share(record)
    backtest = summary.get("coverage_p10_p90")
    if weekly is None or backtest is None or record is None:
        return None
    curves = summary.get("probability_source") == "curves"
    dates = len(summary.get("as_of_dates") or [])
    when = f"on {dates} past date{'s' if dates != 1 else ''}" if dates else "at past dates"
    split = ", for segments too" if len(summary.get("segment_types") or []) > 1 else ""
    text = (
        f"The two checks replay different forecasts of the open deals: the track record above follows "
        f"each Friday's forecast of what the deals open that day would win in its own quarter, made as the "
        f"quarter went on ({record.inside} of {record.weeks} weeks inside the range, {percent(weekly)}); the "
        f"backtest below replays month and quarter forecasts made {when}"
        f"{split} ({percent(float(backtest))} inside)"
        + (
            ", with win probabilities from past deals' time to close rather than the model."
            if curves
            else "."
        )
    )
    if weekly < WEEKLY_MISSES_BELOW <= float(backtest):
        text += (
            " For this quarter's call go by the track record: the open deals' range has missed more often "
            "than the 1 in 5 it allows, so what they bring in can fall outside it."
        )
    elif float(backtest) < WEEKLY_MISSES_BELOW <= weekly:
        text += " For this quarter's call go by the track record, which is the same weekly forecast."
    return text


def whole_period_backtest_sentence(summary: dict) -> str | None:
    """How often the forecast backtest's whole-period range (won already + open deals + deals not yet
    created) held everything its period won, in one plain sentence (None for a backtest that did not judge
    it: runs before it)."""
    coverage = summary.get("total_coverage_p10_p90")
    if coverage is None:
        return None
    return (
        f"On the same past windows the whole period's {LIKELY_RANGE} (won already, open deals and deals not "
        f"yet created) held everything the period won {percent(float(coverage))} of the time (it aims to "
        "hold 80% of outcomes)."
    )


def track_record_rows(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The track record's rows in week order, each flagged whether its actual fell inside P10-P90, for the
    open deals (``inside_p10_p90``) and the whole quarter (``total_inside_p10_p90``); a week with nothing left
    to forecast is flagged False, as the sentence does not count it."""
    rows = accuracy.sort_values(["as_of", "period_start"], kind="stable").reset_index(drop=True)
    flags = {
        f"{_scoped(scope)}inside_p10_p90": forecastable(rows)
        & rows[f"{_scoped(scope)}actual"].between(rows[f"{_scoped(scope)}p10"], rows[f"{_scoped(scope)}p90"])
        for scope in ("open", "total")
    }
    return rows.assign(**flags)
