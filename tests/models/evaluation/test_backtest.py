"""backtest.py end to end on a small synthetic export (truth present): report files and error policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data.synthetic import generate_crm
from models.evaluation.backtest import main
from models.generate import write_crm


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-deal synthetic export with truth.csv."""
    folder = tmp_path_factory.mktemp("backtest_export")
    write_crm(generate_crm(n_deals=2000, seed=31), folder)
    return folder


def test_writes_json_and_markdown_with_oracle_and_variants(export_dir: Path, tmp_path: Path) -> None:
    code = main(
        [
            "--data-dir",
            str(export_dir),
            "--as-of-dates",
            "2026-02-01",
            "--out-dir",
            str(tmp_path),
            "--variants",
            "closed_only",
            "--sections",
            "win_probability",
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "backtest.json").read_text())
    section = report["win_probability"]
    row = section["per_as_of"][0]
    assert row["as_of"] == "2026-02-01" and row["n"] == row["n_open"] > 100
    assert row["label_source"].startswith("truth.csv")
    assert set(row["variants"]) == {"closed_only"}
    assert row["model"]["brier"] < row["variants"]["closed_only"]["brier"]
    assert row["oracle"]["auc"] > 0.6
    spread = row["model"]["ece_if_calibrated"]
    assert 0 < spread["p05"] < spread["median"] < spread["p95"] < 0.2
    beyond = section["summary"]["ece_beyond_sampling_noise"]
    assert beyond == (["2026-02-01"] if row["model"]["ece"] > spread["p95"] else [])
    assert 0 < row["model"]["calibration_error_vs_truth"] < 0.1
    assert section["summary"]["calibration_error_vs_truth"] == row["model"]["calibration_error_vs_truth"]
    markdown = (tmp_path / "backtest.md").read_text()
    assert "## Win probability" in markdown and "| 2026-02-01 |" in markdown and "oracle" in markdown
    assert f"| {spread['p05']:.3f}-{spread['p95']:.3f} |" in markdown
    constant = row["baseline_base_rate"]["reliability"][0]
    assert (
        f"- 2026-02-01, baseline_base_rate: {constant['bin_lower']:.1f}-{constant['bin_upper']:.1f}: "
        f"n={row['n']}, predicted {row['base_rate']:.2f}, observed {row['observed_win_rate']:.2f}"
    ) in markdown
    assert "- 2026-02-01, oracle: 0.0-0.1: n=" in markdown
    by_age = row["calibration_by_age"]
    assert sum(g["n"] for g in by_age) == row["n"] and by_age[0]["age_days"] == "0-14"
    over = sum(g["over"] for g in by_age)  # the groups' misses add up to the date's total
    predicted = sum(b["n"] * b["mean_predicted"] for b in row["reliability"])
    assert over == pytest.approx(predicted - row["n"] * row["observed_win_rate"])
    young = by_age[0]
    assert (
        f"| 2026-02-01 | 0-14 | {young['n']} | {young['mean_predicted']:.3f} | "
        f"{young['observed_rate']:.3f} | {young['chance_low']:.3f}-{young['chance_high']:.3f} | "
        f"{young['over']:+.1f}"
    ) in markdown
    assert "measured against the true probabilities instead of the outcomes" in section["signal_statement"]
    pooled = section["summary"]["pooled"]  # one date: pooling changes nothing
    assert pooled["n"] == pooled["n_deals"] == row["n"]
    assert pooled["ece"] == row["model"]["ece"] and pooled["oracle_ece"] == row["oracle"]["ece"]
    assert [{k: b[k] for k in row["reliability"][0]} for b in pooled["reliability"]] == row["reliability"]
    assert "pooled over the dates" not in section["signal_statement"]


def test_pools_the_dates_with_one_outcome_per_deal(export_dir: Path, tmp_path: Path) -> None:
    args = ["--data-dir", str(export_dir), "--out-dir", str(tmp_path), "--variants", "none"]
    assert main([*args, "--as-of-dates", "2025-12-01,2026-02-01", "--sections", "win_probability"]) == 0
    section = json.loads((tmp_path / "backtest.json").read_text())["win_probability"]
    rows, pooled = section["per_as_of"], section["summary"]["pooled"]
    assert pooled["n"] == sum(r["n"] for r in rows)
    assert max(r["n"] for r in rows) < pooled["n_deals"] < pooled["n"]  # deals open at both dates count once
    bins = pooled["reliability"]
    for b in bins:
        same = [c for r in rows for c in r["reliability"] if c["bin_lower"] == b["bin_lower"]]
        assert b["n"] == sum(c["n"] for c in same) and b["n_deals"] <= b["n"]
        assert b["observed_rate"] == pytest.approx(sum(c["n"] * c["observed_rate"] for c in same) / b["n"])
        assert b["chance_low"] <= b["mean_predicted"] <= b["chance_high"]
    gaps = sum(b["n"] * abs(b["observed_rate"] - b["mean_predicted"]) for b in bins)
    assert pooled["ece"] == pytest.approx(gaps / pooled["n"])
    assert pooled["ece_if_calibrated"]["p05"] < pooled["ece_if_calibrated"]["p95"] < 0.1
    assert 0 < pooled["oracle_ece"] < 0.1 and 0 < pooled["calibration_error_vs_truth"] < 0.1
    markdown = (tmp_path / "backtest.md").read_text()
    assert (
        f"{pooled['n']:,} scores of {pooled['n_deals']:,} distinct deals: ECE {pooled['ece']:.3f}" in markdown
    )
    assert f"pooled over the dates ({pooled['n']:,} scores" in section["signal_statement"]


def test_unknown_variant_is_a_usage_error(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["--data-dir", str(export_dir), "--out-dir", str(tmp_path), "--variants", "magic"])
    assert code == 2
    assert "unknown variant 'magic'" in capsys.readouterr().err
    assert not (tmp_path / "backtest.json").exists()


def test_broken_truth_names_file_column_and_row(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = tmp_path / "export"
    broken.mkdir()
    for path in export_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    lines = (broken / "truth.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("won_scale")] = "abc"
    lines[1] = ",".join(cells)
    (broken / "truth.csv").write_text("\n".join(lines) + "\n")
    code = main(
        ["--data-dir", str(broken), "--as-of-dates", "2026-02-01", "--out-dir", str(tmp_path / "out")]
    )
    assert code == 2
    assert (
        capsys.readouterr().err.strip() == "error: truth.csv, column 'won_scale', row 2: not a number: 'abc'"
    )


def test_unknown_section_is_a_usage_error(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["--data-dir", str(export_dir), "--out-dir", str(tmp_path), "--sections", "win_probability,pipeline"]
    )
    assert code == 2
    assert "unknown section 'pipeline'" in capsys.readouterr().err
