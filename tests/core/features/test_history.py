"""Point-in-time win rates: exact counts, strictly-before semantics, smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
