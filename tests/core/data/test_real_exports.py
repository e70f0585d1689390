"""Real CRM exports through the shipped mappings, on small hand-written files in each vendor's own shape:
a Salesforce Data Export (ids, flags, stage order, currencies, deleted rows, latin-1), a HubSpot deals
export, and deals entered in the CRM after they closed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import cut_at, load_mapping, read_crm
from core.data.asof import cycle_days
from core.errors import DataContractError
from core.features.deal_features import weekly_snapshots
from core.forecast.timing import CloseTimingModel

MAPPINGS = Path(__file__).resolve().parents[3] / "dataset" / "mappings"
DATA_EXPORT = load_mapping(MAPPINGS / "salesforce-data-export.toml")
HUBSPOT = load_mapping(MAPPINGS / "hubspot.toml")

OPPORTUNITY_HEADER = (
    "Id,IsDeleted,AccountId,Name,StageName,StageSortOrder,Amount,Probability,CloseDate,Type,LeadSource,"
    "IsClosed,IsWon,ForecastCategoryName,CurrencyIsoCode,OwnerId,CreatedDate,LastModifiedDate,Custom__c"
)
OPPORTUNITIES = [
    # id, deleted, account, stage, order, amount, prob, close, closed, won, category, currency, owner,
    # created, modified
    (
        "006A",
        "0",
        "001A",
        "Gewonnen",
        "5",
        "1000",
        "100",
        "2025-02-10",
        "1",
        "1",
        "Closed",
        "USD",
        "005A",
        "2025-01-02 09:00:00",
        "2025-02-10 10:00:00",
    ),
    (
        "006B",
        "0",
        "001B",
        "Verloren",
        "6",
        "2000",
        "0",
        "2025-03-01",
        "1",
        "0",
        "Omitted",
        "EUR",
        "005B",
        "2025-01-05 09:00:00",
        "2025-03-01 10:00:00",
    ),
    (
        "006C",
        "0",
        "001A",
        "Verhandlung",
        "3",
        "3000",
        "60",
        "2025-06-30",
        "0",
        "0",
        "Commit",
        "EUR",
        "005A",
        "2025-02-01 09:00:00",
        "2025-04-01 11:00:00",
    ),
    (
        "006D",
        "0",
        "001B",
        "Qualifizierung",
        "1",
        "500",
        "10",
        "2025-07-31",
        "0",
        "0",
        "Pipeline",
        "GBP",
        "005B",
        "2025-03-01 09:00:00",
        "2025-04-02 08:00:00",
    ),
    (
        "006E",
        "0",
        "001A",
        "Angebot",
        "2",
        "800",
        "30",
        "2025-06-15",
        "0",
        "0",
        "Best Case",
        "USD",
        "005A",
        "2025-03-15 09:00:00",
        "2025-04-03 12:00:00",
    ),
    (
        "006F",
        "1",
        "001A",
        "Angebot",
        "2",
        "900",
        "30",
        "2025-06-15",
        "0",
        "0",
        "Pipeline",
        "USD",
        "005A",
        "2025-03-16 09:00:00",
        "2025-03-20 12:00:00",
    ),
    # entered after it closed (back-filled): kept as closed, age unknown
    (
        "006G",
        "0",
        "001B",
        "Gewonnen",
        "5",
        "700",
        "100",
        "2025-01-20",
        "1",
        "1",
        "Closed",
        "USD",
        "005B",
        "2025-03-10 09:00:00",
        "2025-03-10 09:00:00",
    ),
]


def _quoted(rows: list[tuple[str, ...]] | list[list[str]]) -> str:
    return "".join(",".join(f'"{value}"' for value in row) + "\n" for row in rows)


def _opportunity_rows(rows=OPPORTUNITIES) -> list[list[str]]:
    out = []
    for (
        ident,
        deleted,
        account,
        stage,
        order,
        amount,
        prob,
        close,
        closed,
        won,
        category,
        currency,
        owner,
        created,
        modified,
    ) in rows:
        out.append(
            [
                ident,
                deleted,
                account,
                f"Deal {ident}",
                stage,
                order,
                amount,
                prob,
                close,
                "New Business",
                "Web",
                closed,
                won,
                category,
                currency,
                owner,
                created,
                modified,
                "x",
            ]
        )
    return out


def write_data_export(folder: Path, rows=OPPORTUNITIES, dated: bool = True) -> Path:
    """A small Data Export as it comes: quoted values, "0"/"1" flags, ids, latin-1 names, two currencies."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Opportunity.csv").write_bytes(
        (_quoted([OPPORTUNITY_HEADER.split(",")]) + _quoted(_opportunity_rows(rows))).encode("latin-1")
    )
    users = [
        ["Id", "FirstName", "LastName", "ManagerId", "Division", "IsActive"],
        ["005A", "Zoë", "Müller", "005M", "EMEA", "1"],
        ["005B", "Jean", "Dupont", "005M", "EMEA", "1"],
        ["005M", "Ana", "Lopez", "", "", "1"],
    ]
    (folder / "User.csv").write_bytes(_quoted(users).encode("latin-1"))
    accounts = [
        [
            "Id",
            "IsDeleted",
            "Name",
            "Industry",
            "AnnualRevenue",
            "NumberOfEmployees",
            "BillingCountry",
            "ParentId",
        ],
        ["001A", "0", "Société Générale", "Banking", "1000000", "500", "France", ""],
        ["001B", "0", "Acme", "Retail", "", "20", "Germany", "001A"],
    ]
    (folder / "Account.csv").write_bytes(_quoted(accounts).encode("latin-1"))
    currencies = [
        ["Id", "IsoCode", "ConversionRate", "DecimalPlaces", "IsActive", "IsCorporate"],
        ["01LA", "USD", "1", "2", "1", "1"],
        ["01LB", "EUR", "0.8", "2", "1", "0"],
        ["01LC", "GBP", "0.5", "2", "1", "0"],
    ]
    (folder / "CurrencyType.csv").write_text(_quoted(currencies))
    if dated:  # EUR is worth more from April on
        rates = [
            ["Id", "IsoCode", "StartDate", "NextStartDate", "ConversionRate"],
            ["04wA", "EUR", "2025-04-01", "", "0.5"],
        ]
        (folder / "DatedConversionRate.csv").write_text(_quoted(rates))
    return folder


