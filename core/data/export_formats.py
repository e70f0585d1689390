"""The same synthetic CRM as each shipped mapping's CRM exports it (``python -m models.generate --format``).

Pure: a :class:`SyntheticCRM` in, ``{file name: bytes}`` out. Each format is what a user of that CRM gets,
so that the shipped mapping in ``dataset/mappings/`` reads it unchanged:

* ``ours`` — our own schema, byte for byte what the generator always wrote;
* ``salesforce-report`` — an "Opportunities with Products" report saved as CSV (report labels, en_US dates
  and amounts, Salesforce's standard stage names, 15-character ids) plus the enrichment files
  ``salesforce-report.toml`` names (accounts.csv, products.csv, users.csv);
* ``salesforce-data-export`` — the Data Export service's files (Opportunity.csv with the standard fields in
  export order, User.csv, Account.csv, CurrencyType.csv, DatedConversionRate.csv): every value quoted,
  ISO-8859-1, 18-character ids, a German org's own stage names with their sort order, deals in USD, EUR
  and GBP, a few rows marked deleted, no products;
* ``hubspot`` — one deals export (``hubspot-crm-exports-all-deals-<export date>.csv``) with HubSpot's
  labels and stages: no products, no teams, no account attributes.

:func:`same_information` is the CRM in our own schema holding exactly what a format carries: its ids, its
names, the products, teams and account attributes it has a place for, the creation date of every deal (a
CRM always has one, our schema leaves it blank until a deal is engaged), the rep's claims (expected close
date, probability, forecast category), the won amount, and the record's last change. Loading a format
through its shipped mapping gives the same deals as loading that CRM in our schema; that is how the
mappings are tested end to end.

Ids: each CRM writes its own (Salesforce ``006...``, HubSpot a number), each a one-to-one function of ours,
and ``truth.csv`` is written with the format's ids, so it joins on the ``opportunity_id`` the loaded export
and the predictions carry.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.synthetic import SyntheticCRM

FORMATS: tuple[str, ...] = ("ours", "salesforce-report", "salesforce-data-export", "hubspot")
OUR_FILES = ("sales_pipeline.csv", "accounts.csv", "products.csv", "sales_teams.csv", "truth.csv")
CORPORATE_CURRENCY = "USD"
# units of each currency per one US dollar (Salesforce's ConversionRate); two decimals, so that a whole-dollar
# value converts to whole cents and back exactly
STANDING_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}
CURRENCY_SHARES = {"EUR": 0.12, "GBP": 0.08}  # of deals in the data export; the rest in USD
EARLY_DAYS = 30  # an engaged deal younger than this at the export is in the first stage after engagement
DELETED_EVERY = 100  # the data export holds one deleted deal per this many (at least three)
SALESFORCE_POD = "Hp0"  # the instance part of every Salesforce id we write
VP_OF_SALES = "Hélène Laurent"  # the managers' manager in the data export's User.csv
ACCENTED = {"a": "ä", "o": "ö", "u": "ü", "e": "é"}  # Latin-1 letters some names carry in the German org
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
STEPS = ("prospecting", "early", "late", "won", "lost")  # where a deal stands; each CRM names the steps


@dataclass(frozen=True)
class Stage:
    """One CRM stage: its name, the rep probability (percent) and forecast category it carries."""

    name: str
    probability: float
    forecast_category: str
    forecast_api: str = ""  # Salesforce's API value of the forecast category (ForecastCategory)


STAGES: dict[str, dict[str, Stage]] = {
    "salesforce-report": {
        "prospecting": Stage("Prospecting", 10, "Pipeline"),
        "early": Stage("Qualification", 20, "Pipeline"),
        "late": Stage("Negotiation/Review", 90, "Commit"),
        "won": Stage("Closed Won", 100, "Closed"),
        "lost": Stage("Closed Lost", 0, "Omitted"),
    },
    "salesforce-data-export": {
        "prospecting": Stage("Qualifizierung", 10, "Pipeline", "Pipeline"),
        "early": Stage("Angebot", 50, "Best Case", "BestCase"),
        "late": Stage("Verhandlung", 80, "Commit", "Forecast"),
        "won": Stage("Gewonnen", 100, "Closed", "Closed"),
        "lost": Stage("Verloren", 0, "Omitted", "Omitted"),
    },
    "hubspot": {
        "prospecting": Stage("Appointment Scheduled", 20, "Pipeline"),
        "early": Stage("Qualified To Buy", 40, "Pipeline"),
        "late": Stage("Decision Maker Bought-In", 80, "Best case"),
        "won": Stage("Closed Won", 100, "Closed won"),
        "lost": Stage("Closed Lost", 0, "Not forecasted"),
    },
}
# Salesforce's Data Export writes Opportunity.csv's standard fields in this order (salesforce.md); real orgs
# add custom fields (``__c``) after them
OPPORTUNITY_FIELDS = (
    "Id, IsDeleted, AccountId, IsPrivate, Name, Description, StageName, StageSortOrder, Amount, Probability, "
    "ExpectedRevenue, TotalOpportunityQuantity, CloseDate, Type, NextStep, LeadSource, IsClosed, IsWon, "
    "ForecastCategory, ForecastCategoryName, CurrencyIsoCode, CampaignId, HasOpportunityLineItem, "
    "Pricebook2Id, OwnerId, Territory2Id, IsExcludedFromTerritory2Filter, CreatedDate, CreatedById, "
    "LastModifiedDate, LastModifiedById, SystemModstamp, LastActivityDate, LastStageChangeDate, FiscalYear, "
    "FiscalQuarter, ContactId, PrimaryPartnerAccountId, SyncedQuoteId, ContractId, "
    "LastAmountChangedHistoryId, LastCloseDateChangedHistoryId"
).split(", ")


def render_export(crm: SyntheticCRM, fmt: str) -> dict[str, bytes]:
    """The files of ``crm`` as the CRM ``fmt`` exports them, plus truth.csv (with the format's ids)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    if fmt == "ours":
        return files_in_our_schema(crm)
    deals, same = _prepared(crm, fmt)
    render = {
        "salesforce-report": _salesforce_report,
        "salesforce-data-export": _salesforce_data_export,
        "hubspot": _hubspot,
    }[fmt]
    return {**render(deals, same), "truth.csv": _csv(same.truth)}


def same_information(crm: SyntheticCRM, fmt: str) -> SyntheticCRM:
    """``crm`` in our own schema holding exactly what the format ``fmt`` carries (see the module docstring):
    what its export, read through the shipped mapping, must load as."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    return crm if fmt == "ours" else _prepared(crm, fmt)[1]


def files_in_our_schema(crm: SyntheticCRM) -> dict[str, bytes]:
    """Our schema's files (UTF-8 CSV) of ``crm``; a frame without columns (a file it lacks) is left out."""
    frames = dict(
        zip(
            OUR_FILES,
            (crm.sales_pipeline, crm.accounts, crm.products, crm.sales_teams, crm.truth),
            strict=True,
        )
    )
    return {name: _csv(frame) for name, frame in frames.items() if len(frame.columns)}


def format_ids(ids: pd.Series, fmt: str) -> pd.Series:
    """The id the CRM ``fmt`` gives each of our opportunity ids (one to one): Salesforce's 15-character id in
    a report, its 18-character id in the data export, a number in HubSpot."""
    if fmt == "salesforce-report":
        return _salesforce_ids("006", "0" + ids)
    if fmt == "salesforce-data-export":
        return _salesforce_ids("006", "0" + ids, long=True)
    if fmt == "hubspot":
        return ids.map(lambda value: str(int(value, 36)))
    return ids


# --- the facts every format is rendered from --------------------------------------------------------------


def _prepared(crm: SyntheticCRM, fmt: str) -> tuple[pd.DataFrame, SyntheticCRM]:
    """(one row per deal with everything the format writes, the same CRM in our schema)."""
    deals = _deal_facts(crm, fmt)
    names = _local_names(crm) if fmt == "salesforce-data-export" else {}
    deals["sales_agent"] = deals["sales_agent"].replace(names)
    deals["account"] = deals["account"].replace(names)
    pipeline = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"],
            "sales_agent": deals["sales_agent"],
            "product": deals["product"],
            "account": deals["account"],
            # only the report's standard stages say which open deal is still prospecting; the other CRMs'
            # open stages all read as open (Engaging) through their mappings
            "deal_stage": deals["deal_stage"]
            if fmt == "salesforce-report"
            else deals["deal_stage"].replace({"Prospecting": "Engaging"}),
            "engage_date": _days(deals["created"]),
            "close_date": _days(deals["close_date"]),
            "close_value": deals["close_value"],
            "amount": deals["close_value"].where(deals["step"].eq("won"), ""),
            "rep_close_date": _days(deals["rep_close_date"]),
            "forecast_category": deals["forecast_category"],
            "rep_probability": deals["rep_probability"].map(lambda p: f"{p:g}"),
            "modified_at": _days(deals["modified"]),
        }
    )
    if fmt == "salesforce-report":  # a report has no last-modified column here
        pipeline = pipeline.drop(columns="modified_at")
    else:  # Salesforce and HubSpot opportunities have no single product
        pipeline = pipeline.drop(columns="product")
    truth = crm.truth.assign(opportunity_id=format_ids(crm.truth["opportunity_id"], fmt))
    same = SyntheticCRM(
        sales_pipeline=pipeline,
        accounts=_accounts(crm, fmt, names),
        products=crm.products.copy() if fmt == "salesforce-report" else pd.DataFrame(),
        sales_teams=_teams(crm, fmt, names),
        truth=truth,
        export_date=crm.export_date,
    )
    return deals, same


