"""The field history: read, repaired, replayed at any as-of date, and point-in-time facts that never see a
row dated after the day they describe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.history import facts_at, timeline

PIPELINE = (
    "opportunity_id,sales_agent,account,deal_stage,engage_date,close_date,close_value,stage,amount,"
    "rep_close_date,forecast_category,rep_probability\n"
    "H1,Ann,Acme,Engaging,2025-01-06,,,Proposal,1500,2025-06-30,Commit,70\n"
    "H2,Ann,Acme,Won,2025-01-06,2025-03-03,2000,Won,2000,,,\n"
    "H3,Bob,Beta,Engaging,2025-02-03,,,Qualify,800,2025-05-31,Pipeline,20\n"
    "H4,Bob,Beta,Lost,2025-01-13,2025-02-24,,Lost,,,,\n"
)
HISTORY = (
    "opportunity_id,changed_at,stage,amount,rep_close_date,forecast_category,rep_probability\n"
    "H1,2025-01-06 09:00:00,Qualify,1000,2025-03-31,Pipeline,10\n"
    "H1,2025-02-10,Proposal,,,,50\n"
    "H1,2025-03-20,,,2025-04-30,Best Case,\n"  # pushed 30 days
    "H1,2025-04-25,Qualify,,,,\n"  # back a stage...
    "H1,2025-04-25,Proposal,1500,2025-06-30,Commit,70\n"  # ...and forward the same day: the last row holds
    "H2,2025-01-06,Qualify,2000,2025-02-28,Pipeline,10\n"
    "H2,2025-03-10,Negotiate,,,,\n"  # after H2 closed on 2025-03-03: left out
    "H3,2025-02-03,Qualify,800,2025-05-31,Pipeline,20\n"
    "H9,2025-02-03,Qualify,800,2025-05-31,Pipeline,20\n"  # no such deal
)


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    (tmp_path / "sales_pipeline.csv").write_text(PIPELINE)
    (tmp_path / "deal_history.csv").write_text(HISTORY)
    return tmp_path


def test_the_cut_rebuilds_each_open_deal_as_it_stood(export: Path) -> None:
    full = read_crm(export)
    assert full.stage_order == ("Qualify", "Proposal")  # by the reps' probability per stage
    then = cut_at(full, "2025-02-15").deals.set_index("opportunity_id")
    assert then.loc["H1", ["stage", "amount", "forecast_category", "rep_probability"]].tolist() == [
        "Proposal",
        1000.0,
        "Pipeline",
        0.5,
    ]
    assert then.loc["H1", "rep_close_date"] == pd.Timestamp("2025-03-31")
    assert then.loc["H2", ["deal_stage", "stage"]].tolist() == ["Engaging", "Qualify"]  # closed later
    march = cut_at(full, "2025-03-25").deals.set_index("opportunity_id")
    assert march.loc["H1", "rep_close_date"] == pd.Timestamp("2025-04-30")
    assert march.loc["H1", "forecast_category"] == "Best Case"
    assert march.loc["H2", "deal_stage"] == "Won" and march.loc["H2", "stage"] == "Won"
    now = full.deals.set_index("opportunity_id")
    assert now.loc["H1", ["stage", "amount", "forecast_category"]].tolist() == ["Proposal", 1500.0, "Commit"]
    # the cut holds no history row after its date: nothing later can leak into what is computed from it
    assert cut_at(full, "2025-02-15").history["changed_at"].max() == pd.Timestamp("2025-02-10")


def test_contradictions_are_repaired_and_reported(export: Path) -> None:
    findings = {item.code: item for item in read_crm(export).quality.items}
    assert findings["history_unknown_deal"].count == 1 and findings["history_unknown_deal"].examples == (
        "H9",
    )
    assert findings["history_after_close"].count == 1
    assert findings["history_same_day"].count == 2
    assert findings["history_stage_not_in_order"].examples == ("Negotiate",)


def test_facts_count_pushes_stage_time_and_regressions_from_rows_up_to_the_day(export: Path) -> None:
    crm = read_crm(export)
    days = np.array(["2025-02-09", "2025-03-19", "2025-03-20", "2025-05-01"], dtype="datetime64[ns]")
    facts = facts_at(crm.history, np.array(["H1"] * 4, dtype=object), days, crm.stage_order)
    assert facts["stage"].tolist() == ["Qualify", "Proposal", "Proposal", "Proposal"]
    assert facts["close_date_pushes"].tolist() == [0, 0, 1, 2]
    assert facts["days_pushed"].tolist() == [0, 0, 30, 91]
    assert facts["days_in_stage"].tolist() == [34, 37, 38, 6]  # back to Qualify and on to Proposal on 04-25
    assert facts["stage_regressions"].tolist() == [0, 0, 0, 1]
    assert facts["days_to_rep_close"].tolist() == [50, 12, 41, 60]
    assert facts["amount_change"].tolist() == [0.0, 0.0, 0.0, 0.5]
    assert facts["rep_probability"].tolist() == [0.1, 0.5, 0.5, 0.7]
    before = facts_at(crm.history, np.array(["H1"], dtype=object), days[:1] - np.timedelta64(40, "D"), ())
    assert before.isna().all(axis=None)  # before its first row the history says nothing


def test_an_export_without_a_history_has_none(tmp_path: Path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(PIPELINE)
    crm = read_crm(tmp_path)
    assert crm.history is None and cut_at(crm, "2025-02-15").history is None
    # the rep's claims as exported may postdate a past as-of date: unknown then
    assert pd.isna(cut_at(crm, "2025-02-15").deals.set_index("opportunity_id").loc["H1", "rep_close_date"])


def test_the_timeline_holds_each_open_deal_after_every_change_up_to_the_cut(export: Path) -> None:
    """deal_timeline.csv: the open deals' history rows up to the as-of date, each with the deal's stage,
    amount, close date and category after it (blank fields carried forward); closed deals have none."""
    cut = cut_at(read_crm(export), "2025-03-25")
    rows = timeline(cut.history, cut.open_ids, cut.stage_order)
    assert sorted(set(rows["opportunity_id"])) == ["H1", "H3"]  # H2 was won on 2025-03-03
    h1 = rows[rows["opportunity_id"].eq("H1")]
    assert h1["changed_at"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-06", "2025-02-10", "2025-03-20"]
    assert h1["stage"].tolist() == ["Qualify", "Proposal", "Proposal"]
    assert h1["amount"].tolist() == [1000.0, 1000.0, 1000.0]
    assert h1["rep_close_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-31", "2025-03-31", "2025-04-30"]
    assert h1["forecast_category"].tolist() == ["Pipeline", "Pipeline", "Best Case"]
    assert timeline(None, cut.open_ids, cut.stage_order).empty
