"""The batch step's own guards (the end-to-end behaviour is in test_predict.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import UsageError
from models.inference.batch import _sharing, run_id
from models.inference.forecast_tasks import fit_timing
from models.shared_tasks import SharedTasks


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


def test_shared_simulation_tasks_come_back_in_order_with_progress() -> None:
    """Both processes take chunks (the worker from the first, this one from the last); results keep the
    chunks' order and progress reaches 100% here."""
    reports: list[float] = []
    with SharedTasks() as worker:
        run = _sharing(worker, reports.append)
        assert run([(pow, (2, n)) for n in range(6)]) == [1, 2, 4, 8, 16, 32]
    assert reports == sorted(reports) and reports[-1] == 1.0 and len(reports) == 6
