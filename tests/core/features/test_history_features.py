"""History features are point-in-time: a training snapshot on day s holds exactly what scoring the CRM cut
at s holds, so no history row dated after s reaches it; without a history the features are as before."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.history import facts_at
from core.data.synthetic import generate_crm
from core.data.synthetic_history import synthetic_history
from core.features import FEATURES, open_deal_features, weekly_snapshots
from core.features.deal_features import HISTORY_FEATURES
from models.generate import write_crm


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory):
    synthetic = generate_crm(n_deals=1200, seed=4)
    folder = tmp_path_factory.mktemp("history")
    write_crm(synthetic, folder)
    history, pipeline = synthetic_history(synthetic, seed=4)
    pipeline.to_csv(folder / "sales_pipeline.csv", index=False)
    history.to_csv(folder / "deal_history.csv", index=False)
    return read_crm(folder)


def test_a_snapshot_holds_what_the_cut_at_its_day_holds(crm) -> None:
    features, snapshots = weekly_snapshots(crm, thin_after_days=10_000)
    day = snapshots["snapshot_date"].value_counts().index[0]  # the busiest snapshot day
    on_day = snapshots["snapshot_date"].eq(day).to_numpy()
    trained = features.loc[on_day, list(HISTORY_FEATURES)].set_axis(
        snapshots.loc[on_day, "opportunity_id"].to_numpy()
    )
    scored = open_deal_features(cut_at(crm, day)).loc[trained.index, list(HISTORY_FEATURES)]
    pd.testing.assert_frame_equal(trained.sort_index(), scored.sort_index(), check_names=False)
    assert trained["close_date_pushes"].notna().all() and len(trained) > 50


def test_moving_a_history_row_past_the_day_changes_nothing_before_it(crm) -> None:
    """A push dated after the snapshot day must not show in that day's features: move one deal's later
    rows further into the future and the day's features stay the same."""
    day = pd.Timestamp("2025-09-01")
    ids = cut_at(crm, day).open_ids.to_numpy(dtype=object)
    later = crm.history["changed_at"] > day
    shifted = crm.history.assign(
        changed_at=crm.history["changed_at"].where(~later, crm.history["changed_at"] + pd.Timedelta(days=1)),
        rep_close_date=crm.history["rep_close_date"].where(~later, pd.Timestamp("2030-01-01")),
    )
    days = np.full(len(ids), day.to_datetime64())
    pd.testing.assert_frame_equal(
        facts_at(crm.history, ids, days, crm.stage_order), facts_at(shifted, ids, days, crm.stage_order)
    )


def test_without_a_history_the_features_are_the_ones_before(crm) -> None:
    plain = cut_at(crm, crm.as_of)
    features = open_deal_features(replace(plain, history=None))
    assert list(features.columns) == list(FEATURES)
    assert list(open_deal_features(plain).columns) == [*FEATURES, *HISTORY_FEATURES]
