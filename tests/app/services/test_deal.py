"""Unit tests of the drill-down logic: waterfall, close outlook, comparables (action rules:
test_deal_actions.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from app.components.format import Money
from app.services.deal import (
    close_outlook,
    comparable_deals,
    deal_choices,
    default_deal,
    expected_close_label,
    history_text,
    rep_call_text,
    stage_text,
    waterfall_steps,
)


def test_waterfall_keeps_top_features_and_groups_the_rest() -> None:
    contributions = pd.DataFrame(
        {
            "feature": list("abcde"),
            "feature_value": ["1", "x", "", "2", "3"],
            "shap_value": [0.05, -0.2, 0.01, 0.1, -0.02],
        }
    )
    steps = waterfall_steps(contributions, base_value=0.4, top=2)
    assert steps["label"].tolist() == [
        "Base value (average deal)",
        "b = x",
        "d = 2",
        "All other features (3)",
        "Win probability",
    ]
    assert steps["value"].tolist() == pytest.approx([0.4, -0.2, 0.1, 0.04, 0.34])
    assert steps["measure"].tolist() == ["absolute", "relative", "relative", "relative", "total"]


def test_waterfall_follows_the_path_order_and_stays_a_probability() -> None:
    # by size alone the +55 pts step came first and the waterfall peaked at 105%; in the batch step's own
    # order (step) every point of the path is a probability and the labels name what the deal quotes
    contributions = pd.DataFrame(
        {
            "feature": ["deal_value", "deal_timing", "product"],
            "feature_label": ["list price", "deal age and timing", "product"],
            "feature_value": ["$5,482", "120 days since engagement", "GTX Pro"],
            "shap_value": [0.55, -0.4, 0.05],
            "step": [2, 1, 3],
        }
    )
    steps = waterfall_steps(contributions, base_value=0.5)
    assert steps["label"].tolist() == [
        "Average deal at this date",
        "deal age and timing = 120 days since engagement",
        "list price = $5,482",
        "product = GTX Pro",
        "Win probability",
    ]
    levels = steps["value"].iloc[0] + steps["value"].iloc[1:-1].cumsum()
    assert levels.tolist() == pytest.approx([0.1, 0.65, 0.7])
    assert steps["value"].iloc[-1] == pytest.approx(0.7)


def test_the_header_names_the_stage_as_the_crm_does() -> None:
    crm_stage = pd.Series({"stage": "Negotiation/Review", "deal_stage": "Engaging", "stale": False})
    assert stage_text(crm_stage) == "Negotiation/Review"
    unknown_then = pd.Series({"stage": "", "deal_stage": "Engaging", "stale": True})
    assert stage_text(unknown_then) == "Engaging (stale)"
    assert stage_text(pd.Series({"deal_stage": "Prospecting", "stale": False})) == "Prospecting"  # older runs


def test_the_reps_own_call_is_quoted_as_the_crm_holds_it() -> None:
    call = pd.Series(
        {"rep_close_date": pd.Timestamp("2017-03-31"), "forecast_category": "Commit", "rep_probability": 0.6}
    )
    assert rep_call_text(call) == (
        "The rep's call in the CRM: expects it to close on 2017-03-31, forecast category Commit, "
        "probability 60%."
    )
    none = pd.Series({"rep_close_date": pd.NaT, "forecast_category": "", "rep_probability": float("nan")})
    assert rep_call_text(none) == "" and rep_call_text(pd.Series({"stale": False})) == ""


def test_a_rep_close_date_before_the_as_of_date_is_said_to_have_passed() -> None:
    call = pd.Series({"rep_close_date": pd.Timestamp("2026-08-10"), "forecast_category": "Pipeline"})
    assert rep_call_text(call, pd.Timestamp("2026-08-14")) == (
        "The rep's call in the CRM: expected it to close on 2026-08-10, 4 days ago, forecast category "
        "Pipeline."
    )
    yesterday = rep_call_text(call, pd.Timestamp("2026-08-11"))
    assert yesterday.startswith("The rep's call in the CRM: expected it to close on 2026-08-10, 1 day ago")
    assert rep_call_text(call, pd.Timestamp("2026-08-10")).startswith(  # today is not past
        "The rep's call in the CRM: expects it to close on 2026-08-10"
    )


def test_the_expected_close_date_of_an_all_but_lost_deal_is_qualified() -> None:
    assert expected_close_label(0.002) == "Expected close date, if it closes at all"
    assert expected_close_label(0.01) == "Expected close date"
    assert expected_close_label(float("nan")) == "Expected close date"


def test_close_outlook_sums_to_one() -> None:
    deal = pd.Series({"win_probability": 0.6, "p_close_in_quarter": 0.3, "p_close_next_quarter": 0.2})
    outlook = close_outlook(deal, "Q3 2026", "Q4 2026")
    assert outlook["probability"].tolist() == pytest.approx([0.3, 0.2, 0.1, 0.4])
    assert outlook["outcome"].iloc[0] == "Won in Q3 2026"


def test_comparables_are_same_product_closest_in_value() -> None:
    closed = pd.DataFrame(
        {
            "opportunity_id": ["W1", "W2", "L1", "X1"],
            "account": ["a", "b", "c", "d"],
            "sales_agent": "r",
            "product": ["GTX Pro", "GTX Pro", "GTX Pro", "MG Special"],
            "series": ["GTX", "GTX", "GTX", "MG"],
            "deal_stage": ["Won", "Won", "Lost", "Won"],
            "engage_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-01-01"]),
            "close_date": pd.to_datetime(["2026-02-01", "2026-04-01", "2026-03-20", "2026-01-05"]),
            "close_value": [4800.0, 2000.0, float("nan"), 55.0],
            "amount": float("nan"),
            "list_price": [4821.0, 4821.0, 4821.0, 55.0],
        }
    )
    deal = pd.Series({"product": "GTX Pro", "series": "GTX", "deal_value": 4821.0})
    found = comparable_deals(closed, deal, n=5)
    assert found["Won"]["opportunity_id"].tolist() == ["W1", "W2"]
    assert found["Won"]["days_to_close"].tolist() == [31, 59]
    assert found["Lost"]["value"].tolist() == [4821.0]
    assert found["basis"]["basis"].iloc[0] == "same product"


def test_comparables_of_a_deal_without_product_are_of_any_product() -> None:
    """A Salesforce export without products made every deal's product "Unknown": the caption said "same
    product" of comparables that share nothing but the blank."""
    closed = pd.DataFrame(
        {
            "opportunity_id": ["W1", "W2", "L1"],
            "account": ["a", "b", "c"],
            "sales_agent": "r",
            "product": ["Unknown", "GTX Pro", "Unknown"],
            "deal_stage": ["Won", "Won", "Lost"],
            "engage_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
            "close_date": pd.to_datetime(["2026-02-01", "2026-04-01", "2026-03-20"]),
            "close_value": [1000.0, 1100.0, float("nan")],
            "amount": float("nan"),
            "list_price": float("nan"),
        }
    )
    found = comparable_deals(closed, pd.Series({"product": "Unknown", "deal_value": 1051.0}), n=5)
    assert found["basis"]["basis"].iloc[0] == "any product (this deal's product is unknown)"
    assert found["Won"]["opportunity_id"].tolist() == ["W2", "W1"]


