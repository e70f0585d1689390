"""The semi-oracle: the generator's oracle with its effects estimated from the history at the as-of date."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.synthetic import generate_crm
from models.evaluation.attainable import attainable_as_of, estimated_p_if_closes, main
from models.evaluation.backtest import read_truth
from models.generate import write_crm


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4,000-deal synthetic export with truth.csv."""
    folder = tmp_path_factory.mktemp("attainable_export")
    write_crm(generate_crm(n_deals=4000, seed=11), folder)
    return folder


def test_the_semi_oracle_estimates_the_true_effects_and_stays_below_the_oracle(export_dir: Path) -> None:
    full, truth = read_crm(export_dir), read_truth(export_dir)
    row = attainable_as_of(full, truth, pd.Timestamp("2026-02-01"))
    assert row["n"] > 200
    assert row["p_correlation"] > 0.5  # the regression recovers the generator's deal effects
    assert 0.6 < row["semi_oracle"]["auc"] <= row["oracle"]["auc"] + 0.01
    assert row["semi_oracle"]["brier"] >= row["oracle"]["brier"] - 0.005


def test_the_estimate_uses_only_what_was_known_at_the_as_of_date(export_dir: Path) -> None:
    full = read_crm(export_dir)
    as_of = pd.Timestamp("2026-02-01")
    later = full.deals["close_date"] > as_of
    flipped = full.deals.copy()
    flipped.loc[later, "is_won"] = ~flipped.loc[later, "is_won"].astype(bool)
    before = estimated_p_if_closes(cut_at(full, as_of))
    after = estimated_p_if_closes(cut_at(type(full)(**{**full.__dict__, "deals": flipped}), as_of))
    pd.testing.assert_series_equal(before, after)


def test_without_truth_it_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_crm(generate_crm(n_deals=300, seed=2), tmp_path)
    (tmp_path / "truth.csv").unlink()
    assert main(["--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "truth.csv: not found" in err and "\n" not in err
