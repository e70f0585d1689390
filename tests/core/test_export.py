"""Spreadsheet-safe, deterministic CSV bytes."""

from __future__ import annotations

import pandas as pd

from core.export import csv_bytes, neutralise_cell, neutralise_text_columns


def test_formula_cells_are_neutralised() -> None:
    assert neutralise_cell('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    for risky in ("+A1", "-2+3", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise_cell(risky) == "'" + risky
    # a plain signed number is a number to a spreadsheet, never a formula: a feature value of -4 days read
    # "'-4.0" on the drill-down before
    for number in ("-4.0", "-2", "+1", "-0.13"):
        assert neutralise_cell(number) == number
    values = pd.DataFrame({"feature_value": ["-4.0", "=1+1", "Acme"]})
    assert neutralise_text_columns(values)["feature_value"].tolist() == ["-4.0", "'=1+1", "Acme"]
    assert neutralise_cell("Acme Corp") == "Acme Corp"
    assert neutralise_cell("") == ""


def test_only_text_columns_change() -> None:
    frame = pd.DataFrame({"account": ["=cmd|' /C calc'!A0", "Acme"], "delta": [-3.5, 2.0]})
    safe = neutralise_text_columns(frame)
    assert safe["account"].tolist() == ["'=cmd|' /C calc'!A0", "Acme"]
    assert safe["delta"].tolist() == [-3.5, 2.0]
    assert frame["account"].iloc[0].startswith("=")  # input untouched


def test_csv_bytes_are_rounded_and_dated() -> None:
    frame = pd.DataFrame(
        {
            "opportunity_id": ["A1", "@B2"],
            "p": [0.1234567891, 0.5],
            "money": [1234.5678, 0.0],
            "day": pd.to_datetime(["2024-01-02", "2024-02-03"]),
        }
    )
    text = csv_bytes(frame, decimals={"money": 2}).decode()
    assert text == "opportunity_id,p,money,day\nA1,0.123457,1234.57,2024-01-02\n'@B2,0.5,0.0,2024-02-03\n"
