"""Win rates with intervals, the mix/rate split of their change, and rep consistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.data import read_crm
from core.data.synthetic import generate_crm
from core.diagnostics.win_rates import (
    change_sentence,
    rep_consistency,
    stage_conversion,
    wilson,
    win_rate_change,
    win_rates,
)
from models.generate import write_crm


def test_wilson_matches_scipys_interval() -> None:
    for won, closed in ((4, 10), (0, 7), (190, 200)):
        low, high = wilson(np.array([won]), np.array([closed]))
        reference = stats.binomtest(won, closed).proportion_ci(confidence_level=0.9, method="wilson")
        assert (low[0], high[0]) == pytest.approx((reference.low, reference.high), abs=1e-12)


@pytest.mark.maventech
def test_maventech_win_rates_by_quarter_and_region_and_a_split_that_adds_up(maventech_dir: Path) -> None:
    """Closed deals by quarter of close and region, counted straight from the file; every segment type's
    mix + rate effects add up to the team's change within 1e-9."""
    crm = read_crm(maventech_dir)
    table = win_rates(crm.deals, crm.as_of)
    raw = pd.read_csv(maventech_dir / "sales_pipeline.csv", parse_dates=["close_date"])
    teams = pd.read_csv(maventech_dir / "sales_teams.csv")
    raw = raw[raw["deal_stage"].isin(["Won", "Lost"])].merge(teams, on="sales_agent", how="left")
    raw["quarter"] = raw["close_date"].dt.to_period("Q").dt.start_time
    # the as-of date, 2017-12-31, is the last day of 2017 Q4: Q4 is complete and counts
    raw = raw[raw["quarter"] < pd.Timestamp("2018-01-01")]
    mine = raw.groupby(["regional_office", "quarter"])["deal_stage"].agg(
        closed="size", won=lambda s: int(s.eq("Won").sum())
    )
    theirs = table[table["segment_type"].eq("regional_office")].set_index(["segment", "period_start"])
    assert theirs[["closed", "won"]].to_numpy().tolist() == mine.to_numpy().tolist()
    np.testing.assert_allclose(theirs["win_rate"], mine["won"] / mine["closed"])
    team = table[table["segment_type"].eq("all")].set_index("period_start")["win_rate"]
    change = win_rate_change(crm.deals, crm.as_of)
    expected = team[pd.Timestamp("2017-10-01")] - team[pd.Timestamp("2017-07-01")]
    sums = change.groupby("segment_type")[["mix_effect", "rate_effect"]].sum().sum(axis=1)
    assert (sums - expected).abs().max() < 1e-9
    assert (change["total_change"] - change["mix_effect"] - change["rate_effect"]).abs().max() < 1e-12


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crm")
    write_crm(generate_crm(n_deals=12000, seed=5), folder)
    return read_crm(folder)


def test_a_planted_drop_in_one_region_is_named_first(synthetic) -> None:
    """Two in five of one region's wins in the last complete quarter turned into losses: the sentence says
    the win rate fell and names that region first."""
    deals = synthetic.deals.copy()
    last = synthetic.as_of.to_period("Q") - 1
    in_quarter = deals["close_date"].dt.to_period("Q").eq(last)
    region = sorted(deals["regional_office"].unique())[0]
    wins = deals.index[in_quarter & deals["is_won"] & deals["regional_office"].eq(region)]
    flipped = wins[np.random.default_rng(1).random(len(wins)) < 0.4]
    deals.loc[flipped, ["deal_stage", "is_won", "close_value"]] = ["Lost", False, np.nan]
    sentence = change_sentence(win_rate_change(deals, synthetic.as_of))
    assert sentence.startswith("The win rate fell by ")
    assert f"; {region} (regional office) accounts for -" in sentence
    assert "its own deals winning less" in sentence


def test_changes_within_chance_are_called_so(synthetic) -> None:
    change = win_rate_change(synthetic.deals, synthetic.as_of)
    team = change[change["segment_type"].eq("regional_office")]
    total = team["total_change"].sum()
    sentence = change_sentence(change)
    assert f"by {abs(total) * 100:.1f} points" in sentence
    flagged = win_rates(synthetic.deals, synthetic.as_of)
    assert flagged["low"].le(flagged["win_rate"]).all() and flagged["high"].ge(flagged["win_rate"]).all()


