"""The notebooks run top to bottom (nbclient) and show real results."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_eda_and_backtest_notebook_runs_and_reports_the_backtest() -> None:
    path = NOTEBOOKS / "01_eda_and_backtest.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = "\n".join(
        output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "demo: 15,000 deals to 2026-08-14" in outputs
    assert "Across 1 as-of dates (2026-04-01 to 2026-04-01" in outputs
    assert "oracle" in outputs
    assert not any(
        output.get("output_type") == "error" for cell in notebook.cells for output in cell.get("outputs", [])
    )