@pytest.fixture(scope="module")
def data_export(tmp_path_factory: pytest.TempPathFactory):
    return read_crm(write_data_export(tmp_path_factory.mktemp("sfdc")), DATA_EXPORT)


def test_a_data_export_reads_outcomes_from_its_flags_and_keeps_its_own_stages(data_export) -> None:
    deals = data_export.deals.set_index("opportunity_id")
    assert "006F" not in deals.index  # IsDeleted = 1
    assert deals["deal_stage"].to_dict() == {
        "006A": "Won",
        "006B": "Lost",
        "006C": "Engaging",
        "006D": "Engaging",
        "006E": "Engaging",
        "006G": "Won",
    }
    assert deals.loc["006C", "stage"] == "Verhandlung" and not deals["flag_unlisted_stage"].any()
    assert data_export.stage_order == ("Qualifizierung", "Angebot", "Verhandlung")  # StageSortOrder
    assert deals.loc["006C", "forecast_category"] == "Commit" and deals.loc["006C", "rep_probability"] == 0.6
    assert deals.loc["006C", "rep_close_date"] == pd.Timestamp("2025-06-30")  # the rep's claim, not a close
    assert pd.isna(deals.loc["006C", "close_date"])
    counts = {item.code: item.count for item in data_export.quality.items}
    assert counts["deleted_record"] == 1


def test_owners_and_accounts_are_resolved_to_names(data_export) -> None:
    deals = data_export.deals.set_index("opportunity_id")
    assert (
        deals.loc["006A", "sales_agent"] == "Zoë Müller" and deals.loc["006B", "sales_agent"] == "Jean Dupont"
    )
    assert deals.loc["006A", "manager"] == "Ana Lopez" and deals.loc["006A", "regional_office"] == "EMEA"
    assert deals.loc["006A", "account"] == "Société Générale" and deals.loc["006B", "sector"] == "Retail"
    assert not deals["flag_unknown_agent"].any() and not deals["flag_unknown_account"].any()
    teams = data_export.sales_teams.set_index("sales_agent")
    assert teams.loc["Ana Lopez", ["manager", "regional_office"]].tolist() == ["Unknown", "Unknown"]


