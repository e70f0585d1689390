"""Fit the size of the shared shocks from how much real won counts missed honest forecasts made earlier.

For every complete calendar month before the as-of date (from the first month in which any deal closed)
the deals open at its start get their chance of being won in each of the next months from time-to-close
curves fitted *on what was known at that month start* (out of sample), scaled by the quarter seasonality.
With independent deals the number won ``W`` has mean ``E = sum q`` and variance ``V = sum q (1 - q)``.
Three mean-1 gamma shocks multiply every chance (see ``core.forecast.simulation``):

* a persistent one per simulation (variance ``tau_p^2``, the pipeline converting better or worse for months),
* a monthly market one (``tau_m^2``),
* a monthly one per regional office (``tau_g^2``).

Method of moments: one-month-ahead windows give ``sum((W - E)^2 - V) = (tau_p^2 + tau_m^2) sum E^2``;
three-month-ahead totals give ``sum((W3 - E3)^2 - V3) = tau_p^2 sum E3^2 + tau_m^2 sum_k E_k^2``; office-level
one-month windows give the office excess on top. All estimates are floored at 0. Because the forecasts
are out of sample, any systematic miss of the curves is counted as shock variance, not hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.forecast.seasonality import (
    QuarterSeasonality,
    fit_last_day,
    fit_quarter_seasonality,
    month_of_quarter,
)
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel

MIN_OPEN_DEALS = 30
MIN_WINS_AT_ORIGIN = 100  # curves fitted on fewer wins than this are too raw to judge the method by
MAX_ORIGINS = 12  # the most recent year of forecast origins (older behaviour matters less)
PSEUDO_WINS = 10.0
MAX_VARIANCE = 1.0
AHEAD_MONTHS = 3


def _month_starts(deals: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.Period]:
    """Complete calendar months ending by as-of, from the first month in which a deal closed."""
    first_close = deals["close_date"].min()
    if pd.isna(first_close):
        return []
    return [m for m in pd.period_range(first_close, as_of, freq="M") if m.end_time.normalize() <= as_of]


def ahead_win_counts(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    timing: CloseTimingModel,
    segment_type: str,
    out_of_sample: bool = True,
    months_ahead: int = AHEAD_MONTHS,
    memo: dict | None = None,
) -> pd.DataFrame:
    """Per forecast origin (month start), months ahead k and segment: wins, expected wins, variance.

    Columns: origin, month (target month start), ahead (1..months_ahead), segment, won, expected, variance.
    With ``out_of_sample`` the chances come from curves fitted at each origin, else from ``timing``.

    ``memo``: a dict shared by calls on cuts of one export at several as-of dates (the track record). An
    origin's out-of-sample rows for a window complete by the as-of date read only what was known at the
    origin and what closed inside the window, which every later cut shows alike, so each is computed once.
    """
    rows = []
    won_dates = deals.loc[deals["deal_stage"].eq("Won"), "close_date"]
    origins = [
        m
        for m in _month_starts(deals, as_of)
        if int((won_dates < m.start_time.normalize()).sum()) >= MIN_WINS_AT_ORIGIN
    ][-MAX_ORIGINS:]
    shared = memo if out_of_sample else None
    for month in origins:
        start = month.start_time.normalize()
        ahead = [k for k in range(1, months_ahead + 1) if (month + (k - 1)).end_time.normalize() <= as_of]
        if not ahead:
            continue
        keys = [(start, k, segment_type, timing.segment, timing.shrinkage) for k in ahead]
        if shared is not None and all(key in shared for key in keys):
            rows += [shared[key] for key in keys]
            continue
        found = _origin_counts(deals, month, ahead, timing, segment_type, out_of_sample)
        if shared is not None:
            shared.update(zip(keys, found, strict=True))
        rows += found
    rows = [frame for frame in rows if not frame.empty]
    columns = ["origin", "month", "ahead", "segment", "won", "expected", "variance"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def _origin_counts(
    deals: pd.DataFrame,
    month: pd.Period,
    ahead: list[int],
    timing: CloseTimingModel,
    segment_type: str,
    out_of_sample: bool,
) -> list[pd.DataFrame]:
    """:func:`ahead_win_counts`' rows of one origin, one frame per months-ahead ``k`` in ``ahead`` (empty
    frames when the origin has too few open deals or no win before it)."""
    start = month.start_time.normalize()
    eve = start - pd.Timedelta(days=1)
    nothing = [pd.DataFrame() for _ in ahead]
    open_then = deals[
        (deals["engage_date"] <= eve) & (deals["close_date"].isna() | (deals["close_date"] > eve))
    ]
    if len(open_then) < MIN_OPEN_DEALS:
        return nothing
    model = timing
    if out_of_sample:
        try:
            model = CloseTimingModel(timing.segment, timing.shrinkage).fit(deals, eve)
        except ValueError:  # nothing won yet at that month start: no forecast to compare
            return nothing
    aged = open_then.assign(age_days=(eve - open_then["engage_date"]).dt.days.astype(float))
    segments = aged[segment_type].astype(str).to_numpy()
    frames = []
    for k in ahead:
        target = month + (k - 1)
        end = target.end_time.normalize()
        first = (target.start_time.normalize() - eve).days
        chance = model.window_win_chance(aged, first, (end - eve).days)
        won = (
            aged["deal_stage"].eq("Won")
            & (aged["close_date"] >= target.start_time.normalize())
            & (aged["close_date"] <= end)
        ).to_numpy()
        frame = pd.DataFrame(
            {
                "segment": segments,
                "won": won.astype(float),
                "expected": chance,
                "variance": chance * (1 - chance),
            }
        )
        grouped = frame.groupby("segment", sort=True).sum().reset_index()
        grouped["origin"] = start
        grouped["month"] = target.start_time.normalize()
        grouped["ahead"] = k
        frames.append(grouped)
    return frames


def monthly_win_counts(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    timing: CloseTimingModel,
    segment_type: str,
    out_of_sample: bool = False,
) -> pd.DataFrame:
    """One-month-ahead counts per month and segment (columns month, segment, won, expected, variance)."""
    counts = ahead_win_counts(deals, as_of, timing, segment_type, out_of_sample, months_ahead=1)
    return counts.drop(columns=["origin", "ahead"])


def _excess_variance(counts: pd.DataFrame) -> float:
    """Method-of-moments shock variance from won counts, expectations and independent variances."""
    if counts.empty or float((counts["expected"] ** 2).sum()) <= 0:
        return 0.0
    excess = ((counts["won"] - counts["expected"]) ** 2 - counts["variance"]).sum()
    return float(np.clip(excess / (counts["expected"] ** 2).sum(), 0.0, MAX_VARIANCE))


def _seasonal(counts: pd.DataFrame, seasonality: QuarterSeasonality) -> pd.DataFrame:
    """Counts with expectations (and independent variances, approximately) scaled by the quarter index."""
    if counts.empty:
        return counts
    factor = np.asarray(seasonality.index)[month_of_quarter(counts["month"])]
    return counts.assign(expected=counts["expected"] * factor, variance=counts["variance"] * factor)


def _complete_totals(ahead: pd.DataFrame, months_ahead: int) -> pd.DataFrame:
    """Whole-pipeline counts of the origins with all ``months_ahead`` months observed."""
    whole = ahead.groupby(["origin", "ahead"], sort=True)[["won", "expected", "variance"]].sum().reset_index()
    complete = whole.groupby("origin")["ahead"].transform("max") == months_ahead
    return whole[complete]


def realisation_factors(ahead: pd.DataFrame, months_ahead: int = AHEAD_MONTHS) -> tuple[float, ...]:
    """Out-of-sample won / forecast for 1, 2, ... months ahead, each shrunk to 1 with 10 pseudo-wins."""
    factors = []
    for k in range(1, months_ahead + 1):
        part = ahead[ahead["ahead"] == k]
        factors.append(float((part["won"].sum() + PSEUDO_WINS) / (part["expected"].sum() + PSEUDO_WINS)))
    return tuple(factors)


def _apply_factors(ahead: pd.DataFrame, factors: tuple[float, ...]) -> pd.DataFrame:
    """Expected wins (and independent variances) scaled by the realisation factor of their months ahead."""
    if ahead.empty:
        return ahead
    scale = np.asarray(factors)[np.minimum(ahead["ahead"].to_numpy(dtype=int), len(factors)) - 1]
    return ahead.assign(expected=ahead["expected"] * scale, variance=ahead["variance"] * scale)


def _rolling_realised(ahead: pd.DataFrame) -> pd.DataFrame:
    """Each origin's counts scaled by the realisation factors known at that origin (honest residuals)."""
    parts = []
    for origin, part in ahead.groupby("origin", sort=True):
        known = ahead[ahead["month"] < origin]
        parts.append(_apply_factors(part, realisation_factors(known)))
    return pd.concat(parts, ignore_index=True) if parts else ahead


