"""Point-in-time win rates: exact counts, strictly-before semantics, smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.features import history
from core.features.history import (
    outcome_counts_before,
    overall_win_rate_before,
    smoothed_rate,
    win_rates_before,
)


def _closed() -> pd.DataFrame:
    """Three closed deals of rep 0 and one of rep 1."""
    return pd.DataFrame(
        {
            "agent": [0, 0, 0, 1],
            "close_date": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-01-20", "2024-01-15"]),
            "is_won": [1, 0, 1, 1],
        }
    )


def _queries(agent: list[int], dates: list[str]) -> pd.DataFrame:
    """Query rows (agent, snapshot_date)."""
    return pd.DataFrame({"agent": agent, "snapshot_date": pd.to_datetime(dates)})


def test_counts_only_deals_closed_strictly_before_the_snapshot() -> None:
    queries = _queries(
        [0, 0, 0, 1, 1], ["2024-01-10", "2024-01-11", "2024-01-21", "2024-01-15", "2024-02-01"]
    )
    closed, won = outcome_counts_before(_closed(), queries, ["agent"])
    np.testing.assert_array_equal(closed, [0, 1, 3, 0, 1])
    np.testing.assert_array_equal(won, [0, 1, 2, 0, 1])


def test_closing_on_the_snapshot_day_is_not_yet_known() -> None:
    closed, _ = outcome_counts_before(_closed(), _queries([0], ["2024-01-20"]), ["agent"])
    assert closed.tolist() == [1.0]


def test_results_follow_query_order_not_date_order() -> None:
    queries = _queries([0, 0], ["2024-01-21", "2024-01-11"])
    closed, _ = outcome_counts_before(_closed(), queries, ["agent"])
    assert closed.tolist() == [3.0, 1.0]


def test_smoothing_pulls_small_histories_toward_the_prior() -> None:
    rate = win_rates_before(_closed(), _queries([0, 1], ["2024-01-21", "2024-01-05"]), ["agent"], 0.5, 2.0)
    np.testing.assert_allclose(rate, [(2 + 1) / (3 + 2), 0.5])
    assert smoothed_rate(np.array([9.0]), np.array([10.0]), 0.5, 10.0)[0] == 0.7


def test_company_rate_uses_every_rep_and_starts_at_one_half() -> None:
    rate = overall_win_rate_before(
        _closed(), pd.DataFrame({"snapshot_date": pd.to_datetime(["2024-01-01", "2024-01-16"])})
    )
    np.testing.assert_allclose(rate, [0.5, (2 + 1) / (2 + 2)])


def test_one_date_queries_count_exactly_as_the_as_of_join() -> None:
    """Scoring asks on one date (a group-by); the counts equal the general as-of join's, key by key."""
    rng = np.random.default_rng(3)
    closed = pd.DataFrame(
        {
            "agent": rng.integers(0, 6, 400),
            "series": rng.integers(0, 3, 400),
            "close_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, 400), "D"),
            "is_won": rng.integers(0, 2, 400),
        }
    )
    queries = pd.DataFrame(
        {
            "agent": rng.integers(0, 8, 50),  # agents 6 and 7 never closed a deal
            "series": rng.integers(0, 3, 50),
            "snapshot_date": pd.Timestamp("2024-02-15"),
        }
    )
    for keys in (["agent", "series"], ["agent"], []):
        fast = outcome_counts_before(closed, queries, keys)
        general = history._counts_on_each_date(closed, queries, keys)
        for got, expected in zip(fast, general, strict=True):
            np.testing.assert_array_equal(got, expected)
    agent_counts = outcome_counts_before(closed, queries, ["agent"])[0]
    new_agents = queries["agent"].ge(6).to_numpy()
    assert new_agents.any() and not agent_counts[new_agents].any()
    assert 0 < agent_counts.max() < (closed["close_date"] < "2024-02-15").sum()


