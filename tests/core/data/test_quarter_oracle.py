"""The quarter-revenue oracle: the TRUE distribution of a quarter's won revenue given a generated world at an
as-of date. Checked against the realised revenue (a point at the quarter's end, ranks spread as they should
be over many windows) and against brute-force samplers that run the generator's own deal process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.synthetic import (
    LOST_SHAPE,
    WON_SHAPE,
    ZOMBIE_PROBABILITY,
    _close_values,
    _draw_deals,
    _draw_world,
    _duration_scales,
    _engage_dates,
    _pulled_in,
    _win_probability_if_closes,
    generate_crm,
    oracle_quarter_revenue,
)

EXPORT = "2026-08-14"
DEALS, SEED = 3000, 21


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return generate_crm(DEALS, SEED, EXPORT).truth


def won_in(truth: pd.DataFrame, start: str, end: str) -> float:
    """Revenue won with a close date in [start, end], from truth.csv."""
    won = truth.loc[truth["outcome"].eq("Won") & truth["close_date"].between(start, end)]
    return float(won["close_value"].astype(float).sum())


def test_at_the_quarters_end_the_oracle_is_the_actual_revenue(truth) -> None:
    for as_of in ("2026-03-31", "2026-05-20"):
        draws = oracle_quarter_revenue(DEALS, SEED, EXPORT, as_of, "2026-01-01", "2026-03-31", 200, 1)
        assert won_in(truth, "2026-01-01", "2026-03-31") > 0
        assert (draws.total == won_in(truth, "2026-01-01", "2026-03-31")).all()
        assert not draws.open_deals.any() and not draws.not_created_yet.any()


def test_revenue_won_by_the_as_of_date_is_fixed_and_the_rest_varies(truth) -> None:
    draws = oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-02-14", "2026-01-01", "2026-03-31", 500, 1)
    assert draws.won_by_as_of == won_in(truth, "2026-01-01", "2026-02-14")
    assert draws.open_deals.std() > 0 and draws.not_engaged_yet.std() > 0 and draws.not_created_yet.std() > 0
    np.testing.assert_array_equal(
        draws.total, draws.won_by_as_of + draws.open_deals + draws.not_engaged_yet + draws.not_created_yet
    )


def test_the_same_rng_seed_gives_the_same_draws() -> None:
    first = oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-02-14", "2026-01-01", "2026-03-31", 300, 4)
    again = oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-02-14", "2026-01-01", "2026-03-31", 300, 4)
    np.testing.assert_array_equal(first.total, again.total)


def test_a_quarter_the_world_does_not_cover_raises() -> None:
    with pytest.raises(ValueError, match=r"quarter_end 2026-09-30 is after the export date 2026-08-14"):
        oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-07-01", "2026-07-01", "2026-09-30", 10)
    with pytest.raises(ValueError, match=r"quarter_start 2026-04-01 is after quarter_end 2026-03-31"):
        oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-02-14", "2026-04-01", "2026-03-31", 10)
    with pytest.raises(ValueError, match="simulations must be at least 1"):
        oracle_quarter_revenue(DEALS, SEED, EXPORT, "2026-02-14", "2026-01-01", "2026-03-31", 0)


def mid_rank(draws: np.ndarray, actual: float) -> float:
    """Where the actual falls in the draws (ties count half): uniform when the draws are the truth's."""
    return float((np.sum(draws < actual) + 0.5 * np.sum(draws == actual)) / len(draws))


