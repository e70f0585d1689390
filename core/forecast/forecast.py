"""Turn scored open deals into the revenue forecast: quantiles per period and segment (ARCHITECTURE 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from core.forecast.new_deals import new_deals
from core.forecast.periods import ForecastCalendar, build_calendar
from core.forecast.seasonality import QuarterSeasonality, seasonal_window_shares
from core.forecast.simulation import Dependence, PipelineDraws, simulate_revenue, simulation_chunks
from core.forecast.timing import CloseTimingModel
from core.outputs import FORECAST_COLUMNS
from core.parallel import worker_pool

THREADED_PAIRS = 100_000 * 10_000
QUANTILE_PROBABILITIES = np.array([0.1, 0.5, 0.9])
QUANTILE_GRID = np.round(np.arange(1, 100) / 100, 2)  # forecast_quantiles.csv: q = 0.01 .. 0.99

SEGMENT_TYPES: tuple[str, ...] = ("all", "regional_office", "manager", "sales_agent", "product")
CATEGORY = "forecast_category"  # a segment too when open deals carry the rep's category (the reps' call)
NO_CATEGORY = "Not set"
PERIOD_TYPES: tuple[str, ...] = ("week", "month", "quarter")
ALL = "All"


def realised_ratios(deals: pd.DataFrame) -> np.ndarray:
    """Realised-to-list ratios (close_value / list_price) of deals won by as-of, sorted (empty when none)."""
    won = deals[deals["is_won"] & (deals["list_price"] > 0) & deals["close_value"].notna()]
    return np.sort((won["close_value"] / won["list_price"]).to_numpy(dtype=float))


def deal_values(open_deals: pd.DataFrame, all_deals: pd.DataFrame) -> pd.DataFrame:
    """Each open deal's value: its amount, else list price x mean realised ratio, else median won value."""
    ratios = realised_ratios(all_deals)
    mean_ratio = float(ratios.mean()) if len(ratios) else 1.0
    won_values = all_deals.loc[all_deals["is_won"], "close_value"].dropna()
    median_won = float(won_values.median()) if len(won_values) else 0.0
    amount = open_deals["amount"].astype(float)
    list_price = open_deals["list_price"].astype(float)
    has_amount = amount.notna()
    has_list = ~has_amount & list_price.notna() & (list_price > 0)
    value = np.where(has_amount, amount, np.where(has_list, list_price * mean_ratio, median_won))
    source = np.where(has_amount, "amount", np.where(has_list, "list_price", "median_won_value"))
    fixed = np.where(has_amount, amount, np.where(has_list, np.nan, median_won))
    return pd.DataFrame(
        {
            "deal_value": value,
            "value_source": source,
            "fixed_value": fixed,
            "list_price": list_price.fillna(0.0).to_numpy(),
        },
        index=open_deals.index,
    )


def slice_probabilities(
    open_deals: pd.DataFrame,
    timing: CloseTimingModel,
    calendar: ForecastCalendar,
    seasonality: QuarterSeasonality | None = None,
) -> np.ndarray:
    """P(won inside each day slice) per deal = win probability x seasonal win-time share; stale deals 0."""
    if len(calendar.slice_first) == 0:
        return np.zeros((len(open_deals), 0))
    inside = seasonal_window_shares(
        timing,
        open_deals,
        calendar.as_of,
        seasonality or QuarterSeasonality(),
        calendar.slice_first,
        calendar.slice_last,
    )
    probability = open_deals["win_probability"].to_numpy(dtype=float)[:, None] * inside
    probability[open_deals["stale"].to_numpy(dtype=bool)] = 0.0
    return np.clip(probability, 0.0, 1.0)


def realised(
    probability: np.ndarray, win_probability: np.ndarray, slice_month: np.ndarray, factors: tuple[float, ...]
) -> np.ndarray:
    """Scale each slice's chance by its months-ahead realisation factor, never beyond win probability."""
    factor = np.asarray(factors, dtype=float)[np.minimum(slice_month, len(factors) - 1)]
    scaled = probability * factor[None, :]
    total = scaled.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(total > win_probability, win_probability / total, 1.0)
    return scaled * shrink[:, None]


