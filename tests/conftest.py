"""Shared fixtures: the bundled demo data, the public MavenTech data (skipped when absent), a tiny valid
export and a corpus of broken exports, each with the one-line message it must produce."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from core.data import CRMData, cut_at, read_crm
from core.data.synthetic import SyntheticCRM, generate_crm
from core.model import WinProbabilityModel
from models.generate import write_crm

ROOT = Path(__file__).resolve().parent.parent
# The public MavenTech export: beside the repo by default, or wherever REVINTEL_MAVENTECH_DIR points.
MAVENTECH_DIR = Path(os.environ.get("REVINTEL_MAVENTECH_DIR", ROOT.parent / "shared" / "data" / "maventech"))
DEMO_DIR = ROOT / "dataset"

# A tiny valid export in the MavenTech schema. Spreadsheet rows: header = 1, D1 = 2, ..., D5 = 6.
VALID_PIPELINE = (
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
    "D1,Anna Snelling,GTX Basic,Acme,Won,2017-01-02,2017-02-01,540\n"
    "D2,Anna Snelling,GTXPro,Acme,Lost,2017-01-05,2017-01-20,0\n"
    "D3,Bob Ray,MG Special,,Engaging,2017-02-01,,\n"
    "D4,Bob Ray,GTX Basic,Betatech,Prospecting,,,\n"
    "D5,Cleo Vance,GTX Pro,Betatech,Won,2017-01-10,2017-03-01,4800\n"
)
VALID_PRODUCTS = "product,series,sales_price\nGTX Basic,GTX,550\nGTX Pro,GTX,4821\nMG Special,MG,55\n"
VALID_TEAMS = (
    "sales_agent,manager,regional_office\n"
    "Anna Snelling,Dustin Brinkmann,Central\nBob Ray,Dustin Brinkmann,Central\n"
)
VALID_ACCOUNTS = (
    "account,sector,year_established,revenue,employees,office_location,subsidiary_of\n"
    "Acme,technology,1996,1100.04,2822,United States,\n"
    "Betatech,medical,1986,647.18,1185,Kenya,\n"
)
VALID_FILES = {
    "sales_pipeline.csv": VALID_PIPELINE,
    "products.csv": VALID_PRODUCTS,
    "sales_teams.csv": VALID_TEAMS,
    "accounts.csv": VALID_ACCOUNTS,
}


class BrokenInput(NamedTuple):
    """One kind of broken export: its folder and a fragment (file, column, row, problem) of the message."""

    kind: str
    data_dir: Path
    expected: str


def write_export(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write CSV files (text as UTF-8, bytes verbatim) into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return folder


def _pipeline(old: str, new: str) -> dict[str, str | bytes]:
    """The valid export with one edit to sales_pipeline.csv (the edit must apply)."""
    assert old in VALID_PIPELINE, old
    return {**VALID_FILES, "sales_pipeline.csv": VALID_PIPELINE.replace(old, new, 1)}


# kind -> (files of the export, or None for "no folder at all", expected message fragment)
BROKEN_EXPORTS: dict[str, tuple[dict[str, str | bytes] | None, str]] = {
    "missing_dir": (None, "data directory not found"),
    "missing_pipeline_file": (
        {k: v for k, v in VALID_FILES.items() if k != "sales_pipeline.csv"},
        "sales_pipeline.csv: required file not found in",
    ),
    "empty_file": (
        {**VALID_FILES, "sales_pipeline.csv": ""},
        "sales_pipeline.csv: file is empty (no header, no rows)",
    ),
    "header_only": (
        {**VALID_FILES, "sales_pipeline.csv": VALID_PIPELINE.splitlines()[0] + "\n"},
        "sales_pipeline.csv: file has a header but no rows",
    ),
    "malformed_csv_extra_field": (
        _pipeline("D3,Bob Ray,MG Special,,", "D3,Bob Ray,MG Special,Acme, Inc,"),
        "sales_pipeline.csv, row 4: malformed CSV row: 9 fields where the header has 8",
    ),
    "malformed_csv_unclosed_quote": (
        _pipeline("D4,Bob Ray,GTX Basic,Betatech", 'D4,Bob Ray,GTX Basic,"Betatech'),
        "sales_pipeline.csv, row 5: malformed CSV: a quote opened here is never closed",
    ),
    "short_row": (
        _pipeline("D3,Bob Ray,MG Special,,Engaging,2017-02-01,,", "D3,Bob Ray"),
        "sales_pipeline.csv, column 'product', row 4: malformed CSV row: 2 fields where the header has 8",
    ),
    "duplicate_column": (
        _pipeline(",close_value\n", ",close_date\n"),
        "sales_pipeline.csv, column 'close_date', row 1: column name appears twice in the header",
    ),
    "missing_column": (
        {
            **VALID_FILES,
            "sales_pipeline.csv": "\n".join(line.rsplit(",", 1)[0] for line in VALID_PIPELINE.splitlines())
            + "\n",
        },
        "sales_pipeline.csv, column 'close_value': required column missing",
    ),
    "unparsable_date": (
        _pipeline("Lost,2017-01-05", "Lost,2017-02-30"),
        "sales_pipeline.csv, column 'engage_date', row 3: unparsable date '2017-02-30' (expected YYYY-MM-DD)",
    ),
    "unknown_stage": (
        _pipeline("Bob Ray,MG Special,,Engaging", "Bob Ray,MG Special,,Negotiation"),
        "sales_pipeline.csv, column 'deal_stage', row 4: unknown stage 'Negotiation'",
    ),
    "won_without_close_value": (
        _pipeline("2017-03-01,4800", "2017-03-01,"),
        "sales_pipeline.csv, column 'close_value', row 6: missing close_value on a Won deal "
        "(opportunity_id D5)",
    ),
    "won_without_close_date": (
        _pipeline("2017-01-02,2017-02-01,540", "2017-01-02,,540"),
        "sales_pipeline.csv, column 'close_date', row 2: missing close_date on a closed (Won/Lost) deal",
    ),
    "duplicate_id": (
        _pipeline("D5,", "D2,"),
        "sales_pipeline.csv, column 'opportunity_id', row 6: duplicate opportunity_id 'D2' "
        "(first seen at row 3)",
    ),
    "blank_id": (
        _pipeline("D3,", ","),
        "sales_pipeline.csv, column 'opportunity_id', row 4: blank opportunity_id",
    ),
    "negative_close_value": (
        _pipeline("2017-02-01,540", "2017-02-01,-540"),
        "sales_pipeline.csv, column 'close_value', row 2: negative value '-540' (opportunity_id D1)",
    ),
    "non_numeric_close_value": (
        _pipeline("2017-02-01,540", "2017-02-01,USD 540"),
        "sales_pipeline.csv, column 'close_value', row 2: not a number: 'USD 540' (opportunity_id D1)",
    ),
    "open_with_close_date": (
        _pipeline("Engaging,2017-02-01,,", "Engaging,2017-02-01,2017-02-15,"),
        "sales_pipeline.csv, column 'close_date', row 4: open deal has a close_date '2017-02-15'",
    ),
    "open_with_close_value": (
        _pipeline("Engaging,2017-02-01,,", "Engaging,2017-02-01,,55"),
        "sales_pipeline.csv, column 'close_value', row 4: open deal has a close_value '55'",
    ),
    "engaging_without_engage_date": (
        _pipeline("Engaging,2017-02-01,,", "Engaging,,,"),
        "sales_pipeline.csv, column 'engage_date', row 4: missing engage_date on a deal past Prospecting",
    ),
    "bad_products_price": (
        {**VALID_FILES, "products.csv": VALID_PRODUCTS.replace("GTX Pro,GTX,4821", "GTX Pro,GTX,n/a")},
        "products.csv, column 'sales_price', row 3: not a number: 'n/a'",
    ),
    "duplicate_account": (
        {**VALID_FILES, "accounts.csv": VALID_ACCOUNTS + "Acme,retail,2001,5,50,United States,\n"},
        "accounts.csv, column 'account', row 4: duplicate account 'Acme'",
    ),
    "bad_sales_teams_missing_column": (
        {**VALID_FILES, "sales_teams.csv": "agent,manager\nAnna Snelling,Dustin Brinkmann\n"},
        "sales_teams.csv, column 'sales_agent': required column missing",
    ),
    "quota_bad_date": (
        {
            **VALID_FILES,
            "quotas.csv": "period_start,owner,quota\n2017-01-01,Bob Ray,900\nQ2 2017,Bob Ray,900\n",
        },
        "quotas.csv, column 'period_start', row 3: unparsable date 'Q2 2017' (expected YYYY-MM-DD)",
    ),
    "quota_negative": (
        {**VALID_FILES, "quotas.csv": "period_start,owner,quota\n2017-01-01,Bob Ray,-900\n"},
        "quotas.csv, column 'quota', row 2: negative value '-900'",
    ),
    "quota_missing_amount_column": (
        {**VALID_FILES, "quotas.csv": "period_start,owner,target\n2017-01-01,Bob Ray,900\n"},
        "quotas.csv, column 'quota': required column missing",
    ),
}

# kind -> (mapping TOML text, or None for "no such file", expected message fragment)
BROKEN_MAPPINGS: dict[str, tuple[str | None, str]] = {
    "mapping_not_found": (None, "mapping.toml: mapping file not found at"),
    "mapping_invalid_toml": ('name = "x"\n[stages\n', "mapping.toml: not valid TOML"),
    "mapping_unknown_stage": (
        '[stages]\n"Closed Won" = "Victory"\n',
        "mapping.toml: [stages] maps 'Closed Won' to 'Victory'; use one of Prospecting, Engaging, Won, Lost",
    ),
    "mapping_unknown_column": (
        '[columns.sales_pipeline]\n"Amount" = "revenue"\n',
        "mapping.toml: [columns.sales_pipeline] maps 'Amount' to 'revenue', "
        "which is not a column of sales_pipeline.csv",
    ),
    "mapping_unknown_file": (
        '[columns.opportunities]\n"Amount" = "amount"\n',
        "mapping.toml: [columns.opportunities] is not one of",
    ),
}


@pytest.fixture(scope="session")
def maventech_dir() -> Path:
    """The public MavenTech CRM export beside the repo; skip when ../shared is not there."""
    if not (MAVENTECH_DIR / "sales_pipeline.csv").exists():
        pytest.skip(f"MavenTech data not found at {MAVENTECH_DIR} (set REVINTEL_MAVENTECH_DIR to its folder)")
    return MAVENTECH_DIR


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The bundled synthetic demo export (dataset/)."""
    return DEMO_DIR