def _deal_facts(crm: SyntheticCRM, fmt: str) -> pd.DataFrame:
    """Per deal: the format's id, owner, account, product, our stage and the format's step, creation and
    last-change times, close date or the rep's expected one, won value (USD), the rep's claims, currency."""
    pipeline = crm.sales_pipeline
    ours = pipeline["opportunity_id"]
    export = pd.Timestamp(crm.export_date).normalize()
    created_day = pd.to_datetime(pipeline["engage_date"].replace("", None), format="%Y-%m-%d")
    truth_created = ours.map(crm.truth.set_index("opportunity_id")["created_date"])
    # every CRM records when a deal was created: a deal not engaged yet carries its creation date
    created_day = created_day.fillna(pd.to_datetime(truth_created, format="%Y-%m-%d"))
    created = created_day + pd.to_timedelta(_seconds_of_day(ours, "created"), unit="s")
    close_date = pd.to_datetime(pipeline["close_date"].replace("", None), format="%Y-%m-%d")
    age = (export - created_day).dt.days
    step = pipeline["deal_stage"].map({"Prospecting": "prospecting", "Won": "won", "Lost": "lost"})
    step = step.fillna(pd.Series(np.where(age < EARLY_DAYS, "early", "late"), index=pipeline.index))
    is_open = pipeline["deal_stage"].isin(["Prospecting", "Engaging"])
    stages = STAGES[fmt]
    return pd.DataFrame(
        {
            "opportunity_id": format_ids(ours, fmt),
            "our_id": ours,
            "sales_agent": pipeline["sales_agent"],
            "account": pipeline["account"],
            "product": pipeline["product"],
            "deal_stage": pipeline["deal_stage"],
            "step": step,
            "stage": step.map({key: stage.name for key, stage in stages.items()}),
            "created": created,
            "close_date": close_date,
            "rep_close_date": _expected_close(created_day, export).where(is_open),
            "close_value": pipeline["close_value"],
            "rep_probability": step.map({key: stage.probability for key, stage in stages.items()}),
            "forecast_category": step.map({key: stage.forecast_category for key, stage in stages.items()}),
            "modified": _last_modified(ours, created, close_date, export),
            "currency": _currencies(ours) if fmt == "salesforce-data-export" else CORPORATE_CURRENCY,
        }
    )


