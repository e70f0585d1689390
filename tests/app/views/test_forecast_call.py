"""AppTest of the weekly forecast call on the Forecast page: the chance of reaching a typed quarter target,
its coverage and gap; the reps' call by forecast category against the model, commit at risk and upside; the
track record. Every expected figure is computed here from the fixture CSVs, not by the app's code."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from app.components.format import Money, md, percent

money = Money("USD")  # the fixture runs are in USD

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
QUARTER_START = "2026-07-01"  # the fixture's as-of date 2026-08-14 leads with this quarter
QUARTER_END = "2026-09-30"


def _page() -> AppTest:
    """The app on the Forecast page."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/forecast.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    """Label -> value of every metric on the page."""
    return {m.label: m.value for m in at.metric}


def _texts(at: AppTest) -> list[str]:
    """Every markdown and caption text, Markdown escapes removed."""
    return [t.value.replace("\\", "") for t in (*at.markdown, *at.caption)]


def _quarter(out: Path, segment_type: str = "all", segment: str = "All") -> tuple[pd.Series, pd.DataFrame]:
    """forecast.csv's headline-quarter row and forecast_quantiles.csv's grid of the whole quarter (won so
    far + open deals + deals not yet created) for one segment."""
    forecast = pd.read_csv(out / "forecast.csv")
    row = forecast[
        (forecast.period_type == "quarter")
        & (forecast.period_start == QUARTER_START)
        & (forecast.segment_type == segment_type)
        & (forecast.segment == segment)
    ].iloc[0]
    quantiles = pd.read_csv(out / "forecast_quantiles.csv")
    grid = quantiles[
        (quantiles.period_type == "quarter")
        & (quantiles.period_start == QUARTER_START)
        & (quantiles.segment_type == segment_type)
        & (quantiles.segment == segment)
        & (quantiles.scope == "total")
    ].sort_values("q")
    return row, grid


def _chance(grid: pd.DataFrame, target: float) -> float:
    """P(revenue >= target) read linearly off the grid (q = 0.01 .. 0.99)."""
    return 1.0 - float(np.interp(target, grid["revenue"], grid["q"]))


def test_chance_coverage_and_gap_of_a_target_for_the_whole_pipeline(app_env: Path) -> None:
    row, grid = _quarter(app_env)
    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    stale = predictions["stale"].astype(str).eq("True")
    open_pipeline = predictions.loc[~stale, "deal_value"].sum()  # stale deals are no pipeline
    stale_value = predictions.loc[stale, "deal_value"].sum()
    assert stale_value > 0
    target = round(row["total_p50"] + (row["total_p90"] - row["total_p50"]) / 2, -2)  # above the middle
    needed = target - row["closed_won"]
    chance = _chance(grid, target)  # the whole quarter's grid: what is won is in it already
    assert 0.1 < chance < 0.5
    gap = target - row["total_expected"]  # against the whole quarter, deals not yet created included
    whole_expected = money.same_unit(*row[["total_expected", "total_p50", "total_p10", "total_p90"]])[0]
    assert gap > 0 and row["new_expected"] > 0
    at = _page()
    at.number_input(key="forecast_target").set_value(target).run()
    shown = _metrics(at)
    assert shown["Chance of reaching the target"] == percent(chance)
    assert shown["Pipeline coverage"] == f"{open_pipeline / needed:.1f}x"
    assert shown["Gap to target (expected)"] == money(gap)
    sentence = next(t for t in _texts(at) if t.startswith("To reach"))
    assert sentence == (
        f"To reach {money.exact(target)} the quarter needs {money(needed)} more than the "
        f"{money(row['closed_won'])} already won. The open pipeline of {money(open_pipeline)} (not counting "
        f"{money(stale_value)} in stale deals) is "
        f"{open_pipeline / needed:.1f} times that. The model expects {money(row['expected'])} from open "
        f"deals and {money(row['new_expected'])} from deals not yet created, so the whole quarter's expected "
        f"{whole_expected} is {money(gap)} short of the target. Chance of reaching it: "
        f"{percent(chance)}."
    )
    # the sentence's figures are the metrics' above it
    assert shown["Expected from deals not yet created"] == money(row["new_expected"])
    assert shown["Whole quarter (expected)"] == whole_expected
    # the target line stays on the cumulative chart
    specs = [json.loads(chart.proto.spec)["layout"] for chart in at.get("plotly_chart")]
    assert [shape["y0"] for layout in specs for shape in layout.get("shapes", [])] == [target]


def test_chance_of_a_region_and_none_for_a_selection_that_is_no_segment(app_env: Path) -> None:
    predictions = pd.read_csv(app_env / "latest_predictions.csv")
    region = sorted(predictions["regional_office"].unique())[0]
    row, grid = _quarter(app_env, "regional_office", region)
    target = round(row["total_p90"], -2)  # about the whole quarter's P90
    at = _page()
    at.sidebar.multiselect(key="_w_filter_regions").select(region).run()
    at.number_input(key="forecast_target").set_value(target).run()
    assert _metrics(at)["Chance of reaching the target"] == percent(_chance(grid, target))
    assert _metrics(at)["Gap to target (expected)"] == money(max(target - row["total_expected"], 0.0))
    at.sidebar.multiselect(key="_w_filter_tiers").select("Critical").run()  # no stored segment
    assert _metrics(at)["Chance of reaching the target"] == "n/a"
    assert _metrics(at)["Gap to target (expected)"] == "n/a"  # no whole quarter for the selection
    assert any(t.startswith("The chance of reaching a target and the gap to it need") for t in _texts(at))


def test_a_target_already_won_is_reached(app_env: Path) -> None:
    row, _ = _quarter(app_env)
    at = _page()
    at.number_input(key="forecast_target").set_value(float(int(row["closed_won"] // 2))).run()
    assert _metrics(at)["Chance of reaching the target"] == "Already reached"


def _called(out: Path) -> pd.DataFrame:
    """The open deals the reps call for the quarter (rep close date inside it), with the model's expected."""
    predictions = pd.read_csv(
        out / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    predictions["deal_value"] = predictions["deal_value"].astype(float)
    predictions["p"] = predictions["p_close_in_quarter"].astype(float)
    called = predictions[predictions["rep_close_date"].between(QUARTER_START, QUARTER_END)]
    return called.assign(
        category=called["forecast_category"].replace("", "Not set"),
        expected=called["deal_value"] * called["p"],
    )


def _strongest(deals: pd.DataFrame, lowers: bool) -> list[str]:
    """Per deal, the driver sentence of the most negative (``lowers``) or most positive driver impact."""
    chosen = []
    for _, deal in deals.iterrows():
        impacts = {deal[f"driver_{k}"]: float(deal[f"driver_{k}_impact"]) for k in (1, 2, 3)}
        best = (min if lowers else max)(impacts, key=impacts.get)
        found = impacts[best] < 0 if lowers else impacts[best] > 0
        chosen.append(best if found else ("None lowers its chance" if lowers else "None raises its chance"))
    return chosen


def test_reps_call_by_category_against_the_model(history_env: Path, csv_downloads) -> None:
    called = _called(history_env)
    at = _page()
    assert "The reps' call against the model, Q3 2026 (this quarter)" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "reps_rollup" in d.value.columns)
    assert table["category"].tolist() == ["Commit", "Best Case", "Pipeline", "Not set"]
    by_category = called.groupby("category").agg(deals=("p", "size"), rollup=("deal_value", "sum"))
    expected = called.groupby("category")["expected"].sum()
    for _, row in table.iterrows():
        assert row["deals"] == by_category.loc[row["category"], "deals"]
        assert row["reps_rollup"] == round(by_category.loc[row["category"], "rollup"])
        assert row["model_expected"] == round(expected[row["category"]])
        assert " - " in row["model_range"]  # the simulated P10 - P90 of the same deals
    commit = called[called["category"] == "Commit"]
    assert md(
        f"The reps commit {money(commit['deal_value'].sum())} in {len(commit)} deals for Q3 2026 (this "
        f"quarter); for the same deals the model expects {money(commit['expected'].sum())} inside the quarter"
    ).replace("\\", "") in " ".join(_texts(at))
    assert "seed" not in " ".join(_texts(at)) and "simulations" not in " ".join(_texts(at))  # Health's
    at_risk = commit[commit["p"] < 0.3].sort_values(["deal_value", "opportunity_id"], ascending=[False, True])
    deal_lists = [d.value for d in at.dataframe if "model_chance" in d.value.columns]  # at risk, upside
    assert len(at_risk) and deal_lists[0]["opportunity_id"].tolist() == at_risk["opportunity_id"].tolist()
    assert deal_lists[0]["main_driver"].tolist() == _strongest(at_risk, lowers=True)  # never a lift
    assert deal_lists[0]["stale"].tolist() == at_risk["stale"].astype(str).eq("True").tolist()
    everyone = pd.read_csv(
        history_env / "latest_predictions.csv", dtype={"opportunity_id": str}, keep_default_na=False
    )
    upside = everyone[
        everyone["forecast_category"].isin(["Pipeline", "Best Case"]) & (everyone["p_close_in_quarter"] > 0.6)
    ]
    assert len(upside) and sorted(deal_lists[1]["opportunity_id"]) == sorted(upside["opportunity_id"])
    lifts = dict(zip(upside["opportunity_id"], _strongest(upside, lowers=False), strict=True))
    assert deal_lists[1]["main_driver"].tolist() == [lifts[d] for d in deal_lists[1]["opportunity_id"]]
    exported = csv_downloads(at)["reps_call_2026-08-14.csv"]
    assert set(exported["opportunity_id"]) == set(called["opportunity_id"]) | set(upside["opportunity_id"])
    flags = exported.set_index("opportunity_id")["flag"]
    assert sorted(flags[flags == "commit at risk"].index) == sorted(at_risk["opportunity_id"])
    assert sorted(flags[flags == "upside"].index) == sorted(upside["opportunity_id"])


