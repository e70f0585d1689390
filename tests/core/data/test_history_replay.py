"""Honest as-of replay with a generated history: the full export cut at t is the export as it stood at t
(written by hand from the generator's history), deal for deal, and the point-in-time facts agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import cut_at, load_crm, read_crm
from core.data.history import facts_at
from core.data.synthetic import generate_crm
from core.data.synthetic_history import synthetic_history

AS_OF = "2025-11-20"


def _state_at(history: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Each deal's historied fields at the end of ``t``, by hand: the last non-blank value dated up to t."""
    rows = history.loc[pd.to_datetime(history["changed_at"]) <= t].replace("", np.nan)
    return rows.groupby("opportunity_id").last()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    crm = generate_crm(n_deals=1500, seed=11)
    history, pipeline = synthetic_history(crm, seed=11)
    full = tmp_path_factory.mktemp("full")
    pipeline.to_csv(full / "sales_pipeline.csv", index=False)
    history.to_csv(full / "deal_history.csv", index=False)
    for name, frame in (("accounts.csv", crm.accounts), ("products.csv", crm.products)):
        frame.to_csv(full / name, index=False)
    crm.sales_teams.to_csv(full / "sales_teams.csv", index=False)
    # the export as it stood at AS_OF: later deals absent, later closes open, the rep's call as it was then
    t = pd.Timestamp(AS_OF)
    then = pipeline.loc[pd.to_datetime(pipeline["engage_date"].replace("", None)) <= t].copy()
    closed_later = pd.to_datetime(then["close_date"].replace("", None)) > t
    then.loc[closed_later, ["deal_stage", "close_date", "close_value"]] = ["Engaging", "", ""]
    state = _state_at(history, t)
    is_open = then["deal_stage"].isin(["Prospecting", "Engaging"])
    for column in ("stage", "amount", "rep_close_date", "forecast_category", "rep_probability"):
        then[column] = then["opportunity_id"].map(state[column]).fillna("").astype(str).where(is_open, "")
    then.loc[~is_open, "stage"] = then.loc[~is_open, "deal_stage"]
    truncated = tmp_path_factory.mktemp("truncated")
    then.to_csv(truncated / "sales_pipeline.csv", index=False)
    known_then = history.loc[pd.to_datetime(history["changed_at"]) <= t]
    known_then.to_csv(truncated / "deal_history.csv", index=False)
    for name in ("accounts.csv", "products.csv", "sales_teams.csv"):
        (truncated / name).write_bytes((full / name).read_bytes())
    return full, truncated


def test_cutting_the_full_export_gives_the_export_as_it_stood(exports) -> None:
    full, truncated = exports
    cut = cut_at(read_crm(full), AS_OF).deals.drop(columns="source_row").sort_values("opportunity_id")
    then = load_crm(truncated, as_of=AS_OF).deals.drop(columns="source_row").sort_values("opportunity_id")
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), then.reset_index(drop=True))
    open_cut = cut.loc[cut["is_open"]]
    assert open_cut["stage"].isin(["Qualify", "Discovery", "Proposal", "Negotiation"]).mean() > 0.9
    assert open_cut["rep_close_date"].notna().mean() > 0.9


def test_the_facts_on_a_day_are_the_same_from_either_export(exports) -> None:
    full, truncated = exports
    late, early = read_crm(full), load_crm(truncated, as_of=AS_OF)
    ids = cut_at(late, AS_OF).open_ids.to_numpy(dtype=object)
    days = np.full(len(ids), np.datetime64(AS_OF, "ns"))
    from_full = facts_at(late.history, ids, days, late.stage_order)
    from_then = facts_at(early.history, ids, days, early.stage_order)
    pd.testing.assert_frame_equal(from_full, from_then)
    assert from_full["close_date_pushes"].max() >= 3 and from_full["days_in_stage"].notna().mean() > 0.9