def test_rep_consistency_compares_each_reps_spread_with_chance(synthetic) -> None:
    table = rep_consistency(synthetic.deals, synthetic.as_of)
    assert len(table) == synthetic.deals["sales_agent"].nunique()
    rep = table.iloc[0]
    closed = win_rates(synthetic.deals, synthetic.as_of)
    mine = closed[closed["segment_type"].eq("sales_agent") & closed["segment"].eq(rep["sales_agent"])]
    assert rep["closed"] == mine["closed"].sum() and rep["quarters"] == len(mine)
    assert rep["spread"] == pytest.approx(float(np.std(mine["win_rate"], ddof=1)))
    chance = np.sqrt(np.mean(rep["shrunk_win_rate"] * (1 - rep["shrunk_win_rate"]) / mine["closed"]))
    assert rep["chance_spread"] == pytest.approx(chance)
    assert rep["ratio"] == pytest.approx(rep["spread"] / rep["chance_spread"])


def test_stage_conversion_counts_each_closed_deals_furthest_stage() -> None:
    """Four closed deals: one lost in Qualify, one lost after Proposal, one won from Negotiation, one won
    straight from Proposal (a skipped stage); an open deal and a deal without history rows count nowhere."""
    as_of = pd.Timestamp("2026-04-15")
    deals = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D", "E", "F"],
            "engage_date": pd.to_datetime(["2025-12-01"] * 6),  # the export begins in Q4 2025
            "close_date": pd.to_datetime(
                ["2026-02-01", "2026-02-10", "2026-03-01", "2026-03-05", None, "2026-03-09"]
            ),
            "is_won": [False, False, True, True, False, True],
            "is_open": [False, False, False, False, True, False],
            "close_value": [np.nan, np.nan, 100.0, 200.0, np.nan, 50.0],
            "amount": [10.0, 20.0, 100.0, 200.0, 30.0, 50.0],
            "list_price": np.nan,
        }
    )
    history = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "B", "C", "C", "C", "D", "D", "E"],
            "stage": [
                "Qualify",
                "Qualify",
                "Proposal",
                "Qualify",
                "Proposal",
                "Negotiation",
                "Qualify",
                "Proposal",
                "Proposal",
            ],
        }
    )
    order = ("Qualify", "Proposal", "Negotiation")
    table = stage_conversion(deals, history, order, as_of).set_index("stage")
    assert table["reached"].tolist() == [4, 3, 1]
    assert table["moved_on"].tolist() == [3, 1, 1]  # from Proposal only C moved on; D was won from it
    assert table["won"].tolist() == [2, 2, 1]
    assert table.loc["Proposal", "conversion"] == pytest.approx(1 / 3)
    assert stage_conversion(deals, None, order, as_of).empty


def test_a_segment_that_grows_its_share_raises_the_rate_only_if_it_wins_more_than_the_team() -> None:
    """A bug: the mix effect was the share change times the segment's own rate, so a segment of weak deals
    that grew 'raised the team's win rate'. Two quarters, rates unchanged within each region: the weak
    region's growth lowers the team's rate, and the strong one's shrinking does too."""
    as_of = pd.Timestamp("2026-06-30")  # the last day of Q2: Q2 is complete
    rows = []
    for quarter, (strong, weak) in (("2026-02-15", (60, 40)), ("2026-05-15", (40, 60))):
        for region, n, rate in (("Strong", strong, 0.8), ("Weak", weak, 0.2)):
            won = int(n * rate)
            rows += [(region, quarter, i < won) for i in range(n)]
    deals = pd.DataFrame(rows, columns=["regional_office", "close_date", "is_won"])
    deals = deals.assign(
        opportunity_id=[f"D{i}" for i in range(len(deals))],
        close_date=pd.to_datetime(deals["close_date"]),
        engage_date=pd.Timestamp("2025-10-01"),
        is_open=False,
        close_value=100.0,
        amount=100.0,
        list_price=np.nan,
        manager="M",
        sales_agent="R",
        product="P",
        sector="S",
    )
    change = win_rate_change(deals, as_of)
    regions = change[change["segment_type"].eq("regional_office")].set_index("segment")
    assert regions["rate_effect"].abs().max() < 1e-12  # no region's own rate moved
    assert regions.loc["Weak", "mix_effect"] < 0 and regions.loc["Strong", "mix_effect"] < 0
    # team 0.56 -> 0.44: -0.12 in all, half each
    assert regions["total_change"].sum() == pytest.approx(-0.12)
    assert regions.loc["Weak", "mix_effect"] == pytest.approx(-0.06)
