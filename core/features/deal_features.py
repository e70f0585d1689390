"""Deal features as known at a point in time: weekly training snapshots and the same features at scoring.

A snapshot of a deal at date ``s`` (its age ``s - engage_date``) holds only what the CRM showed at the end of
``s``: the deal's static attributes (rep, manager, office, product, series, list price (never the amount:
an export holds final amounts), account sector and size) and win rates of its rep, rep x series, product,
account and sector computed from deals closed strictly before ``s``. Close dates, close values and
durations of the deal itself never enter.

Blank accounts. In CRM exports (MavenTech, and our synthetic data, which mimics it) almost every blank
account belongs to a deal still open at the export, so in any historical cut "account is blank" means "this
deal will still be open at the export": a leak from the future. With ``account_policy="impute"`` (default)
a blank account is replaced by a donor account drawn deterministically (hash of the opportunity id) from
the accounts of the cut's non-blank deals, so a blank deal looks like any other deal and the model cannot
learn blankness; at scoring the model averages over several donors. ``"as_missing"`` keeps blanks as
missing values (for the backtest ablation that shows the leak).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data import CRMData
from core.data.contract import UNKNOWN
from core.data.history import facts_at
from core.features.history import (
    joint_win_rates_before,
    outcome_counts_before,
    overall_win_rate_before,
    smoothed_rate,
    win_rates_before,
)

CATEGORICAL_FEATURES: tuple[str, ...] = (
    "sales_agent",
    "manager",
    "regional_office",
    "product",
    "series",
    "sector",
    "forecast_category",
)
NUMERIC_FEATURES: tuple[str, ...] = (
    "age_days",
    "days_into_quarter",
    "engage_days_into_quarter",
    "deal_value",
    "account_employees",
    "account_revenue",
    "rep_closed_deals",
    "rep_stalled_share",
    "rep_win_rate",
    "rep_series_win_rate",
    "product_win_rate",
    "account_win_rate",
    "sector_win_rate",
    "track_record_win_rate",
)
FEATURES: tuple[str, ...] = (
    "age_days",
    "days_into_quarter",
    "engage_days_into_quarter",
    "deal_value",
    "sales_agent",
    "manager",
    "regional_office",
    "product",
    "series",
    "sector",
    "account_employees",
    "account_revenue",
    "rep_closed_deals",
    "rep_stalled_share",
    "rep_win_rate",
    "rep_series_win_rate",
    "product_win_rate",
    "account_win_rate",
    "sector_win_rate",
    "track_record_win_rate",
)
# From the field history, when the export has one (core.data.history): what the deal's record said on the
# snapshot's day. Without a history the model has none of them.
HISTORY_FEATURES: tuple[str, ...] = (
    "stage_position",
    "days_in_stage",
    "stage_regressions",
    "close_date_pushes",
    "days_pushed",
    "amount_change",
    "days_to_rep_close",
    "rep_probability",
    "forecast_category",
)
RATE_FEATURES: tuple[str, ...] = (
    "rep_win_rate",
    "rep_series_win_rate",
    "product_win_rate",
    "account_win_rate",
    "sector_win_rate",
    "track_record_win_rate",
)
ACCOUNT_FEATURES: tuple[str, ...] = (
    "sector",
    "account_employees",
    "account_revenue",
    "account_win_rate",
    "sector_win_rate",
)
FEATURE_LABELS: dict[str, str] = {
    "age_days": "days since the deal was engaged",
    "days_into_quarter": "days into the current quarter",
    "engage_days_into_quarter": "days into its quarter when the deal was engaged",
    "deal_value": "list price",
    "sales_agent": "sales rep",
    "manager": "manager",
    "regional_office": "regional office",
    "product": "product",
    "series": "product series",
    "sector": "account's sector",
    "account_employees": "account's employees",
    "account_revenue": "account's revenue",
    "rep_closed_deals": "deals the rep has closed so far",
    "rep_stalled_share": "share of the rep's deals still open 90 days after engagement",
    "rep_win_rate": "rep's win rate",
    "rep_series_win_rate": "rep's win rate on this series",
    "product_win_rate": "product's win rate",
    "account_win_rate": "account's win rate",
    "sector_win_rate": "sector's win rate",
    "track_record_win_rate": "win rate from rep, product, account, price and size records together",
    "stage_position": "stage reached",
    "days_in_stage": "days in the current stage",
    "stage_regressions": "times the deal went back a stage",
    "close_date_pushes": "times the close date was pushed",
    "days_pushed": "days the close date was pushed in all",
    "amount_change": "change of the amount since it was first entered",
    "days_to_rep_close": "days to the rep's close date",
    "rep_probability": "rep's probability",
    "forecast_category": "rep's forecast category",
}
# The groups of the joint track record, one regression over all of them (core.features.history)
TRACK_RECORD_GROUPS: list[list[str]] = [["agent"], ["agent", "series"], ["product"], ["sector"], ["account"]]
# ... and its numeric terms: log list price, log account size (relative to $1,000 and 1,000 employees; the
# origin only moves the intercept) and their product, which no group effect can absorb
TRACK_RECORD_NUMERIC: list[str] = ["log_price", "log_size", "log_price_x_size"]
ACCOUNT_POLICIES: tuple[str, ...] = ("impute", "as_missing")
# How the features are computed. Bump it whenever the same data gives other feature values (a saved model
# trained on other definitions is never reused: its booster would read features it was not trained on).
# 1: up to the fifth session; 2: the track record rounded to 6 decimals and given its numeric terms;
# 3: deal_value is the list price only (an export's amounts are final values, known only at close).
# tests/core/features/test_deal_features.py pins a digest of the features per version.
FEATURE_DEFINITIONS = 3
STALL_DAYS = 90
_ACCOUNT_ATTRIBUTES = ("sector", "account_employees", "account_revenue")


def day_of_quarter(dates: np.ndarray) -> np.ndarray:
    """Days since the start of the calendar quarter (0 on Jan 1, Apr 1, Jul 1, Oct 1); quarter-end effects."""
    days = np.asarray(dates).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    quarter_start = months - (months.astype(np.int64) % 3).astype("timedelta64[M]")
    return (days - quarter_start.astype("datetime64[D]")).astype(np.int64).astype(float)


def _uniform_from_ids(ids: pd.Series, draw: int) -> np.ndarray:
    """A deterministic uniform number in [0, 1) per id and draw (a hash, so it never depends on row order)."""
    hashed = pd.util.hash_pandas_object(ids.astype(str) + f"|donor{draw}", index=False).to_numpy()
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)


def account_donors(deals: pd.DataFrame, draw: int) -> pd.Series:
    """For each blank-account deal, a donor account drawn by frequency among the non-blank deals (else '')."""
    known = deals.loc[deals["account"].ne(""), "account"]
    donors = pd.Series("", index=deals.index, dtype=object)
    blank = deals["account"].eq("")
    if known.empty or not blank.any():
        return donors
    frequency = known.value_counts().sort_index()
    cumulative = np.cumsum(frequency.to_numpy()) / frequency.sum()
    u = _uniform_from_ids(deals.loc[blank, "opportunity_id"], draw)
    picks = np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)
    donors.loc[blank] = frequency.index.to_numpy()[picks]
    return donors


def deals_for_features(crm: CRMData, account_policy: str = "impute", draw: int = 0) -> pd.DataFrame:
    """The cut's deals with ``feature_account`` (real or donor account) and its sector and size attached."""
    if account_policy not in ACCOUNT_POLICIES:
        raise ValueError(f"account_policy must be one of {ACCOUNT_POLICIES}, got {account_policy!r}")
    deals = crm.deals.sort_values("opportunity_id", kind="stable").reset_index(
        drop=True
    )  # row order never matters
    deals["feature_account"] = deals["account"]
    if account_policy == "impute":
        blank = deals["account"].eq("")
        donors = account_donors(deals, draw)
        deals.loc[blank, "feature_account"] = donors[blank]
        if blank.any() and len(crm.accounts):
            attributes = crm.accounts.set_index("account")[list(_ACCOUNT_ATTRIBUTES)]
            donor_attributes = attributes.reindex(deals.loc[blank, "feature_account"])
            for column in _ACCOUNT_ATTRIBUTES:
                deals.loc[blank, column] = donor_attributes[column].to_numpy()
            deals["sector"] = deals["sector"].fillna(UNKNOWN)
    # The list price, never the amount: an export without a history holds each deal's final amount (a won
    # deal's booked value), not the amount known at a snapshot; learning from it would leak the outcome.
    deals["deal_value"] = deals["list_price"].astype(float)
    return deals.reset_index(drop=True)


