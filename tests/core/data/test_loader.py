"""Loader unit tests on the tiny valid export: typing, repairs, joins, exact messages."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data import load_crm, load_mapping, read_crm
from core.data.contract import DEAL_COLUMNS
from core.errors import DataContractError


@pytest.fixture(scope="module")
def crm(valid_export):
    return read_crm(valid_export)


def test_deals_have_the_contract_columns_and_types(crm) -> None:
    deals = crm.deals.set_index("opportunity_id")
    assert list(crm.deals.columns) == list(DEAL_COLUMNS)
    assert str(deals["engage_date"].dtype) == "datetime64[ns]"
    assert deals.loc["D1", "close_value"] == 540.0
    assert pd.isna(deals.loc["D3", "close_value"]) and pd.isna(deals.loc["D3", "close_date"])
    assert deals["source_row"].to_dict() == {"D1": 2, "D2": 3, "D3": 4, "D4": 5, "D5": 6}
    assert deals["is_open"].to_dict() == {"D1": False, "D2": False, "D3": True, "D4": True, "D5": False}
    assert deals["is_won"].sum() == 2


def test_export_end_and_default_as_of_are_the_latest_date(crm) -> None:
    assert crm.export_end == crm.as_of == pd.Timestamp("2017-03-01")
    assert crm.missing_files == ()


def test_ages_are_counted_from_as_of(crm) -> None:
    ages = crm.deals.set_index("opportunity_id")["age_days"]
    assert ages["D3"] == (pd.Timestamp("2017-03-01") - pd.Timestamp("2017-02-01")).days == 28
    assert pd.isna(ages["D4"])  # Prospecting without an engage date has no age


def test_quirks_are_repaired_and_flagged(crm) -> None:
    deals = crm.deals.set_index("opportunity_id")
    assert deals.loc["D2", "product"] == "GTX Pro" and bool(deals.loc["D2", "flag_product_alias"])
    assert deals.loc["D2", "list_price"] == 4821.0 and deals.loc["D2", "series"] == "GTX"
    assert deals.loc["D3", "account"] == "" and bool(deals.loc["D3", "flag_blank_account"])
    assert deals.loc["D3", "sector"] == "Unknown" and pd.isna(deals.loc["D3", "account_revenue"])
    assert bool(deals.loc["D5", "flag_unknown_agent"])
    assert deals.loc["D5", ["manager", "regional_office"]].tolist() == ["Unknown", "Unknown"]
    assert deals.loc["D1", ["manager", "regional_office"]].tolist() == ["Dustin Brinkmann", "Central"]
    assert deals.loc["D4", "sector"] == "medical" and deals.loc["D4", "account_employees"] == 1185.0
    assert bool(deals.loc["D4", "flag_no_engage_date"])


def test_quality_report_counts_each_quirk(crm) -> None:
    report = crm.quality
    assert (report.as_of, report.n_deals, report.n_open) == ("2017-03-01", 5, 2)
    counts = {item.code: item.count for item in report.items}
    assert counts == {
        "product_alias": 1,
        "blank_account": 1,
        "unknown_sales_agent": 1,
        "prospecting_without_engage_date": 1,
    }
    assert report.items[0].examples == ("GTXPro -> GTX Pro",)
    assert report.to_dict()["items"][0]["count"] == 1


def test_optional_files_may_be_absent_and_are_reported(tmp_path, valid_export) -> None:
    (tmp_path / "sales_pipeline.csv").write_bytes((valid_export / "sales_pipeline.csv").read_bytes())
    crm = read_crm(tmp_path)
    assert crm.missing_files == ("accounts.csv", "products.csv", "sales_teams.csv")
    assert crm.quality.count("missing_optional_file") == 0
    assert [i.file for i in crm.quality.items if i.code == "missing_optional_file"] == list(crm.missing_files)
    assert crm.deals["manager"].eq("Unknown").all() and crm.deals["list_price"].isna().all()
    assert not crm.deals["flag_unknown_agent"].any()  # nothing to compare against: not flagged
    assert (
        crm.deals.set_index("opportunity_id").loc["D2", "product"] == "GTX Pro"
    )  # known alias, still repaired


def test_data_hash_changes_with_the_bytes_and_is_stable(tmp_path, valid_export, crm) -> None:
    assert read_crm(valid_export).data_hash == crm.data_hash
    for path in valid_export.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "products.csv").write_text("product,series,sales_price\nGTX Basic,GTX,551\n")
    assert read_crm(tmp_path).data_hash != crm.data_hash


def test_amount_column_is_parsed_when_present(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value,amount\n"
        'A1,Ann,GTX Basic,,Engaging,2017-01-02,,,"1,250.50"\n'
        "A2,Ann,GTX Basic,,Won,2017-01-02,2017-01-09,500,\n"
    )
    amounts = read_crm(tmp_path).deals.set_index("opportunity_id")["amount"]
    assert amounts["A1"] == 1250.5 and pd.isna(amounts["A2"])


def test_whitespace_around_values_is_stripped(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(
        "opportunity_id , sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        " A1 ,Ann , GTX Basic,,Won ,2017-01-02, 2017-01-09,500\n"
    )
    deal = read_crm(tmp_path).deals.iloc[0]
    assert (deal["opportunity_id"], deal["sales_agent"], deal["deal_stage"]) == ("A1", "Ann", "Won")


def test_error_message_is_exactly_file_column_row_problem(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "A1,Ann,GTX Basic,,Won,2017-01-02,2017-01-09,500\n"
        "A2,Ann,GTX Basic,,Closed Won,2017-01-02,2017-01-09,500\n"
    )
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path)
    assert str(caught.value) == (
        "sales_pipeline.csv, column 'deal_stage', row 3: unknown stage 'Closed Won' (expected one of "
        "Prospecting, Engaging, Won, Lost; map others in a column mapping) (opportunity_id A2)"
    )
    assert (caught.value.file, caught.value.column, caught.value.row) == (
        "sales_pipeline.csv",
        "deal_stage",
        3,
    )


MESSY = (
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
    "A1,Ann,GTX Basic,,Won,2017-01-02,2017-01-09,500\n"
    "A2,Ann,GTX Basic,,Won,2017-02-02,2017-02-31,500\n"
    "A3,Ann,GTX Basic,,Lost,2017-03-05,2017-03-32,\n"
    "A4,Bob,GTX Basic,,Closed Won,2017-01-02,2017-01-20,700\n"
    "A5,Bob,GTX Basic,,Lost,2017-04-02,2017-04-31,\n"
    "A6,Bob,GTX Basic,,Engaging,2017-01-03,,\n"
)


def test_the_error_says_how_many_rows_share_the_problem(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(MESSY.replace("Closed Won", "Won"))
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path)
    assert str(caught.value) == (
        "sales_pipeline.csv, column 'close_date', row 3: unparsable date '2017-02-31' (expected YYYY-MM-DD) "
        "(opportunity_id A2); 2 more rows share this problem"
    )


def test_drop_invalid_sets_breaking_rows_aside_with_their_reason(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(MESSY)
    crm = read_crm(tmp_path, drop_invalid=True)
    assert crm.deals["opportunity_id"].tolist() == ["A1", "A6"]
    rejected = crm.rejected
    assert rejected[["row", "opportunity_id", "column"]].values.tolist() == [
        [5, "A4", "deal_stage"],
        [3, "A2", "close_date"],
        [4, "A3", "close_date"],
        [6, "A5", "close_date"],
    ]
    assert rejected["problem"].iloc[0].startswith("unknown stage 'Closed Won'")
    assert rejected["problem"].iloc[3] == "unparsable date '2017-04-31' (expected YYYY-MM-DD)"
    assert (rejected["file"] == "sales_pipeline.csv").all()
    found = {item.column: item.count for item in crm.quality.items if item.code == "rejected_row"}
    assert found == {"deal_stage": 1, "close_date": 3}
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "sales_pipeline.csv").write_text("\n".join(MESSY.splitlines()[:2]) + "\n")
    nothing = read_crm(clean, drop_invalid=True).rejected
    assert nothing is not None and nothing.empty and list(nothing.columns) == list(rejected.columns)
    assert read_crm(clean).rejected is None  # without the flag nothing is set aside


def test_latin1_and_cp1252_exports_load_and_say_so(tmp_path) -> None:
    """Exports outside English-speaking orgs are often not UTF-8: read as cp1252 (else latin-1), reported."""
    text = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "A1,Zoë Müller,GTX Basic,Société Générale,Won,2017-01-02,2017-01-09,500\n"
        "A2,Zoë Müller,GTX Basic,Acme – Europe,Engaging,2017-01-03,,\n"
    )
    (tmp_path / "sales_pipeline.csv").write_bytes(text.encode("cp1252"))
    crm = read_crm(tmp_path)
    assert crm.deals["account"].tolist() == ["Société Générale", "Acme – Europe"]
    assert crm.deals["sales_agent"].iloc[0] == "Zoë Müller"
    (note,) = [item for item in crm.quality.items if item.code == "not_utf8_file"]
    assert (note.file, note.action) == ("sales_pipeline.csv", "read as cp1252")
    utf8 = tmp_path / "utf8"
    utf8.mkdir()
    (utf8 / "sales_pipeline.csv").write_text(text, encoding="utf-8-sig")  # with a BOM: no note
    assert read_crm(utf8).deals["account"].tolist() == crm.deals["account"].tolist()
    assert not [item for item in read_crm(utf8).quality.items if item.code == "not_utf8_file"]


def test_a_declared_encoding_the_file_does_not_have_is_one_line(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_bytes(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "A1,Ann,GTX Basic,Acmé,Won,2017-01-02,2017-01-09,500\n".encode("latin-1")
    )
    (tmp_path / "utf8.toml").write_text('name = "Strict"\n[options]\nencoding = "utf-8"\n')
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path, load_mapping(tmp_path / "utf8.toml"))
    assert str(caught.value) == (
        "sales_pipeline.csv, column 'account', row 2: not utf-8 text (byte 0xe9); fix the mapping's encoding "
        "or re-export"
    )


def test_date_times_count_as_their_calendar_day(tmp_path) -> None:
    """Record timestamps as CRMs export them (ISO with a time, a T and a zone, or a US date with a clock)."""
    (tmp_path / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "A1,Ann,GTX Basic,,Won,2017-01-02 10:42:00,2017-01-09T23:59:59Z,500\n"
        "A2,Ann,GTX Basic,,Engaging,2017-01-03,,\n"
    )
    deals = read_crm(tmp_path).deals.set_index("opportunity_id")
    assert deals.loc["A1", "engage_date"] == pd.Timestamp("2017-01-02")
    assert deals.loc["A1", "close_date"] == pd.Timestamp("2017-01-09")
    us = tmp_path / "us"
    us.mkdir()
    (us / "opportunities.csv").write_text(
        "id,owner,company,stage,created,closed,amount\nB1,Bob,,Closed Won,8/17/2025 3:45 PM,9/01/2025,700\n"
    )
    (us / "map.toml").write_text(
        'name = "US"\n[files]\nsales_pipeline = "opportunities.csv"\n[columns.sales_pipeline]\n'
        '"id" = "opportunity_id"\n"owner" = "sales_agent"\n"company" = "account"\n"stage" = "deal_stage"\n'
        '"created" = "engage_date"\n"closed" = "close_date"\n"amount" = "amount"\n'
        '[stages]\n"Closed Won" = "Won"\n[options]\ndate_format = "%m/%d/%Y"\nwon_value_from_amount = true\n'
    )
    deal = read_crm(us, load_mapping(us / "map.toml")).deals.iloc[0]
    assert (deal["engage_date"], deal["close_date"]) == (
        pd.Timestamp("2025-08-17"),
        pd.Timestamp("2025-09-01"),
    )
    with pytest.raises(DataContractError, match="unparsable date '2017-13-45 10:00'"):
        (tmp_path / "sales_pipeline.csv").write_text(
            "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
            "A1,Ann,GTX Basic,,Engaging,2017-13-45 10:00,,\n"
        )
        read_crm(tmp_path)


def test_load_crm_without_as_of_equals_read_crm(valid_export, crm) -> None:
    loaded = load_crm(valid_export)
    pd.testing.assert_frame_equal(loaded.deals, crm.deals)
    assert loaded.as_of == crm.as_of


HEADER = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"


def test_blank_lines_do_not_shift_row_numbers(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(
        HEADER + "A1,Ann,GTX Basic,,Won,2017-01-02,2017-01-09,500\n\nA2,Ann,GTX Basic,,Won,2017-01-02,,500\n"
    )
    with pytest.raises(DataContractError, match=r"^sales_pipeline.csv, column 'close_date', row 4: missing"):
        read_crm(tmp_path)


def test_a_quoted_multi_line_cell_is_one_spreadsheet_row(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(
        HEADER + 'A1,Ann,GTX Basic,"Acme\nEurope",Won,2017-01-02,2017-01-09,500\n'
        "A2,Ann,GTX Basic,,Won,2017-01-02,2017-01-09,-1\n"
    )
    with pytest.raises(
        DataContractError, match=r"^sales_pipeline.csv, column 'close_value', row 3: negative"
    ):
        read_crm(tmp_path)


def test_a_blank_column_name_in_the_header_is_refused(tmp_path) -> None:
    (tmp_path / "sales_pipeline.csv").write_text(HEADER.replace(",account,", ",,"))
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path)
    assert str(caught.value) == "sales_pipeline.csv, row 1: header has a blank column name (column 4)"


def test_a_file_given_as_the_data_directory_is_named_as_such(tmp_path) -> None:
    (tmp_path / "export.csv").write_text(HEADER)
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path / "export.csv")
    assert str(caught.value) == f"{tmp_path / 'export.csv'}: is a file, not a data directory"