def test_no_categories_no_reps_call(app_env: Path) -> None:
    at = _page()
    assert not [h for h in at.subheader if "reps' call" in h.value]


def _track_chart(at: AppTest) -> dict:
    """The track record's figure."""
    return next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if json.loads(c.proto.spec)["layout"].get("xaxis", {}).get("title", {}).get("text")
        == "Forecast made on (each Friday)"
    )


def test_track_record_counts_the_weeks_inside_the_band(history_env: Path, csv_downloads) -> None:
    accuracy = pd.read_csv(history_env / "forecast_accuracy.csv").sort_values("as_of")
    inside = int(((accuracy["actual"] >= accuracy["p10"]) & (accuracy["actual"] <= accuracy["p90"])).sum())
    miss = (accuracy["p50"] - accuracy["actual"]).mean()
    rep_miss = (accuracy["rep_commit"] - accuracy["actual"]).mean()
    whole = accuracy["total_actual"].between(accuracy["total_p10"], accuracy["total_p90"])
    whole_miss = (accuracy["total_p50"] - accuracy["total_actual"]).mean()
    assert int(whole.sum()) != inside  # the two scopes count differently: the sentence must say which
    at = _page()
    # first the whole quarter: its band, everything the quarter won, and its own count
    sentence = next(t for t in _texts(at) if t.startswith("In ") and "past weeks" in t)
    assert sentence == (
        f"In {int(whole.sum())} of the {len(accuracy)} past weeks ({percent(whole.mean())}) the quarter's "
        f"whole revenue (won before that week, from deals open then and from deals created later) fell "
        f"inside that week's likely range (it aims to hold 80% of outcomes); on average the middle estimate "
        f"was {money(abs(whole_miss))} ({percent(abs(whole_miss) / accuracy['total_actual'].mean())}) "
        f"{'above' if whole_miss > 0 else 'below'} it."
    )
    chart = _track_chart(at)
    band = [t["y"] for t in chart["data"] if t.get("name") == "Likely range (80% of outcomes)"]
    assert sum(band, []) == accuracy["total_p10"].tolist()
    won = [t["y"] for t in chart["data"] if t.get("name") == "Won in the whole quarter"]
    assert sum(won, []) == accuracy["total_actual"].tolist()
    assert not [t for t in chart["data"] if t.get("name") == "Reps' Commit"]  # a call on open deals only
    # then the deals open that week, with the reps' Commit
    at.segmented_control(key="track_record_scope").set_value("open").run()
    sentence = next(t for t in _texts(at) if t.startswith("In ") and "past weeks" in t)
    assert sentence == (
        f"In {inside} of the {len(accuracy)} past weeks ({percent(inside / len(accuracy))}) what the open "
        f"deals went on to win fell inside the likely range (it aims to hold 80% of outcomes); on "
        f"average the middle estimate was {money(abs(miss))} "
        f"({percent(abs(miss) / accuracy['actual'].mean())}) "
        f"{'above' if miss > 0 else 'below'} it. The reps' Commit was on average {money(abs(rep_miss))} "
        f"{'above' if rep_miss > 0 else 'below'} it."
    )
    chart = _track_chart(at)
    band = [t["y"] for t in chart["data"] if t.get("name") == "Likely range (80% of outcomes)"]
    assert sum(band, []) == accuracy["p10"].tolist()
    assert [t for t in chart["data"] if t.get("name") == "Reps' Commit"]
    exported = csv_downloads(at)["forecast_track_record_2026-08-14.csv"]
    assert len(exported) == len(accuracy) and int(exported["inside_p10_p90"].sum()) == inside
    assert int(exported["total_inside_p10_p90"].sum()) == int(whole.sum())


