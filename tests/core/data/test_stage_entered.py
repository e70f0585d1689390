"""HubSpot's stage history: the "Date entered" columns of a deals export, read through the shipped mapping's
[history] template, become one history row per stage entered, in time order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import load_mapping, read_crm
from core.data.history import facts_at
from core.data.stage_entered import stage_entered_history, stage_entered_pattern
from core.errors import DataContractError

HUBSPOT = Path(__file__).resolve().parents[3] / "dataset" / "mappings" / "hubspot.toml"
# the "Date entered" columns out of the pipeline's order (Qualified To Buy first), a "Date exited" column
# and a second pipeline's stage; deal 101 enters two stages on one day (the later column first in time)
EXPORT = (
    "Record ID,Deal owner,Associated Company,Deal Stage,Pipeline,Amount,Create Date,Close Date,Is Closed Won,"
    "Is Deal Closed?,"
    '"Date entered ""Qualified To Buy (Sales Pipeline)""",'
    '"Date entered ""Appointment Scheduled (Sales Pipeline)""",'
    '"Date exited ""Appointment Scheduled (Sales Pipeline)""",'
    '"Date entered ""Contract Sent (Sales Pipeline)""",'
    '"Date entered ""Closed Won (Sales Pipeline)""",'
    '"Date entered ""Onboarding (Renewals)"""\n'
    "101,Ann Lee,Acme,Closed Won,Sales Pipeline,5000,2025-01-06 09:15,2025-03-10 00:00,true,true,"
    "2025-01-06 11:40,2025-01-06 09:15,2025-01-06 11:40,2025-02-03 10:00,2025-03-10 16:20,\n"
    # back from Contract Sent to Qualified To Buy: only the last entry into each stage is kept
    "102,Bob Ray,Beta,Qualified To Buy,Sales Pipeline,800,2025-02-03 08:00,2025-04-30 00:00,false,false,"
    "2025-02-20 09:00,2025-02-03 08:00,2025-02-04 10:00,2025-02-10 14:00,,\n"
    "103,Ann Lee,Gamma,Onboarding,Renewals,300,2025-02-10 10:00,2025-05-31 00:00,false,false,,,,,,"
    "2025-02-10 10:05\n"
    "104,Cleo Vance,Delta,Contract Sent,Sales Pipeline,900,2025-02-12 09:00,2025-06-30 00:00,false,false,"
    "2025-02-12 09:30,2025-02-12 09:00,,2025-03-01 11:00,,\n"
)


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    (tmp_path / "hubspot-crm-exports-all-deals-2025-03-31.csv").write_text(EXPORT)
    return tmp_path


def test_each_filled_date_entered_cell_is_a_stage_row_in_time_order(export: Path) -> None:
    crm = read_crm(export, load_mapping(HUBSPOT))
    rows = crm.history.assign(changed_at=crm.history["changed_at"].dt.strftime("%Y-%m-%d"))
    assert rows[["opportunity_id", "changed_at", "stage"]].values.tolist() == [
        ["101", "2025-01-06", "Appointment Scheduled"],
        ["101", "2025-01-06", "Qualified To Buy"],
        ["101", "2025-02-03", "Contract Sent"],
        ["101", "2025-03-10", "Closed Won"],
        ["102", "2025-02-03", "Appointment Scheduled"],
        ["102", "2025-02-10", "Contract Sent"],
        ["102", "2025-02-20", "Qualified To Buy"],
        ["103", "2025-02-10", "Onboarding"],
        ["104", "2025-02-12", "Appointment Scheduled"],
        ["104", "2025-02-12", "Qualified To Buy"],
        ["104", "2025-03-01", "Contract Sent"],
    ]
    # open deals sit in Qualified To Buy and Contract Sent: the mapping lists them in that order
    assert crm.stage_order == ("Qualified To Buy", "Contract Sent", "Onboarding")
    # only the stage is historied; every other field stays as the export has it
    assert rows[["amount", "rep_close_date", "forecast_category", "rep_probability"]].isna().all(axis=None)
    ids = np.array(["101", "102", "102"], dtype=object)
    days = np.array(["2025-01-06", "2025-02-15", "2025-03-01"], dtype="datetime64[ns]")
    facts = facts_at(crm.history, ids, days, crm.stage_order)
    assert facts["stage"].tolist() == ["Qualified To Buy", "Contract Sent", "Qualified To Buy"]
    assert facts["stage_regressions"].tolist() == [0, 0, 1]
    assert facts["days_in_stage"].tolist() == [0, 5, 9]


def test_the_template_matches_stage_and_pipeline_names_and_nothing_else() -> None:
    pattern = stage_entered_pattern('Date entered "{stage} ({pipeline})"')
    assert pattern.fullmatch('Date entered "Contract Sent (Sales Pipeline)"')["stage"] == "Contract Sent"
    assert pattern.fullmatch('Date entered "Won (Sales (EU))"').groupdict() == {
        "stage": "Won",
        "pipeline": "Sales (EU)",
    }
    assert pattern.fullmatch('Date exited "Contract Sent (Sales Pipeline)"') is None
    with pytest.raises(ValueError, match=r"names \{stage_name\}; use \{stage\} and \{pipeline\}"):
        stage_entered_pattern('Date entered "{stage_name}"')
    with pytest.raises(ValueError, match=r"must name \{stage\} once"):
        stage_entered_pattern("Date entered")


def test_rows_come_from_the_frame_as_read() -> None:
    deals = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C"],
            "source_row": [2, 3, 4],
            "Entered Won": ["2025-01-09", "", "2025-01-04T08:00:00Z"],
            "Entered Open": ["2025-01-02 10:00", "2025-01-05", "2025-01-04 07:00"],
        }
    )
    rows = stage_entered_history(deals, "Entered {stage}", "%Y-%m-%d")
    assert rows.values.tolist() == [
        ["A", "2025-01-02 10:00", "Open", 2],
        ["A", "2025-01-09", "Won", 2],
        ["B", "2025-01-05", "Open", 3],
        ["C", "2025-01-04 07:00", "Open", 4],
        ["C", "2025-01-04T08:00:00Z", "Won", 4],
    ]


def test_a_bad_template_is_a_one_line_mapping_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[history]\nstage_entered = 'Date entered \"{stage_name}\"'\n")
    with pytest.raises(
        DataContractError, match=r"^bad.toml: \[history\] stage_entered .* names \{stage_name\}"
    ):
        load_mapping(path)
    path.write_text("[history]\nstage_entred = 'Date entered {stage}'\n")
    with pytest.raises(DataContractError, match=r"\[history\] has unknown key 'stage_entred'"):
        load_mapping(path)


def test_an_export_without_date_entered_columns_has_no_history(export: Path) -> None:
    path = next(export.glob("*.csv"))
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[:, ~table.columns.str.startswith("Date ")].to_csv(path, index=False)
    crm = read_crm(export, load_mapping(HUBSPOT))
    assert crm.history is None and len(crm.deals) == 4
