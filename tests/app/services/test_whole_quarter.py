"""Unit tests of app/services/whole_quarter.py on tiny frames: the quarters beside each other and the
sentence about deals not yet created."""

from __future__ import annotations

import pandas as pd

from app.components.format import Money
from app.services.whole_quarter import new_deals_sentence, pace_words, quarter_bars

AS_OF = pd.Timestamp("2017-12-31")  # MavenTech's: the last day of Q4 2017


def _forecast() -> pd.DataFrame:
    """Quarter rows of the whole pipeline and one manager: Q4 2017 (over on the as-of date), Q1 2018."""
    return pd.DataFrame(
        {
            "period_type": ["quarter", "quarter", "quarter", "month"],
            "period_start": pd.to_datetime(["2018-01-01", "2017-10-01", "2018-01-01", "2018-01-01"]),
            "period_end": pd.to_datetime(["2018-03-31", "2017-12-31", "2018-03-31", "2018-01-31"]),
            "segment_type": ["all", "all", "manager", "all"],
            "segment": ["All", "All", "Ann", "All"],
            "closed_won": [0.0, 2800.0, 0.0, 0.0],
            "expected": [100.0, 0.0, 10.0, 40.0],
            "new_expected": [800.0, 0.0, 200.0, 90.0],
            "total_expected": [900.0, 2800.0, 210.0, 130.0],
            "total_p10": [500.0, 2800.0, 100.0, 60.0],
            "total_p50": [840.0, 2800.0, 190.0, 120.0],
            "total_p90": [1370.0, 2800.0, 320.0, 200.0],
        }
    )


def _actuals() -> pd.DataFrame:
    """quarter_actuals.csv: four quarters of the whole pipeline; the manager won only in Q3 2017."""
    starts = pd.to_datetime(["2016-10-01", "2017-01-01", "2017-04-01", "2017-07-01", "2017-07-01"])
    return pd.DataFrame(
        {
            "period_start": starts,
            "period_end": starts + pd.offsets.QuarterEnd(0),
            "segment_type": ["all", "all", "all", "all", "manager"],
            "segment": ["All", "All", "All", "All", "Bob"],
            "won": [0.0, 1100.0, 3100.0, 3000.0, 500.0],
        }
    )


def test_quarter_bars_put_the_forecast_beside_the_complete_quarters() -> None:
    bars = quarter_bars(_forecast(), _actuals(), AS_OF, ("all", None))
    assert bars["label"].tolist() == ["Q4 2016", "Q1 2017", "Q2 2017", "Q3 2017", "Q4 2017", "Q1 2018"]
    # Q4 2017 ends on the as-of date: complete, what it won is its closed_won
    assert bars["complete"].tolist() == [True, True, True, True, True, False]
    assert bars["won"].tolist() == [0.0, 1100.0, 3100.0, 3000.0, 2800.0, 0.0]
    ahead = bars.iloc[-1]
    assert ahead[["expected", "new_expected", "total_p10", "total_p90"]].tolist() == [
        100.0,
        800.0,
        500.0,
        1370.0,
    ]


def test_a_segment_without_past_wins_reads_zero_in_each_complete_quarter() -> None:
    bars = quarter_bars(_forecast(), _actuals(), AS_OF, ("manager", "Ann"))
    assert bars["won"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]  # four past quarters, then Q1 2018
    assert bars["new_expected"].iloc[-1] == 200.0
    assert quarter_bars(_forecast(), None, AS_OF, ("manager", "Ann"))["label"].tolist() == ["Q1 2018"]


def test_the_new_deals_sentence_says_how_creation_moved() -> None:
    created = {"recent_days": 91, "recent_created": 1128, "previous_created": 2737}
    assert new_deals_sentence(created, 796_478.94, "Q1 2018 (next quarter)", None, 500, Money("USD")) == (
        "Deals not yet created add $796,479 to Q1 2018 (next quarter): the forecast expects the coming weeks "
        "to create deals at the pace of the last 13 weeks. 1,128 deals were created in the last 13 weeks, "
        "against 2,737 in the 13 weeks before (59% fewer). The 500 open deals without an engage date are not "
        "counted: the forecast dates a deal from its engage date."
    )
    one = new_deals_sentence({"recent_days": 30, "recent_created": 1}, 10.0, "Q1", "rep Ann", 0, Money("USD"))
    assert one == (
        "Deals not yet created add $10 to Q1 for rep Ann: the forecast expects the coming weeks to create "
        "deals at the pace of the last 30 days. Across the whole pipeline, 1 deal was created in the last 30 "
        "days, against 0 in the 30 days before."
    )
    assert new_deals_sentence(None, 10.0, "Q1", None, 0, Money("USD")) is None  # a run without the counts
    assert pace_words(91) == "13 weeks"
