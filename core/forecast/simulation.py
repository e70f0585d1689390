"""Seeded, vectorised and chunked Monte Carlo of revenue won from the open pipeline, with dependent deals.

Each deal has a probability of being won inside each day slice of the horizon (win probability times its
conditional win-time share). Dependence: per simulation, a persistent shock for the whole horizon, and per
calendar month a market-wide shock and one shock per shock segment (regional office), all multiply every
deal's chance of winning in that month (gamma frailty with mean 1, so each deal's expected outcome is
unchanged up to the cap at certainty; variances fitted from history by :mod:`core.forecast.dependence`).
One uniform per deal and simulation then decides whether and in which month it is won (cumulative scaled
month chances), and the same uniform, rescaled, picks the slice inside the month. A won deal's value is
its amount, else its list price times a draw from the realised-to-list ratios of won deals. Simulations x
deals is processed in chunks so no dense deals x simulations matrix is ever held.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PAIRS_PER_CHUNK = 1 << 22
SIMS_PER_CHUNK = 1000


@dataclass(frozen=True)
class Dependence:
    """Variances of the mean-1 gamma shocks: per month market-wide and per shock segment, and persistent."""

    market_variance: float = 0.0
    segment_variance: float = 0.0
    segment_type: str = "regional_office"
    details: dict = field(default_factory=dict)
    persistent_variance: float = 0.0
    realisation_factors: tuple[float, ...] = (1.0,)


@dataclass(frozen=True)
class PipelineDraws:
    """Everything the simulation needs per deal, as arrays aligned on the same deal order."""

    slice_probability: np.ndarray  # deals x slices, P(won inside the slice)
    slice_month: np.ndarray  # slices -> calendar-month index
    fixed_value: np.ndarray  # deals; NaN when the value must be drawn from list price x ratio
    list_price: np.ndarray  # deals
    realised_ratio: np.ndarray  # realised-to-list ratios of won deals to draw from
    level_codes: np.ndarray  # deals x segment types: column index into the reporting levels
    shock_group: np.ndarray  # deals: code of the shock segment
    # deals not yet created (core.forecast.new_deals): their own random stream (the market and segment
    # shocks stay the open pipeline's) and a creation shock of this variance on all of them
    stream: int = 0
    creation_variance: float = 0.0


def _gamma_shock(rng: np.random.Generator, variance: float, shape: tuple[int, ...]) -> np.ndarray:
    """Mean-1 gamma multipliers with the given variance (exactly 1 when the variance is 0)."""
    if variance <= 0:
        return np.ones(shape)
    return rng.gamma(1.0 / variance, variance, size=shape)


def _within_month_thresholds(
    slice_probability: np.ndarray, slice_month: np.ndarray, n_months: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per deal and month: the month's chance and cumulative within-month shares of its slices."""
    counts = np.bincount(slice_month, minlength=n_months)
    width = int(counts.max())
    first_slice = np.concatenate([[0], np.cumsum(counts)[:-1]])
    month_prob = np.zeros((slice_probability.shape[0], n_months))
    thresholds = np.ones((slice_probability.shape[0], n_months, width), order="F")
    for m in range(n_months):
        part = slice_probability[:, first_slice[m] : first_slice[m] + counts[m]]
        total = part.sum(axis=1)
        month_prob[:, m] = total
        with np.errstate(invalid="ignore", divide="ignore"):
            cum = np.where(total[:, None] > 0, np.cumsum(part, axis=1) / total[:, None], 1.0)
        thresholds[:, m, : counts[m]] = cum
        thresholds[:, m, counts[m] - 1] = np.inf
    return month_prob, thresholds, first_slice, counts