def _expected_close(created: pd.Series, export: pd.Timestamp) -> pd.Series:
    """The close date a rep expects: the end of the month two months after creation, or of the export's month
    once that has passed (reps push overdue deals to the current month's end)."""
    expected = created + pd.Timedelta(days=60) + pd.offsets.MonthEnd(0)
    return expected.where(expected >= export, export + pd.offsets.MonthEnd(0))


def _last_modified(
    ids: pd.Series, created: pd.Series, close_date: pd.Series, export: pd.Timestamp
) -> pd.Series:
    """When each record last changed: between its latest event (creation, close) and the export's day, most
    often soon after that event."""
    closed_at = close_date + pd.to_timedelta(_seconds_of_day(ids, "closed"), unit="s")
    latest = pd.concat([created, closed_at], axis=1).max(axis=1)
    end_of_export_day = export + pd.Timedelta(hours=20)
    spread = (end_of_export_day - latest).dt.total_seconds() * _unit(ids, "modified") ** 3
    return latest + pd.to_timedelta(np.floor(spread), unit="s")


def _currencies(ids: pd.Series) -> pd.Series:
    """The data export's currency of each deal: most in the corporate USD, some in EUR and GBP."""
    draw = _unit(ids, "currency")
    eur, gbp = CURRENCY_SHARES["EUR"], CURRENCY_SHARES["GBP"]
    codes = np.where(draw < eur, "EUR", np.where(draw < eur + gbp, "GBP", CORPORATE_CURRENCY))
    return pd.Series(codes, index=ids.index, dtype=object)


