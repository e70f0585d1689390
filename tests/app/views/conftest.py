"""Fixture outputs with the win-rate diagnostics and the attention plan, as the batch step writes them
(models/inference/batch.py): the session's fixture run copied, the four tables computed by
core.diagnostics from its CRM export and predictions, each CSV with its Parquet twin, and the metadata's
``attention_plan``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.data import load_crm
from core.diagnostics.attention import attention_plan
from core.diagnostics.win_rates import rep_consistency, stage_conversion, win_rate_change, win_rates
from core.export import csv_bytes, parquet_bytes
from core.outputs import (
    CONSISTENCY,
    CONSISTENCY_FILE,
    CONVERSION,
    CONVERSION_FILE,
    METADATA_FILE,
    PLAN,
    PLAN_FILE,
    PREDICTIONS_FILE,
    WIN_RATE_CHANGE,
    WIN_RATE_CHANGE_FILE,
    WIN_RATES,
    WIN_RATES_FILE,
    decimals,
    fast_file,
)

FEWER_HOURS = 2.0  # the first manager's hours in the fixture plan (the others get the default)


def add_diagnostics(out: Path, hours: dict[str, float] | None = None) -> None:
    """Write the four diagnostics tables (CSV and Parquet) into the outputs folder ``out`` from its CRM
    export and predictions, and the metadata's ``attention_plan`` (the plan under ``hours``)."""
    metadata = json.loads((out / METADATA_FILE).read_text())
    crm = load_crm(metadata["data"]["data_dir"])
    predictions = pd.read_parquet(out / fast_file(PREDICTIONS_FILE))
    plan = attention_plan(predictions, hours)
    tables = {
        WIN_RATES_FILE: (win_rates(crm.deals, crm.as_of), WIN_RATES),
        WIN_RATE_CHANGE_FILE: (win_rate_change(crm.deals, crm.as_of), WIN_RATE_CHANGE),
        CONSISTENCY_FILE: (rep_consistency(crm.deals, crm.as_of), CONSISTENCY),
        CONVERSION_FILE: (stage_conversion(crm.deals, crm.history, crm.stage_order, crm.as_of), CONVERSION),
        PLAN_FILE: (plan.plan, PLAN),
    }
    for name, (frame, table) in tables.items():
        (out / name).write_bytes(csv_bytes(frame, decimals(table)))
        (out / fast_file(name)).write_bytes(parquet_bytes(frame, decimals(table)))
    metadata.update(run_id=f"{metadata['run_id']}-diagnostics", attention_plan=plan.summary())
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2))


@pytest.fixture(scope="session")
def diagnostics_outputs(fixture_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture run plus win_rates, win_rate_change, rep_consistency and attention_plan (read-only)."""
    out = tmp_path_factory.mktemp("diagnostics_run") / "predictions"
    shutil.copytree(fixture_outputs, out)
    managers = sorted(set(pd.read_parquet(out / fast_file(PREDICTIONS_FILE))["manager"]))
    add_diagnostics(out, {managers[0]: FEWER_HOURS})
    return out


@pytest.fixture
def diagnostics_env(diagnostics_outputs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the fixture outputs with the diagnostics."""
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(diagnostics_outputs))
    return diagnostics_outputs
