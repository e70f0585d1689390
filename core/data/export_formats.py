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

With a field history (``SyntheticCRM.history``, ``python -m models.generate --history``) each format carries
what its CRM keeps of it: ``ours`` writes ``deal_history.csv``; the data export writes
``OpportunityHistory.csv`` (one row per change holding the whole state from its ``CreatedDate`` on, forecast
categories as API values, amounts in the deal's currency); HubSpot writes one
``Date entered "<stage> (Sales Pipeline)"`` column per stage (when the deal last entered it: stage history
only); a report carries none. Every format's current stage, amount and rep claims are the history's last
values, and in the Salesforce formats a small share of closed deals are back-filled: created after they
closed (with the same creation dates in :func:`same_information`, which holds the history as the format
carries it).

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
from core.data.synthetic_history import CATEGORIES, HISTORY_STAGES, STAGE_PROBABILITY
from core.data.synthetic_quotas import QUOTA_STEP, synthetic_quotas

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
SALESFORCE_FORMATS = ("salesforce-report", "salesforce-data-export")
BACKFILLED_SHARE = 0.02  # of closed deals in a Salesforce format with history: entered after they closed
BACKFILL_DAYS = 30  # a back-filled deal is created up to this many days after its close


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
# With a history: each CRM's own names of the history's open stages (``HISTORY_STAGES``), in their order; the
# first is the stage every new deal starts in (the ``prospecting`` step's)
HISTORY_STAGE_NAMES: dict[str, tuple[str, ...]] = {
    "salesforce-report": ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review"),
    "salesforce-data-export": ("Qualifizierung", "Bedarfsanalyse", "Angebot", "Verhandlung"),
    "hubspot": (
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
    ),
}
# HubSpot's default sales pipeline: every stage has its "Date entered" column, entered or not
HUBSPOT_PIPELINE = "Sales Pipeline"
HUBSPOT_STAGES = (
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
    "Closed Won",
    "Closed Lost",
)
# the history's forecast categories (Salesforce's labels) as other CRMs label them
FORECAST_LABELS: dict[str, dict[str, str]] = {
    "hubspot": {"Best Case": "Best case", "Closed": "Closed won", "Omitted": "Not forecasted"}
}
# Salesforce's API value (ForecastCategory, OpportunityHistory) of each forecast category label
FORECAST_API = {
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
    "Omitted": "Omitted",
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
# ... and OpportunityHistory.csv's (salesforce.md)
OPPORTUNITY_HISTORY_FIELDS = (
    "Id, OpportunityId, CreatedById, CreatedDate, CreatedDateForInsert, StageName, Amount, ExpectedRevenue, "
    "CloseDate, Probability, FromForecastCategory, ForecastCategory, PrevForecastUpdate, "
    "FromOpportunityStageName, PrevOpportunityStageUpdate, CurrencyIsoCode, ValidThroughDate, "
    "SystemModstamp, IsDeleted, PrevAmount, PrevCloseDate"
).split(", ")


def render_export(crm: SyntheticCRM, fmt: str) -> dict[str, bytes]:
    """The files of ``crm`` as the CRM ``fmt`` exports them, plus truth.csv (with the format's ids)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    if fmt == "ours":
        return files_in_our_schema(crm)
    deals, same, events = _prepared(crm, fmt)
    render = {
        "salesforce-report": _salesforce_report,
        "salesforce-data-export": _salesforce_data_export,
        "hubspot": _hubspot,
    }[fmt]
    return {**render(deals, same, events), "truth.csv": _csv(same.truth)}


def same_information(crm: SyntheticCRM, fmt: str) -> SyntheticCRM:
    """``crm`` in our own schema holding exactly what the format ``fmt`` carries (see the module docstring):
    what its export, read through the shipped mapping, must load as."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    return crm if fmt == "ours" else _prepared(crm, fmt)[1]


def files_in_our_schema(crm: SyntheticCRM) -> dict[str, bytes]:
    """Our schema's files (UTF-8 CSV) of ``crm``, with ``deal_history.csv`` when it has a history; a frame
    without columns (a file it lacks) is left out."""
    frames = dict(
        zip(
            OUR_FILES,
            (crm.sales_pipeline, crm.accounts, crm.products, crm.sales_teams, crm.truth),
            strict=True,
        )
    )
    if crm.history is not None:
        frames["deal_history.csv"] = crm.history
    if len(crm.sales_teams):
        frames["quotas.csv"] = synthetic_quotas(crm)
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


def _prepared(crm: SyntheticCRM, fmt: str) -> tuple[pd.DataFrame, SyntheticCRM, pd.DataFrame | None]:
    """(one row per deal with everything the format writes, the same CRM in our schema, every change to a
    deal as the format's CRM records it: None without a history)."""
    deals = _deal_facts(crm, fmt)
    events = None
    if crm.history is not None:
        events = _events(crm.history, deals, fmt)
        deals = _current_state(deals, events, crm.export_date)
        dated = _dated_rates(deals["created"].min(), crm.export_date)
        events, deals = _in_deal_currency(events, deals, dated, fmt)
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
            "amount": deals["close_value"].where(deals["step"].eq("won"), "")
            if events is None
            else _plain(deals["amount_as_read"]),
            "rep_close_date": _days(deals["rep_close_date"]),
            "forecast_category": deals["forecast_category"],
            "rep_probability": deals["rep_probability"].map(lambda p: f"{p:g}"),
            "modified_at": _days(deals["modified"]),
        }
    )
    if events is not None:  # the CRM's own stage names, as its history holds them
        pipeline["stage"] = deals["stage"]
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
        history=None if events is None else _history_as_carried(events, fmt),
    )
    return deals, same, events


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
    close_date = pd.to_datetime(pipeline["close_date"].replace("", None), format="%Y-%m-%d")
    if crm.history is not None and fmt in SALESFORCE_FORMATS:
        created_day = _backfilled(ours, created_day, close_date, export)
    created = created_day + pd.to_timedelta(_seconds_of_day(ours, "created"), unit="s")
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