def test_realised_revenue_ranks_like_a_draw_from_the_oracle() -> None:
    """Over 3 worlds x 7 quarters x 3 as-of dates (the day before the quarter, day 45, 14 days before its
    end) the realised revenue's rank in the oracle's draws is uniform: mean 0.5 (windows of one quarter are
    correlated; 0.12 is over two standard deviations even if they counted as one), about 80% inside
    0.1-0.9, and at most 2 of 63 beyond 0.5%-99.5% (0.6 expected). An oracle that forgets a deal is open at
    its age, the pull-in or the deals still to be created ranks the actual far off-centre."""
    ranks = []
    for seed in (21, 22, 23):
        world_truth = generate_crm(2500, seed, EXPORT).truth
        for quarter in pd.period_range("2024Q4", "2026Q2", freq="Q"):
            start, end = quarter.start_time.normalize(), quarter.end_time.normalize()
            actual = won_in(world_truth, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")
            for as_of in (
                start - pd.Timedelta(days=1),
                start + pd.Timedelta(days=44),
                end - pd.Timedelta(days=14),
            ):
                draws = oracle_quarter_revenue(2500, seed, EXPORT, as_of, start, end, 1000, 7)
                ranks.append(mid_rank(draws.total, actual))
    ranks = np.array(ranks)
    assert len(ranks) == 63
    assert abs(ranks.mean() - 0.5) < 0.12, ranks.round(3)
    assert 0.65 <= ((ranks > 0.1) & (ranks < 0.9)).mean() <= 0.95, ranks.round(3)
    assert ((ranks < 0.005) | (ranks > 0.995)).sum() <= 2, ranks.round(3)


def brute_force_open_revenue(
    truth: pd.DataFrame, as_of: str, start: str, end: str, draws_per_deal: int, seed: int
) -> tuple[float, float]:
    """Mean and standard error of the window's revenue from deals open at as-of, by rejection: run each open
    deal's life forward from its engagement as the generator does (zombie, outcome, gamma duration, pull-in,
    value) and keep the runs in which it is still open at as-of. No posterior weights, no truncated gamma."""
    t, window = np.datetime64(as_of), (np.datetime64(start), np.datetime64(end))
    engage = truth["engage_date"].to_numpy().astype("datetime64[D]")
    close = pd.to_datetime(truth["close_date"].replace("", None)).to_numpy().astype("datetime64[D]")
    open_now = (engage <= t) & (np.isnat(close) | (close > t))
    deals = truth.loc[open_now]
    rng = np.random.default_rng(seed)
    total, variance = 0.0, 0.0
    for (_, deal), engaged in zip(deals.iterrows(), engage[open_now], strict=True):
        n = draws_per_deal
        zombie = rng.random(n) < ZOMBIE_PROBABILITY
        won = (rng.random(n) < deal["p_win_if_closes"]) & ~zombie
        duration = np.where(
            won,
            np.ceil(rng.gamma(deal["won_shape"], deal["won_scale"], n)),
            np.ceil(rng.gamma(deal["lost_shape"], deal["lost_scale"], n)),
        )
        first = engaged + np.maximum(duration, 1).astype("timedelta64[D]")
        closed_on, _ = _pulled_in(first, np.full(n, engaged), won, rng.random(n))
        value = _close_values(rng, np.full(n, float(deal["list_price"])))
        still_open = zombie | (closed_on > t)
        revenue = np.where(won & (closed_on >= window[0]) & (closed_on <= window[1]), value, 0.0)[still_open]
        total += revenue.mean()
        variance += revenue.var() / len(revenue)
    return total, float(np.sqrt(variance))


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        ("2026-03-10", "2026-01-01", "2026-03-31"),  # early-April closes pulled into the window
        ("2026-04-10", "2026-04-01", "2026-06-30"),  # pulls back to 2026-03-31 would contradict 'open'
        ("2025-12-31", "2026-01-01", "2026-03-31"),  # the whole next quarter
    ],
)
def test_open_deal_revenue_agrees_with_a_brute_force_rejection_sampler(truth, as_of, start, end) -> None:
    """The oracle's mean revenue from deals open at as-of against the rejection sampler above, within four
    standard errors of their difference (Monte Carlo on both sides)."""
    draws = oracle_quarter_revenue(DEALS, SEED, EXPORT, as_of, start, end, 4000, 3).open_deals
    expected, error = brute_force_open_revenue(truth, as_of, start, end, 20_000, 5)
    combined = np.sqrt(error**2 + draws.var() / len(draws))
    assert expected > 20 * combined  # the window holds real revenue from open deals
    assert abs(draws.mean() - expected) < 4 * combined, (draws.mean(), expected, combined)


