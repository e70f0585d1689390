"""targets.csv's roll-up of quotas (core.forecast.quotas): every expected target is added up here by hand
from the quotas below."""

from __future__ import annotations

import pandas as pd

from core.forecast.quotas import quarter_targets, unmatched_owners

Q3 = pd.period_range("2026Q3", "2026Q3", freq="Q")


def _deals(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sales_agent", "manager", "regional_office"])


DEALS = _deals(
    [
        ("Ann", "Maria", "East"),
        ("Bob", "Maria", "East"),
        ("Cid", "Omar", "West"),
        ("Dee", "Omar", "West"),
        ("Eve", "Unknown", "West"),  # a rep hired since the teams were set up
    ]
)
TEAMS = pd.DataFrame(
    {
        "sales_agent": ["Ann", "Bob", "Cid", "Dee", "Maria", "Omar"],
        "manager": ["Maria", "Maria", "Omar", "Omar", "Vera", "Vera"],
        "regional_office": ["East", "East", "West", "West", "East", "West"],
    }
)


def _quotas(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["period_start", "owner", "quota"])
    return frame.assign(period_start=pd.to_datetime(frame["period_start"]))


def _target(table: pd.DataFrame, kind: str, name: str) -> tuple[float, str]:
    row = table[table["segment_type"].eq(kind) & table["segment"].eq(name)]
    assert len(row) == 1, (kind, name, table)
    return float(row["target"].iloc[0]), str(row["source"].iloc[0])


def test_monthly_quotas_add_up_and_a_managers_own_quota_wins_over_the_teams_sum() -> None:
    quotas = _quotas(
        [
            *[(day, "Ann", 10_000.0) for day in ("2026-07-01", "2026-08-01", "2026-09-01")],
            ("2026-07-01", "Bob", 45_000.0),
            ("2026-10-01", "Bob", 99_000.0),  # next quarter: not in Q3
            ("2026-07-01", "Maria", 70_000.0),  # less than her reps' 75,000: her own number counts
            ("2026-07-01", "Cid", 20_000.0),  # Omar has no quota, Dee none: Omar's is Cid's alone
            ("2026-07-01", "Eve", 5_000.0),
        ]
    )
    table = quarter_targets(quotas, DEALS, TEAMS, Q3)
    assert _target(table, "sales_agent", "Ann") == (30_000.0, "quota")
    assert _target(table, "manager", "Maria") == (70_000.0, "quota")
    assert _target(table, "manager", "Omar") == (20_000.0, "sum of 1 of 2 reps' quotas")
    assert _target(table, "regional_office", "East") == (70_000.0, "sum of 1 manager's target")
    assert _target(table, "regional_office", "West") == (
        25_000.0,
        "sum of 1 manager's target and 1 quota of a rep without a manager",
    )
    assert _target(table, "all", "All") == (
        95_000.0,
        "sum of 2 managers' targets and 1 quota of a rep without a manager",
    )
    assert table["period_start"].eq(pd.Timestamp("2026-07-01")).all()
    assert table["period_end"].eq(pd.Timestamp("2026-09-30")).all()
    assert "Dee" not in set(table["segment"])  # no quota, no target
    assert list(table["segment_type"].drop_duplicates()) == [
        "all",
        "regional_office",
        "manager",
        "sales_agent",
    ]


def test_the_whole_team_takes_a_quota_without_owner_else_the_one_above_every_manager() -> None:
    reps = [("2026-07-01", "Maria", 70_000.0), ("2026-07-01", "Omar", 50_000.0)]
    above = quarter_targets(_quotas([*reps, ("2026-07-01", "Vera", 110_000.0)]), DEALS, TEAMS, Q3)
    assert _target(above, "all", "All") == (110_000.0, "quota of Vera, to whom every manager reports")
    team = quarter_targets(
        _quotas([*reps, ("2026-07-01", "Vera", 110_000.0), ("2026-07-01", "", 125_000.0)]), DEALS, TEAMS, Q3
    )
    assert _target(team, "all", "All") == (125_000.0, "quota of the whole team")
    # without the hierarchy above the managers, Vera is no one the deals know
    flat = TEAMS[~TEAMS["sales_agent"].isin(["Maria", "Omar"])]
    summed = quarter_targets(_quotas([*reps, ("2026-07-01", "Vera", 110_000.0)]), DEALS, flat, Q3)
    assert _target(summed, "all", "All") == (120_000.0, "sum of 2 managers' targets")
    assert unmatched_owners(_quotas([("2026-07-01", "Vera", 1.0)]), DEALS, flat) == ["Vera"]
    assert unmatched_owners(_quotas([("2026-07-01", "Vera", 1.0)]), DEALS, TEAMS) == []


def test_a_manager_selling_in_two_regions_leaves_the_regions_without_a_target() -> None:
    deals = _deals([("Ann", "Maria", "East"), ("Bob", "Maria", "West")])
    table = quarter_targets(_quotas([("2026-07-01", "Maria", 70_000.0)]), deals, TEAMS, Q3)
    assert set(table["segment_type"]) == {"all", "manager"}
    assert _target(table, "all", "All") == (70_000.0, "sum of 1 manager's target")


def test_quarters_without_a_quota_and_owners_nobody_knows() -> None:
    quotas = _quotas([("2026-07-01", "Zed", 1_000.0), ("2026-07-01", "Ann", 2_000.0)])
    assert quarter_targets(quotas, DEALS, TEAMS, pd.period_range("2026Q4", "2027Q1", freq="Q")).empty
    assert unmatched_owners(quotas, DEALS, TEAMS) == ["Zed"]
