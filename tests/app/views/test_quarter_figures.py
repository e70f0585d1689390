"""The headline quarter under any sidebar filters, on the Overview and the Forecast page (AppTest).

Whatever the filters, both pages show the selection's own expected revenue (the sum over the filtered deals of
latest_predictions.csv) and a P10-P90 range or the reason there is none; never the company's figures or the
company's monthly chart under the selection's number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.components.format import Money
from app.filters import FILTER_COLUMNS, STALE_CHOICES
from app.services.pipeline import headline_quarter

money = Money("USD")  # the fixture runs are in USD (RunMetadata's default currency)

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
QUARTER_LABELS = ("Won so far", "Expected from open deals")
WHOLE_LABELS = (  # a stored segment's whole quarter, with deals not yet created
    "Expected from deals not yet created",
    "Whole quarter (expected)",
    "Whole quarter: middle estimate",
    "Whole quarter: likely range",
)
RANGE_LABELS = ("Won + open deals: likely range", "Open deals: likely range")


def _random_filters(predictions: pd.DataFrame, rng: np.random.Generator) -> dict[str, list[str] | str]:
    """Session-state filter values: a third of the time one segment the forecast stores (a rep sometimes
    with its own region, stale deals kept or excluded), else each dimension left open or given one to three
    values, with any stale choice."""
    if rng.random() < 0.35:
        name = str(rng.choice(["regions", "managers", "reps", "products"]))
        value = str(rng.choice(sorted(predictions[FILTER_COLUMNS[name]].astype(str).unique())))
        single: dict[str, list[str] | str] = {name: [value], "stale": str(rng.choice(STALE_CHOICES[:2]))}
        if name == "reps" and rng.random() < 0.5:
            own = predictions.loc[predictions["sales_agent"] == value, "regional_office"]
            single["regions"] = [str(own.iloc[0])]
        return single
    chosen: dict[str, list[str] | str] = {}
    if "scored" in predictions and rng.random() < 0.3:
        chosen["include_unscored"] = "yes"
    for name, column in FILTER_COLUMNS.items():
        if rng.random() < 0.4:
            values = sorted(predictions[column].astype(str).unique())
            if name == "tiers" and "include_unscored" not in chosen:  # the sidebar offers it only then
                values = [v for v in values if v != "Unscored"]
            k = int(rng.integers(1, min(3, len(values)) + 1))
            chosen[name] = sorted(rng.choice(values, k, replace=False).tolist())
    chosen["stale"] = str(rng.choice(STALE_CHOICES, p=[0.5, 0.3, 0.2]))
    return chosen


def _filtered(predictions: pd.DataFrame, chosen: dict[str, list[str] | str]) -> pd.DataFrame:
    """The deals ``chosen`` selects, computed here with plain pandas (scored deals unless included)."""
    mask = pd.Series(True, index=predictions.index)
    if "scored" in predictions and "include_unscored" not in chosen:
        mask &= predictions["scored"]
    for name, column in FILTER_COLUMNS.items():
        if chosen.get(name):
            mask &= predictions[column].astype(str).isin(chosen[name])
    if chosen["stale"] == "Exclude stale":
        mask &= ~predictions["stale"]
    elif chosen["stale"] == "Stale only":
        mask &= predictions["stale"]
    return predictions[mask]


def _check_combinations(out: Path, combinations: int, seed: int) -> dict[str, int]:
    """Run ``combinations`` random filter sets through both pages; how many had which kind of range."""
    predictions = pd.read_csv(
        out / "latest_predictions.csv",
        dtype={c: str for c in ("opportunity_id", *FILTER_COLUMNS.values())},
        keep_default_na=False,
        na_values={c: [""] for c in ("deal_value", "p_close_in_quarter", "p_close_next_quarter")},
    )
    predictions["stale"] = predictions["stale"].astype(str).eq("True")
    if "scored" in predictions:
        predictions["scored"] = predictions["scored"].astype(str).eq("True")
    import json

    as_of = pd.Timestamp(json.loads((out / "predictions_metadata.json").read_text())["as_of"])
    column = headline_quarter(as_of).probability_column
    rng = np.random.default_rng(seed)
    kinds = {"stored": 0, "computed": 0}
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    for _ in range(combinations):
        chosen = _random_filters(predictions, rng)
        deals = _filtered(predictions, chosen)
        expected = float((deals["deal_value"] * deals[column]).sum())
        live = ~deals["stale"] & (deals["scored"] if "scored" in deals else True)
        contributing = int(live.sum())
        for name in FILTER_COLUMNS:
            at.session_state[f"filter_{name}"] = list(chosen.get(name, []))
        at.session_state["filter_stale"] = chosen["stale"]
        at.session_state["filter_include_unscored"] = "include_unscored" in chosen
        shown = {}
        for page in ("views/overview.py", "views/forecast.py"):
            at.switch_page(page).run()
            assert not at.exception, (chosen, [e.value for e in at.exception])
            metrics = {m.label: m.value for m in at.metric}
            assert metrics["Expected from open deals"] == money(expected), (page, chosen)
            ranges = [label for label in RANGE_LABELS if label in metrics]
            assert ranges or any("No range" in c.value for c in at.caption), (page, chosen)
            captions = " ".join(c.value for c in at.caption)
            if metrics["Won so far"] == "n/a" or "computed on this page" in captions:
                kinds["computed"] += page.endswith("overview.py")
                assert f"computed on this page for the {contributing:,} filtered deals" in captions or (
                    contributing == 0 and "None of the filtered deals can be won" in captions
                ), (page, chosen, captions)
                if page.endswith("overview.py"):  # no company chart under the selection's number
                    assert not at.get("plotly_chart"), chosen
                else:
                    assert any(i.value.startswith("Weekly and monthly figures exist") for i in at.info)
                # never the team's whole quarter beside the selection's figures
                assert not [label for label in WHOLE_LABELS if label in metrics], (page, chosen)
                whole = ()
            else:
                kinds["stored"] += page.endswith("overview.py")
                assert any("batch forecast's for it" in c.value for c in at.caption), (page, chosen)
                whole = WHOLE_LABELS
            shown[page] = {label: metrics[label] for label in (*QUARTER_LABELS, *whole, *ranges)}
        assert shown["views/overview.py"] == shown["views/forecast.py"], chosen  # one number, two pages

    return kinds


def test_twenty_random_filter_sets_show_their_own_quarter(app_env: Path) -> None:
    kinds = _check_combinations(app_env, 20, seed=18)
    assert kinds["stored"] >= 2 and kinds["computed"] >= 2, kinds  # both paths were exercised


@pytest.mark.slow
def test_twenty_random_filter_sets_on_real_demo_outputs(
    demo_outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(demo_outputs))
    kinds = _check_combinations(demo_outputs, 20, seed=3)
    assert kinds["stored"] >= 2 and kinds["computed"] >= 2, kinds


def test_a_region_and_one_of_its_reps_is_that_rep(app_env: Path) -> None:
    forecast = pd.read_csv(app_env / "forecast.csv")
    predictions = pd.read_csv(app_env / "latest_predictions.csv", keep_default_na=False)
    live = predictions[~predictions["stale"]]
    rep = live.groupby("sales_agent").size().idxmax()
    region = live.loc[live["sales_agent"] == rep, "regional_office"].iloc[0]
    quarters = forecast[forecast.period_type == "quarter"]
    row = quarters[(quarters.segment_type == "sales_agent") & (quarters.segment == rep)].iloc[0]
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.sidebar.multiselect(key="_w_filter_regions").select(region).run()
    at.sidebar.multiselect(key="_w_filter_reps").select(rep).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Won so far"] == money(row["closed_won"])
    won = row["closed_won"]
    assert (
        metrics["Won + open deals: likely range"] == f"{money(won + row['p10'])} - {money(won + row['p90'])}"
    )
    whole = money.same_unit(*row[["total_expected", "total_p50", "total_p10", "total_p90"]])
    assert metrics["Whole quarter (expected)"] == whole[0]  # the rep's, with deals not yet created
    assert at.get("plotly_chart")  # the rep's monthly chart