@pytest.fixture(scope="session")
def valid_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A five-deal valid export (all four files) that loads cleanly; as-of 2017-03-01."""
    return write_export(tmp_path_factory.mktemp("valid_export"), VALID_FILES)


def _write_report_xlsx(
    path: Path,
    table: pd.DataFrame,
    *,
    dates: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
    date_format: str = "%m/%d/%Y",
    title: tuple[str, ...] = (),
    group_by: str | None = None,
    total_of: str | None = None,
    footer: tuple[str, ...] = (),
) -> list[int]:
    """Write an all-string report table (as its CSV holds it) into ``path`` as an Excel report; return the
    Excel row of each of the table's rows, in order.

    ``dates`` and ``numbers`` columns are written as Excel dates and numbers (the rest as text); ``title``
    lines go above the header, then a blank row; ``group_by`` adds a group header row before each run of equal
    values in that column and a Subtotal row of ``total_of`` after it; ``total_of`` adds a Grand Totals row;
    ``footer`` lines go after a blank row.
    """
    from datetime import datetime

    from openpyxl import Workbook

    header = list(table.columns)
    sheet_rows: list[list[object]] = [[line] for line in title] + ([[]] if title else [])
    sheet_rows.append(header)
    record_rows: list[int] = []

    def typed(column: str, value: str) -> object:
        if value == "":
            return None
        if column in dates:
            return datetime.strptime(value, date_format)  # noqa: DTZ007 (Excel dates have no time zone)
        if column in numbers:
            number = float(value.replace(",", ""))
            return int(number) if number.is_integer() else number
        return value

    def line(cells: dict[str, object]) -> list[object]:
        return [cells.get(column) for column in header]

    def total(rows: pd.DataFrame) -> float:
        return float(pd.to_numeric(rows[total_of].str.replace(",", "")).sum())

    runs = (
        [table]
        if group_by is None
        else [run for _, run in table.groupby(table[group_by].ne(table[group_by].shift()).cumsum())]
    )
    for run in runs:
        if group_by:
            sheet_rows.append(line({group_by: f"{run[group_by].iloc[0]} ({len(run)} records)"}))
        for values in run.itertuples(index=False):
            sheet_rows.append([typed(column, value) for column, value in zip(header, values, strict=True)])
            record_rows.append(len(sheet_rows))
        if group_by and total_of:
            sheet_rows.append(line({header[1]: "Subtotal", total_of: total(run)}))
    if total_of:
        sheet_rows.append(line({header[0]: f"Grand Totals ({len(table):,} records)", total_of: total(table)}))
    if footer:
        sheet_rows += [[]] + [[text] for text in footer]
    book = Workbook()
    sheet = book.active
    for cells in sheet_rows:
        sheet.append(cells)
    book.save(path)
    return record_rows


@pytest.fixture(scope="session")
def write_report_xlsx():
    """``write_report_xlsx(path, table, **layout)``: a report table written as an Excel export."""
    return _write_report_xlsx


@pytest.fixture(scope="session")
def broken_inputs(tmp_path_factory: pytest.TempPathFactory) -> list[BrokenInput]:
    """Every kind of broken export as (kind, data_dir, expected message fragment naming file, column, row).

    Loading ``data_dir`` must raise a RevIntelError whose one-line message contains ``expected``; a CLI given
    ``--data-dir data_dir`` must print ``error: <message>`` as its only stderr line and exit 2.
    """
    root = tmp_path_factory.mktemp("broken_inputs")
    corpus = []
    for kind, (files, expected) in BROKEN_EXPORTS.items():
        folder = root / kind
        if files is not None:
            write_export(folder, files)
        corpus.append(BrokenInput(kind, folder, expected))
    return corpus


@pytest.fixture(scope="session")
def broken_mappings(tmp_path_factory: pytest.TempPathFactory) -> list[BrokenInput]:
    """Broken column-mapping files as (kind, mapping_path, expected message fragment), for valid_export."""
    root = tmp_path_factory.mktemp("broken_mappings")
    corpus = []
    for kind, (text, expected) in BROKEN_MAPPINGS.items():
        path = root / kind / "mapping.toml"
        path.parent.mkdir()
        if text is not None:
            path.write_text(text, encoding="utf-8")
        corpus.append(BrokenInput(kind, path, expected))
    return corpus


@pytest.fixture(autouse=True, scope="session")
def _mlflow_in_tmp(tmp_path_factory: pytest.TempPathFactory):
    """Every MLflow run the tests make (subprocesses too) goes to a throwaway store, never experiments/."""
    store = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
        yield


# One small synthetic export and one model fitted on it, per session (model and model-file tests).
MODEL_AS_OF = "2026-03-01"  # the model fixtures' cut: five months before the export ends


@pytest.fixture(scope="session")
def synthetic() -> SyntheticCRM:
    """A 3,000-deal synthetic CRM with its truth."""
    return generate_crm(n_deals=3000, seed=11)


@pytest.fixture(scope="session")
def synthetic_dir(synthetic: SyntheticCRM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic CRM written as an export folder."""
    folder = tmp_path_factory.mktemp("model_export")
    write_crm(synthetic, folder)
    return folder


@pytest.fixture(scope="session")
def full_export(synthetic_dir: Path) -> CRMData:
    """The whole export (as of its last day)."""
    return read_crm(synthetic_dir)


@pytest.fixture(scope="session")
def crm_at(full_export: CRMData) -> CRMData:
    """The export cut at MODEL_AS_OF (five months before its end, so outcomes are mostly known)."""
    return cut_at(full_export, MODEL_AS_OF)


@pytest.fixture(scope="session")
def fitted(crm_at: CRMData) -> WinProbabilityModel:
    """A model fitted at MODEL_AS_OF with the default parameters."""
    return WinProbabilityModel(seed=5).fit(crm_at)


@pytest.fixture(scope="session")
def truth_typed(synthetic: SyntheticCRM) -> pd.DataFrame:
    """The truth frame as the oracle wants it (numbers as floats, dates as strings)."""
    return synthetic.truth
