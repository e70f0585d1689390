"""Column mappings: the shipped Salesforce mapping loads a Salesforce-style export to the same deals as its
MavenTech-schema twin; errors name the export's own file and column names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import ColumnMapping, load_crm, load_mapping, read_crm
from core.errors import DataContractError

SALESFORCE = Path(__file__).resolve().parents[3] / "dataset" / "mappings" / "salesforce-report.toml"

# (id, owner, product, account, salesforce stage, canonical stage, engage, close, amount)
DEALS = [
    ("S1", "Anna Snelling", "GTX Basic", "Acme", "Closed Won", "Won", "2017-01-02", "2017-02-01", "540"),
    ("S2", "Anna Snelling", "GTXPro", "Acme", "Closed Lost", "Lost", "2017-01-05", "2017-01-20", "4821"),
    ("S3", "Bob Ray", "MG Special", "", "Negotiation/Review", "Engaging", "2017-02-01", "2017-03-31", "60"),
    (
        "S4",
        "Bob Ray",
        "GTX Basic",
        "Betatech",
        "Qualification",
        "Engaging",
        "2017-02-10",
        "2017-04-15",
        "550",
    ),
    ("S5", "Cleo Vance", "GTX Pro", "Betatech", "Closed Won", "Won", "2017-01-10", "2017-03-01", "4,800.00"),
    ("S6", "Bob Ray", "GTX Basic", "", "Prospecting", "Prospecting", "", "2017-05-01", "550"),
]


def _us(date: str) -> str:
    """YYYY-MM-DD to the US MM/DD/YYYY a Salesforce report uses ('' stays '')."""
    return f"{date[5:7]}/{date[8:10]}/{date[:4]}" if date else ""


def _write(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    """A small CSV with quoted fields."""
    lines = [",".join(header)] + [",".join(f'"{v}"' for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> tuple[Path, Path]:
    """The same CRM as a Salesforce-style export and in the MavenTech schema."""
    salesforce = tmp_path_factory.mktemp("salesforce")
    maventech = tmp_path_factory.mktemp("maventech_twin")
    _write(
        salesforce / "opportunities.csv",
        [
            "Opportunity ID",
            "Opportunity Owner",
            "Product Name",
            "Account Name",
            "Stage",
            "Created Date",
            "Close Date",
            "Amount",
        ],
        [(i, o, p, a, sf, _us(e), _us(c), amt) for i, o, p, a, sf, _, e, c, amt in DEALS],
    )
    _write(
        maventech / "sales_pipeline.csv",
        [
            "opportunity_id",
            "sales_agent",
            "product",
            "account",
            "deal_stage",
            "engage_date",
            "close_date",
            "close_value",
            "amount",
        ],
        [
            (i, o, p, a, st, e, c if st in ("Won", "Lost") else "", amt if st == "Won" else "", amt)
            for i, o, p, a, _, st, e, c, amt in DEALS
        ],
    )
    _write(
        salesforce / "products.csv",
        ["Product Name", "Product Family", "List Price"],
        [("GTX Basic", "GTX", "550"), ("GTX Pro", "GTX", "4821"), ("MG Special", "MG", "55")],
    )
    _write(
        maventech / "products.csv",
        ["product", "series", "sales_price"],
        [("GTX Basic", "GTX", "550"), ("GTX Pro", "GTX", "4821"), ("MG Special", "MG", "55")],
    )
    _write(
        salesforce / "users.csv",
        ["Full Name", "Manager", "Region"],
        [("Anna Snelling", "Dustin Brinkmann", "Central"), ("Bob Ray", "Dustin Brinkmann", "Central")],
    )
    _write(
        maventech / "sales_teams.csv",
        ["sales_agent", "manager", "regional_office"],
        [("Anna Snelling", "Dustin Brinkmann", "Central"), ("Bob Ray", "Dustin Brinkmann", "Central")],
    )
    accounts = [
        ("Acme", "technology", "1996", "1100.04", "2822", "United States", ""),
        ("Betatech", "medical", "1986", "647.18", "1185", "Kenya", ""),
    ]
    _write(
        salesforce / "accounts.csv",
        [
            "Account Name",
            "Industry",
            "Year Started",
            "Annual Revenue",
            "Employees",
            "Billing Country",
            "Parent Account",
        ],
        accounts,
    )
    _write(
        maventech / "accounts.csv",
        ["account", "sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of"],
        accounts,
    )
    return salesforce, maventech


def test_shipped_salesforce_mapping_reads_as_declared() -> None:
    mapping = load_mapping(SALESFORCE)
    assert mapping.name == "Salesforce report"
    assert mapping.source_file("sales_pipeline.csv") == "opportunities.csv"
    assert mapping.source_file("sales_teams.csv") == "users.csv"
    assert mapping.columns["sales_pipeline"]["Opportunity Owner"] == "sales_agent"
    assert mapping.stages["Closed Won"] == "Won" and mapping.stages["Qualification"] == "Engaging"
    assert (mapping.date_format, mapping.blank_open_close_fields, mapping.won_value_from_amount) == (
        "%m/%d/%Y",
        True,
        True,
    )


def test_salesforce_export_loads_to_the_same_deals_as_its_maventech_twin(twins) -> None:
    salesforce_dir, maventech_dir = twins
    via_mapping = read_crm(salesforce_dir, load_mapping(SALESFORCE))
    direct = read_crm(maventech_dir)
    # the same deals; only the CRM's own stage names differ, kept beside the outcome state
    own = ["stage", "rep_close_date"]  # the CRM's own stage names and the reps' expected close dates
    pd.testing.assert_frame_equal(via_mapping.deals.drop(columns=own), direct.deals.drop(columns=own))
    assert via_mapping.deals["stage"].tolist() == [sf for _, _, _, _, sf, *_ in DEALS]
    expected_close = via_mapping.deals.set_index("opportunity_id")["rep_close_date"]
    assert expected_close["S3"] == pd.Timestamp("2017-03-31") and expected_close["S4"] == pd.Timestamp(
        "2017-04-15"
    )
    assert (
        expected_close.drop(["S3", "S4", "S6"]).isna().all()
    )  # closed deals: no claim, their close is a fact
    assert direct.deals["stage"].equals(direct.deals["deal_stage"])
    deals = via_mapping.deals.set_index("opportunity_id")
    assert deals.loc["S5", "close_value"] == 4800.0  # booked value taken from Amount
    assert pd.isna(deals.loc["S3", "close_date"])  # expected close date of an open deal dropped
    assert deals.loc["S3", "amount"] == 60.0 and deals.loc["S3", "deal_stage"] == "Engaging"
    assert deals.loc["S2", "product"] == "GTX Pro" and deals.loc["S4", "sector"] == "medical"
    assert via_mapping.as_of == direct.as_of == pd.Timestamp("2017-03-01")
    assert via_mapping.quality.n_open == direct.quality.n_open == 3


def test_salesforce_export_cuts_like_its_twin(twins) -> None:
    salesforce_dir, maventech_dir = twins
    via_mapping = load_crm(salesforce_dir, as_of="2017-01-25", mapping=load_mapping(SALESFORCE))
    direct = load_crm(maventech_dir, as_of="2017-01-25")
    own = ["stage", "rep_close_date"]
    pd.testing.assert_frame_equal(via_mapping.deals.drop(columns=own), direct.deals.drop(columns=own))
    assert via_mapping.deals["rep_close_date"].isna().all()  # today's claims postdate a past as-of date
    # closed after the cut: open then, in a stage the export does not say (no history yet)
    stages = via_mapping.deals.set_index("opportunity_id")["stage"]
    assert (stages["S1"], stages["S2"]) == ("", "Closed Lost")
    assert via_mapping.quality.pipeline_file == "opportunities.csv"
    assert {item.file for item in via_mapping.quality.items} == {"opportunities.csv"}
    assert via_mapping.quality.count("product_alias") == 1


def test_errors_name_the_exports_own_file_and_column(twins, tmp_path) -> None:
    salesforce_dir, _ = twins
    for path in salesforce_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    pipeline = tmp_path / "opportunities.csv"
    pipeline.write_text(pipeline.read_text().replace('"02/01/2017","540"', '"2017-02-01","540"'))
    with pytest.raises(DataContractError) as caught:
        read_crm(tmp_path, load_mapping(SALESFORCE))
    assert str(caught.value) == (
        "opportunities.csv, column 'Close Date', row 2: unparsable date '2017-02-01' (expected MM/DD/YYYY) "
        "(Opportunity ID S1)"
    )


def test_a_stage_the_mapping_does_not_list_is_kept_open_and_reported(twins, tmp_path) -> None:
    salesforce_dir, _ = twins
    for path in salesforce_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    pipeline = tmp_path / "opportunities.csv"
    pipeline.write_text(pipeline.read_text().replace("Qualification", "Discovery"))
    crm = read_crm(tmp_path, load_mapping(SALESFORCE))
    deal = crm.deals.set_index("opportunity_id").loc["S4"]
    assert (deal["stage"], deal["deal_stage"], deal["is_open"]) == ("Discovery", "Engaging", True)
    assert bool(deal["flag_unlisted_stage"]) and crm.deals["flag_unlisted_stage"].sum() == 1
    (item,) = [i for i in crm.quality.items if i.code == "unlisted_stage"]
    assert (item.count, item.examples, item.file) == (1, ("Discovery",), "opportunities.csv")
    pipeline.write_text(pipeline.read_text().replace("Opportunity Owner", "Owner Name"))
    with pytest.raises(
        DataContractError, match=r"^opportunities.csv, column 'Opportunity Owner': required column"
    ):
        read_crm(tmp_path, load_mapping(SALESFORCE))


def test_an_empty_mapping_is_the_maventech_schema(tmp_path, valid_export) -> None:
    (tmp_path / "plain.toml").write_text('name = "Plain"\n')
    mapping = load_mapping(tmp_path / "plain.toml")
    via_mapping, plain = read_crm(valid_export, mapping), read_crm(valid_export)
    pd.testing.assert_frame_equal(via_mapping.deals, plain.deals)
    assert via_mapping.data_hash != plain.data_hash  # same bytes read another way: another data version


def test_timestamps_count_as_their_calendar_day(tmp_path) -> None:
    (tmp_path / "stamped.toml").write_text('[options]\ndate_format = "%Y-%m-%d %H:%M"\n')
    (tmp_path / "sales_pipeline.csv").write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "T1,Ann,GTX Basic,,Won,2017-01-02 09:30,2017-01-09 17:45,500\n"
        "T2,Ann,GTX Basic,,Engaging,2017-01-09 16:00,,\n"
    )
    crm = load_crm(tmp_path, as_of="2017-01-09", mapping=load_mapping(tmp_path / "stamped.toml"))
    deals = crm.deals.set_index("opportunity_id")
    assert deals.loc["T1", "deal_stage"] == "Won" and deals.loc["T1", "close_date"] == pd.Timestamp(
        "2017-01-09"
    )
    assert deals.loc["T2", "age_days"] == 0.0 and deals.loc["T1", "engage_date"] == pd.Timestamp("2017-01-02")


DATA_EXPORT = SALESFORCE.with_name("salesforce-data-export.toml")


def test_forecast_category_renames_apply_to_the_pipeline_and_the_history_alike() -> None:
    mapping = ColumnMapping(forecast_categories={"BestCase": "Best Case", "Forecast": "Commit"})
    frame = pd.DataFrame({"forecast_category": ["BestCase", " Forecast", "Best Case", "Upside", ""]})
    for canonical in ("sales_pipeline.csv", "deal_history.csv"):
        renamed = mapping.apply(canonical, frame)["forecast_category"].tolist()
        assert renamed == ["Best Case", "Commit", "Best Case", "Upside", ""]  # others stay as they are
    assert mapping.apply("accounts.csv", frame).equals(frame)


def test_a_data_export_reads_history_api_values_as_the_opportunitys_labels(tmp_path) -> None:
    """OpportunityHistory holds ForecastCategory API values (BestCase, Forecast), Opportunity the labels."""
    _write(
        tmp_path / "Opportunity.csv",
        "Id,IsDeleted,OwnerId,AccountId,StageName,StageSortOrder,Amount,Probability,CloseDate,IsClosed,IsWon,"
        "ForecastCategory,ForecastCategoryName,CreatedDate".split(","),
        [
            ("F1", "0", "Ann", "Acme", "Angebot", "2", "900.00", "50", "2025-04-30", "0", "0", "BestCase",
             "Best Case", "2025-01-06 09:00:00"),
            ("F2", "0", "Bob", "Beta", "Verhandlung", "3", "500.00", "75", "2025-05-31", "0", "0", "Forecast",
             "Commit", "2025-01-10 10:00:00"),
        ],
    )  # fmt: skip
    _write(
        tmp_path / "OpportunityHistory.csv",
        "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate,Probability,ForecastCategory".split(","),
        [
            ("H1", "F1", "2025-01-06 09:00:00", "Qualifizierung", "800.00", "2025-03-31", "10", "Pipeline"),
            ("H2", "F1", "2025-02-01 11:00:00", "Angebot", "900.00", "2025-04-30", "50", "BestCase"),
            ("H3", "F2", "2025-01-10 10:00:00", "Qualifizierung", "500.00", "2025-05-31", "10", "Pipeline"),
            ("H4", "F2", "2025-02-15 15:00:00", "Verhandlung", "500.00", "2025-05-31", "75", "Forecast"),
        ],
    )
    crm = read_crm(tmp_path, load_mapping(DATA_EXPORT))
    assert crm.deals.set_index("opportunity_id")["forecast_category"].to_dict() == {
        "F1": "Best Case",
        "F2": "Commit",
    }
    assert crm.history["forecast_category"].tolist() == ["Pipeline", "Best Case", "Pipeline", "Commit"]
    then = load_crm(tmp_path, as_of="2025-02-10", mapping=load_mapping(DATA_EXPORT)).deals
    assert then.set_index("opportunity_id")[["stage", "forecast_category", "amount"]].values.tolist() == [
        ["Angebot", "Best Case", 900.0],
        ["Qualifizierung", "Pipeline", 500.0],
    ]


def test_forecast_category_renames_must_be_text(tmp_path) -> None:
    path = tmp_path / "renames.toml"
    path.write_text("[forecast_categories]\nBestCase = 3\n")
    with pytest.raises(
        DataContractError, match=r"^renames.toml: \[forecast_categories\] renames 'BestCase' to 3"
    ):
        load_mapping(path)
    path.write_text('forecast_categories = "BestCase"\n')
    with pytest.raises(
        DataContractError, match=r"forecast_categories must be a \[forecast_categories\] table"
    ):
        load_mapping(path)
    assert load_mapping(DATA_EXPORT).forecast_categories["BestCase"] == "Best Case"