# ------------------------------------------------------------------ joint track record
def _effects_history(n: int = 6000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Closed deals whose log-odds are a rep effect plus a product effect; product 0 is hard to win, and
    rep 0 sells it far more often than the other reps do."""
    rng = np.random.default_rng(seed)
    rep_effect = np.linspace(-0.8, 0.8, 8)
    product_effect = np.array([-1.5, 0.3, 0.3])
    agent = rng.integers(0, 8, n)
    product = np.where((agent == 0) & (rng.random(n) < 0.8), 0, rng.integers(0, 3, n))
    won = rng.random(n) < 1 / (1 + np.exp(-(0.3 + rep_effect[agent] + product_effect[product])))
    closed = pd.DataFrame(
        {
            "agent": agent,
            "product": product,
            "close_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), "D"),
            "is_won": won.astype(np.int64),
        }
    )
    return closed, rep_effect, product_effect


def test_joint_track_record_recovers_effects_net_of_each_other() -> None:
    """Rep 0's low raw win rate is mostly its product mix: the joint regression says so, a rep rate cannot."""
    closed, rep_effect, _ = _effects_history()
    history._CHAINS.clear()
    late = pd.Timestamp("2025-01-15")
    queries = pd.DataFrame({"agent": np.arange(8), "product": 1, "snapshot_date": late})
    joint = history.joint_win_rates_before(closed, queries, [["agent"], ["product"]])
    estimated = np.log(joint / (1 - joint))
    assert np.corrcoef(estimated, rep_effect)[0, 1] > 0.95
    # on product 1, rep 0 is predicted near its true odds, well above its raw (product-0 heavy) win rate
    truth = 1 / (1 + np.exp(-(0.3 + rep_effect[0] + 0.3)))
    raw = closed.loc[closed["agent"].eq(0), "is_won"].mean()
    assert abs(joint[0] - truth) < 0.06 and joint[0] - raw > 0.15
    # a rep never seen reads no rep effect: between the two middle reps (true effects -0.11 and +0.11)
    unseen = pd.DataFrame({"agent": [99, 3], "product": [1, -1], "snapshot_date": late})
    both = history.joint_win_rates_before(closed, unseen, [["agent"], ["product"]])
    assert joint[3] < both[0] < joint[4] and np.isfinite(both[1])


def test_joint_track_record_tracks_the_exact_ridge_fit() -> None:
    """One warm-started Newton step per week stays within 0.01 of the fully converged regression."""
    from scipy.optimize import minimize

    closed, _, _ = _effects_history(3000, seed=8)
    history._CHAINS.clear()
    date = pd.Timestamp("2024-10-07")  # a grid date (Mondays from 1970-01-05)
    queries = pd.DataFrame({"agent": np.repeat(np.arange(8), 3), "product": np.tile([0, 1, 2], 8)})
    got = history.joint_win_rates_before(closed, queries.assign(snapshot_date=date), [["agent"], ["product"]])
    before = closed.loc[closed["close_date"] < date]
    x = np.zeros((len(before), 12))
    x[np.arange(len(before)), before["agent"]] = 1
    x[np.arange(len(before)), 8 + before["product"]] = 1
    x[:, 11] = 1
    y = before["is_won"].to_numpy(dtype=float)
    penalty = np.r_[np.full(11, 1 / history.TRACK_RECORD_SD**2), 0.01]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        value = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(penalty * w**2)
        return value, x.T @ (1 / (1 + np.exp(-z)) - y) + penalty * w

    w = minimize(loss, np.zeros(12), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x
    exact = 1 / (1 + np.exp(-(w[queries["agent"]] + w[8 + queries["product"]] + w[11])))
    np.testing.assert_allclose(got, exact, atol=0.01)


def test_joint_track_record_is_point_in_time_and_ignores_row_order() -> None:
    closed, _, _ = _effects_history(3000, seed=9)
    groups = [["agent"], ["product"]]
    queries = pd.DataFrame(
        {
            "agent": [1, 1, 1, 2],
            "product": [0, 0, 0, 2],
            # a Monday grid date, the Sunday after it and the Monday after that; one before any close
            "snapshot_date": pd.to_datetime(["2024-06-03", "2024-06-09", "2024-06-10", "2023-12-01"]),
        }
    )
    history._CHAINS.clear()
    base = history.joint_win_rates_before(closed, queries, groups)
    assert base[0] == base[1] != base[2]  # a query reads the fit of the latest grid date on or before it
    assert np.isnan(base[3])  # nothing had closed yet
    # outcomes closed on or after 2024-06-03 change nothing the first two queries read
    flipped = closed.copy()
    later = flipped["close_date"] >= "2024-06-03"
    flipped.loc[later, "is_won"] = 1 - flipped.loc[later, "is_won"]
    history._CHAINS.clear()
    after = history.joint_win_rates_before(flipped, queries, groups)
    np.testing.assert_array_equal(after[:2], base[:2])
    assert after[2] != base[2]
    history._CHAINS.clear()
    shuffled = closed.sample(frac=1.0, random_state=1)
    np.testing.assert_array_equal(history.joint_win_rates_before(shuffled, queries, groups), base)


def test_joint_track_record_numeric_terms_carry_what_no_group_can() -> None:
    """A price x size term varies within every rep and product: only a numeric column can learn it, and a
    missing value reads as 0."""
    rng = np.random.default_rng(12)
    n = 8000
    agent = rng.integers(0, 8, n)
    term = rng.normal(0.0, 1.0, n)
    won = rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.1 * (agent - 3.5) + 0.7 * term)))
    closed = pd.DataFrame(
        {
            "agent": agent,
            "term": term,
            "close_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), "D"),
            "is_won": won.astype(np.int64),
        }
    )
    queries = pd.DataFrame(
        {"agent": 2, "term": [-1.0, 0.0, 1.0, np.nan], "snapshot_date": pd.Timestamp("2025-01-15")}
    )
    history._CHAINS.clear()
    with_term = history.joint_win_rates_before(closed, queries, [["agent"]], numeric=["term"])
    log_odds = np.log(with_term / (1 - with_term))
    assert (log_odds[2] - log_odds[0]) / 2 == pytest.approx(0.7, abs=0.08)
    assert with_term[3] == with_term[1]
    groups_only = history.joint_win_rates_before(closed, queries, [["agent"]])
    assert np.ptp(groups_only) == 0.0