def test_track_record_hidden_for_a_run_without_it(fixture_outputs: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    (out / "forecast_accuracy.csv").unlink()
    (out / "forecast_accuracy.parquet").unlink()
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metadata["run_id"] = "no-track-record"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert not [h for h in at.subheader if h.value.startswith("Track record")]


def test_the_pages_stay_quick_with_a_history(history_env: Path) -> None:
    """Within the app's budget (every page under 2 s after the first load) on the history fixture."""
    at = _page()
    for page in ("views/forecast.py", "views/what_changed.py", "views/risk_dashboard.py"):
        at.switch_page(page).run()
        started = time.perf_counter()
        at.run()
        assert time.perf_counter() - started < 2.0, page
        assert not at.exception


def test_a_large_call_simulates_its_ranges_only_when_asked(history_env: Path, monkeypatch) -> None:
    """At 100,000 open deals the three categories' ranges took 5.7 s the first time: above QUICK_DEALS the
    page asks first."""
    from app.services import selection

    monkeypatch.setattr(selection, "QUICK_DEALS", 5)
    at = _page()
    table = next(d.value for d in at.dataframe if "reps_rollup" in d.value.columns)
    assert table["model_range"].isna().all()
    at.toggle(key="call_ranges").set_value(True).run()
    table = next(d.value for d in at.dataframe if "reps_rollup" in d.value.columns)
    assert table["model_range"].str.contains(" - ").all()
