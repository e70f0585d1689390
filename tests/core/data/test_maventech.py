"""MavenTech public export: the quirk counts of the quality report and the as-of cut at 2017-07-01."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.contract import DEAL_COLUMNS

pytestmark = pytest.mark.maventech


@pytest.fixture(scope="module")
def full(maventech_dir):
    return read_crm(maventech_dir)


@pytest.fixture(scope="module")
def raw(maventech_dir) -> pd.DataFrame:
    """The raw pipeline read independently of the loader, to cross-check its counts."""
    frame = pd.read_csv(maventech_dir / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    frame["engage"] = pd.to_datetime(frame["engage_date"].replace("", None))
    frame["close"] = pd.to_datetime(frame["close_date"].replace("", None))
    return frame


def test_quality_report_counts_the_known_quirks(full) -> None:
    counts = {item.code: item.count for item in full.quality.items}
    assert full.as_of == pd.Timestamp("2017-12-31")
    assert (full.quality.n_deals, full.quality.n_open) == (8800, 2089)
    assert counts["product_alias"] == 1480
    assert counts["blank_account"] == 1425  # all on open deals: 68% of the 2,089
    assert "blank_account_closed" not in counts
    assert counts["prospecting_without_engage_date"] == 500
    assert counts["stale_open_deal"] == 1291
    assert "unknown_sales_agent" not in counts and "unknown_product" not in counts


def test_stale_count_matches_an_independent_computation(full, raw) -> None:
    closed = raw["deal_stage"].isin(["Won", "Lost"])
    longest_cycle = (raw.loc[closed, "close"] - raw.loc[closed, "engage"]).dt.days.max()
    age = (pd.Timestamp("2017-12-31") - raw["engage"]).dt.days
    expected = int((~closed & (age > longest_cycle)).sum())
    assert longest_cycle == 138
    assert full.deals["stale"].sum() == expected == 1291


def test_cut_at_2017_07_01_is_the_crm_as_it_stood(full, raw) -> None:
    as_of = pd.Timestamp("2017-07-01")
    cut = cut_at(full, "2017-07-01")
    deals = cut.deals.set_index("opportunity_id")
    assert list(cut.deals.columns) == list(DEAL_COLUMNS)
    assert len(deals) == int((raw["engage"] <= as_of).sum()) == 4405
    assert deals["engage_date"].max() <= as_of  # nobody engaged later exists
    assert not deals["flag_no_engage_date"].any()  # undated Prospecting deals cannot be placed in the past
    assert cut.quality.count("undated_prospecting_excluded") == 500

    closed_later = raw.loc[(raw["engage"] <= as_of) & (raw["close"] > as_of), "opportunity_id"]
    assert len(closed_later) > 0
    later = deals.loc[closed_later]
    assert later["deal_stage"].eq("Engaging").all() and later["is_open"].all()
    assert later["close_date"].isna().all() and later["close_value"].isna().all()
    assert deals.loc[deals["is_open"], "deal_stage"].eq("Engaging").all()
    assert deals["close_date"].max() <= as_of
    assert (cut.quality.as_of, cut.as_of, cut.export_end) == ("2017-07-01", as_of, pd.Timestamp("2017-12-31"))
    assert cut.data_hash == full.data_hash


def test_cut_is_composable(full) -> None:
    direct = cut_at(full, "2017-07-01")
    via_later = cut_at(cut_at(full, "2017-09-30"), "2017-07-01")
    pd.testing.assert_frame_equal(direct.deals, via_later.deals)
    assert direct.quality == via_later.quality