def _unit(ids: pd.Series, salt: str) -> np.ndarray:
    """A deterministic number in [0, 1) per id and purpose (a hash: independent of row order)."""
    hashed = pd.util.hash_pandas_object(ids.astype(str) + "|" + salt, index=False).to_numpy()
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)


def _seconds_of_day(ids: pd.Series, salt: str) -> np.ndarray:
    """A time of day between 07:00 and 19:00 (in seconds), per id: when a user touched the record."""
    return np.floor(7 * 3600 + 12 * 3600 * _unit(ids, salt))


def _local_names(crm: SyntheticCRM) -> dict[str, str]:
    """Some people's and accounts' names as the German org spells them (one Latin-1 letter in the last
    word: Snelling -> Snélling); one to one, so no two names meet."""
    people = set(crm.sales_teams["sales_agent"]) | set(crm.sales_teams["manager"])
    people |= set(crm.sales_pipeline["sales_agent"])
    spelled = {}
    for names in (sorted(people), sorted(crm.accounts["account"])):
        for position, name in enumerate(names):
            head, space, last = name.rpartition(" ")
            at = next((i for i, letter in enumerate(last) if letter in ACCENTED), -1)
            if position % 3 == 1 and at >= 0:
                spelled[name] = head + space + last[:at] + ACCENTED[last[at]] + last[at + 1 :]
    return spelled


def _accounts(crm: SyntheticCRM, fmt: str, names: dict[str, str]) -> pd.DataFrame:
    """The account attributes the format carries: all of ours in a report; Salesforce's Account fields in
    the data export (annual revenue in dollars, not millions; no founding year); none in HubSpot."""
    if fmt == "salesforce-report":
        return crm.accounts.copy()
    if fmt == "hubspot":
        return pd.DataFrame()
    accounts = crm.accounts.drop(columns="year_established")
    return accounts.assign(
        account=accounts["account"].replace(names),
        subsidiary_of=accounts["subsidiary_of"].replace(names),
        revenue=(accounts["revenue"] * 1_000_000).round().astype(np.int64),
    )


def _teams(crm: SyntheticCRM, fmt: str, names: dict[str, str]) -> pd.DataFrame:
    """The hierarchy the format carries: ours in a report; in the data export every user (reps, reps hired
    since the teams were set up with no manager or division yet, managers under a VP of sales); none in
    HubSpot."""
    if fmt == "salesforce-report":
        return crm.sales_teams.copy()
    if fmt == "hubspot":
        return pd.DataFrame()
    teams = crm.sales_teams
    hired = sorted(set(crm.sales_pipeline["sales_agent"]) - set(teams["sales_agent"]))
    managers = teams.drop_duplicates("manager")
    users = pd.concat(
        [
            teams,
            pd.DataFrame({"sales_agent": hired, "manager": "", "regional_office": ""}),
            pd.DataFrame(
                {
                    "sales_agent": managers["manager"],
                    "manager": VP_OF_SALES,
                    "regional_office": managers["regional_office"],
                }
            ),
            pd.DataFrame({"sales_agent": [VP_OF_SALES], "manager": [""], "regional_office": [""]}),
        ],
        ignore_index=True,
    )
    return users.assign(
        sales_agent=users["sales_agent"].replace(names), manager=users["manager"].replace(names)
    )