def segment_types(open_deals: pd.DataFrame) -> tuple[str, ...]:
    """The forecast's segment types: SEGMENT_TYPES, and the rep's forecast category when an open deal has
    one."""
    has_category = CATEGORY in open_deals.columns and open_deals[CATEGORY].fillna("").ne("").any()
    return (*SEGMENT_TYPES, CATEGORY) if has_category else SEGMENT_TYPES


def _category(frame: pd.DataFrame) -> pd.Series:
    """The rep's forecast category of each deal, "Not set" when blank."""
    return frame[CATEGORY].fillna("").astype(str).replace("", NO_CATEGORY)


def _levels(open_deals: pd.DataFrame, won_in_view: pd.DataFrame) -> list[tuple[str, str]]:
    """Reporting levels (segment_type, segment): every segment with open deals or revenue in the periods
    (a forecast category only as open deals have it: a won deal's category says nothing of the call)."""
    levels = [("all", ALL)]
    for segment_type in segment_types(open_deals)[1:]:
        if segment_type == CATEGORY:
            names = set(_category(open_deals))
        else:
            names = set(open_deals[segment_type].astype(str)) | set(won_in_view[segment_type].astype(str))
        levels += [(segment_type, name) for name in sorted(names)]
    return levels


def _level_codes(frame: pd.DataFrame, levels: list[tuple[str, str]], closed: bool = False) -> np.ndarray:
    """Deals x segment types matrix of level indices (-1 for a closed deal's forecast category)."""
    types = list(dict.fromkeys(level[0] for level in levels))
    codes = np.zeros((len(frame), len(types)), dtype=np.int64)
    for j, segment_type in enumerate(types[1:], start=1):
        positions = [i for i, level in enumerate(levels) if level[0] == segment_type]
        if segment_type == CATEGORY and closed:
            codes[:, j] = -1
            continue
        names = [levels[i][1] for i in positions]
        values = _category(frame) if segment_type == CATEGORY else frame[segment_type].astype(str)
        local = pd.Categorical(values, categories=names).codes
        if (local < 0).any():
            raise ValueError(f"a deal's {segment_type} is not among the reporting levels")
        codes[:, j] = np.asarray(positions, dtype=np.int64)[local]
    return codes


def closed_won_by_period(
    all_deals: pd.DataFrame, calendar: ForecastCalendar, levels: list[tuple[str, str]]
) -> np.ndarray:
    """Revenue already won inside each period up to as-of, per level: array (periods, levels)."""
    won = all_deals[
        all_deals["is_won"]
        & (all_deals["close_date"] >= calendar.periods["period_start"].min())
        & (all_deals["close_date"] <= calendar.as_of)
    ]
    codes = _level_codes(won, levels, closed=True)
    out = np.zeros((len(calendar.periods), len(levels)))
    values = won["close_value"].to_numpy(dtype=float)
    for p, (start, end) in enumerate(
        zip(calendar.periods["period_start"], calendar.periods["period_end"], strict=True)
    ):
        inside = ((won["close_date"] >= start) & (won["close_date"] <= min(end, calendar.as_of))).to_numpy()
        for j in range(codes.shape[1]):
            counted = inside & (codes[:, j] >= 0)
            out[p] += np.bincount(codes[counted, j], weights=values[counted], minlength=len(levels))
    return out