def test_revenue_of_deals_not_created_yet_agrees_with_the_generator() -> None:
    """The oracle's mean revenue from the deals created after as-of against the generator itself: the same
    world (same seed) with fresh deal draws, each deal created after as-of adding its revenue in the window;
    per deal, times the world's number of deals created after as-of."""
    as_of, start, end = np.datetime64("2025-12-31"), np.datetime64("2026-01-01"), np.datetime64("2026-03-31")
    world_rng = np.random.default_rng(SEED)
    world = _draw_world(world_rng, np.datetime64(EXPORT))
    n_later = int((_draw_deals(world_rng, world, DEALS).created > as_of).sum())
    revenue = []
    for k in range(200):
        deals = _draw_deals(np.random.default_rng(1000 + k), world, DEALS)
        later = deals.created > as_of
        in_window = deals.won & (deals.close >= start) & (deals.close <= end)
        revenue.append(np.where(in_window, deals.close_value, 0.0)[later])
    per_deal = np.concatenate(revenue)
    expected = n_later * per_deal.mean()
    error = n_later * per_deal.std() / np.sqrt(len(per_deal))
    draws = oracle_quarter_revenue(DEALS, SEED, EXPORT, "2025-12-31", "2026-01-01", "2026-03-31", 4000, 3)
    combined = np.sqrt(error**2 + draws.not_created_yet.var() / 4000)
    assert expected > 20 * combined
    assert abs(draws.not_created_yet.mean() - expected) < 4 * combined, (
        draws.not_created_yet.mean(),
        expected,
        combined,
    )


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [("2026-03-15", "2026-01-01", "2026-03-31"), ("2026-03-31", "2026-04-01", "2026-06-30")],
)
def test_revenue_of_deals_not_engaged_yet_agrees_with_a_brute_force_rejection_sampler(
    as_of, start, end
) -> None:
    """Deals created by as-of but engaged after it: the oracle's mean revenue against running each one's
    life forward from its creation exactly as the generator does (engage lag, p at the engage date, zombie,
    outcome, duration, pull-in, value), keeping the runs in which it is engaged after as-of."""
    t, window = np.datetime64(as_of), (np.datetime64(start), np.datetime64(end))
    world_rng = np.random.default_rng(SEED)
    world = _draw_world(world_rng, np.datetime64(EXPORT))
    deals = _draw_deals(world_rng, world, DEALS)
    waiting = np.flatnonzero((deals.created <= t) & (deals.engage > t))
    rng, n = np.random.default_rng(8), 20_000
    expected, variance = 0.0, 0.0
    for i in waiting:
        engage = _engage_dates(rng, np.full(n, deals.created[i]))
        same = np.full(n, 1)
        p = _win_probability_if_closes(
            world, same * deals.agent[i], same * deals.product[i], same * deals.account[i], engage
        )
        zombie = rng.random(n) < ZOMBIE_PROBABILITY
        won = (rng.random(n) < p) & ~zombie
        won_scale, lost_scale = _duration_scales(world, same * deals.product[i])
        duration = np.where(
            won, np.ceil(rng.gamma(WON_SHAPE, won_scale)), np.ceil(rng.gamma(LOST_SHAPE, lost_scale))
        )
        first = engage + np.maximum(duration, 1).astype(np.int64).astype("timedelta64[D]")
        close, _ = _pulled_in(first, engage, won, rng.random(n))
        value = _close_values(rng, np.full(n, float(deals.price[i])))
        revenue = np.where(won & (close >= window[0]) & (close <= window[1]), value, 0.0)[engage > t]
        expected += revenue.mean()
        variance += revenue.var() / len(revenue)
    draws = oracle_quarter_revenue(DEALS, SEED, EXPORT, as_of, start, end, 4000, 3).not_engaged_yet
    combined = np.sqrt(variance + draws.var() / len(draws))
    assert len(waiting) >= 30 and expected > 20 * combined
    assert abs(draws.mean() - expected) < 4 * combined, (draws.mean(), expected, combined)