def simulate_revenue(
    draws: PipelineDraws,
    n_levels: int,
    simulations: int,
    seed: int,
    dependence: Dependence,
    n_shock_groups: int,
    sim_chunks: range | None = None,
) -> np.ndarray:
    """Revenue won per simulation, day slice and reporting level: array (simulations, slices, levels).

    With ``sim_chunks`` (a range of :func:`simulation_chunks`), only those chunks' simulations, in order:
    each chunk has its own seeded streams, so the parts of a split run equal the rows of a whole one.
    """
    n_deals, n_slices = draws.slice_probability.shape
    n_months = int(draws.slice_month.max()) + 1 if n_slices else 0
    sims_chunk = min(simulations, SIMS_PER_CHUNK)
    chunks = range(simulation_chunks(simulations)) if sim_chunks is None else sim_chunks
    first = chunks.start * sims_chunk if len(chunks) else 0
    last = min(simulations, chunks.stop * sims_chunk) if len(chunks) else 0
    totals = np.zeros((last - first, n_slices, n_levels))
    if n_deals == 0 or n_slices == 0 or simulations == 0:
        return totals
    deals_chunk = max(1, PAIRS_PER_CHUNK // sims_chunk)
    n_deal_chunks = -(-n_deals // deals_chunk)
    ratio = draws.realised_ratio if len(draws.realised_ratio) else np.ones(1)
    for sc in chunks:
        s0, s1 = sc * sims_chunk, min(simulations, (sc + 1) * sims_chunk)
        shock_rng = np.random.default_rng([seed, sc, 0])
        market = _gamma_shock(shock_rng, dependence.market_variance, (s1 - s0, n_months))
        market *= _gamma_shock(shock_rng, dependence.persistent_variance, (s1 - s0, 1))
        segment = _gamma_shock(shock_rng, dependence.segment_variance, (s1 - s0, n_months, n_shock_groups))
        if draws.stream:
            creation_rng = np.random.default_rng([seed, sc, 0, draws.stream])
            market = market * _gamma_shock(creation_rng, draws.creation_variance, (s1 - s0, 1))
        for dc in range(n_deal_chunks):
            d0, d1 = dc * deals_chunk, min(n_deals, (dc + 1) * deals_chunk)
            key = [seed, sc, dc + 1] + ([draws.stream] if draws.stream else [])
            rng = np.random.default_rng(key)
            out = totals[s0 - first : s1 - first]
            _simulate_chunk(draws, slice(d0, d1), market, segment, ratio, rng, out, n_months)
    return totals


def simulation_chunks(simulations: int) -> int:
    """How many chunks of (up to) ``SIMS_PER_CHUNK`` simulations a run of ``simulations`` is made of."""
    return -(-simulations // SIMS_PER_CHUNK) if simulations > 0 else 0


def _simulate_chunk(
    draws: PipelineDraws,
    deals: slice,
    market: np.ndarray,
    segment: np.ndarray,
    ratio: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray,
    n_months: int,
) -> None:
    """Simulate one block of deals for one block of simulations and add their revenue into ``out``.

    Month by month, each still-unwon pair compares its remaining uniform with the month's shocked chance;
    a hit is won that month (the rescaled remainder picks the slice), a miss subtracts the chance.
    Deals are sorted by shock group so each group's shocks broadcast over a contiguous block.
    """
    month_prob, thresholds, first_slice, counts = _within_month_thresholds(
        draws.slice_probability[deals], draws.slice_month, n_months
    )
    month_prob = month_prob.astype(np.float32)
    groups = draws.shock_group[deals]
    n_sims, n_deals = market.shape[0], month_prob.shape[0]
    blocks = _group_blocks(groups)
    residual = rng.random((n_sims, n_deals), dtype=np.float32)
    chance = np.empty_like(residual)
    hit = np.empty(residual.shape, dtype=bool)
    flat_residual, flat_chance = residual.reshape(-1), chance.reshape(-1)
    hit_sims, hit_deals, hit_slices = [], [], []
    for m in range(n_months):
        if not month_prob[:, m].any():  # no deal in this block can be won this month: nothing changes
            continue
        for g, b0, b1 in blocks:
            shock = (market[:, m] * segment[:, m, g]).astype(np.float32)
            np.multiply(shock[:, None], month_prob[None, b0:b1, m], out=chance[:, b0:b1])
        np.less(residual, chance, out=hit)
        flat = np.flatnonzero(hit)
        if len(flat):
            sim_idx, deal_idx = np.divmod(flat, n_deals)
            slice_idx = np.full(len(flat), first_slice[m], dtype=np.int64)
            if counts[m] > 1:
                position = flat_residual[flat] / flat_chance[flat]
                for j in range(counts[m] - 1):
                    slice_idx += position >= thresholds[:, m, j][deal_idx]
            hit_sims.append(sim_idx)
            hit_deals.append(deal_idx)
            hit_slices.append(slice_idx)
            flat_residual[flat] = np.inf
        residual -= chance
    if not hit_sims:
        return
    sim_idx, deal_idx, slice_idx = (np.concatenate(a) for a in (hit_sims, hit_deals, hit_slices))
    global_deal = deal_idx + deals.start
    value = draws.fixed_value[global_deal]
    drawn = np.flatnonzero(np.isnan(value))
    value[drawn] = draws.list_price[global_deal[drawn]] * ratio[rng.integers(0, len(ratio), len(drawn))]
    n_slices, n_levels = out.shape[1], out.shape[2]
    base = (sim_idx * n_slices + slice_idx) * n_levels
    targets = np.concatenate(
        [base + draws.level_codes[:, j][global_deal] for j in range(draws.level_codes.shape[1])]
    )
    weights = np.tile(value, draws.level_codes.shape[1])
    flat_out = out.reshape(-1)
    flat_out += np.bincount(targets, weights=weights, minlength=flat_out.size)


def _group_blocks(groups: np.ndarray) -> list[tuple[int, int, int]]:
    """Contiguous runs (group, start, stop) of equal shock-group codes."""
    if len(groups) == 0:
        return []
    change = np.flatnonzero(np.diff(groups)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(groups)]])
    return [(int(groups[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
