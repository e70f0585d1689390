"""Shared fixtures for model tests: one small synthetic export and one model fitted on it, per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import CRMData, cut_at, read_crm
from core.data.synthetic import SyntheticCRM, generate_crm, write_crm
from core.model import WinProbabilityModel

AS_OF = "2026-03-01"


@pytest.fixture(scope="session")
def synthetic() -> SyntheticCRM:
    """A 3,000-deal synthetic CRM with its truth."""
    return generate_crm(n_deals=3000, seed=11)


@pytest.fixture(scope="session")
def synthetic_dir(synthetic: SyntheticCRM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic CRM written as an export folder."""
    folder = tmp_path_factory.mktemp("model_export")
    write_crm(synthetic, folder)
    return folder


@pytest.fixture(scope="session")
def full_export(synthetic_dir: Path) -> CRMData:
    """The whole export (as of its last day)."""
    return read_crm(synthetic_dir)


@pytest.fixture(scope="session")
def crm_at(full_export: CRMData) -> CRMData:
    """The export cut at AS_OF (five months before its end, so outcomes are mostly known)."""
    return cut_at(full_export, AS_OF)


@pytest.fixture(scope="session")
def fitted(crm_at: CRMData) -> WinProbabilityModel:
    """A model fitted at AS_OF with the default parameters."""
    return WinProbabilityModel(seed=5).fit(crm_at)


@pytest.fixture(scope="session")
def truth_typed(synthetic: SyntheticCRM) -> pd.DataFrame:
    """The truth frame as the oracle wants it (numbers as floats, dates as strings)."""
    return synthetic.truth
