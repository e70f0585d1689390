"""Synthetic CRM generator: determinism, the quirks it must plant, contract compliance, and an oracle
that is calibrated against the outcomes it generated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import read_crm
from core.data.synthetic import generate_crm, oracle_win_probability
from models.generate import main, write_crm

FILES = ("sales_pipeline.csv", "accounts.csv", "products.csv", "sales_teams.csv", "truth.csv")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 4,000-deal export written to disk, with its in-memory generator output."""
    crm = generate_crm(n_deals=4000, seed=5)
    folder = tmp_path_factory.mktemp("synthetic_small")
    write_crm(crm, folder)
    return crm, folder


def _bytes(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


def test_same_seed_gives_byte_identical_files(tmp_path, small) -> None:
    _, folder = small
    write_crm(generate_crm(n_deals=4000, seed=5), tmp_path / "again")
    assert _bytes(tmp_path / "again") == _bytes(folder)


def test_cli_writes_the_same_files_as_the_library(tmp_path, small, capsys) -> None:
    _, folder = small
    assert main(["--deals", "4000", "--seed", "5", "--out-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote 4,000 deals to {tmp_path}")
    assert _bytes(tmp_path) == _bytes(folder)


def test_cli_rejects_bad_flags_with_exit_2(tmp_path, capsys) -> None:
    assert main(["--deals", "10"]) == 2
    assert capsys.readouterr().err == (
        "error: python -m models.generate: the following arguments are required: --out-dir (see --help)\n"
    )
    assert main(["--deals", "0", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --deals must be at least 1 (got 0)\n"
    assert main(["--export-date", "someday", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: --export-date 'someday' is not a date (use YYYY-MM-DD)\n"
    assert not any(tmp_path.iterdir())


def test_different_seed_gives_different_deals(small) -> None:
    crm, _ = small
    other = generate_crm(n_deals=4000, seed=6)
    assert not set(other.sales_pipeline["opportunity_id"]) & set(crm.sales_pipeline["opportunity_id"])
    assert not other.sales_pipeline["engage_date"].equals(crm.sales_pipeline["engage_date"])


def test_ids_are_unique_and_shaped_like_maventech(small) -> None:
    ids = small[0].sales_pipeline["opportunity_id"]
    assert ids.is_unique and ids.str.fullmatch(r"[0-9A-Z]{8}").all()


def test_the_export_passes_the_contract(small) -> None:
    crm, folder = small
    loaded = read_crm(folder)
    assert len(loaded.deals) == 4000 and loaded.export_end <= pd.Timestamp("2026-08-14")
    truth = crm.truth.set_index("opportunity_id")
    won = loaded.deals.loc[loaded.deals["is_won"]].set_index("opportunity_id")
    assert (truth.loc[won.index, "outcome"] == "Won").all()


def test_quirks_are_planted(small) -> None:
    crm, folder = small
    pipeline = crm.sales_pipeline
    open_deals = pipeline["deal_stage"].isin(["Prospecting", "Engaging"])
    assert pipeline["product"].eq("GTXPro").sum() > 0 and "GTXPro" not in set(crm.products["product"])
    blank = pipeline["account"].eq("")
    assert 0.55 < blank[open_deals].mean() < 0.75  # ~65% of open deals, as in MavenTech's 68%
    assert blank[~open_deals].mean() < 0.02
    prospecting = pipeline["deal_stage"].eq("Prospecting")
    assert prospecting.sum() > 0 and pipeline.loc[prospecting, "engage_date"].eq("").all()
    assert not set(pipeline["sales_agent"]) <= set(crm.sales_teams["sales_agent"])  # unknown reps
    quality = read_crm(folder).quality
    for code in (
        "product_alias",
        "blank_account",
        "unknown_sales_agent",
        "prospecting_without_engage_date",
        "stale_open_deal",
    ):
        assert quality.count(code) > 0, code


def test_stale_deals_are_mostly_zombies(small) -> None:
    crm, folder = small
    deals = read_crm(folder).deals
    stale_ids = deals.loc[deals["stale"], "opportunity_id"]
    outcome = crm.truth.set_index("opportunity_id").loc[stale_ids, "outcome"]
    assert len(outcome) >= 20 and outcome.eq("Never").mean() > 0.8


def test_oracle_equals_the_prior_for_a_deal_engaged_on_the_as_of_day(small) -> None:
    truth = small[0].truth
    day = truth.loc[truth["engage_date"].eq("2026-05-05")]  # a Tuesday, well after the quarter-end window
    oracle = oracle_win_probability(truth, "2026-05-05")
    assert len(day) >= 3
    fresh = oracle.loc[day["opportunity_id"]]
    np.testing.assert_allclose(fresh.to_numpy(), day["true_win_probability"].to_numpy(), atol=2e-6)


def test_oracle_gives_a_deal_created_but_not_engaged_its_prior(small) -> None:
    """A CRM that dates deals by their creation (Salesforce, HubSpot) shows them open before engagement:
    nothing has happened to such a deal yet, so its true chance is the prior."""
    truth = small[0].truth
    as_of = pd.Timestamp("2026-05-05")
    created, engaged = pd.to_datetime(truth["created_date"]), pd.to_datetime(truth["engage_date"])
    waiting = truth.loc[(created <= as_of) & (engaged > as_of)]
    oracle = oracle_win_probability(truth, as_of)
    assert len(waiting) >= 3 and oracle.index.is_unique
    np.testing.assert_allclose(
        oracle.loc[waiting["opportunity_id"]].to_numpy(),
        waiting["true_win_probability"].to_numpy(),
        atol=1e-6,
    )
    closed = truth["close_date"].ne("") & truth["close_date"].le("2026-05-05")
    assert len(oracle) == int(((engaged <= as_of) & ~closed).sum()) + len(waiting)  # and no other deal


def test_oracle_is_calibrated_against_realised_outcomes() -> None:
    """Mean oracle vs realised win rate of the deals open at an as-of date, overall and per probability band.

    Outcomes are independent Bernoulli(oracle) draws under the generative model, so the realised win count
    of a group has standard deviation sqrt(sum p(1-p)); a gap beyond 4 of those (p ~ 6e-5 per check, ten
    checks) means the oracle is wrong. The age-blind prior fails the same check, so the test has power.
    """
    crm = generate_crm(n_deals=50_000, seed=11)
    oracle = oracle_win_probability(crm.truth, "2026-02-14")
    won = crm.truth.set_index("opportunity_id").loc[oracle.index, "outcome"].eq("Won").astype(float)
    assert len(oracle) > 4000

    def gap_in_sigmas(p: pd.Series, y: pd.Series) -> float:
        return abs(float(y.sum() - p.sum())) / float(np.sqrt((p * (1 - p)).sum()))

    assert gap_in_sigmas(oracle, won) < 4
    bands = pd.cut(oracle, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0])
    for band, members in oracle.groupby(bands, observed=True).groups.items():
        assert gap_in_sigmas(oracle.loc[members], won.loc[members]) < 4, band
    prior = crm.truth.set_index("opportunity_id").loc[oracle.index, "true_win_probability"]
    assert gap_in_sigmas(prior, won) > 4
