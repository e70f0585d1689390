"""Quarter seasonality: fitting the index and reweighting a deal's remaining win-time distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.forecast.seasonality import (
    QuarterSeasonality,
    fit_last_day,
    fit_quarter_seasonality,
    seasonal_median_days,
    seasonal_window_shares,
)
from core.forecast.timing import CloseTimingModel

AS_OF = pd.Timestamp("2024-03-31")


def test_index_by_hand() -> None:
    monthly = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "won": [0.0, 20.0, 60.0, 10.0],
            "expected": [30.0, 20.0, 30.0, 20.0],
        }
    )
    index = fit_quarter_seasonality(monthly).index
    assert index == pytest.approx(((0 + 10 + 10) / (50 + 10), (20 + 10) / (20 + 10), (60 + 10) / (30 + 10)))


@pytest.fixture
def timing() -> CloseTimingModel:
    """Wins spread evenly over ages 1..90 days."""
    engage = AS_OF - pd.Timedelta(days=400)
    deals = pd.DataFrame(
        {
            "deal_stage": "Won",
            "engage_date": engage,
            "product": "A",
            "close_date": [engage + pd.Timedelta(days=d) for d in range(1, 91)],
        }
    )
    return CloseTimingModel().fit(deals, AS_OF)


def test_neutral_index_gives_plain_shares(timing: CloseTimingModel) -> None:
    deal = pd.DataFrame({"product": ["A"], "age_days": [0.0]})
    shares = seasonal_window_shares(
        timing, deal, AS_OF, QuarterSeasonality(), np.array([1, 31]), np.array([30, 61])
    )
    np.testing.assert_allclose(
        shares, timing.win_time_shares(deal, np.array([30, 61])) - [[0, 30 / 90]], atol=1e-12
    )


def test_reweighting_moves_timing_not_total(timing: CloseTimingModel) -> None:
    deal = pd.DataFrame({"product": ["A"], "age_days": [0.0]})
    months = pd.period_range("2024-04", "2024-07", freq="M")
    first = np.array([(m.start_time - AS_OF).days for m in months])
    last = np.array([(m.end_time.normalize() - AS_OF).days for m in months])
    pushy = QuarterSeasonality(index=(0.5, 1.0, 2.0))
    shares = seasonal_window_shares(timing, deal, AS_OF, pushy, first, last)[0]
    assert shares.sum() == pytest.approx(1.0)
    # April (month 1 of Q2) loses weight to June (month 3)
    plain = seasonal_window_shares(timing, deal, AS_OF, QuarterSeasonality(), first, last)[0]
    assert shares[0] < plain[0] and shares[2] > plain[2]


def test_windows_must_stay_inside_a_month(timing: CloseTimingModel) -> None:
    deal = pd.DataFrame({"product": ["A"], "age_days": [0.0]})
    with pytest.raises(ValueError, match="inside one calendar month"):
        seasonal_window_shares(timing, deal, AS_OF, QuarterSeasonality(), np.array([1]), np.array([45]))


def test_seasonal_median_matches_plain_median_when_neutral_and_moves_with_the_index(
    timing: CloseTimingModel,
) -> None:
    deal = pd.DataFrame({"product": ["A"], "age_days": [0.0]})
    neutral = seasonal_median_days(timing, deal, AS_OF, QuarterSeasonality())
    assert neutral[0] == timing.median_days_to_win(deal).iloc[0] == 45  # wins spread over ages 1..90
    late = seasonal_median_days(timing, deal, AS_OF, QuarterSeasonality(index=(0.2, 1.0, 5.0)))
    early = seasonal_median_days(timing, deal, AS_OF, QuarterSeasonality(index=(5.0, 1.0, 0.2)))
    assert early[0] < neutral[0] < late[0]
    zombie = pd.DataFrame({"product": ["A"], "age_days": [200.0]})
    assert np.isnan(seasonal_median_days(timing, zombie, AS_OF, QuarterSeasonality())[0])


def test_last_day_weight_by_hand() -> None:
    # two complete quarters: 30 wins on each last day, one on every other day of their third months
    days = [pd.Timestamp("2024-03-31")] * 30 + [pd.Timestamp("2024-06-30")] * 30
    days += list(pd.date_range("2024-03-01", "2024-03-30")) + list(pd.date_range("2024-06-01", "2024-06-29"))
    days += [pd.Timestamp("2024-09-30")] * 50  # a quarter not complete by as-of: not counted
    deals = pd.DataFrame({"is_won": True, "close_date": days})
    fitted = fit_last_day(QuarterSeasonality(), deals, pd.Timestamp("2024-09-29"))
    expected = (30 + 29) / (30 + 29) * 2  # the last days at the other days' rate (one win a day)
    assert fitted.last_day == pytest.approx((60 + 10) / (expected + 10))
    assert fitted.last_day_won == pytest.approx((60.0, expected))
    assert fit_last_day(QuarterSeasonality(), deals, pd.Timestamp("2024-03-30")).last_day == 1.0


def test_the_quarters_last_day_weighs_more_and_the_month_keeps_its_total() -> None:
    engage = AS_OF - pd.Timedelta(days=400)
    wins = pd.DataFrame(
        {
            "deal_stage": "Won",
            "engage_date": engage,
            "product": "A",
            "close_date": [engage + pd.Timedelta(days=d) for d in range(1, 121)],
        }
    )
    flat = CloseTimingModel().fit(wins, AS_OF)  # wins evenly over ages 1..120 days
    deal = pd.DataFrame({"product": ["A"], "age_days": [0.0]})
    seasonality = QuarterSeasonality(last_day=4.0)
    # days 62..90 are June 1..29, day 91 June 30 (the quarter's last), days 1..30 April
    shares = seasonal_window_shares(
        flat, deal, AS_OF, seasonality, np.array([62, 91, 62, 1]), np.array([90, 91, 91, 30])
    )[0]
    other = 30 / (29 + 4)  # June's other days' weight: the month keeps 30 days' worth
    np.testing.assert_allclose(shares, [29 * other / 120, 4 * other / 120, 30 / 120, 30 / 120], atol=1e-9)
    # the median day moves too, but only within June (April and May keep their shares)
    plain = seasonal_median_days(flat, deal, AS_OF, QuarterSeasonality())
    assert seasonal_median_days(flat, deal, AS_OF, seasonality) == pytest.approx(plain, abs=1.0)
