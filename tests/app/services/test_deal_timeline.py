"""Unit tests of "How this deal got here": the change sentences read off a hand-built deal_timeline frame
(pushes, pull-ins, stage forward and back, amount up and down, category changes), the push count the
drill-down compares with the predictions, and the CSV it offers."""

from __future__ import annotations

import io

import pandas as pd

from app.components.format import Money
from app.services.deal import (
    close_date_pushes,
    push_disagreement,
    timeline_changes,
    timeline_csv,
    timeline_summary,
)

STAGES = ("Qualify", "Discovery", "Proposal", "Negotiation")
COLUMNS = ["opportunity_id", "changed_at", "stage", "amount", "rep_close_date", "forecast_category"]


def _timeline(rows: list[tuple]) -> pd.DataFrame:
    """deal_timeline rows as the store types them (dates as dates, amounts as numbers, blank text "")."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.assign(
        changed_at=pd.to_datetime(frame["changed_at"]),
        rep_close_date=pd.to_datetime(frame["rep_close_date"]),
        amount=frame["amount"].astype(float),
    )


# deal B comes first in the file but sorts after deal A; deal A's third row moves stage, amount and category
# at once, its fourth moves stage back, pulls the close date in and lowers the amount
TIMELINE = _timeline(
    [
        ("B", "2026-01-05", "Discovery", 1000, None, ""),
        ("A", "2025-08-04", "Qualify", 5000, "2025-09-18", "Pipeline"),
        ("A", "2025-09-22", "Qualify", 5000, "2025-10-18", "Pipeline"),
        ("A", "2025-10-01", "Proposal", 6500, "2025-10-18", "Commit"),
        ("A", "2025-10-10", "Discovery", 6000, "2025-10-08", "Commit"),
        ("A", "2025-10-20", "Discovery", 6000, "2025-11-07", "Commit"),
        ("B", "2026-01-09", "Demo booked", 1000, "2026-03-31", "Best Case"),
        ("B", "2026-01-09", "Demo booked", 1000, "2026-03-31", ""),
    ]
)


def test_each_change_reads_in_words_against_the_deals_previous_row() -> None:
    changes = timeline_changes(TIMELINE, STAGES, Money("USD"))
    said = list(
        zip(
            changes["opportunity_id"],
            changes["changed_at"].dt.strftime("%Y-%m-%d"),
            changes["what_changed"],
            strict=True,
        )
    )
    assert said == [
        (
            "A",
            "2025-08-04",
            "first recorded: in Qualify, amount $5,000, close date 18 Sep 2025, forecast category Pipeline",
        ),
        ("A", "2025-09-22", "close date pushed from 18 Sep 2025 to 18 Oct 2025 (+30 days)"),
        ("A", "2025-10-01", "stage moved forward from Qualify to Proposal"),
        ("A", "2025-10-01", "amount raised from $5,000 to $6,500"),
        ("A", "2025-10-01", "forecast category changed from Pipeline to Commit"),
        ("A", "2025-10-10", "stage moved back from Proposal to Discovery"),
        ("A", "2025-10-10", "close date pulled in from 18 Oct 2025 to 8 Oct 2025 (-10 days)"),
        ("A", "2025-10-10", "amount lowered from $6,500 to $6,000"),
        ("A", "2025-10-20", "close date pushed from 8 Oct 2025 to 7 Nov 2025 (+30 days)"),
        ("B", "2026-01-05", "first recorded: in Discovery, amount $1,000"),
        # a stage the CRM's order does not name has no direction; a first close date is no push
        ("B", "2026-01-09", "stage changed from Discovery to Demo booked"),
        ("B", "2026-01-09", "close date set to 31 Mar 2026"),
        ("B", "2026-01-09", "forecast category set to Best Case"),
        ("B", "2026-01-09", "forecast category cleared (was Best Case)"),  # same day: the file's order
    ]
    assert changes["change"].tolist()[:9] == [
        "first",
        "close_pushed",
        "stage_forward",
        "amount_up",
        "category_changed",
        "stage_back",
        "close_pulled",
        "amount_down",
        "close_pushed",
    ]


def test_pushes_count_only_later_close_dates_as_the_batch_step_does() -> None:
    changes = timeline_changes(TIMELINE, STAGES)
    deal_a = changes[changes["opportunity_id"] == "A"]
    assert close_date_pushes(deal_a) == (2, 60.0)  # the 10-day pull-in neither counts nor subtracts
    assert close_date_pushes(changes[changes["opportunity_id"] == "B"]) == (0, 0.0)
    assert timeline_summary(deal_a) == (
        "Since 4 Aug 2025: close date pushed twice, 60 days in all; close date pulled in once; stage moved "
        "forward once; stage moved back once; amount raised once; amount lowered once; forecast category "
        "changed once."
    )


def test_a_push_count_the_predictions_do_not_share_is_said_with_both_figures() -> None:
    deal_a = timeline_changes(TIMELINE, STAGES).query("opportunity_id == 'A'")
    agreeing = pd.Series({"close_date_pushes": 2.0, "days_pushed": 60.0})
    assert push_disagreement(deal_a, agreeing) == ""
    assert (
        push_disagreement(deal_a, pd.Series({"close_date_pushes": float("nan")})) == ""
    )  # nothing to compare
    message = push_disagreement(deal_a, pd.Series({"close_date_pushes": 3.0, "days_pushed": 90.0}))
    assert message.startswith("The changes below count 2 close-date pushes (60 days in all)")
    assert "says 3 pushes, 90 days" in message


def test_amounts_of_a_million_read_in_one_unit_and_a_euro_run_in_euros() -> None:
    big = _timeline(
        [
            ("C", "2026-01-05", "Proposal", 1_650_000, "2026-03-31", "Commit"),
            ("C", "2026-02-05", "Proposal", 1_660_000, "2026-03-31", "Commit"),
        ]
    )
    assert timeline_changes(big, STAGES, Money("EUR"))["what_changed"].tolist()[1] == (
        "amount raised from €1.65M to €1.66M"
    )


def test_the_csv_keeps_the_codes_beside_the_sentences() -> None:
    changes = timeline_changes(TIMELINE, STAGES)
    exported = pd.read_csv(io.StringIO(timeline_csv(changes)), keep_default_na=False)
    assert exported.columns.tolist() == [
        "opportunity_id",
        "changed_at",
        "change",
        "before",
        "after",
        "days_moved",
        "what_changed",
    ]
    assert len(exported) == len(changes)
    pushed = exported[exported["change"] == "close_pushed"]
    assert pushed["days_moved"].tolist() == ["30", "30"]  # whole days (other rows blank)
    assert pushed["before"].tolist()[0] == "2025-09-18" and pushed["after"].tolist()[0] == "2025-10-18"


def test_an_empty_timeline_has_no_changes() -> None:
    changes = timeline_changes(TIMELINE.iloc[0:0], STAGES)
    assert changes.empty and changes.columns.tolist()[-1] == "what_changed"
    assert timeline_summary(changes) == ""
