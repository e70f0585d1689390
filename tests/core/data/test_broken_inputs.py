"""The broken-input corpus: every kind gives its one-line message in-process and exit 2 from the CLI."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.data import load_crm, load_mapping
from core.errors import DataContractError

ROOT = Path(__file__).resolve().parents[3]


def _run_validate(*flags: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m models.validate`` with ``flags`` from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", "models.validate", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_corpus_covers_at_least_twelve_kinds(broken_inputs, broken_mappings) -> None:
    kinds = [case.kind for case in broken_inputs + broken_mappings]
    assert len(set(kinds)) == len(kinds) >= 12


def test_each_broken_export_raises_its_message_in_process(broken_inputs) -> None:
    for kind, data_dir, expected in broken_inputs:
        with pytest.raises(DataContractError) as caught:
            load_crm(data_dir)
        message = str(caught.value)
        assert expected in message, f"{kind}: {message!r}"
        assert "\n" not in message, kind


def test_each_broken_export_exits_2_with_one_stderr_line(broken_inputs) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:  # subprocesses mostly wait on imports; overlap them
        results = list(pool.map(lambda case: _run_validate("--data-dir", str(case.data_dir)), broken_inputs))
    for (kind, _, expected), result in zip(broken_inputs, results, strict=True):
        lines = result.stderr.splitlines()
        assert result.returncode == 2, f"{kind}: exit {result.returncode}, stderr {result.stderr!r}"
        assert len(lines) == 1, f"{kind}: {result.stderr!r}"
        assert lines[0].startswith("error: ") and expected in lines[0], f"{kind}: {lines[0]!r}"
        assert "Traceback" not in result.stderr and result.stdout == "", kind


def test_each_broken_mapping_raises_and_exits_2(broken_mappings, valid_export) -> None:
    for kind, mapping_path, expected in broken_mappings:
        with pytest.raises(DataContractError) as caught:
            load_mapping(mapping_path)
        assert expected in str(caught.value), f"{kind}: {caught.value}"
        result = _run_validate("--data-dir", str(valid_export), "--mapping", str(mapping_path))
        assert result.returncode == 2, f"{kind}: {result.stderr!r}"
        assert result.stderr.splitlines() == [f"error: {caught.value}"], kind


def test_valid_export_passes_the_cli_and_prints_the_quality_table(valid_export) -> None:
    result = _run_validate("--data-dir", str(valid_export))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"{valid_export} (MavenTech schema) as of 2017-03-01: 5 deals, 2 open, amounts in USD; data hash "
    )
    rows = {line.split()[0]: line.split()[3] for line in lines[2:]}
    assert rows == {
        "product_alias": "1",
        "blank_account": "1",
        "unknown_sales_agent": "1",
        "prospecting_without_engage_date": "1",
    }


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--as-of", "07/01/2017"], "error: --as-of '07/01/2017' is not a date (use YYYY-MM-DD)"),
        (
            ["--as-of", "2016-01-01"],
            "error: as-of 2016-01-01 is before the first engage_date in the data (2017-01-02)",
        ),
        (["--bogus"], "error: python -m models.validate: unrecognized arguments: --bogus (see --help)"),
    ],
)
def test_bad_flags_exit_2_with_one_line(valid_export, flags, expected) -> None:
    result = _run_validate("--data-dir", str(valid_export), *flags)
    assert (result.returncode, result.stderr.splitlines()) == (2, [expected])


def test_report_table_is_left_aligned_with_counts_right_aligned(maventech_dir) -> None:
    result = _run_validate("--data-dir", str(maventech_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["code", "file", "column", "count", "action"]
    assert lines[2].startswith("product_alias   ")
    assert " 1,480  renamed to the products.csv spelling" in lines[2]
    assert " 1,291  flagged stale" in lines[5]
