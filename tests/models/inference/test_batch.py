"""The batch step's own guards (the end-to-end behaviour is in test_predict.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import UsageError
from models.inference.batch import fit_timing, run_id


def test_no_won_history_is_bad_input_not_a_crash() -> None:
    deals = pd.DataFrame(
        {
            "engage_date": [pd.Timestamp("2020-01-01")],
            "close_date": [pd.NaT],
            "deal_stage": ["Engaging"],
            "product": ["A"],
        }
    )
    with pytest.raises(UsageError, match="cannot forecast at as-of 2020-02-01: no won deal closed"):
        fit_timing(deals, pd.Timestamp("2020-02-01"))


def test_run_id_depends_on_inputs_only() -> None:
    as_of = pd.Timestamp("2017-12-31")
    assert run_id("abc", as_of, "v1", 42, 10_000) == run_id("abc", as_of, "v1", 42, 10_000)
    assert run_id("abc", as_of, "v1", 42, 10_000) != run_id("abc", as_of, "v1", 43, 10_000)
    assert len(run_id("abc", as_of, "v1", 42, 10_000)) == 16
