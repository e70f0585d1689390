"""The forecast frame: shape, coherence across segments, closed-won context, stale deals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import core.forecast.forecast as forecast_module
from core.data import cut_at, read_crm
from core.data.synthetic import generate_crm
from core.forecast.forecast import _quantiles, deal_values, forecast_revenue
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel
from core.outputs import FORECAST_COLUMNS
from models.generate import write_crm


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory):
    """Open deals of a 1,500-deal export at 2026-05-20 with a stand-in win probability."""
    folder = tmp_path_factory.mktemp("crm")
    write_crm(generate_crm(n_deals=1500, seed=3), folder)
    crm = cut_at(read_crm(folder), "2026-05-20")
    timing = CloseTimingModel().fit(crm.deals, crm.as_of)
    open_deals = crm.deals[crm.deals["is_open"]].copy()
    open_deals["win_probability"] = timing.remaining_win_chance(open_deals).to_numpy()
    return crm, timing, open_deals


def test_forecast_shape_and_coherence(scored) -> None:
    crm, timing, open_deals = scored
    frame = forecast_revenue(open_deals, crm.deals, timing, Dependence(0.05, 0.01), crm.as_of, 400, seed=1)
    assert tuple(frame.columns) == FORECAST_COLUMNS
    alls = frame[frame["segment_type"].eq("all")]
    assert alls["period_type"].value_counts().to_dict() == {"week": 14, "month": 7, "quarter": 3}
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    for segment_type in ("regional_office", "manager", "sales_agent", "product"):
        part = frame[frame["segment_type"].eq(segment_type)].groupby(["period_type", "period_start"])
        np.testing.assert_allclose(
            part["expected"].sum().sort_index().to_numpy(),
            alls.set_index(["period_type", "period_start"])["expected"].sort_index().to_numpy(),
        )
    # the month containing as-of: already-won revenue from May 1 to as-of
    won = crm.deals[crm.deals["is_won"] & (crm.deals["close_date"] >= "2026-05-01")]
    may = alls[alls["period_type"].eq("month") & alls["period_start"].eq(pd.Timestamp("2026-05-01"))]
    assert may["closed_won"].iloc[0] == pytest.approx(won["close_value"].sum())
    # expected revenue is the sum of win probability x value x in-period share: bounded by the pipeline
    values = deal_values(open_deals, crm.deals)["deal_value"]
    horizon = alls[alls["period_type"].eq("quarter")]["expected"].sum()
    assert 0 < horizon <= (open_deals["win_probability"] * values).sum() + 1e-6
    # the mean of the simulation agrees with the exact expectation
    q2 = alls[alls["period_type"].eq("quarter")].iloc[1]
    assert q2["p50"] == pytest.approx(q2["expected"], rel=0.1)


def test_simulation_chunks_in_threads_give_the_same_forecast(scored, monkeypatch) -> None:
    """Large runs simulate their chunks in threads (``THREADED_PAIRS``): the very numbers of one pass, since
    each chunk has its own seeded streams; progress reaches 100%."""
    crm, timing, open_deals = scored
    dependence = Dependence(0.05, 0.01, persistent_variance=0.02)
    args = (open_deals, crm.deals, timing, dependence, crm.as_of, 2500)
    one_pass = forecast_revenue(*args, seed=4)
    monkeypatch.setattr(forecast_module, "THREADED_PAIRS", 0)
    seen: list[float] = []
    threaded = forecast_revenue(*args, seed=4, progress=seen.append)
    assert seen == [1 / 3, 2 / 3, 1.0]  # 2,500 simulations: chunks of 1,000, 1,000 and 500
    pd.testing.assert_frame_equal(threaded, one_pass, check_exact=True)
    assert not threaded.equals(forecast_revenue(*args, seed=5))


def test_stale_deals_add_nothing(scored) -> None:
    crm, timing, open_deals = scored
    zombies = open_deals.assign(stale=True)
    frame = forecast_revenue(zombies, crm.deals, timing, Dependence(), crm.as_of, 50, seed=1)
    assert frame["expected"].abs().sum() == 0 and frame["p90"].abs().sum() == 0


def test_deal_values_by_source() -> None:
    open_deals = pd.DataFrame({"amount": [500.0, np.nan, np.nan], "list_price": [100.0, 200.0, np.nan]})
    history = pd.DataFrame(
        {"is_won": [True, True], "close_value": [90.0, 330.0], "list_price": [100.0, 300.0]}
    )
    values = deal_values(open_deals, history)
    assert values["value_source"].tolist() == ["amount", "list_price", "median_won_value"]
    np.testing.assert_allclose(values["deal_value"], [500.0, 200.0 * 1.0, 210.0])  # mean ratio (0.9+1.1)/2
    assert np.isnan(values["fixed_value"].iloc[1])


@pytest.mark.parametrize("n_sims", [1, 2, 3, 10, 11, 999, 10_000])
def test_quantiles_are_numpys_linear_quantiles_bit_for_bit(n_sims: int) -> None:
    rng = np.random.default_rng(n_sims)
    totals = np.round(rng.gamma(0.5, 1000.0, (n_sims, 3, 5)), 2)
    totals[rng.random(totals.shape) < 0.5] = 0.0  # many ties at zero, as in real simulations
    expected = np.quantile(totals, [0.1, 0.5, 0.9], axis=0)
    assert np.array_equal(_quantiles(totals), expected)
