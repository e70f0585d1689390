"""The Win Rates page's stage-to-stage sentence: where the fewest closed deals move on."""

from __future__ import annotations

import pandas as pd

from app.services import win_rates as rates


def test_the_sentence_names_the_stage_where_the_fewest_move_on() -> None:
    conversion = pd.DataFrame(
        {
            "stage": ["Qualify", "Proposal", "Negotiation"],
            "position": [1, 2, 3],
            "reached": [400, 300, 120],
            "moved_on": [300, 120, 100],
            "conversion": [0.75, 0.4, 100 / 120],
        }
    )
    assert rates.conversion_sentence(conversion) == (
        "Deals leak most at Proposal: of the 300 closed deals that reached it, 120 (40%) moved on to a later "
        "stage."
    )
    last = conversion.assign(moved_on=[300, 280, 60], conversion=[0.75, 280 / 300, 0.5])
    assert rates.conversion_sentence(last).endswith(
        "of the 120 closed deals that reached it, 60 (50%) were won."
    )
    assert (
        rates.conversion_sentence(conversion.assign(reached=0)) == "No closed deal's history names a stage."
    )