def _open_deals() -> pd.DataFrame:
    """Three open deals, sorted by id as the app holds them."""
    return pd.DataFrame(
        {
            "opportunity_id": ["A1", "B2", "C3"],
            "account": ["Acme", "", "Zeta"],
            "product": ["P", "P", "Q"],
            "risk_tier": ["Critical", "Low", "High"],
            "win_probability": [0.02, 0.8, 0.3],
            "deal_value": [5000.0, 100.0, 1000.0],
            "value_at_risk": [4900.0, 20.0, 700.0],
            "stale": [False, False, False],
        }
    )


def test_default_deal_is_the_one_most_worth_attention() -> None:
    deals = _open_deals()
    # A1 has most value at risk but is all but lost; C3 (30%) has more value in play
    assert default_deal(deals, deals, ["Critical", "High", "Low"]) == "C3"
    assert (
        default_deal(deals, deals.iloc[[1]], ["Critical", "High", "Low"]) == "B2"
    )  # no attention deal in view


def test_deal_choices_put_an_outside_current_deal_first() -> None:
    deals = _open_deals()
    row_of = pd.Series(deals.index, index=deals["opportunity_id"])
    choices = deal_choices(deals, deals.iloc[[0, 2]], "B2", row_of, limit=5, money=Money("USD"))
    assert list(choices) == ["B2", "A1", "C3"]
    assert choices["B2"] == "B2 - (no account) - P - $20 at risk"
    in_euros = deal_choices(deals, deals.iloc[[0, 2]], "B2", row_of, limit=5, money=Money("EUR"))
    assert in_euros["B2"] == "B2 - (no account) - P - €20 at risk"


