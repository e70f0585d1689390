"""Shock sizes fitted from the over-dispersion of monthly won counts."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.synthetic import generate_crm
from core.forecast.dependence import _excess_variance, fit_dependence, monthly_win_counts
from core.forecast.timing import CloseTimingModel
from models.generate import write_crm


def test_method_of_moments_by_hand() -> None:
    counts = pd.DataFrame({"won": [10.0, 30.0], "expected": [20.0, 20.0], "variance": [10.0, 10.0]})
    # ((10-20)^2 - 10 + (30-20)^2 - 10) / (20^2 + 20^2) = 180 / 800
    assert _excess_variance(counts) == pytest.approx(0.225)


def test_under_dispersed_counts_mean_no_shock() -> None:
    counts = pd.DataFrame({"won": [20.0, 20.0], "expected": [20.0, 20.0], "variance": [10.0, 10.0]})
    assert _excess_variance(counts) == 0.0


@pytest.fixture(scope="module")
def small_crm(tmp_path_factory: pytest.TempPathFactory):
    """A 3,000-deal synthetic export, read once."""
    folder = tmp_path_factory.mktemp("crm")
    write_crm(generate_crm(n_deals=3000, seed=11), folder)
    return read_crm(folder)


def test_fit_uses_only_months_before_as_of(small_crm) -> None:
    crm = cut_at(small_crm, "2026-03-15")
    timing = CloseTimingModel().fit(crm.deals, crm.as_of)
    counts = monthly_win_counts(crm.deals, crm.as_of, timing, "regional_office")
    assert counts["month"].max() == pd.Timestamp("2026-02-01")
    assert set(counts["segment"]) <= set(crm.deals["regional_office"])
    dependence = fit_dependence(crm.deals, crm.as_of, timing)
    assert dependence.market_variance >= 0 and dependence.segment_variance >= 0
    assert dependence.details["months"] == counts["month"].nunique()
    # the generator pulls wins into quarter ends, so monthly counts are over-dispersed
    assert dependence.details["market_dispersion_ratio"] > 1.5
