"""Shared fixtures: paths to the bundled demo data and to the public MavenTech data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAVENTECH_DIR = ROOT.parent / "shared" / "data" / "maventech"
DEMO_DIR = ROOT / "dataset"


@pytest.fixture(scope="session")
def maventech_dir() -> Path:
    """The public MavenTech CRM export beside the repo; skip when ../shared is not there."""
    if not (MAVENTECH_DIR / "sales_pipeline.csv").exists():
        pytest.skip(f"MavenTech data not found at {MAVENTECH_DIR} (needs ../shared beside the repo)")
    return MAVENTECH_DIR


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The bundled synthetic demo export (dataset/)."""
    return DEMO_DIR