def test_amounts_are_converted_to_the_corporate_currency_at_the_close_date(data_export) -> None:
    deals = data_export.deals.set_index("opportunity_id")
    assert data_export.currency == "USD"
    assert deals.loc["006A", "close_value"] == 1000.0  # USD stays
    assert deals.loc["006B", "amount"] == 2500.0  # EUR closed in March: standing rate 0.8 per USD
    assert deals.loc["006C", "amount"] == 6000.0  # EUR expected in June: dated rate 0.5 from April
    assert deals.loc["006D", "amount"] == 1000.0  # GBP 0.5 per USD
    assert deals["flag_other_currency"].sum() == 3
    (item,) = [i for i in data_export.quality.items if i.code == "other_currency"]
    assert item.action == "amounts converted to USD" and set(item.examples) == {"EUR", "GBP"}


def test_the_export_is_dated_by_its_records_never_by_a_reps_close_date(data_export) -> None:
    assert data_export.export_end == pd.Timestamp("2025-04-03")  # LastModifiedDate, not June's CloseDate


def test_a_currency_without_a_rate_is_a_one_line_error_or_set_aside(tmp_path: Path) -> None:
    rows = [*OPPORTUNITIES]
    rows[3] = (*rows[3][:11], "CHF", *rows[3][12:])
    folder = write_data_export(tmp_path / "chf", rows)
    with pytest.raises(DataContractError) as caught:
        read_crm(folder, DATA_EXPORT)
    assert str(caught.value) == (
        "Opportunity.csv, column 'CurrencyIsoCode', row 5: currency 'CHF' has no exchange rate to USD "
        "(add it to the currencies file) (Id 006D)"
    )
    kept = read_crm(folder, DATA_EXPORT, drop_invalid=True)
    assert "006D" not in set(kept.deals["opportunity_id"])
    assert kept.rejected["problem"].tolist() == [
        "currency 'CHF' has no exchange rate to USD (add it to the currencies file)"
    ]


def test_a_deal_entered_after_it_closed_is_kept_closed_with_an_unknown_age(data_export) -> None:
    deals = data_export.deals.set_index("opportunity_id")
    assert deals.loc["006G", "deal_stage"] == "Won" and bool(deals.loc["006G", "flag_closed_before_created"])
    assert np.isnan(cycle_days(data_export.deals.set_index("opportunity_id")).loc["006G"])
    assert cycle_days(data_export.deals.set_index("opportunity_id")).loc["006A"] == 39
    (item,) = [i for i in data_export.quality.items if i.code == "closed_before_created"]
    assert item.count == 1 and item.examples == ("006G",)
    # it is absent before it was entered, and closed from then on
    assert "006G" not in set(cut_at(data_export, "2025-03-01").deals["opportunity_id"])
    timing = CloseTimingModel(segment="sales_agent").fit(data_export.deals, data_export.as_of)
    assert timing.max_won_age_ == 39  # the back-filled deal's negative "age" is not a duration


def test_a_back_filled_outcome_counts_in_track_records_only_once_entered(tmp_path: Path) -> None:
    """Jean's won deal closed on 2025-01-20 but was entered on 2025-03-10: a snapshot of his other deal on
    2025-02-05 must not count it (the CRM did not know it), one on 2025-03-12 must."""
    rows = [
        OPPORTUNITIES[6],
        (
            "006H",
            "0",
            "001B",
            "Verloren",
            "6",
            "100",
            "0",
            "2025-04-01",
            "1",
            "0",
            "Omitted",
            "USD",
            "005B",
            "2025-01-01 09:00:00",
            "2025-04-01 10:00:00",
        ),
        (
            "006I",
            "0",
            "001A",
            "Gewonnen",
            "5",
            "100",
            "100",
            "2025-01-10",
            "1",
            "1",
            "Closed",
            "USD",
            "005A",
            "2025-01-01 09:00:00",
            "2025-01-10 10:00:00",
        ),
    ]
    crm = read_crm(write_data_export(tmp_path / "late", rows, dated=False), DATA_EXPORT)
    features, snapshots = weekly_snapshots(crm, every_days=7, thin_after_days=1000)
    seen = features.assign(
        date=snapshots["snapshot_date"].to_numpy(), deal=snapshots["opportunity_id"].to_numpy()
    )
    jean = seen.loc[seen["deal"].eq("006H")].set_index("date")["rep_closed_deals"]
    assert jean.loc[pd.Timestamp("2025-02-05")] == 0 and jean.loc[pd.Timestamp("2025-03-12")] == 1


