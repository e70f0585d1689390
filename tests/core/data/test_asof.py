"""The as-of cut on the tiny export: who exists, what is open, ages, staleness, and refusals."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data import cut_at, load_crm, parse_as_of, read_crm
from core.errors import UsageError


@pytest.fixture(scope="module")
def full(valid_export):
    return read_crm(valid_export)


def test_deals_engaged_after_as_of_are_absent_and_later_closes_reopen(full) -> None:
    cut = cut_at(full, "2017-01-25").deals.set_index("opportunity_id")
    assert sorted(cut.index) == ["D1", "D2", "D5"]  # D3 engaged 2017-02-01; D4 has no engage date
    assert cut.loc["D1", "deal_stage"] == "Engaging" and pd.isna(cut.loc["D1", "close_value"])
    assert cut.loc["D2", "deal_stage"] == "Lost"  # closed 2017-01-20, before the cut
    assert cut["is_open"].to_dict() == {"D1": True, "D2": False, "D5": True}
    assert cut.loc["D1", "age_days"] == 23.0


def test_a_deal_closing_on_the_as_of_day_is_closed(full) -> None:
    deals = cut_at(full, "2017-02-01").deals.set_index("opportunity_id")
    assert deals.loc["D1", "deal_stage"] == "Won" and deals.loc["D1", "close_value"] == 540.0
    assert deals.loc["D3", "age_days"] == 0.0


def test_staleness_uses_only_deals_closed_by_as_of(full) -> None:
    # at 2017-01-25 only D2 has closed (15-day cycle): D1 (23 days) and D5 (15 days) -> only D1 is stale
    cut = cut_at(full, "2017-01-25")
    assert cut.deals.set_index("opportunity_id")["stale"].to_dict() == {"D1": True, "D2": False, "D5": False}
    assert cut.quality.count("stale_open_deal") == 1
    assert cut_at(full, "2017-01-10").deals["stale"].sum() == 0  # nothing closed yet: nothing is stale


def test_undated_prospecting_exists_only_from_the_export_end(full) -> None:
    assert "D4" in set(full.deals["opportunity_id"])
    past = cut_at(full, "2017-02-28")
    assert "D4" not in set(past.deals["opportunity_id"])
    assert past.quality.count("undated_prospecting_excluded") == 1
    future = cut_at(full, "2017-06-30")  # an as-of after the export is allowed: ages grow, nothing closes
    assert "D4" in set(future.deals["opportunity_id"])
    assert future.deals.set_index("opportunity_id").loc["D3", "age_days"] == 149.0


def test_cutting_forward_from_a_past_cut_is_refused(full) -> None:
    past = cut_at(full, "2017-01-25")
    with pytest.raises(
        UsageError, match=r"^as-of 2017-02-10 is after this cut's date 2017-01-25; cut the full"
    ):
        cut_at(past, "2017-02-10")


def test_as_of_before_any_deal_is_refused(full) -> None:
    with pytest.raises(UsageError) as caught:
        cut_at(full, "2016-12-31")
    assert str(caught.value) == "as-of 2016-12-31 is before the first engage_date in the data (2017-01-02)"


@pytest.mark.parametrize("bad", ["2017", "01/02/2017", "2017-02-30", "yesterday", ""])
def test_parse_as_of_accepts_only_real_iso_dates(bad) -> None:
    with pytest.raises(UsageError, match="is not a date"):
        parse_as_of(bad)


def test_parse_as_of_normalises_to_midnight() -> None:
    assert parse_as_of(pd.Timestamp("2017-03-01 17:45")) == pd.Timestamp("2017-03-01")
    assert parse_as_of(" 2017-03-01 ") == pd.Timestamp("2017-03-01")


def test_load_crm_with_as_of_equals_read_then_cut(valid_export, full) -> None:
    pd.testing.assert_frame_equal(
        load_crm(valid_export, as_of="2017-01-25").deals, cut_at(full, "2017-01-25").deals
    )


def test_cut_does_not_mutate_its_input(full) -> None:
    before = full.deals.copy()
    cut_at(full, "2017-01-25")
    pd.testing.assert_frame_equal(full.deals, before)


@pytest.fixture(scope="module")
def synthetic_full(tmp_path_factory):
    """A 3,000-deal synthetic export read once."""
    from core.data.synthetic import generate_crm
    from models.generate import write_crm

    folder = tmp_path_factory.mktemp("synthetic_asof")
    write_crm(generate_crm(n_deals=3000, seed=3), folder)
    return read_crm(folder)


@pytest.mark.parametrize(("later", "earlier"), [("2026-06-30", "2025-12-31"), ("2026-08-14", "2025-03-15")])
def test_cuts_know_nothing_after_their_date_and_compose(synthetic_full, later, earlier) -> None:
    for as_of in (later, earlier):
        cut = cut_at(synthetic_full, as_of)
        stamp, deals = pd.Timestamp(as_of), cut.deals
        assert deals["engage_date"].max() <= stamp and deals["close_date"].max() <= stamp
        assert deals.loc[deals["is_open"], ["close_date", "close_value"]].isna().all().all()
        assert (deals["age_days"].dropna() >= 0).all()
        assert cut.quality.n_open == int(deals["is_open"].sum())
    direct, composed = cut_at(synthetic_full, earlier), cut_at(cut_at(synthetic_full, later), earlier)
    pd.testing.assert_frame_equal(direct.deals, composed.deals)
    assert direct.quality == composed.quality