# --- the formats ------------------------------------------------------------------------------------------


def _salesforce_report(deals: pd.DataFrame, same: SyntheticCRM) -> dict[str, bytes]:
    """An opportunity report with products, as CSV from an en_US user: labels, M/D/YYYY dates, 1,234.00
    amounts, every value quoted; its enrichment files under the names the shipped mapping gives them."""
    won = deals["step"].eq("won")
    report = pd.DataFrame(
        {
            "Opportunity ID": deals["opportunity_id"],
            "Opportunity Name": (deals["account"].where(deals["account"].ne(""), "New Business"))
            + " "
            + deals["product"],
            "Account Name": deals["account"],
            "Opportunity Owner": deals["sales_agent"],
            "Product Name": deals["product"],
            "Stage": deals["stage"],
            "Fiscal Period": _fiscal_period(deals["close_date"].fillna(deals["rep_close_date"])),
            "Amount": deals["close_value"].where(won, "").map(lambda v: f"{float(v):,.2f}" if v else ""),
            "Probability (%)": deals["rep_probability"].map(lambda p: f"{p:g}"),
            "Close Date": _us_dates(deals["close_date"].fillna(deals["rep_close_date"])),
            "Created Date": _us_dates(deals["created"]),
            "Forecast Category": deals["forecast_category"],
        }
    )
    accounts = same.accounts.rename(
        columns={
            "account": "Account Name",
            "sector": "Industry",
            "year_established": "Year Started",
            "revenue": "Annual Revenue",
            "employees": "Employees",
            "office_location": "Billing Country",
            "subsidiary_of": "Parent Account",
        }
    )
    products = same.products.rename(
        columns={"product": "Product Name", "series": "Product Family", "sales_price": "List Price"}
    )
    users = same.sales_teams.rename(
        columns={"sales_agent": "Full Name", "manager": "Manager", "regional_office": "Region"}
    )
    return {
        "opportunities.csv": _csv(report, quote_all=True),
        "accounts.csv": _csv(accounts, quote_all=True),
        "products.csv": _csv(products, quote_all=True),
        "users.csv": _csv(users, quote_all=True),
    }


def _salesforce_data_export(deals: pd.DataFrame, same: SyntheticCRM) -> dict[str, bytes]:
    """The Data Export service's Opportunity, User, Account, CurrencyType and DatedConversionRate files."""
    users = _users(same.sales_teams)
    user_id = dict(zip(users["FirstName"] + " " + users["LastName"], users["Id"], strict=True))
    account = _account_records(same.accounts)
    account_id = dict(zip(account["Name"], account["Id"], strict=True))
    dated = _dated_rates(deals["created"].min(), same.export_date)
    opportunities = _opportunity_records(deals, user_id, account_id, dated)
    return {
        "Opportunity.csv": _csv(opportunities, quote_all=True, encoding="latin-1"),
        "User.csv": _csv(users, quote_all=True, encoding="latin-1"),
        "Account.csv": _csv(account, quote_all=True, encoding="latin-1"),
        "CurrencyType.csv": _csv(_currency_types(same.export_date), quote_all=True),
        "DatedConversionRate.csv": _csv(dated, quote_all=True),
    }