def _persistent_variance(ahead: pd.DataFrame, short_term: float, months_ahead: int) -> float:
    """tau_p^2 from multi-month totals, given tau_p^2 + tau_m^2 = ``short_term`` from one-month windows."""
    complete = _complete_totals(ahead, months_ahead)
    totals = complete.groupby("origin")
    if complete.empty:
        return 0.0
    won, expected, variance = totals["won"].sum(), totals["expected"].sum(), totals["variance"].sum()
    squares = totals["expected"].apply(lambda e: float((e**2).sum()))
    c, d, f = (
        float(((won - expected) ** 2 - variance).sum()),
        float((expected**2).sum()),
        float(squares.sum()),
    )
    if d - f <= 1e-12:
        return 0.0
    return float(np.clip((c - short_term * f) / (d - f), 0.0, MAX_VARIANCE))


def fit_market(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    timing: CloseTimingModel,
    segment_type: str = "regional_office",
    memo: dict | None = None,
) -> tuple[QuarterSeasonality, Dependence]:
    """Quarter seasonality (in sample), then the shock variances from out-of-sample forecast misses
    (``memo``: see :func:`ahead_win_counts`)."""
    in_sample = monthly_win_counts(deals, as_of, timing, segment_type)
    seasonality = fit_last_day(fit_quarter_seasonality(_by_month(in_sample)), deals, as_of)
    ahead = _seasonal(ahead_win_counts(deals, as_of, timing, segment_type, memo=memo), seasonality)
    return seasonality, _dependence(ahead, segment_type)