def _backfilled(
    ids: pd.Series, created_day: pd.Series, close_date: pd.Series, export: pd.Timestamp
) -> pd.Series:
    """Creation days with ``BACKFILLED_SHARE`` of the closed deals entered in the CRM after they closed (as
    Salesforce users back-fill deals), one to ``BACKFILL_DAYS`` days later, never after the export."""
    delay = pd.to_timedelta(1 + np.floor(BACKFILL_DAYS * _unit(ids, "backfill-delay")), unit="D")
    entered = close_date + delay.to_numpy()
    chosen = close_date.notna() & (_unit(ids, "backfilled") < BACKFILLED_SHARE) & (entered <= export)
    return created_day.where(~chosen, entered)


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


def _events(history: pd.DataFrame, deals: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """Every change to each deal as the CRM ``fmt`` records it, in time order: one row per change holding
    the deal's whole state from ``changed`` on (stage in the CRM's names, ``amount`` in US dollars, rep close
    date, forecast category in the CRM's labels, probability in percent). The history's rows; a closed
    deal's last row with its won value and a probability of 100 or 0; for a deal created but never engaged,
    one row at its creation (the CRM records every new deal); for a back-filled deal, one row at its late
    creation holding its final state (the CRM never saw it open)."""
    stages = STAGES[fmt]
    won, lost = stages["won"].name, stages["lost"].name
    names = {**dict(zip(HISTORY_STAGES, HISTORY_STAGE_NAMES[fmt], strict=True)), "Won": won, "Lost": lost}
    fields = ["stage", "amount", "rep_close_date", "forecast_category", "rep_probability"]
    blank = history.replace("", None)
    rows = pd.DataFrame(
        {
            "our_id": history["opportunity_id"],
            "day": pd.to_datetime(history["changed_at"], format="%Y-%m-%d"),
            "stage": blank["stage"].map(names),
            "amount": pd.to_numeric(blank["amount"]).astype(float),
            "rep_close_date": pd.to_datetime(blank["rep_close_date"], format="%Y-%m-%d"),
            "forecast_category": blank["forecast_category"],
            "rep_probability": pd.to_numeric(blank["rep_probability"]).astype(float),
        }
    )
    rows[fields] = rows.groupby("our_id", sort=False)[fields].ffill()
    by_id = deals.set_index("our_id")
    won_value = pd.to_numeric(by_id["close_value"].replace("", None)).astype(float)
    is_won = rows["stage"].eq(won)
    rows.loc[is_won, "amount"] = rows.loc[is_won, "our_id"].map(won_value)
    rows.loc[is_won, "rep_probability"] = stages["won"].probability
    rows.loc[rows["stage"].eq(lost), "rep_probability"] = stages["lost"].probability
    created = by_id["created"]
    late = by_id.index[by_id["close_date"].notna() & (created.dt.normalize() > by_id["close_date"])]
    final = rows.loc[rows["our_id"].isin(late)].groupby("our_id", sort=False).tail(1)
    final = final.assign(day=final["our_id"].map(created.dt.normalize()))
    unseen = deals.loc[~deals["our_id"].isin(rows["our_id"])]
    first = pd.DataFrame(
        {
            "our_id": unseen["our_id"],
            "day": unseen["created"].dt.normalize(),
            "stage": stages["prospecting"].name,
            "amount": np.nan,
            "rep_close_date": unseen["rep_close_date"],
            "forecast_category": CATEGORIES[0],
            "rep_probability": STAGE_PROBABILITY[0],
        }
    )
    rows = pd.concat([rows.loc[~rows["our_id"].isin(late)], final, first], ignore_index=True)
    rows = rows.sort_values(["our_id", "day"], kind="stable", ignore_index=True)  # same-day rows keep order
    return _timed(rows, created).assign(
        opportunity_id=lambda frame: frame["our_id"].map(by_id["opportunity_id"]),
        forecast_category=lambda frame: frame["forecast_category"].replace(FORECAST_LABELS.get(fmt, {})),
    )


def _timed(rows: pd.DataFrame, created: pd.Series) -> pd.DataFrame:
    """``rows`` (sorted by deal and day) with the moment each change was made, in time order: a deal's first
    row at its creation, the others in working hours, a minute apart when one deal changes more than once on
    one day (in the rows' order)."""
    opened = rows["our_id"].map(created)
    keys = rows["our_id"] + "|" + rows["day"].dt.strftime("%Y-%m-%d")
    start = np.where(
        rows["day"].eq(opened.dt.normalize()),
        (opened - rows["day"]).dt.total_seconds(),
        _seconds_of_day(keys, "changed"),
    )
    later = 60 * rows.groupby(["our_id", "day"], sort=False).cumcount().to_numpy()
    changed = rows["day"] + pd.to_timedelta(start + later, unit="s")
    return rows.assign(changed=changed).sort_values("changed", kind="stable", ignore_index=True)


def _current_state(deals: pd.DataFrame, events: pd.DataFrame, export_date: pd.Timestamp) -> pd.DataFrame:
    """``deals`` with the stage, amount (US dollars) and rep claims of each deal's last change, and a last
    modification at or after it."""
    last = events.groupby("our_id", sort=False).tail(1).set_index("our_id")

    def current(column: str) -> pd.Series:
        return deals["our_id"].map(last[column])

    is_open = ~deals["step"].isin(["won", "lost"])
    latest = pd.concat([deals["created"], current("changed")], axis=1).max(axis=1)
    export = pd.Timestamp(export_date).normalize()
    return deals.assign(
        stage=current("stage"),
        amount=current("amount"),
        rep_close_date=current("rep_close_date").where(is_open),
        forecast_category=current("forecast_category"),
        rep_probability=current("rep_probability"),
        modified=_last_modified(deals["our_id"], latest, deals["close_date"], export),
    )


def _in_deal_currency(
    events: pd.DataFrame, deals: pd.DataFrame, dated: pd.DataFrame, fmt: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and deals with ``local_amount`` (what the CRM writes: in the data export each deal's own
    currency, the won value as booked, any other amount at the currency's standing rate so that it stays put
    while rates move) and ``amount_as_read`` (the US dollars the loader reads back: a history row at the
    dated rate of its day, an opportunity at that of its close or expected close date)."""
    if fmt != "salesforce-data-export":
        return (
            events.assign(local_amount=events["amount"], amount_as_read=events["amount"]),
            deals.assign(local_amount=deals["amount"], amount_as_read=deals["amount"]),
        )
    currency = deals.set_index("our_id")["currency"]
    booked = pd.Series(_local_amounts(deals, dated).to_numpy(), index=deals["our_id"])
    local = (events["amount"] * events["our_id"].map(currency).map(STANDING_RATES)).round(2)
    is_won = events["stage"].eq(STAGES[fmt]["won"].name)
    local = local.where(~is_won, events["our_id"].map(booked))
    day = events["changed"].dt.normalize()
    events = events.assign(
        local_amount=local, amount_as_read=_read_back(local, events["our_id"].map(currency), day, dated)
    )
    last_rows = events.groupby("our_id", sort=False).tail(1).set_index("our_id")
    last = deals["our_id"].map(last_rows["local_amount"])
    on = deals["close_date"].fillna(deals["rep_close_date"]).fillna(deals["created"].dt.normalize())
    deals = deals.assign(local_amount=last, amount_as_read=_read_back(last, deals["currency"], on, dated))
    return events, deals


def _read_back(local: pd.Series, codes: pd.Series, on: pd.Series, dated: pd.DataFrame) -> pd.Series:
    """Amounts in their own currency in US dollars at the dated rate in force ``on`` each date, to the cent,
    as Salesforce's advanced currency management (and our loader) converts them."""
    return (local * (1.0 / _dated_rate(codes, on, dated))).round(2)


def _stage_entries(events: pd.DataFrame) -> pd.DataFrame:
    """The rows at which a deal entered a stage, only its last entry into each (what HubSpot's "Date entered"
    properties keep), in time order."""
    entered = events["stage"].ne(events.groupby("our_id", sort=False)["stage"].shift())
    return events.loc[entered].drop_duplicates(["our_id", "stage"], keep="last")


def _history_as_carried(events: pd.DataFrame, fmt: str) -> pd.DataFrame | None:
    """The history in our ``deal_history.csv`` schema holding what the format carries of it: every field of
    every change in the data export; the stages entered and when in HubSpot; nothing in a report."""
    if fmt == "salesforce-report":
        return None
    if fmt == "hubspot":
        entries = _stage_entries(events)
        return pd.DataFrame(
            {
                "opportunity_id": entries["opportunity_id"],
                "changed_at": _days(entries["changed"]),
                "stage": entries["stage"],
            }
        )
    return pd.DataFrame(
        {
            "opportunity_id": events["opportunity_id"],
            "changed_at": _days(events["changed"]),
            "stage": events["stage"],
            "amount": _plain(events["amount_as_read"]),
            "rep_close_date": _days(events["rep_close_date"]),
            "forecast_category": events["forecast_category"],
            "rep_probability": events["rep_probability"].map(lambda p: f"{p:g}"),
        }
    )


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


def _salesforce_report(
    deals: pd.DataFrame, same: SyntheticCRM, events: pd.DataFrame | None
) -> dict[str, bytes]:
    """An opportunity report with products, as CSV from an en_US user: labels, M/D/YYYY dates, 1,234.00
    amounts, every value quoted; its enrichment files under the names the shipped mapping gives them. A
    report holds no history: with one, the deals' current amounts, stages and claims."""
    won = deals["step"].eq("won")
    amount = (
        deals["close_value"].where(won, "").map(lambda v: f"{float(v):,.2f}" if v else "")
        if events is None
        else deals["amount"].map(lambda v: f"{v:,.2f}", na_action="ignore").fillna("")
    )
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
            "Amount": amount,
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


def _salesforce_data_export(
    deals: pd.DataFrame, same: SyntheticCRM, events: pd.DataFrame | None
) -> dict[str, bytes]:
    """The Data Export service's Opportunity, User, Account, CurrencyType and DatedConversionRate files, and
    OpportunityHistory with a history."""
    users = _users(same.sales_teams)
    user_id = dict(zip(users["FirstName"] + " " + users["LastName"], users["Id"], strict=True))
    account = _account_records(same.accounts)
    account_id = dict(zip(account["Name"], account["Id"], strict=True))
    dated = _dated_rates(deals["created"].min(), same.export_date)
    opportunities = _opportunity_records(deals, user_id, account_id, dated, events is not None)
    history = {}
    if events is not None:
        owner = events["our_id"].map(deals.set_index("our_id")["sales_agent"].map(user_id))
        history["OpportunityHistory.csv"] = _csv(
            _opportunity_history(events, owner, deals.set_index("our_id")["currency"]),
            quote_all=True,
            encoding="latin-1",
        )
    return {
        "Opportunity.csv": _csv(opportunities, quote_all=True, encoding="latin-1"),
        **history,
        "User.csv": _csv(users, quote_all=True, encoding="latin-1"),
        "ForecastingQuota.csv": _csv(_forecasting_quotas(same, user_id), quote_all=True, encoding="latin-1"),
        "Account.csv": _csv(account, quote_all=True, encoding="latin-1"),
        "CurrencyType.csv": _csv(_currency_types(same.export_date), quote_all=True),
        "DatedConversionRate.csv": _csv(dated, quote_all=True),
    }


def _opportunity_records(
    deals: pd.DataFrame,
    user_id: dict[str, str],
    account_id: dict[str, str],
    dated: pd.DataFrame,
    with_history: bool = False,
) -> pd.DataFrame:
    """Opportunity.csv: the standard fields in export order (a custom field after them), booleans 0/1,
    amounts in each deal's own currency, a few deleted rows beside the deals they copy. With a history, each
    deal's current stage (sorted in the history stages' order), amount and claims: its last history row's."""
    won, closed = deals["step"].eq("won"), deals["step"].isin(["won", "lost"])
    stages = STAGES["salesforce-data-export"]
    if with_history:
        names = [*HISTORY_STAGE_NAMES["salesforce-data-export"], stages["won"].name, stages["lost"].name]
        sort_order = deals["stage"].map({name: str(k) for k, name in enumerate(names, start=1)})
        local = deals["local_amount"]
        expected = (local * deals["rep_probability"] / 100).round(2)
        category = deals["forecast_category"].map(FORECAST_API)
    else:
        sort_order = deals["step"].map({name: str(k) for k, name in enumerate(STEPS, start=1)})
        local = expected = _local_amounts(deals, dated).where(won)
        category = deals["step"].map({key: stage.forecast_api for key, stage in stages.items()})
    owner = deals["sales_agent"].map(user_id)
    close = deals["close_date"].fillna(deals["rep_close_date"])
    modified = _stamps(deals["modified"])
    fields = {name: "" for name in OPPORTUNITY_FIELDS}
    fields.update(
        Id=deals["opportunity_id"],
        IsDeleted="0",
        AccountId=deals["account"].map(account_id).fillna(""),
        IsPrivate="0",
        Name=deals["account"].where(deals["account"].ne(""), "Neukunde") + " Lizenzen",
        StageName=deals["stage"],
        StageSortOrder=sort_order,
        Amount=_cents(local),
        Probability=deals["rep_probability"].map(lambda p: f"{p:g}"),
        ExpectedRevenue=_cents(expected),
        CloseDate=_days(close),
        IsClosed=closed.map({True: "1", False: "0"}),
        IsWon=won.map({True: "1", False: "0"}),
        ForecastCategory=category,
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


def _opportunity_history(events: pd.DataFrame, owner: pd.Series, currency: pd.Series) -> pd.DataFrame:
    """OpportunityHistory.csv: one row per change in time order, numbered so, each holding the whole state
    from its CreatedDate on, with what it changed from (From..., Prev...); ``owner`` per event (the user who
    made the change), ``currency`` per deal."""
    api = events["forecast_category"].map(FORECAST_API)
    previous = (
        events.assign(api=api)
        .groupby("our_id", sort=False)[["stage", "local_amount", "rep_close_date", "api"]]
        .shift()
    )
    stamps = _stamps(events["changed"])
    fields = {name: "" for name in OPPORTUNITY_HISTORY_FIELDS}
    fields.update(
        Id=_record_ids("008", len(events)),
        OpportunityId=events["opportunity_id"],
        CreatedById=owner,
        CreatedDate=stamps,
        StageName=events["stage"],
        Amount=_cents(events["local_amount"]),
        ExpectedRevenue=_cents((events["local_amount"] * events["rep_probability"] / 100).round(2)),
        CloseDate=_days(events["rep_close_date"]),
        Probability=events["rep_probability"].map(lambda p: f"{p:g}"),
        FromForecastCategory=previous["api"].fillna(""),
        ForecastCategory=api,
        FromOpportunityStageName=previous["stage"].fillna(""),
        CurrencyIsoCode=events["our_id"].map(currency),
        SystemModstamp=stamps,
        IsDeleted="0",
        PrevAmount=_cents(previous["local_amount"]),
        PrevCloseDate=_days(previous["rep_close_date"]),
    )
    return pd.DataFrame(fields, index=events.index)


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
    rate = _dated_rate(deals["currency"], deals["close_date"], dated)
    local = (usd * rate).round(2)
    back = (local / rate).round(2)
    if not np.allclose(back[usd.notna()], usd[usd.notna()], rtol=0, atol=1e-9):
        raise ValueError("a won value does not convert back to its US dollar value to the cent")
    return local


def _dated_rate(codes: pd.Series, on: pd.Series, dated: pd.DataFrame) -> pd.Series:
    """Units of each currency per US dollar in force ``on`` each date (DatedConversionRate); 1 for dollars and
    where there is no date."""
    rate = pd.Series(1.0, index=codes.index)
    for code in set(codes) - {CORPORATE_CURRENCY}:
        table = dated.loc[dated["IsoCode"].eq(code)]
        starts = pd.to_datetime(table["StartDate"], format="%Y-%m-%d").to_numpy()
        mine = codes.eq(code) & on.notna()
        at = np.searchsorted(starts, on[mine].to_numpy(), side="right") - 1
        rate[mine] = table["ConversionRate"].astype(float).to_numpy()[at]
    return rate


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


def _forecasting_quotas(same: SyntheticCRM, user_id: dict[str, str]) -> pd.DataFrame:
    """ForecastingQuota.csv: our quotas as monthly amount quotas of one forecast type (a third of the
    quarter's each month), owners by user id, and the VP of sales' quota (95% of the managers' together),
    which only the hierarchy in User.csv ties to the team."""
    ours = synthetic_quotas(same)
    top = ours[ours["owner"].isin(same.sales_teams["manager"])]
    vp = top.groupby("period_start", sort=True)["quota"].apply(lambda q: pd.to_numeric(q).sum() * 0.95)
    vp = pd.DataFrame(
        {"period_start": vp.index, "owner": VP_OF_SALES, "quota": (vp // QUOTA_STEP * QUOTA_STEP).astype(int)}
    )
    quarters = pd.concat([vp, ours.assign(quota=pd.to_numeric(ours["quota"]))], ignore_index=True)
    months = quarters.loc[quarters.index.repeat(3)].reset_index(drop=True)
    offset = np.tile(np.arange(3), len(quarters))
    start = [
        pd.Timestamp(day) + pd.DateOffset(months=int(k))
        for day, k in zip(months["period_start"], offset, strict=True)
    ]
    return pd.DataFrame(
        {
            "Id": _record_ids("0J9", len(months)),
            "QuotaOwnerId": months["owner"].map(user_id).to_numpy(),
            "StartDate": [f"{day:%Y-%m-%d}" for day in start],
            "QuotaAmount": (months["quota"] // 3).astype(str).to_numpy(),
            "QuotaQuantity": "",
            "IsAmount": "1",
            "IsQuantity": "0",
            "CurrencyIsoCode": CORPORATE_CURRENCY,
            "ForecastingTypeId": _record_ids("0Db", 1).iloc[0],
            "PeriodId": "",
            "ProductFamily": "",
            "CreatedDate": "2024-01-08 09:00:00",
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


def _hubspot(deals: pd.DataFrame, same: SyntheticCRM, events: pd.DataFrame | None) -> dict[str, bytes]:
    """HubSpot's all-deals export: its labels, date-times to the minute, true/false flags, the probability
    as a fraction, named after the export's date. With a history, every deal's current amount, and one
    ``Date entered "<stage> (Sales Pipeline)"`` column per stage of the pipeline: when the deal last entered
    it (blank if never)."""
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
            "Amount": deals["close_value"].where(won, "") if events is None else _plain(deals["amount"]),
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
    if events is not None:
        entries = _stage_entries(events)
        for name in HUBSPOT_STAGES:
            entered = entries.loc[entries["stage"].eq(name)].set_index("our_id")["changed"]
            at = pd.Series(entered.reindex(deals["our_id"]).to_numpy(), index=deals.index)
            export[f'Date entered "{name} ({HUBSPOT_PIPELINE})"'] = _minutes(at)
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


def _plain(values: pd.Series) -> pd.Series:
    """Numbers as our CSVs write them: whole ones without decimals, others to the cent (NaN blank)."""
    return values.map(
        lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}", na_action="ignore"
    ).fillna("")


def _cents(values: pd.Series) -> pd.Series:
    """Amounts to the cent, as Salesforce writes currency fields (NaN blank)."""
    return values.map(lambda v: f"{v:.2f}", na_action="ignore").fillna("")


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