def _codes(values: pd.Series, extra: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for ``values`` and ``extra`` on one shared vocabulary (for exact as-of joins)."""
    combined = values if extra is None else pd.concat([values, extra], ignore_index=True)
    codes, _ = pd.factorize(combined.astype(str), sort=True)
    return codes[: len(values)], codes[len(values) :]


def _history_and_query_codes(
    deals: pd.DataFrame, queried: pd.DataFrame, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``deals[column]`` and ``queried[column]`` on one vocabulary (one pass when the same frame)."""
    if queried is deals:
        codes, _ = _codes(deals[column])
        return codes, codes
    return _codes(deals[column], queried[column])


def _rep_stalled_share(
    deals: pd.DataFrame, agent: np.ndarray, queries: pd.DataFrame, as_of: pd.Timestamp, prior_strength: float
) -> np.ndarray:
    """Share of the rep's deals still open ``STALL_DAYS`` after engagement, among those that reached that age
    strictly before the query date (known at the date: each deal counts from ``engage + STALL_DAYS``)."""
    engaged = deals["engage_date"].notna().to_numpy()
    reached = deals["engage_date"] + pd.Timedelta(days=STALL_DAYS)
    known = engaged & (reached <= as_of).to_numpy()
    still_open = deals["close_date"].isna() | (deals["close_date"] > reached)
    events = pd.DataFrame(
        {
            "agent": agent[known],
            "close_date": reached.to_numpy()[known],
            "is_won": still_open.to_numpy()[known].astype(np.int64),
        }
    )
    company_total, company_open = outcome_counts_before(events, queries, [])
    company = smoothed_rate(company_open, company_total, 0.2, 2.0)
    total, stalled = outcome_counts_before(events, queries, ["agent"])
    return smoothed_rate(stalled, total, company, prior_strength)


def _track_record_terms(deals: pd.DataFrame) -> np.ndarray:
    """The joint track record's numeric terms per deal (``TRACK_RECORD_NUMERIC``); NaN where a price or size
    is unknown or not positive (the regression reads a missing term as 0)."""
    logs = []
    for column, unit in (("list_price", 1000.0), ("account_employees", 1000.0)):
        values = deals[column].to_numpy(dtype=float)
        positive = values > 0  # False for NaN too
        missing = np.full(len(values), np.nan)
        logs.append(np.log(np.where(positive, values, unit) / unit, where=positive, out=missing))
    price, size = logs
    return np.column_stack([price, size, price * size])


def point_in_time_features(
    deals: pd.DataFrame,
    positions: np.ndarray,
    snapshot_dates: np.ndarray,
    ages: np.ndarray,
    as_of: pd.Timestamp,
    prior_strength: float,
    queried: pd.DataFrame | None = None,
    field_history: pd.DataFrame | None = None,
    stage_order: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Feature rows for queried[positions] as known at ``snapshot_dates`` (rates: closes strictly before).

    The history behind the rates is ``deals``; the rows described are ``queried`` (default ``deals``), which
    may hold other versions of the same deals (another donor for a blank account, say). With the
    ``field_history`` the rows also get ``HISTORY_FEATURES``, from history rows dated at or before each
    snapshot.
    """
    queried = deals if queried is None else queried
    closed_mask = deals["close_date"].notna() & (deals["close_date"] <= as_of)
    closed = deals.loc[closed_mask]
    agent, query_agent = _history_and_query_codes(deals, queried, "sales_agent")
    series, query_series = _history_and_query_codes(deals, queried, "series")
    product, query_product = _history_and_query_codes(deals, queried, "product")
    sector, query_sector = _history_and_query_codes(deals, queried, "sector")
    real_account, feature_account = _codes(deals["account"], queried["feature_account"])
    keys = pd.DataFrame(
        {"agent": agent, "series": series, "product": product, "sector": sector, "account": real_account}
    )
    terms = _track_record_terms(deals)
    keys[TRACK_RECORD_NUMERIC] = terms
    # an outcome is known from its close, or from the day the deal was entered when that came later
    known = np.maximum(closed["close_date"].to_numpy(), closed["engage_date"].to_numpy())
    history = keys.loc[closed_mask.to_numpy()].assign(
        close_date=known, is_won=closed["is_won"].to_numpy().astype(np.int64)
    )
    account_history = history.loc[closed["account"].ne("").to_numpy()]
    queries = pd.DataFrame(
        {
            "agent": query_agent[positions],
            "series": query_series[positions],
            "product": query_product[positions],
            "sector": query_sector[positions],
            "account": feature_account[positions],
            "snapshot_date": snapshot_dates,
        }
    )
    queries[TRACK_RECORD_NUMERIC] = (terms if queried is deals else _track_record_terms(queried))[positions]
    overall = overall_win_rate_before(history, queries)
    stalled = _rep_stalled_share(deals, agent, queries, as_of, prior_strength)
    rep_closed, rep_won = outcome_counts_before(history, queries, ["agent"])
    rep = smoothed_rate(rep_won, rep_closed, overall, prior_strength)
    sector_rate = win_rates_before(account_history, queries, ["sector"], overall, prior_strength)
    engage = queried["engage_date"].to_numpy().astype("datetime64[D]")[positions]
    engage = np.where(np.isnat(engage), np.asarray(snapshot_dates).astype("datetime64[D]"), engage)
    frame = pd.DataFrame(
        {
            "age_days": ages.astype(float),
            "days_into_quarter": day_of_quarter(snapshot_dates),
            "engage_days_into_quarter": day_of_quarter(engage),
            "deal_value": queried["deal_value"].to_numpy()[positions],
            **{c: queried[c].to_numpy()[positions] for c in CATEGORICAL_FEATURES},
            "account_employees": queried["account_employees"].to_numpy(dtype=float)[positions],
            "account_revenue": queried["account_revenue"].to_numpy(dtype=float)[positions],
            "rep_closed_deals": rep_closed,
            "rep_stalled_share": stalled,
            "rep_win_rate": rep,
            "rep_series_win_rate": win_rates_before(
                history, queries, ["agent", "series"], rep, prior_strength
            ),
            "product_win_rate": win_rates_before(history, queries, ["product"], overall, prior_strength),
            "account_win_rate": win_rates_before(
                account_history, queries, ["account"], sector_rate, prior_strength
            ),
            "sector_win_rate": sector_rate,
            "track_record_win_rate": joint_win_rates_before(
                account_history, queries, TRACK_RECORD_GROUPS, numeric=TRACK_RECORD_NUMERIC
            ),
        }
    )
    no_account = queried["feature_account"].to_numpy()[positions] == ""
    frame.loc[no_account, ["account_win_rate", "sector_win_rate"]] = np.nan
    if field_history is None:
        return frame[list(FEATURES)]
    ids = queried["opportunity_id"].to_numpy(dtype=object)[positions]
    facts = facts_at(field_history, ids, np.asarray(snapshot_dates), stage_order)
    return pd.concat([frame[list(FEATURES)], facts[list(HISTORY_FEATURES)].set_axis(frame.index)], axis=1)


def weekly_snapshots(
    crm: CRMData,
    every_days: int = 7,
    prior_strength: float = 20.0,
    account_policy: str = "impute",
    thin_after_days: int = 182,
    thin_every: int = 4,
    max_snapshots: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training snapshots: one row per deal per ``every_days`` of age while it was open, up to ``crm.as_of``.

    Snapshots dated before the export's first recorded close are dropped (left truncation: an export that
    starts recording closes on some date holds only the early deals that survived to it, so their earlier
    weeks would teach that young deals never close; MavenTech starts in 2017-03 with deals from 2016-10).
    Beyond ``thin_after_days`` of age only every ``thin_every``-th snapshot is kept, with weight
    ``thin_every`` (old open deals would otherwise dominate the rows without adding information).
    Returns ``(features, snapshots)``; ``snapshots`` has opportunity_id, snapshot_date, age_days, weight and
    the deal's state at ``crm.as_of``: outcome (won / lost / open), age_at_as_of, close_age_days (NaN: open).
    With ``max_snapshots``, a larger export keeps a deterministic random subset of whole deals (hash of the
    opportunity id) whose snapshots are weighted up accordingly; rates still use every closed deal.
    """
    deals = deals_for_features(crm, account_policy)
    engaged = deals["engage_date"].notna().to_numpy()
    engage = deals["engage_date"].to_numpy().astype("datetime64[D]")
    close = deals["close_date"].to_numpy().astype("datetime64[D]")
    as_of = crm.as_of.to_datetime64().astype("datetime64[D]")
    last_open_day = np.where(np.isnat(close), as_of, close - np.timedelta64(1, "D"))
    span = (last_open_day - engage).astype(np.int64)
    count = np.where(engaged & (span >= 0), span // every_days + 1, 0)
    sample_weight = 1.0
    if max_snapshots is not None and count.sum() > max_snapshots:
        sample_weight = float(count.sum()) / max_snapshots
        count = np.where(_uniform_from_ids(deals["opportunity_id"], draw=-1) < 1.0 / sample_weight, count, 0)
    positions = np.repeat(np.arange(len(deals)), count)
    week = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ages = week * every_days
    thinned = ages > thin_after_days
    keep = ~thinned | (week % thin_every == 0)
    first_close = crm.deals["close_date"].min()
    if pd.notna(
        first_close
    ):  # left truncation: before the first recorded close nothing could be seen closing
        keep &= engage[positions] + ages.astype("timedelta64[D]") >= first_close.to_datetime64().astype(
            "datetime64[D]"
        )
    positions, week, ages, thinned = positions[keep], week[keep], ages[keep], thinned[keep]
    weight = np.where(thinned, float(thin_every), 1.0) * sample_weight
    snapshot_dates = (engage[positions] + ages.astype("timedelta64[D]")).astype("datetime64[ns]")
    features = point_in_time_features(
        deals, positions, snapshot_dates, ages, crm.as_of, prior_strength, None, crm.history, crm.stage_order
    )
    is_open = deals["is_open"].to_numpy()
    outcome = np.where(is_open, "open", np.where(deals["is_won"].to_numpy(), "won", "lost"))
    close_age = (close - engage).astype("timedelta64[D]").astype(float)
    snapshots = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"].to_numpy()[positions],
            "snapshot_date": snapshot_dates,
            "age_days": ages.astype(float),
            "weight": weight,
            "outcome": outcome[positions],
            "age_at_as_of": (as_of - engage).astype(np.int64)[positions].astype(float),
            "close_age_days": np.where(is_open, np.nan, close_age)[positions],
        }
    )
    return features, snapshots


def open_deal_features(
    crm: CRMData, prior_strength: float = 20.0, account_policy: str = "impute", draw: int = 0
) -> pd.DataFrame:
    """Features of every open deal at ``crm.as_of`` (index opportunity_id), computed exactly as in training.

    Prospecting deals without an engage date are scored at age 0 (they have not started yet).
    """
    return open_deal_features_by_draw(crm, prior_strength, account_policy, (draw,))[0]


def open_deal_features_by_draw(
    crm: CRMData, prior_strength: float = 20.0, account_policy: str = "impute", draws: tuple[int, ...] = (0,)
) -> list[pd.DataFrame]:
    """:func:`open_deal_features` for each donor draw in ``draws``, in one pass over the history.

    The draws differ only on open deals with a blank account (their donor account, its sector and size),
    so the rates are computed once for all open deals plus one extra query row per blank deal and draw.
    """
    deals = deals_for_features(crm, account_policy, draws[0])
    positions = np.flatnonzero(deals["is_open"].to_numpy())
    blank = (
        positions[deals["account"].to_numpy()[positions] == ""]
        if account_policy == "impute"
        else positions[:0]
    )
    extra = [deals_for_features(crm, account_policy, draw).iloc[blank] for draw in draws[1:]]
    queried = pd.concat([deals, *extra], ignore_index=True) if extra else deals
    rows = np.concatenate([positions, len(deals) + np.arange(len(blank) * len(extra))])
    ages = queried["age_days"].to_numpy(dtype=float)[rows]
    ages = np.where(np.isnan(ages), 0.0, np.maximum(ages, 0.0))
    dates = np.full(len(rows), crm.as_of.to_datetime64()).astype("datetime64[ns]")
    features = point_in_time_features(
        deals, rows, dates, ages, crm.as_of, prior_strength, queried, crm.history, crm.stage_order
    )
    features.index = pd.Index(queried["opportunity_id"].to_numpy()[rows], name="opportunity_id")
    frames = [features.iloc[: len(positions)]]
    where_blank = np.searchsorted(positions, blank)
    for k in range(len(extra)):
        picks = np.arange(len(positions))
        picks[where_blank] = len(positions) + k * len(blank) + np.arange(len(blank))
        frames.append(features.iloc[picks])
    return frames


def blank_account_ids(crm: CRMData) -> pd.Index:
    """Opportunity ids of open deals whose account is blank (their account features are imputed)."""
    deals = crm.deals
    return pd.Index(
        deals.loc[deals["is_open"] & deals["account"].eq(""), "opportunity_id"], name="opportunity_id"
    )