def test_waterfall_labels_read_values_as_the_drivers_do() -> None:
    """Rates as percentages (the driver says "57%", the waterfall said "0.57") and a missing value as
    "unknown" (the driver says "Account's revenue is unknown", the waterfall dropped the value)."""
    contributions = pd.DataFrame(
        {
            "feature": ["rep_win_rate", "account_revenue", "rep_closed_deals"],
            "feature_label": ["rep's win rate", "account's revenue", "deals the rep has closed so far"],
            "feature_value": ["0.5718580171867369", "nan", "365.0"],
            "shap_value": [-0.007, 0.086, -0.025],
            "step": [1, 2, 3],
        }
    )
    labels = waterfall_steps(contributions, base_value=0.5)["label"].tolist()
    assert labels[1:4] == [
        "rep's win rate = 57%",
        "account's revenue = unknown",
        "deals the rep has closed so far = 365",
    ]


def test_the_field_history_reads_in_a_managers_words() -> None:
    def deal(**facts: object) -> pd.Series:
        return pd.Series({"stage": "Proposal", "deal_stage": "Engaging", "stale": False, **facts})

    assert history_text(deal(days_in_stage=34.0, close_date_pushes=2.0, days_pushed=60.0)) == (
        "In Proposal for 34 days; close date pushed twice, 60 days in all."
    )
    assert history_text(deal(days_in_stage=1.0, close_date_pushes=1.0, days_pushed=30.0)) == (
        "In Proposal for 1 day; close date pushed once, by 30 days."
    )
    assert history_text(deal(days_in_stage=0.0, close_date_pushes=0.0, days_pushed=0.0)) == (
        "Moved to Proposal today; close date never pushed."
    )
    assert history_text(deal(days_in_stage=12.0, close_date_pushes=5.0, days_pushed=float("nan"))) == (
        "In Proposal for 12 days; close date pushed 5 times."
    )
    no_own_stage = pd.Series({"stage": "", "deal_stage": "Engaging", "days_in_stage": 3.0})
    assert history_text(no_own_stage) == "In Engaging for 3 days."


def test_no_field_history_no_history_text() -> None:
    blank = pd.Series(
        {
            "stage": "Angebot",
            "days_in_stage": float("nan"),
            "close_date_pushes": float("nan"),
            "days_pushed": float("nan"),
        }
    )
    assert history_text(blank) == ""
    assert history_text(pd.Series({"stage": "Angebot", "deal_stage": "Engaging"})) == ""  # older runs
    assert history_text(pd.Series({"days_in_stage": "", "close_date_pushes": ""})) == ""  # as text


def test_waterfall_reads_a_blank_value_as_unknown() -> None:
    """The batch step writes a missing feature value blank (CSV and Parquet alike), not "nan": on a
    Salesforce export's deal with no account the waterfall showed "account's employees" with no value
    beside a driver saying "Account's employees is unknown"."""
    contributions = pd.DataFrame(
        {
            "feature": ["account_employees", "account_win_rate"],
            "feature_label": ["account's employees", "account's win rate"],
            "feature_value": ["", ""],
            "shap_value": [0.006, 0.001],
            "step": [1, 2],
        }
    )
    labels = waterfall_steps(contributions, base_value=0.5)["label"].tolist()
    assert labels[1:3] == ["account's employees = unknown", "account's win rate = unknown"]


def test_waterfall_names_the_stage_reached_as_the_driver_does() -> None:
    """The driver said "In Proposal, stage 3 of 4"; the waterfall beside it "stage reached (0 = the first
    open stage) = 2"."""
    contributions = pd.DataFrame(
        {
            "feature": ["stage_position", "close_date_pushes"],
            "feature_label": ["stage reached (0 = the first open stage)", "times the close date was pushed"],
            "feature_value": ["2.0", "2.0"],
            "shap_value": [0.24, -0.04],
            "step": [1, 2],
        }
    )
    stages = ("Qualify", "Discovery", "Proposal", "Negotiation")
    labels = waterfall_steps(contributions, base_value=0.4, stage_order=stages)["label"].tolist()
    assert labels[1:3] == ["stage reached = Proposal, stage 3 of 4", "times the close date was pushed = 2"]
    unnamed = waterfall_steps(contributions, base_value=0.4)["label"].tolist()  # no stage order in the run
    assert unnamed[1] == "stage reached (0 = the first open stage) = 2"


def test_waterfall_reads_the_amounts_change_as_a_percentage_like_its_driver() -> None:
    """The driver said "Amount up 7% since first entered", the waterfall "... first entered = 0.07"."""
    contributions = pd.DataFrame(
        {
            "feature": ["amount_change", "days_in_stage"],
            "feature_label": ["change of the amount since it was first entered", "days in the current stage"],
            "feature_value": ["0.07272727272727275", "58.0"],
            "shap_value": [0.02, -0.01],
            "step": [1, 2],
        }
    )
    labels = waterfall_steps(contributions, base_value=0.5)["label"].tolist()
    assert labels[1:3] == [
        "change of the amount since it was first entered = 7%",
        "days in the current stage = 58",
    ]