def fit_dependence(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    timing: CloseTimingModel,
    segment_type: str = "regional_office",
    seasonality: QuarterSeasonality | None = None,
) -> Dependence:
    """Shock variances fitted on the history before ``as_of`` (optionally after quarter seasonality)."""
    ahead = ahead_win_counts(deals, as_of, timing, segment_type)
    if seasonality is not None:
        ahead = _seasonal(ahead, seasonality)
    return _dependence(ahead, segment_type)


def _by_month(by_segment: pd.DataFrame) -> pd.DataFrame:
    """Whole-pipeline monthly counts from per-segment ones."""
    return by_segment.groupby("month", sort=True)[["won", "expected", "variance"]].sum().reset_index()


def _dependence(ahead: pd.DataFrame, segment_type: str) -> Dependence:
    """Method-of-moments persistent, monthly market and monthly segment shock variances."""
    factors = realisation_factors(ahead)
    ahead = _rolling_realised(ahead)
    one_month = ahead[ahead["ahead"] == 1]
    whole = _by_month(one_month)
    short_term = _excess_variance(whole)
    persistent = _persistent_variance(ahead, short_term, AHEAD_MONTHS)
    market = max(0.0, short_term - persistent)
    segment = max(0.0, _excess_variance(one_month) - short_term)
    details = {
        "method": "method of moments on out-of-sample won counts (curves refitted at each month start, "
        "quarter "
        "seasonality applied): 1-month windows give persistent + monthly variance, "
        f"{AHEAD_MONTHS}-month totals split off the persistent part, office windows the office part",
        "persistent_variance": round(persistent, 6),
        "months": int(len(whole)),
        "segment_windows": int(len(one_month)),
        "market_dispersion_ratio": round(
            float(((whole["won"] - whole["expected"]) ** 2).sum() / max(whole["variance"].sum(), 1e-12)), 4
        )
        if len(whole)
        else None,
        "realised_to_expected_1_month": round(
            float(whole["won"].sum() / max(whole["expected"].sum(), 1e-12)), 4
        )
        if len(whole)
        else None,
    }
    factors = tuple(round(f, 4) for f in factors)
    details["realisation_factors_by_months_ahead"] = list(factors)
    return Dependence(
        round(market, 6), round(segment, 6), segment_type, details, round(persistent, 6), factors
    )