def test_a_hubspot_export_reads_as_it_comes(tmp_path: Path) -> None:
    header = [
        "Record ID",
        "Deal Name",
        "Deal Stage",
        "Close Date",
        "Deal owner",
        "Amount",
        "Amount in company currency",
        "Create Date",
        "Pipeline",
        "Deal probability",
        "Forecast category",
        "Is Closed Won",
        "Is Deal Closed?",
        "Associated Company",
        "Last Modified Date",
    ]
    rows = [
        [
            "101",
            "A",
            "Closed Won",
            "2025-02-01 10:00",
            "Kim Lee",
            "900",
            "1000",
            "2025-01-01 10:00",
            "Sales Pipeline",
            "1",
            "Closed won",
            "true",
            "true",
            "Acme",
            "2025-02-01 10:00",
        ],
        [
            "102",
            "B",
            "Renewal won",
            "2025-02-03 10:00",
            "Kim Lee",
            "",
            "500",
            "2025-01-02 10:00",
            "Renewals",
            "1",
            "Closed won",
            "true",
            "true",
            "Acme",
            "2025-02-03 10:00",
        ],
        [
            "103",
            "C",
            "Contract Sent",
            "2025-05-01 10:00",
            "Kim Lee",
            "",
            "700",
            "2025-01-03 10:00",
            "Sales Pipeline",
            "0.9",
            "Commit",
            "false",
            "false",
            "",
            "2025-03-01 10:00",
        ],
        [
            "104",
            "D",
            "Demo booked",
            "2025-05-01 10:00",
            "Kim Lee",
            "",
            "300",
            "2025-01-04 10:00",
            "Sales Pipeline",
            "0.2",
            "Pipeline",
            "false",
            "false",
            "",
            "2025-03-02 10:00",
        ],
    ]
    (tmp_path / "hubspot-crm-exports-all-deals-2025-03-02.csv").write_text(
        pd.DataFrame(rows, columns=header).to_csv(index=False)
    )
    crm = read_crm(tmp_path, HUBSPOT)
    deals = crm.deals.set_index("opportunity_id")
    assert deals["deal_stage"].to_dict() == {"101": "Won", "102": "Won", "103": "Engaging", "104": "Engaging"}
    assert deals["close_value"].tolist()[:2] == [1000.0, 500.0]  # the company-currency amount wins
    assert deals.loc["103", "rep_probability"] == 0.9 and deals.loc["104", "forecast_category"] == "Pipeline"
    assert deals.loc["104", "stage"] == "Demo booked" and bool(deals.loc["104", "flag_unlisted_stage"])
    assert crm.stage_order == ("Contract Sent", "Demo booked")  # listed first, then by probability
    assert crm.export_end == pd.Timestamp("2025-03-02") and crm.quality.pipeline_file.startswith(
        "hubspot-crm"
    )
    (tmp_path / "hubspot-crm-exports-all-deals-2025-03-09.csv").write_text("Record ID\n1\n")
    with pytest.raises(
        DataContractError, match=r"^hubspot-crm-exports-\*\.csv: 2 files match in .*; keep one$"
    ):
        read_crm(tmp_path, HUBSPOT)


def test_a_rep_without_a_manager_or_region_is_reported(tmp_path: Path) -> None:
    """A user the export lists without ManagerId or Division rolls up as Unknown, and the report says so
    (a rep missing from the user file altogether is the unknown_sales_agent finding)."""
    folder = write_data_export(tmp_path / "partial")
    users = (
        (folder / "User.csv")
        .read_bytes()
        .decode("latin-1")
        .replace('"005B","Jean","Dupont","005M","EMEA"', '"005B","Jean","Dupont","",""')
    )
    (folder / "User.csv").write_bytes(users.encode("latin-1"))
    crm = read_crm(folder, DATA_EXPORT)
    (item,) = [i for i in crm.quality.items if i.code == "rep_without_team"]
    assert item.count == 3 and item.examples == ("Jean Dupont",)
    deals = crm.deals.set_index("opportunity_id")
    assert deals.loc["006B", ["manager", "regional_office"]].tolist() == ["Unknown", "Unknown"]
