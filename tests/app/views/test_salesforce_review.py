"""AppTest of what a browser review of a Salesforce Data Export's run found wrong: the Health page said
"every row was read" above 60 deleted records "left out", worded its findings unlike the Overview and counted
"0 rows" for a file read in another encoding; the Overview gave shares of open deals without saying of how
many, beside a scope that counts fewer (unscored deals left out)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
SALESFORCE_FINDINGS = [
    {
        "code": "blank_account",
        "file": "Opportunity.csv",
        "column": "account",
        "count": 518,
        "action": "kept; account features left unknown",
        "description": "open deal with a blank account",
        "examples": ["006Hp00WADL3UYMI23"],
    },
    {
        "code": "other_currency",
        "file": "Opportunity.csv",
        "column": "currency",
        "count": 1149,
        "action": "amounts converted to USD",
        "description": "deal in another currency than the corporate one",
        "examples": ["EUR", "GBP"],
    },
    {
        "code": "deleted_record",
        "file": "Opportunity.csv",
        "column": "",
        "count": 60,
        "action": "left out",
        "description": "row the export marks deleted",
        "examples": [],
    },
    {
        "code": "not_utf8_file",
        "file": "Account.csv",
        "column": "",
        "count": 0,
        "action": "read as cp1252",
        "description": "file is not UTF-8; read as cp1252",
        "examples": [],
    },
]


@pytest.fixture
def salesforce_run(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run as if made from a Salesforce Data Export with its shipped mapping: the mapping named,
    and the findings such an export has (deleted records, other currencies, blank accounts, cp1252)."""
    out = tmp_path / "salesforce"
    shutil.copytree(fixture_outputs, out)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "salesforce-review"
    metadata["data"].update(mapping="Salesforce Data Export", mapping_file="salesforce-data-export.toml")
    metadata["data_quality"]["items"] = SALESFORCE_FINDINGS
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def _health() -> AppTest:
    """The app on the Model & Data Health page."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/model_health.py").run()
    assert not at.exception
    return at


def test_health_says_the_deleted_records_were_left_out(salesforce_run: Path) -> None:
    at = _health()
    said = [m.value.replace("\\", "") for m in at.markdown]
    assert not any("every row was read" in text for text in said)
    assert any(
        text.startswith(
            "No row of the export was rejected for breaking the data contract. 60 rows were left "
            "out on purpose"
        )
        for text in said
    )


def test_health_names_the_mapping_the_currency_and_the_findings_in_words(salesforce_run: Path) -> None:
    at = _health()
    facts = next(d.value for d in at.dataframe if "item" in d.value.columns).set_index("item")["value"]
    assert facts["Column mapping"] == "Salesforce Data Export"
    assert facts["Currency"] == "Amounts in USD ($), the corporate currency"
    quality = next(d.value for d in at.dataframe if "description" in d.value.columns).set_index("code")
    assert (
        quality.loc["deleted_record", "description"]
        == "Record deleted in the CRM, which the export still lists"
    )
    assert quality.loc["other_currency", ["description", "action"]].tolist() == [
        "Deal in another currency than the corporate one",
        "amounts converted to USD",
    ]
    assert quality.loc["blank_account", "description"] == "Open deal with no account in the CRM"
    assert pd.isna(quality.loc["not_utf8_file", "count"])  # a whole file, not "0 rows"


def test_overview_shares_name_the_open_deals_they_are_of(salesforce_run: Path) -> None:
    metadata = json.loads((salesforce_run / "predictions_metadata.json").read_text())
    open_deals = metadata["counts"]["open_deals"]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    quality = next(w.value for w in at.warning if "no account in the CRM" in w.value).replace("\\", "")
    assert f"518 ({518 / open_deals:.0%} of all {open_deals:,} open deals, unscored included)" in quality
    assert "Record deleted in the CRM, which the export still lists: 60. Left out of every figure." in quality