def _opportunity_records(
    deals: pd.DataFrame, user_id: dict[str, str], account_id: dict[str, str], dated: pd.DataFrame
) -> pd.DataFrame:
    """Opportunity.csv: the standard fields in export order (a custom field after them), booleans 0/1,
    amounts in each deal's own currency, a few deleted rows beside the deals they copy."""
    won, closed = deals["step"].eq("won"), deals["step"].isin(["won", "lost"])
    order = {name: str(position) for position, name in enumerate(STEPS, start=1)}
    owner = deals["sales_agent"].map(user_id)
    local = _local_amounts(deals, dated).where(won)
    close = deals["close_date"].fillna(deals["rep_close_date"])
    modified = _stamps(deals["modified"])
    stages = STAGES["salesforce-data-export"]
    fields = {name: "" for name in OPPORTUNITY_FIELDS}
    fields.update(
        Id=deals["opportunity_id"],
        IsDeleted="0",
        AccountId=deals["account"].map(account_id).fillna(""),
        IsPrivate="0",
        Name=deals["account"].where(deals["account"].ne(""), "Neukunde") + " Lizenzen",
        StageName=deals["stage"],
        StageSortOrder=deals["step"].map(order),
        Amount=local.map(lambda v: f"{v:.2f}", na_action="ignore").fillna(""),
        Probability=deals["rep_probability"].map(lambda p: f"{p:g}"),
        ExpectedRevenue=local.map(lambda v: f"{v:.2f}", na_action="ignore").fillna(""),
        CloseDate=_days(close),
        IsClosed=closed.map({True: "1", False: "0"}),
        IsWon=won.map({True: "1", False: "0"}),
        ForecastCategory=deals["step"].map({key: stage.forecast_api for key, stage in stages.items()}),
        ForecastCategoryName=deals["forecast_category"],
        CurrencyIsoCode=deals["currency"],
        HasOpportunityLineItem="0",
        OwnerId=owner,
        IsExcludedFromTerritory2Filter="0",
        CreatedDate=_stamps(deals["created"]),
        CreatedById=owner,
        LastModifiedDate=modified,
        LastModifiedById=owner,
        SystemModstamp=modified,
        FiscalYear=close.dt.year.astype(str),
        FiscalQuarter=close.dt.quarter.astype(str),
        Wettbewerber__c=np.where(_unit(deals["our_id"], "competitor") < 0.3, "Müller & Söhne", ""),
    )
    records = pd.DataFrame(fields, index=deals.index)
    return _with_deleted_rows(records, deals["our_id"])


