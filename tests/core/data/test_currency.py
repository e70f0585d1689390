"""Exchange rates as Salesforce exports them: tiny in-memory frames, exact factors."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.currency import rate_per_deal, typed_rates
from core.errors import DataContractError


def test_a_dated_rate_from_0001_01_01_holds_from_the_beginning() -> None:
    """Salesforce starts each currency's first dated rate on 0001-01-01 (before any date pandas keeps in
    nanoseconds): the rates load, and a deal closed before the second rate gets the first."""
    standing = pd.DataFrame(
        {
            "currency": ["USD", "EUR"],
            "rate_to_corporate": ["1.000000", "0.920000"],
            "is_corporate": ["1", "0"],
            "source_row": [2, 3],
        }
    )
    dated = pd.DataFrame(
        {
            "currency": ["EUR", "EUR"],
            "rate_to_corporate": ["0.900000", "0.950000"],
            "valid_from": ["0001-01-01", "2025-01-01"],
            "source_row": [2, 3],
        }
    )
    rates, corporate = typed_rates(
        [("CurrencyType.csv", standing), ("DatedConversionRate.csv", dated)], "%Y-%m-%d"
    )
    closed = pd.Series(pd.to_datetime(["2016-03-01", "2025-06-30", "2025-06-30"])).astype("datetime64[ns]")
    factor = rate_per_deal(
        pd.Series(["EUR", "EUR", "USD"]), closed, rates, corporate, units_per_corporate=True
    )
    assert corporate == "USD"
    assert factor.tolist() == [1 / 0.9, 1 / 0.95, 1.0]


def test_a_bad_rate_or_start_date_is_a_one_line_error_at_its_row() -> None:
    rates = pd.DataFrame({"currency": ["USD", "EUR"], "rate_to_corporate": ["1", "0"], "source_row": [2, 3]})
    with pytest.raises(DataContractError) as caught:
        typed_rates([("CurrencyType.csv", rates)], "%Y-%m-%d")
    assert str(caught.value) == (
        "CurrencyType.csv, column 'rate_to_corporate', row 3: rate '0' is not a positive number"
    )
    dated = rates.assign(rate_to_corporate=["1", "0.9"], valid_from=["2025-01-01", "2025-13-01"])
    with pytest.raises(DataContractError) as caught:
        typed_rates([("DatedConversionRate.csv", dated)], "%Y-%m-%d")
    assert str(caught.value) == (
        "DatedConversionRate.csv, column 'valid_from', row 3: unparsable date '2025-13-01'"
    )
