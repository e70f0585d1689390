"""Point-in-time deal features: snapshot layout, train/serve parity and no information from the future."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import CRMData, cut_at, read_crm
from core.data.synthetic import generate_crm
from core.features import FEATURE_DEFINITIONS, FEATURES, open_deal_features, weekly_snapshots
from core.features.deal_features import (
    ACCOUNT_FEATURES,
    NUMERIC_FEATURES,
    _track_record_terms,
    account_donors,
    day_of_quarter,
    open_deal_features_by_draw,
)
from models.generate import write_crm


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> CRMData:
    """A small synthetic export (1,500 deals) read once for the module."""
    folder: Path = tmp_path_factory.mktemp("features_export")
    write_crm(generate_crm(n_deals=1500, seed=3), folder)
    return read_crm(folder)


def test_weekly_snapshots_cover_each_open_week_of_a_deal(export: CRMData) -> None:
    crm = cut_at(export, "2026-03-01")
    _, snapshots = weekly_snapshots(crm)
    first_close = crm.deals["close_date"].min()
    deal = crm.deals.loc[crm.deals["is_won"] & (crm.deals["engage_date"] > first_close)].iloc[0]
    rows = snapshots.loc[snapshots["opportunity_id"].eq(deal["opportunity_id"])]
    duration = (deal["close_date"] - deal["engage_date"]).days
    expected_ages = list(range(0, duration, 7))  # open at the end of each snapshot day, closed on close_date
    assert rows["age_days"].tolist() == expected_ages
    assert (rows["snapshot_date"] < deal["close_date"]).all()
    assert set(rows["outcome"]) == {"won"}


def test_open_deals_are_snapshotted_up_to_the_as_of_date(export: CRMData) -> None:
    crm = cut_at(export, "2026-03-01")
    _, snapshots = weekly_snapshots(crm)
    assert snapshots["snapshot_date"].max() <= crm.as_of
    open_rows = snapshots.loc[snapshots["outcome"].eq("open")]
    assert open_rows["close_age_days"].isna().all()
    assert open_rows["opportunity_id"].isin(crm.open_ids).all()


def test_features_at_a_snapshot_equal_scoring_features_at_that_date(export: CRMData) -> None:
    """Fails if any feature uses information after the snapshot date (train/serve parity)."""
    crm = cut_at(export, "2026-06-01")
    features, snapshots = weekly_snapshots(crm)
    blank = crm.deals.loc[crm.deals["account"].eq(""), "opportunity_id"]
    compared = 0
    for snapshot_day in pd.date_range("2026-01-12", "2026-01-16"):
        at_day = snapshots["snapshot_date"].eq(snapshot_day).to_numpy()
        training_rows = features.loc[at_day].set_index(snapshots.loc[at_day, "opportunity_id"].to_numpy())
        scored = open_deal_features(cut_at(export, snapshot_day))
        known = training_rows.index[~training_rows.index.isin(blank)]
        pd.testing.assert_frame_equal(
            training_rows.loc[known, list(FEATURES)],
            scored.loc[known, list(FEATURES)],
            check_names=False,
            check_dtype=False,
        )
        compared += len(known)
    assert compared > 40


def test_changing_the_future_does_not_change_past_features(export: CRMData) -> None:
    crm = cut_at(export, "2026-06-01")
    future = crm.deals["close_date"] > pd.Timestamp("2026-02-01")
    flipped = crm.deals.copy()
    flipped.loc[future & flipped["is_won"], "deal_stage"] = "Lost"
    flipped.loc[future, "is_won"] = False
    before, snaps = weekly_snapshots(crm)
    after, _ = weekly_snapshots(CRMData(**{**crm.__dict__, "deals": flipped}))
    early = (snaps["snapshot_date"] <= pd.Timestamp("2026-02-01")).to_numpy()
    pd.testing.assert_frame_equal(before.loc[early], after.loc[early])
    assert not before.loc[~early, "rep_win_rate"].equals(after.loc[~early, "rep_win_rate"])


def test_blank_accounts_get_a_known_donor_and_never_look_blank(export: CRMData) -> None:
    crm = export
    blank_ids = crm.deals.loc[crm.deals["is_open"] & crm.deals["account"].eq(""), "opportunity_id"]
    assert len(blank_ids) > 10
    features = open_deal_features(crm)
    assert features.loc[blank_ids, "sector"].ne("Unknown").all()
    assert features.loc[blank_ids, list(ACCOUNT_FEATURES)].notna().all().all()
    donors = account_donors(crm.deals, draw=0)
    assert set(donors[crm.deals["account"].eq("")]) <= set(crm.deals["account"]) - {""}
    as_missing = open_deal_features(crm, account_policy="as_missing")
    assert as_missing.loc[blank_ids, "account_win_rate"].isna().all()


def test_all_donor_draws_in_one_pass_equal_each_draw_on_its_own(export: CRMData) -> None:
    crm = cut_at(export, "2026-06-01")
    frames = open_deal_features_by_draw(crm, 5.0, "impute", (0, 1, 2, 3))
    blank = crm.deals.loc[crm.deals["is_open"] & crm.deals["account"].eq(""), "opportunity_id"]
    assert len(frames) == 4 and len(blank) > 10
    for draw, frame in enumerate(frames):
        pd.testing.assert_frame_equal(frame, open_deal_features(crm, 5.0, "impute", draw=draw))
    # the draws differ on blank-account deals only, and there in the donor's account features
    assert not frames[1].loc[blank, "account_win_rate"].equals(frames[0].loc[blank, "account_win_rate"])
    others = frames[0].index.difference(blank)
    pd.testing.assert_frame_equal(frames[2].loc[others], frames[0].loc[others])


def test_day_of_quarter_counts_from_the_quarter_start() -> None:
    dates = np.array(["2026-01-01", "2026-03-31", "2026-04-01", "2026-08-14"], dtype="datetime64[D]")
    assert day_of_quarter(dates).tolist() == [0.0, 89.0, 0.0, 44.0]


def test_track_record_terms_are_logs_relative_to_a_thousand_and_missing_when_unknown() -> None:
    deals = pd.DataFrame(
        {
            "list_price": [1000.0, 1000.0 * np.e, 0.0, np.nan],
            "account_employees": [1000.0, 1000.0 / np.e, 50.0, 500.0],
        }
    )
    terms = _track_record_terms(deals)
    np.testing.assert_allclose(terms[:2], [[0.0, 0.0, 0.0], [1.0, -1.0, -1.0]], atol=1e-12)
    assert np.isnan(terms[2:, 0]).all() and np.isnan(terms[2:, 2]).all()
    assert terms[2, 1] == pytest.approx(np.log(0.05))


# The features' digest on this module's export at 2026-03-01, per FEATURE_DEFINITIONS version
# (version 3 changed nothing on an export without amounts, like this one)
FEATURE_DIGESTS = {
    2: "2f023b08aa1936c31fb1752084c8b865c6f3a2e7d8e2c64f7d1c28adc90d2ec3",
    3: "2f023b08aa1936c31fb1752084c8b865c6f3a2e7d8e2c64f7d1c28adc90d2ec3",
}


def test_feature_values_change_only_with_a_new_feature_definitions_version(export: CRMData) -> None:
    """Saved models are reused only under the same FEATURE_DEFINITIONS: a change to any feature's values
    must bump it (and record the new digest here), or predict.py would score with a model trained on other
    features."""
    crm = cut_at(export, "2026-03-01")
    digest = hashlib.sha256()
    for frame in (weekly_snapshots(crm)[0], open_deal_features(crm)):
        digest.update(np.round(frame[list(NUMERIC_FEATURES)].to_numpy(dtype=float), 9).tobytes())
        text = frame[[c for c in FEATURES if c not in NUMERIC_FEATURES]].astype(str).to_numpy().ravel()
        digest.update("|".join(text).encode())
    assert digest.hexdigest() == FEATURE_DIGESTS[FEATURE_DEFINITIONS], (
        "feature values changed: bump FEATURE_DEFINITIONS and record the new digest"
    )


def test_the_deal_value_feature_is_the_list_price_never_the_final_amount(export: CRMData) -> None:
    """An export without a history holds each deal's final amount (a won deal's booked value); as a feature
    it told the model which deals were won (a mapped report whose won deals alone carry an Amount moved an
    open deal 41 points on 'list price'). Snapshots and scoring read the list price only."""
    crm = cut_at(export, "2026-03-01")
    booked = crm.deals["close_value"].where(crm.deals["is_won"])  # amounts only on won deals
    with_amounts = replace(crm, deals=crm.deals.assign(amount=booked))
    features, snapshots = weekly_snapshots(with_amounts)
    list_price = crm.deals.set_index("opportunity_id")["list_price"]
    expected = list_price.reindex(snapshots["opportunity_id"]).to_numpy()
    np.testing.assert_array_equal(features["deal_value"].to_numpy(), expected)
    scoring = open_deal_features(with_amounts)
    np.testing.assert_array_equal(
        scoring["deal_value"].to_numpy(), list_price.reindex(scoring.index).to_numpy()
    )