def _with_deleted_rows(records: pd.DataFrame, ours: pd.Series) -> pd.DataFrame:
    """``records`` with deleted copies of every ``DELETED_EVERY``-th deal (at least three) right after it:
    deals a user deleted that the export still lists, with IsDeleted = 1 and their own ids."""
    count = min(len(records), max(3, len(records) // DELETED_EVERY))
    picks = np.linspace(0, len(records) - 1, count).round().astype(int)
    deleted = records.iloc[picks].assign(
        Id=_salesforce_ids("006", pd.Series([f"D{k:08d}" for k in range(count)]), long=True).to_numpy(),
        IsDeleted="1",
    )
    position = np.concatenate([np.arange(len(records)), picks + 0.5])
    combined = pd.concat([records, deleted], ignore_index=True)
    return combined.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)


def _local_amounts(deals: pd.DataFrame, dated: pd.DataFrame) -> pd.Series:
    """Each won value in the deal's own currency at the dated rate in force on its close date, to the cent,
    chosen so that converting back (as Salesforce and our loader do) gives the US dollar value exactly."""
    usd = pd.to_numeric(deals["close_value"].replace("", None), errors="coerce").astype(float)
    rate = pd.Series(1.0, index=deals.index)
    for code in set(deals["currency"]) - {CORPORATE_CURRENCY}:
        table = dated.loc[dated["IsoCode"].eq(code)]
        starts = pd.to_datetime(table["StartDate"], format="%Y-%m-%d").to_numpy()
        mine = deals["currency"].eq(code) & deals["close_date"].notna()
        at = np.searchsorted(starts, deals.loc[mine, "close_date"].to_numpy(), side="right") - 1
        rate[mine] = table["ConversionRate"].astype(float).to_numpy()[at]
    local = (usd * rate).round(2)
    back = (local / rate).round(2)
    if not np.allclose(back[usd.notna()], usd[usd.notna()], rtol=0, atol=1e-9):
        raise ValueError("a won value does not convert back to its US dollar value to the cent")
    return local


def _users(teams: pd.DataFrame) -> pd.DataFrame:
    """User.csv: one user per person of the hierarchy, ManagerId pointing at their manager's user."""
    first_last = teams["sales_agent"].str.split(" ", n=1)
    ids = _record_ids("005", len(teams))
    by_name = dict(zip(teams["sales_agent"], ids, strict=True))
    login = pd.Series([f"user{k}@revintel.example" for k in range(1, len(teams) + 1)])
    return pd.DataFrame(
        {
            "Id": ids,
            "Username": login,
            "FirstName": first_last.str[0].to_numpy(),
            "LastName": first_last.str[1].to_numpy(),
            "Division": teams["regional_office"].to_numpy(),
            "Department": "Vertrieb",
            "Title": np.where(
                teams["sales_agent"].isin(teams["manager"]).to_numpy(),
                "Vertriebsleitung",
                "Account Executive",
            ),
            "City": "",
            "State": "",
            "Country": "",
            "Email": login,
            "IsActive": "1",
            "UserRoleId": "",
            "ManagerId": teams["manager"].map(by_name).fillna("").to_numpy(),
            "CreatedDate": "2020-01-06 09:00:00",
        }
    )


def _account_records(accounts: pd.DataFrame) -> pd.DataFrame:
    """Account.csv: Salesforce's Account fields, ParentId pointing at the parent account's record."""
    ids = _record_ids("001", len(accounts))
    by_name = dict(zip(accounts["account"], ids, strict=True))
    return pd.DataFrame(
        {
            "Id": ids,
            "IsDeleted": "0",
            "MasterRecordId": "",
            "Name": accounts["account"].to_numpy(),
            "Type": "Customer",
            "ParentId": accounts["subsidiary_of"].map(by_name).fillna("").to_numpy(),
            "BillingCity": "",
            "BillingCountry": accounts["office_location"].to_numpy(),
            "Industry": accounts["sector"].to_numpy(),
            "AnnualRevenue": accounts["revenue"].astype(str).to_numpy(),
            "NumberOfEmployees": accounts["employees"].astype(str).to_numpy(),
            "CurrencyIsoCode": CORPORATE_CURRENCY,
            "CreatedDate": "2020-01-06 09:00:00",
        }
    )


def _currency_types(export_date: pd.Timestamp) -> pd.DataFrame:
    """CurrencyType.csv: the standing rates, USD corporate (ConversionRate = units per US dollar)."""
    codes = list(STANDING_RATES)
    stamp = f"{pd.Timestamp(export_date):%Y-%m-%d} 06:00:00"
    return pd.DataFrame(
        {
            "Id": _record_ids("02c", len(codes)),
            "IsoCode": codes,
            "ConversionRate": [f"{STANDING_RATES[c]:.6f}" for c in codes],
            "DecimalPlaces": "2",
            "IsActive": "1",
            "IsCorporate": ["1" if c == CORPORATE_CURRENCY else "0" for c in codes],
            "CreatedDate": "2020-01-06 09:00:00",
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
        }
    )


def _dated_rates(first: pd.Timestamp, export_date: pd.Timestamp) -> pd.DataFrame:
    """DatedConversionRate.csv: a rate per quarter for each other currency, the first from 0001-01-01 (as
    Salesforce starts them) and the last open-ended (9999-12-31)."""
    starts = pd.date_range(pd.Timestamp(first).to_period("Q").start_time, export_date, freq="QS")
    rows = []
    for code in (c for c in STANDING_RATES if c != CORPORATE_CURRENCY):
        for k, start in enumerate(starts):
            drift = ((k * (7 if code == "EUR" else 3)) % 5 - 2) / 100
            rows.append(
                {
                    "IsoCode": code,
                    "StartDate": "0001-01-01" if k == 0 else f"{start:%Y-%m-%d}",
                    "NextStartDate": f"{starts[k + 1]:%Y-%m-%d}" if k + 1 < len(starts) else "9999-12-31",
                    "ConversionRate": f"{round(STANDING_RATES[code] + drift, 2):.6f}",
                }
            )
    ids = _record_ids("04w", len(rows))
    return (
        pd.DataFrame(rows)
        .assign(CreatedDate="2020-01-06 09:00:00")
        .set_axis(ids, axis=0)
        .reset_index(names="Id")
    )


def _hubspot(deals: pd.DataFrame, same: SyntheticCRM) -> dict[str, bytes]:
    """HubSpot's all-deals export: its labels, date-times to the minute, true/false flags, the probability
    as a fraction, named after the export's date."""
    won, closed = deals["step"].eq("won"), deals["step"].isin(["won", "lost"])
    flag = {True: "true", False: "false"}
    export = pd.DataFrame(
        {
            "Record ID": deals["opportunity_id"],
            "Deal Name": deals["account"].where(deals["account"].ne(""), "New deal")
            + " - "
            + deals["opportunity_id"],
            "Deal Stage": deals["stage"],
            "Pipeline": "Sales Pipeline",
            "Amount": deals["close_value"].where(won, ""),
            "Close Date": _minutes(deals["close_date"].fillna(deals["rep_close_date"])),
            "Create Date": _minutes(deals["created"]),
            "Deal owner": deals["sales_agent"],
            "Associated Company": deals["account"],
            "Deal probability": (deals["rep_probability"] / 100).map(lambda p: f"{p:g}"),
            "Forecast category": deals["forecast_category"],
            "Is Closed Won": won.map(flag),
            "Is Deal Closed?": closed.map(flag),
            "Last Modified Date": _minutes(deals["modified"]),
        }
    )
    return {f"hubspot-crm-exports-all-deals-{pd.Timestamp(same.export_date):%Y-%m-%d}.csv": _csv(export)}


# --- small helpers ----------------------------------------------------------------------------------------


def _salesforce_ids(prefix: str, records: pd.Series, long: bool = False) -> pd.Series:
    """Salesforce ids: the object's 3-character key prefix, our instance part and a 9-character record
    number (15 characters), plus the case-checksum suffix for the 18-character form."""
    short = prefix + SALESFORCE_POD + records.astype(str)
    return short + short.map(_checksum) if long else short


def _record_ids(prefix: str, count: int) -> pd.Series:
    """18-character Salesforce ids of ``count`` records of one object, numbered from 1."""
    return _salesforce_ids(prefix, pd.Series([f"{k:09d}" for k in range(1, count + 1)]), long=True)


def _checksum(short: str) -> str:
    """Salesforce's 3-character suffix of a 15-character id: one letter per 5 characters, from which of them
    are upper-case letters."""
    return "".join(
        CHECKSUM_ALPHABET[
            sum(1 << bit for bit, ch in enumerate(short[start : start + 5]) if "A" <= ch <= "Z")
        ]
        for start in (0, 5, 10)
    )


def _csv(frame: pd.DataFrame, quote_all: bool = False, encoding: str = "utf-8") -> bytes:
    """A frame as CSV bytes, LF line ends (every value quoted when the CRM does so)."""
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    return frame.to_csv(index=False, lineterminator="\n", quoting=quoting).encode(encoding)


def _days(stamps: pd.Series) -> pd.Series:
    """Timestamps as YYYY-MM-DD (NaT blank)."""
    return stamps.dt.strftime("%Y-%m-%d").fillna("")


def _stamps(stamps: pd.Series) -> pd.Series:
    """Timestamps as Salesforce's Data Export writes date-times: YYYY-MM-DD HH:MM:SS."""
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")


def _minutes(stamps: pd.Series) -> pd.Series:
    """Timestamps as HubSpot exports date-times: YYYY-MM-DD HH:MM (a date alone at midnight)."""
    return stamps.dt.strftime("%Y-%m-%d %H:%M").fillna("")


def _us_dates(stamps: pd.Series) -> pd.Series:
    """Dates as an en_US Salesforce user exports them: M/D/YYYY, no leading zeros (8/17/2025)."""
    return stamps.map(lambda s: f"{s.month}/{s.day}/{s.year}", na_action="ignore").fillna("")


def _fiscal_period(dates: pd.Series) -> pd.Series:
    """A report's Fiscal Period of a close date: Q3-2026."""
    return dates.map(lambda s: f"Q{s.quarter}-{s.year}", na_action="ignore").fillna("")
