"""The per-deal table: quarter windows, close timing, stale and Prospecting treatment, ordering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.forecast.deals import close_timing, deal_predictions, quarter_windows
from core.forecast.timing import CloseTimingModel
from core.outputs import PREDICTION_COLUMNS

AS_OF = pd.Timestamp("2017-12-31")


def test_quarter_windows_at_a_quarter_end_and_mid_quarter() -> None:
    assert quarter_windows(AS_OF) == ((1, 0), (1, 90))  # nothing left of Q4; all of Q1 2018
    assert quarter_windows(pd.Timestamp("2018-02-10")) == ((1, 49), (50, 140))


@pytest.fixture
def history() -> pd.DataFrame:
    """Ten won deals that took 10..100 days, one lost, and three open deals (young, Prospecting, stale)."""
    rows = []
    for i, days in enumerate(range(10, 101, 10)):
        engage = AS_OF - pd.Timedelta(days=300)
        rows.append(
            {
                "opportunity_id": f"W{i}",
                "deal_stage": "Won",
                "engage_date": engage,
                "close_date": engage + pd.Timedelta(days=days),
                "close_value": 1000.0,
                "is_won": True,
                "is_open": False,
                "stale": False,
            }
        )
    engage = AS_OF - pd.Timedelta(days=300)
    rows.append(
        {
            "opportunity_id": "L0",
            "deal_stage": "Lost",
            "engage_date": engage,
            "close_date": engage + pd.Timedelta(days=5),
            "close_value": np.nan,
            "is_won": False,
            "is_open": False,
            "stale": False,
        }
    )
    for ident, stage, age, stale in (
        ("OPEN", "Engaging", 20, False),
        ("PROS", "Prospecting", None, False),
        ("ZOMBIE", "Engaging", 250, True),
    ):
        rows.append(
            {
                "opportunity_id": ident,
                "deal_stage": stage,
                "engage_date": AS_OF - pd.Timedelta(days=age) if age is not None else pd.NaT,
                "close_date": pd.NaT,
                "close_value": np.nan,
                "is_won": False,
                "is_open": True,
                "stale": stale,
            }
        )
    deals = pd.DataFrame(rows)
    deals["stage"] = deals["deal_stage"]  # the CRM's own stage name: here our schema's
    deals = deals.assign(rep_close_date=pd.NaT, forecast_category="", rep_probability=np.nan)  # no claims
    deals["age_days"] = (AS_OF - deals["engage_date"]).dt.days.astype(float)
    for column, value in (
        ("product", "GTX Basic"),
        ("series", "GTX"),
        ("sales_agent", "Ann"),
        ("manager", "Mo"),
        ("regional_office", "East"),
        ("account", "=cmd"),
        ("sector", "retail"),
    ):
        deals[column] = value
    deals["list_price"], deals["amount"] = 1000.0, np.nan
    return deals


def test_close_timing_zero_for_stale_and_split_by_quarter(history: pd.DataFrame) -> None:
    timing = CloseTimingModel().fit(history, AS_OF)
    open_deals = history[history["is_open"]].reset_index(drop=True)
    result = close_timing(open_deals, np.array([0.5, 0.5, 0.5]), timing, AS_OF)
    assert result["p_close_in_quarter"].tolist() == [0.0, 0.0, 0.0]  # as-of is the quarter's last day
    young, prospect, zombie = result["p_close_next_quarter"].tolist()
    # a 20-day-old deal can only be won at ages 30..100: all inside the next 90 days
    assert young == pytest.approx(0.5) and zombie == 0.0
    # a new deal: the share of the whole curve reached by age 90 (the censored zombie keeps mass after 90)
    cif = timing.won_cif_["GTX Basic"]
    assert prospect == pytest.approx(0.5 * (cif[90] - cif[0]) / (cif[-1] - cif[0]))
    assert 0.5 * 0.8 < prospect < 0.5
    assert result["expected_close_date"].iloc[0] == AS_OF + pd.Timedelta(days=40)  # median of 30..100 -> 60
    assert pd.isna(result["expected_close_date"].iloc[2])


def test_deal_table_columns_order_and_flags(history: pd.DataFrame) -> None:
    timing = CloseTimingModel().fit(history, AS_OF)
    open_deals = history[history["is_open"]].reset_index(drop=True)
    probability = pd.Series([0.5, 0.4, 0.001], index=["OPEN", "PROS", "ZOMBIE"])
    table = deal_predictions(open_deals, history, probability, pd.DataFrame(), timing, AS_OF)
    assert tuple(table.columns) == PREDICTION_COLUMNS
    assert table["risk_score"].is_monotonic_decreasing
    rows = table.set_index("opportunity_id")
    assert rows.loc["PROS", "early_stage"] and not rows.loc["OPEN", "early_stage"]
    assert rows.loc["ZOMBIE", "stale"] and rows.loc["ZOMBIE", "p_close_next_quarter"] == 0.0
    assert rows.loc["OPEN", "deal_value"] == pytest.approx(1000.0)  # list price x mean realised ratio 1.0
    assert rows.loc["OPEN", "expected_revenue"] == pytest.approx(500.0)
    assert rows.loc["OPEN", "value_source"] == "list_price"


def test_unscored_open_deal_is_an_error(history: pd.DataFrame) -> None:
    timing = CloseTimingModel().fit(history, AS_OF)
    open_deals = history[history["is_open"]].reset_index(drop=True)
    with pytest.raises(ValueError, match="did not score open deal PROS"):
        deal_predictions(
            open_deals,
            history,
            pd.Series([0.5, 0.1], index=["OPEN", "ZOMBIE"]),
            pd.DataFrame(),
            timing,
            AS_OF,
        )


def test_realisation_factors_scale_quarter_chances_and_are_capped(history: pd.DataFrame) -> None:
    timing = CloseTimingModel().fit(history, AS_OF)
    open_deals = history[history["is_open"]].reset_index(drop=True)
    plain = close_timing(open_deals, np.array([0.5, 0.5, 0.5]), timing, AS_OF)
    halved = close_timing(open_deals, np.array([0.5, 0.5, 0.5]), timing, AS_OF, factors=(0.5,))
    np.testing.assert_allclose(halved["p_close_next_quarter"], plain["p_close_next_quarter"] * 0.5)
    tripled = close_timing(open_deals, np.array([0.5, 0.5, 0.5]), timing, AS_OF, factors=(3.0,))
    assert tripled["p_close_next_quarter"].max() == pytest.approx(0.5)  # never beyond the win probability
