"""Amounts in the corporate currency: exchange rates (Salesforce CurrencyType / DatedConversionRate, or our
currencies.csv) applied to each deal's amount and close value.

A deal's rate is the dated rate in force on its close date (a closed deal's, else the rep's expected close
date, else its creation), as Salesforce's advanced currency management converts; without dated rates, or
before the first one, the currency's standing rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.contract import DEFAULT_CURRENCY
from core.data.mapping import ColumnMapping, is_set
from core.errors import DataContractError

RATE_COLUMNS = ("currency", "rate_to_corporate", "valid_from")
RATES_FROM_THE_BEGINNING = pd.Timestamp("1900-01-01")  # an earlier valid_from (0001-01-01) reads as this


def _fail_at_first(frame: pd.DataFrame, bad: pd.Series, display: str, column: str, problem: str) -> None:
    """A one-line error at the first row where ``bad`` holds (``{v}`` in ``problem`` is its value)."""
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise DataContractError(
            display, problem.format(v=first[column]), column=column, row=int(first["source_row"])
        )


def typed_rates(frames: list[tuple[str, pd.DataFrame]], date_format: str) -> tuple[pd.DataFrame, str]:
    """One table of rates (currency, rate_to_corporate, valid_from) from the currencies files read, and the
    currency they flag as corporate ("" when none does); one-line errors for a bad rate or date."""
    tables, corporate = [], ""
    for display, frame in frames:
        for column in ("currency", "rate_to_corporate"):
            if column not in frame.columns:
                raise DataContractError(display, "required column missing", column=column)
        rate = pd.to_numeric(frame["rate_to_corporate"].str.replace(",", "", regex=False), errors="coerce")
        _fail_at_first(
            frame,
            rate.isna() | (rate <= 0),
            display,
            "rate_to_corporate",
            "rate '{v}' is not a positive number",
        )
        valid_from = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        if "valid_from" in frame.columns:
            day = frame["valid_from"].str.split(r"[ T]", n=1, regex=True).str[0]
            valid_from = pd.to_datetime(day, format=date_format, errors="coerce")
            _fail_at_first(
                frame,
                frame["valid_from"].ne("") & valid_from.isna(),
                display,
                "valid_from",
                "unparsable date '{v}'",
            )
            # Salesforce starts each currency's first dated rate on 0001-01-01, before any date pandas keeps
            # in nanoseconds: such a rate holds from the beginning
            valid_from = valid_from.clip(lower=RATES_FROM_THE_BEGINNING).astype("datetime64[ns]")
        if "is_corporate" in frame.columns and is_set(frame["is_corporate"]).any():
            corporate = str(frame.loc[is_set(frame["is_corporate"]), "currency"].iloc[0]).upper()
        tables.append(
            pd.DataFrame(
                {
                    "currency": frame["currency"].str.upper(),
                    "rate_to_corporate": rate,
                    "valid_from": valid_from,
                }
            )
        )
    rates = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(RATE_COLUMNS))
    return rates, corporate


def corporate_currency(mapping: ColumnMapping, flagged: str, rates: pd.DataFrame, codes: pd.Series) -> str:
    """The currency every amount is reported in: the mapping's ``currency`` option, else the one the rates
    flag as corporate, else the one rate of exactly 1, else the deals' only currency, else USD."""
    if mapping.currency:
        return mapping.currency.upper()
    if flagged:
        return flagged
    standing = rates.loc[rates["valid_from"].isna()]
    ones = sorted(set(standing.loc[standing["rate_to_corporate"].eq(1.0), "currency"]))
    if len(ones) == 1:
        return ones[0]
    used = sorted(set(codes.str.upper()) - {""})
    return used[0] if len(used) == 1 else DEFAULT_CURRENCY


def rate_per_deal(
    codes: pd.Series, dates: pd.Series, rates: pd.DataFrame, corporate: str, units_per_corporate: bool
) -> pd.Series:
    """Multiplier from each deal's own currency to ``corporate`` (1 for the corporate currency or a blank
    one; NaN where the rates do not cover the currency)."""
    code = codes.str.upper()
    factor = pd.Series(np.nan, index=codes.index)
    factor[code.eq("") | code.eq(corporate)] = 1.0
    standing = rates.loc[rates["valid_from"].isna()].drop_duplicates("currency", keep="last")
    factor = factor.fillna(code.map(standing.set_index("currency")["rate_to_corporate"]))
    dated = rates.loc[rates["valid_from"].notna()].sort_values("valid_from", kind="stable")
    if len(dated):
        wanted = pd.DataFrame({"currency": code, "on": dates, "row": np.arange(len(code))})
        wanted = wanted.loc[wanted["on"].notna() & ~code.eq(corporate).to_numpy()].sort_values(
            "on", kind="stable"
        )
        matched = pd.merge_asof(
            wanted, dated, left_on="on", right_on="valid_from", by="currency", direction="backward"
        ).dropna(subset=["rate_to_corporate"])
        positions = matched["row"].to_numpy()
        factor.iloc[positions] = matched["rate_to_corporate"].to_numpy()
        earliest = dated.drop_duplicates("currency", keep="first").set_index("currency")["rate_to_corporate"]
        factor = factor.fillna(code.map(earliest))  # before the first dated rate, or no date: the earliest
    rated = ~code.eq("") & ~code.eq(corporate)
    if units_per_corporate:
        factor[rated] = 1.0 / factor[rated]
    return factor
