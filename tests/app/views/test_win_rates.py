"""AppTest of the Win Rates page: the team's latest win rate, its trend and likely range, segments ranked by
the low end of their range, the why-it-moved sentence and bars adding up to the team's change, the rep
consistency sentence, all computed here from the fixture CSVs; a manager filter shows that manager's rows and
reps; a combination the files do not hold says so instead of showing the team's numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.diagnostics.win_rates import change_sentence

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
STATISTICS = ("Wilson", "p-value", "p <", "z-test", "binomial")


def _page() -> AppTest:
    """The app, switched to Win Rates."""
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    at.switch_page("views/win_rates.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """win_rates, win_rate_change and rep_consistency, read here independently of the app."""
    rates = pd.read_csv(
        out / "win_rates.csv", parse_dates=["period_start"], keep_default_na=False, na_values=[""]
    )
    change = pd.read_csv(out / "win_rate_change.csv", parse_dates=["period_before", "period_after"])
    consistency = pd.read_csv(out / "rep_consistency.csv")
    return rates, change, consistency


def _metrics(at: AppTest) -> dict[str, str]:
    """Label -> value of every metric on the page."""
    return {m.label: m.value for m in at.metric}


def _chart(at: AppTest, key: str) -> list[dict]:
    """The traces of the Plotly chart drawn with ``key``."""
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key))
    return json.loads(chart.proto.spec)["data"]


def _text(at: AppTest) -> str:
    """Every markdown and caption on the page, escapes removed."""
    return " ".join(x.value.replace("\\", "") for x in [*at.markdown, *at.caption, *at.info])


def test_team_win_rate_trend_and_why_it_moved(diagnostics_env: Path) -> None:
    rates, change, _ = _tables(diagnostics_env)
    team = rates[rates["segment_type"].eq("all")].sort_values("period_start")
    latest = team.iloc[-1]
    quarter = f"Q{latest['period_start'].quarter} {latest['period_start'].year}"
    at = _page()
    shown = _metrics(at)
    assert shown[f"Win rate, {quarter}"] == f"{latest['win_rate']:.0%}"
    assert shown["Likely range"] == f"{latest['low']:.0%} - {latest['high']:.0%}"
    assert shown["Deals closed"] == f"{int(latest['closed']):,}"
    step = (latest["win_rate"] - team.iloc[-2]["win_rate"]) * 100
    assert shown[
        f"Change from Q{team.iloc[-2]['period_start'].quarter} {team.iloc[-2]['period_start'].year}"
    ] == (f"{step:+.1f} pts")
    trend = _chart(at, "win_rate_trend")
    line = next(t for t in trend if t.get("name") == "Win rate")
    assert line["y"] == pytest.approx(team["win_rate"].tolist(), abs=1e-6)
    assert len(line["x"]) == len(team)
    moved = [t for t in trend if t.get("name") == "Moved beyond chance"]
    assert sum(len(t["y"]) for t in moved) == int(team["changed"].sum())
    text = _text(at)
    assert change_sentence(change) in text  # the batch step's own sentence, not the page's
    by_region = change[change["segment_type"].eq("regional_office")]
    team_change = by_region["total_change"].sum()
    assert f"add up to the team's change of {team_change * 100:+.1f} points" in text
    mix = _chart(at, "win_rate_mix")
    bars = {t["name"]: t for t in mix if t["type"] == "bar"}
    added = [
        a + b
        for a, b in zip(
            bars["Its share of the closed deals moved"]["x"], bars["Its own win rate moved"]["x"], strict=True
        )
    ]
    assert sum(added) == pytest.approx(team_change * 100, abs=1e-6)


def test_segments_are_ranked_by_the_low_end_of_their_range(diagnostics_env: Path) -> None:
    rates, _, _ = _tables(diagnostics_env)
    latest = rates["period_start"].max()
    reps = rates[rates["segment_type"].eq("sales_agent") & rates["period_start"].eq(latest)]
    expected = reps.sort_values(["low", "win_rate", "segment"], ascending=[False, False, True])["segment"]
    at = _page()
    at.selectbox(key="win_rates_compare_all").select("sales_agent").run()
    table = at.dataframe[0].value
    assert list(table["segment"]) == list(expected)
    assert "ranked by the low end of each likely range" in _text(at)
    ranked = _chart(at, "win_rate_segments")[0]
    assert ranked["x"] == pytest.approx(
        reps.set_index("segment").loc[list(expected), "win_rate"].tolist(), abs=1e-6
    )


def test_a_manager_sees_their_own_rows_and_reps(diagnostics_env: Path) -> None:
    rates, change, consistency = _tables(diagnostics_env)
    predictions = pd.read_csv(diagnostics_env / "latest_predictions.csv")
    manager = sorted(predictions["manager"].unique())[0]
    mine = rates[rates["segment_type"].eq("manager") & rates["segment"].eq(manager)].sort_values(
        "period_start"
    )
    latest = mine.iloc[-1]
    at = _page()
    at.sidebar.multiselect(key="_w_filter_managers").select(manager).run()
    assert not at.exception
    quarter = f"Q{latest['period_start'].quarter} {latest['period_start'].year}"
    assert _metrics(at)[f"Win rate, {quarter}"] == f"{latest['win_rate']:.0%}"
    assert at.subheader[0].value.replace("\\", "").endswith(f"manager {manager}")
    # compared by rep by default: only this manager's reps, whose parts add up to the manager's part
    reps = set(consistency.loc[consistency["manager"].eq(manager), "sales_agent"])
    listed = set(at.dataframe[0].value["segment"])
    assert listed and listed <= reps
    own = change[change["segment_type"].eq("manager") & change["segment"].eq(manager)].iloc[0]
    parts = change[change["segment_type"].eq("sales_agent") & change["segment"].isin(reps)]
    assert parts["total_change"].sum() == pytest.approx(own["total_change"], abs=1e-9)
    text = _text(at)
    assert f"add up to {own['total_change'] * 100:+.1f} points of the team's" in text
    assert f"{manager} won {own['won_before'] / own['closed_before']:.0%} of" in text
    steady = consistency[consistency["manager"].eq(manager) & consistency["spread"].notna()]
    assert f"of {manager}'s {len(steady)} rep" in text
    dots = _chart(at, "win_rate_consistency")
    assert sum(len(t["x"]) for t in dots if t.get("mode", "").startswith("markers")) == len(steady)


def test_a_combination_the_files_do_not_hold_is_said_not_replaced(diagnostics_env: Path) -> None:
    predictions = pd.read_csv(diagnostics_env / "latest_predictions.csv")
    at = _page()
    at.sidebar.multiselect(key="_w_filter_managers").select(sorted(predictions["manager"].unique())[0])
    at.sidebar.multiselect(key="_w_filter_products").select(sorted(predictions["product"].unique())[0]).run()
    assert not at.exception
    assert "not combined" in at.info[0].value
    assert not at.metric and not at.get("plotly_chart")


def test_the_statistics_stay_in_the_analysts_expander(diagnostics_env: Path) -> None:
    at = _page()
    analysts = next(e for e in at.expander if e.label == "For analysts: how these figures are computed")
    inside = {c.value for c in analysts.caption}
    outside = " ".join(x.value for x in [*at.main.markdown, *at.main.caption] if x.value not in inside)
    assert not [word for word in STATISTICS if word in outside]
    assert "Wilson" in " ".join(inside)


def test_a_run_without_the_file_says_which_command_writes_it(
    fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out)
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert at.info[0].value.startswith("Win rates by quarter (win_rates.csv) is not in this run")
    assert at.code[0].value == f"python models/inference/predict.py --out-dir {out}"


def test_stage_to_stage_reads_the_file_with_thousands_separated(
    diagnostics_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a field history the page shows stage_conversion.csv: its sentence and table hold the file's
    counts, and the counts are drawn with thousands separators as the sentence writes them (a bug: the
    table read "9669" beside "9,669")."""
    from core.export import csv_bytes, parquet_bytes
    from core.outputs import CONVERSION, CONVERSION_FILE, METADATA_FILE, decimals, fast_file

    out = tmp_path / "out"
    shutil.copytree(diagnostics_outputs, out)
    conversion = pd.DataFrame(
        {
            "stage": ["Qualify", "Discovery", "Proposal"],
            "position": [1, 2, 3],
            "reached": [11927, 9669, 7672],
            "moved_on": [9669, 7672, 6231],
            "conversion": [9669 / 11927, 7672 / 9669, 6231 / 7672],
            "won": [6231, 6231, 6231],
            "win_rate": [6231 / 11927, 6231 / 9669, 6231 / 7672],
        }
    )
    (out / CONVERSION_FILE).write_bytes(csv_bytes(conversion, decimals(CONVERSION)))
    (out / fast_file(CONVERSION_FILE)).write_bytes(parquet_bytes(conversion, decimals(CONVERSION)))
    metadata = json.loads((out / METADATA_FILE).read_text())
    (out / METADATA_FILE).write_text(json.dumps({**metadata, "run_id": f"{metadata['run_id']}-stages"}))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    at = _page()
    assert "Deals leak most at Discovery: of the 9,669 closed deals that reached it, 7,672 (79%)" in _text(at)
    table = next(d for d in at.dataframe if "moved_on" in d.value.columns)
    assert table.value["reached"].tolist() == [11927, 9669, 7672]
    config = json.loads(table.proto.columns)
    for column in ("reached", "moved_on", "won"):
        assert config[column]["type_config"]["format"] == "localized"