def forecast_revenue(
    open_deals: pd.DataFrame,
    all_deals: pd.DataFrame,
    timing: CloseTimingModel,
    dependence: Dependence,
    as_of: pd.Timestamp,
    simulations: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
    seasonality: QuarterSeasonality | None = None,
    grid: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast frame (FORECAST_COLUMNS) from scored open deals (needs win_probability, stale, segments);
    with ``grid``, also the quantile table (``QUANTILES``: revenue at q = 0.01 .. 0.99 of each period and
    segment, from the same runs), so the chance of any target can be read off without rerunning.

    From ``THREADED_PAIRS`` simulated deal-runs on (100,000 deals at 10,000 runs) the simulation's chunks run
    in threads (1.4x faster on 2 cores); each chunk has its own seeded streams, so the figures are the
    same as in one pass (tested).
    """
    calendar = build_calendar(as_of)
    group_of_deal = open_deals[dependence.segment_type].astype(str).to_numpy()
    open_deals = open_deals.iloc[np.argsort(group_of_deal, kind="stable")]
    values = deal_values(open_deals, all_deals)
    probability = realised(
        slice_probabilities(open_deals, timing, calendar, seasonality),
        open_deals["win_probability"].to_numpy(dtype=float),
        calendar.slice_month,
        dependence.realisation_factors,
    )
    future = new_deals(
        all_deals, timing, calendar.as_of, calendar.slice_first, calendar.slice_last, seasonality
    )
    future_order = np.argsort(future.deals[dependence.segment_type].astype(str).to_numpy(), kind="stable")
    future_deals = future.deals.iloc[future_order].reset_index(drop=True)
    future_probability = future.slice_probability[future_order]
    future_values = deal_values(future_deals, all_deals)
    horizon_end = calendar.periods["period_end"].max()
    won_in_view = all_deals[
        all_deals["is_won"]
        & (all_deals["close_date"] >= calendar.periods["period_start"].min())
        & (all_deals["close_date"] <= horizon_end)
    ]
    named = list(SEGMENT_TYPES[1:])
    levels = _levels(open_deals, pd.concat([won_in_view[named], future_deals[named]]))
    codes = _level_codes(open_deals, levels)
    future_codes = _level_codes(future_deals, levels, closed=True)  # a future deal has no category yet
    base_codes, rollup = _base_levels(np.vstack([codes, future_codes]), len(levels))
    shock_names = np.unique(
        np.concatenate([group_of_deal, future_deals[dependence.segment_type].astype(str).to_numpy()])
    )

    def draws(
        frame: pd.DataFrame, chance: np.ndarray, value: pd.DataFrame, base: np.ndarray, **future_only: Any
    ) -> PipelineDraws:
        live = chance.sum(axis=1) > 0  # stale deals and deals with no remaining win time: not simulated
        group = np.searchsorted(shock_names, frame[dependence.segment_type].astype(str).to_numpy())
        return PipelineDraws(
            slice_probability=chance[live],
            slice_month=calendar.slice_month,
            fixed_value=value["fixed_value"].to_numpy(dtype=float)[live],
            list_price=value["list_price"].to_numpy(dtype=float)[live],
            realised_ratio=realised_ratios(all_deals),
            level_codes=base[live],
            shock_group=group.astype(np.int64)[live],
            **future_only,
        )

    pipeline = draws(open_deals, probability, values, base_codes[: len(open_deals)])
    created = draws(
        future_deals,
        future_probability,
        future_values,
        base_codes[len(open_deals) :, :2],  # rep and product; no forecast category
        stream=1,
        creation_variance=future.creation_variance,
    )
    shared = (rollup.shape[0], simulations, seed, dependence, max(len(shock_names), 1))
    chunks = range(simulation_chunks(simulations))
    pairs = (len(pipeline.fixed_value) + len(created.fixed_value)) * simulations
    with worker_pool(len(chunks) if pairs >= THREADED_PAIRS else 1, threads=True) as pool:
        parts = [
            [
                pool.submit(simulated_period_totals, calendar.membership, chunks[c : c + 1], one, *shared)
                for one in (pipeline, created)
            ]
            for c in chunks
        ]
        totals: list[list[np.ndarray]] = [[], []]
        for done, pair in enumerate(parts, 1):
            for scope, part in enumerate(pair):
                totals[scope].append(part.result())
            if progress is not None:
                progress(done / len(parts))
    empty = np.zeros((0, len(calendar.periods), rollup.shape[0]))
    by_period, new_by_period = (  # sims x periods x levels
        (np.concatenate(scope, axis=0) if scope else empty) @ rollup for scope in totals
    )
    closed = closed_won_by_period(all_deals, calendar, levels)  # periods x levels
    whole = by_period + new_by_period + closed[None, :, :]
    expected_periods = _expected(codes, probability, values, calendar, len(levels))  # periods x levels
    new_expected = _expected(future_codes, future_probability, future_values, calendar, len(levels))
    forecast = _assemble(
        calendar,
        levels,
        {"expected": expected_periods, "new_expected": new_expected},
        {"": _quantiles(by_period), "total_": _quantiles(whole)},
        closed,
    )
    if not grid:
        return forecast
    return forecast, _quantile_table(
        calendar,
        levels,
        {"open": _quantiles(by_period, QUANTILE_GRID), "total": _quantiles(whole, QUANTILE_GRID)},
    )


def _expected(
    codes: np.ndarray,
    probability: np.ndarray,
    values: pd.DataFrame,
    calendar: ForecastCalendar,
    n_levels: int,
) -> np.ndarray:
    """Expected revenue won inside each period per level: periods x levels (codes below 0 count nowhere)."""
    by_slice = probability * values["deal_value"].to_numpy(dtype=float)[:, None]
    expected = np.zeros((n_levels, probability.shape[1]))
    for j in range(codes.shape[1]):
        counted = codes[:, j] >= 0
        for k in range(probability.shape[1]):
            expected[:, k] += np.bincount(codes[counted, j], weights=by_slice[counted, k], minlength=n_levels)
    return (expected @ calendar.membership.T).T


def _quantile_table(
    calendar: ForecastCalendar, levels: list[tuple[str, str]], scopes: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Long table of each scope's values (q x periods x levels) in the forecast's row order, scope and then
    q ascending within each period and segment."""
    frames = []
    for scope, values in scopes.items():
        n_q, n_periods, n_levels = values.shape
        periods = calendar.periods.reset_index(drop=True)
        frames.append(
            pd.DataFrame(
                {
                    "period_type": np.repeat(periods["period_type"].to_numpy(), n_levels * n_q),
                    "period_start": np.repeat(periods["period_start"].to_numpy(), n_levels * n_q),
                    "segment_type": np.tile(np.repeat([t for t, _ in levels], n_q), n_periods),
                    "segment": np.tile(np.repeat([v for _, v in levels], n_q), n_periods),
                    "scope": scope,
                    "q": np.tile(QUANTILE_GRID, n_periods * n_levels),
                    "revenue": values.transpose(1, 2, 0).reshape(-1),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["_pt"] = frame["period_type"].map({p: i for i, p in enumerate(PERIOD_TYPES)})
    frame["_st"] = frame["segment_type"].map({s: i for i, s in enumerate((*SEGMENT_TYPES, CATEGORY))})
    frame = frame.sort_values(["_pt", "period_start", "_st", "segment", "scope", "q"], kind="mergesort")
    return frame.drop(columns=["_pt", "_st"]).reset_index(drop=True)


def simulated_period_totals(membership: np.ndarray, sim_chunks: range | None, *simulation: Any) -> np.ndarray:
    """Revenue per simulation, period and simulated level: :func:`simulate_revenue` on its positional
    arguments ``simulation``, for the chunks ``sim_chunks`` (None: all), summed into ``membership``'s
    periods."""
    totals = simulate_revenue(*simulation, sim_chunks=sim_chunks)
    return _period_sums(totals, membership)


def _base_levels(codes: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulate only rep and product levels (and forecast categories, when a segment); a 0/1 matrix rolls reps
    up to manager, office and all.

    Returns (deals x base dimensions compact codes, base levels x reporting levels roll-up matrix). Each rep
    belongs to exactly one manager and office (the loader joins them from sales_teams), which is checked.
    """
    rep_levels, rep_codes = np.unique(codes[:, 3], return_inverse=True)
    product_levels, product_codes = np.unique(codes[:, 4], return_inverse=True)
    rollup = np.zeros((len(rep_levels) + len(product_levels), n_levels))
    for i, level in enumerate(rep_levels):
        parents = np.unique(codes[codes[:, 3] == level][:, :3], axis=0)
        if len(parents) != 1:
            raise ValueError("a sales rep maps to more than one manager or office")
        rollup[i, parents[0]] = 1.0
        rollup[i, level] = 1.0
    for i, level in enumerate(product_levels):
        rollup[len(rep_levels) + i, level] = 1.0
    base = np.column_stack([rep_codes, product_codes + len(rep_levels)]).astype(np.int64)
    if codes.shape[1] > len(SEGMENT_TYPES):  # forecast categories: their own base levels (-1: none)
        category = codes[:, len(SEGMENT_TYPES)]
        has = category >= 0
        category_levels, category_codes = np.unique(category[has], return_inverse=True)
        offset = len(rep_levels) + len(product_levels)
        extra = np.zeros((len(category_levels), n_levels))
        extra[np.arange(len(category_levels)), category_levels] = 1.0
        rollup = np.vstack([rollup, extra])
        category_base = np.full(len(codes), -1, dtype=np.int64)
        category_base[has] = category_codes + offset
        base = np.column_stack([base, category_base]).astype(np.int64)
    return base, rollup


def _period_sums(totals: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Sum day slices into periods (each period is a contiguous run of slices): sims x periods x levels."""
    out = np.zeros((totals.shape[0], membership.shape[0], totals.shape[2]))
    for p, row in enumerate(membership):
        inside = np.flatnonzero(row)
        if len(inside):
            out[:, p, :] = totals[:, inside[0] : inside[-1] + 1, :].sum(axis=1)
    return out


def _quantiles(by_period: np.ndarray, probabilities: np.ndarray = QUANTILE_PROBABILITIES) -> np.ndarray:
    """Quantiles (default P10, P50, P90) over simulations (axis 0): quantiles x periods x levels.

    numpy's default ('linear') quantile, computed from one sort of contiguous rows: ``np.quantile`` with
    three probabilities partitions around six positions, about three times slower than sorting here. The
    interpolation is numpy's own, term for term (``numpy.lib._function_base_impl._lerp``), so the figures
    are bit-identical to ``np.quantile`` (tested).
    """
    n_sims, n_periods, n_levels = by_period.shape
    if n_sims == 0:
        return np.zeros((len(probabilities), n_periods, n_levels))
    rows = np.ascontiguousarray(by_period.reshape(n_sims, -1).T)
    rows.sort(axis=1)
    virtual = (n_sims - 1) * probabilities
    previous = np.floor(virtual).astype(np.intp)
    following = previous + 1
    at_end = virtual >= n_sims - 1
    previous[at_end] = following[at_end] = n_sims - 1
    gamma = virtual - np.floor(virtual)
    low, high = rows[:, previous], rows[:, following]
    difference = high - low
    result = low + difference * gamma
    upper = gamma >= 0.5
    result[:, upper] = (high - difference * (1 - gamma))[:, upper]
    return np.ascontiguousarray(result.T).reshape(len(probabilities), n_periods, n_levels)


def _assemble(
    calendar: ForecastCalendar,
    levels: list[tuple[str, str]],
    expected: dict[str, np.ndarray],
    quantiles: dict[str, np.ndarray],
    closed: np.ndarray,
) -> pd.DataFrame:
    """Long forecast frame, sorted by period type, start, segment type and segment. ``expected``: periods x
    levels arrays of the open pipeline (``expected``) and deals not yet created (``new_expected``);
    ``quantiles``: P10/P50/P90 x periods x levels of the open pipeline ("") and the whole period
    ("total_")."""
    n_periods, n_levels = len(calendar.periods), len(levels)
    period_idx = np.repeat(np.arange(n_periods), n_levels)
    level_idx = np.tile(np.arange(n_levels), n_periods)
    periods = calendar.periods.iloc[period_idx].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "period_type": periods["period_type"],
            "period_start": periods["period_start"],
            "period_end": periods["period_end"],
            "segment_type": [levels[i][0] for i in level_idx],
            "segment": [levels[i][1] for i in level_idx],
            "closed_won": closed[period_idx, level_idx],
        }
    )
    for name, values in expected.items():
        frame[name] = values[period_idx, level_idx]
    frame["total_expected"] = frame["closed_won"] + frame["expected"] + frame["new_expected"]
    for prefix, values in quantiles.items():
        for i, name in enumerate(("p10", "p50", "p90")):
            frame[prefix + name] = values[i][period_idx, level_idx]
    frame["_pt"] = frame["period_type"].map({p: i for i, p in enumerate(PERIOD_TYPES)})
    frame["_st"] = frame["segment_type"].map({s: i for i, s in enumerate((*SEGMENT_TYPES, CATEGORY))})
    frame = frame.sort_values(["_pt", "period_start", "_st", "segment"], kind="mergesort")
    return frame.drop(columns=["_pt", "_st"]).reset_index(drop=True)[list(FORECAST_COLUMNS)]
