"""The leader pages (Overview, Risk Dashboard, Deal Drill-down, Forecast, What Changed) speak the sales
leader's language: no statistic names or raw codes outside an expander; the Model & Data Health page keeps the
statistics."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[3] / "app" / "main.py")
LEADER_PAGES = (
    "views/overview.py",
    "views/risk_dashboard.py",
    "views/deal_drilldown.py",
    "views/forecast.py",
    "views/what_changed.py",
)
CHANGE_CODES = re.compile(r"amount_up|amount_down|pushed_out|pulled_in|stage_forward|stage_back")
BANNED = re.compile(
    rf"\bECE\b|\bAUC\b|brier|pinball|blank_account|no_engage_date|list_price|\bNone\b|{CHANGE_CODES.pattern}",
    re.IGNORECASE,
)
# "None" and "ECE"/"AUC" are matched case-sensitively ("none of", "piece" are words, not codes)
CASE_SENSITIVE = {"none": "None", "ece": "ECE", "auc": "AUC"}
BLANK_DEAL = "ZZBLANK01"
SIGNAL = (
    "Across 3 as-of dates the model's AUC averages 0.689 and its Brier score is 30.9% better than the "
    "historical base rate (largest calibration error, ECE, 0.126)."
)


# the CSVs these tests edit: copies without the Parquet twins, which the app reads first
CSV_ONLY = shutil.ignore_patterns("*.parquet")


def _banned(text: str) -> list[str]:
    """The banned words and codes in ``text`` (Markdown escapes removed first)."""
    plain = text.replace("\\", "")
    found = []
    for match in BANNED.finditer(plain):
        word = match.group(0)
        expected = CASE_SENSITIVE.get(word.lower())
        if expected is None or word == expected:
            found.append(word)
    return found


def _texts(node: object, in_expander: bool = False) -> Iterator[tuple[bool, str]]:
    """(inside an expander?, text) of every element the page shows: markdown of every kind, metric labels,
    values and help, page links and the text cells of tables."""
    kind = getattr(node, "type", "")
    children = getattr(node, "children", None)
    if children is not None:
        inside = in_expander or kind == "expander"
        if kind == "expander":
            yield in_expander, str(node.label)
        for child in children.values():
            yield from _texts(child, inside)
        return
    if kind == "metric":
        yield in_expander, f"{node.label} {node.value} {node.proto.help}"
    elif kind == "dataframe":
        frame = node.value
        for column in frame.columns:
            if pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
                yield in_expander, " ".join(map(str, frame[column].dropna().unique()))
    elif kind == "page_link":
        yield in_expander, str(node.proto.label)
    elif hasattr(node, "value") and isinstance(getattr(node, "value", None), str):
        yield in_expander, node.value


@pytest.fixture
def leader_outputs(fixture_outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture run with what the real runs carry: data-flag codes, list-price values, a deal with no
    account and no engage date, a signal statement naming AUC, Brier and ECE, a validation AUC under 0.55
    (the no-signal warning) and a backtest whose calibration is off at every date."""
    out = tmp_path / "out"
    shutil.copytree(fixture_outputs, out, ignore=CSV_ONLY)
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    predictions["data_flags"] = ""
    predictions.loc[predictions.index % 3 == 0, "data_flags"] = "blank_account;no_engage_date"
    predictions.loc[predictions.index % 3 == 1, "data_flags"] = "product_alias"
    predictions["value_source"] = "list_price"
    first = predictions.index[0]
    predictions.loc[first, ["opportunity_id", "account", "deal_stage", "age_days", "engage_date"]] = [
        BLANK_DEAL,
        "",
        "Prospecting",
        "",
        "",
    ]
    predictions.loc[first, "data_flags"] = "blank_account;no_engage_date"
    predictions.to_csv(out / "latest_predictions.csv", index=False)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    metrics = metadata["model"]["metrics"]
    metrics["validation"]["auc"] = 0.48
    summary = metrics["backtest"]["summary"]
    summary.update(
        ece=0.077,
        max_ece=0.126,
        ece_beyond_sampling_noise=[row["as_of"] for row in metrics["backtest"]["per_as_of"]],
        largest_age_miss={
            "age_days": "31-60",
            "as_of": metrics["backtest"]["per_as_of"][-1]["as_of"],
            "n": 612,
            "mean_predicted": 0.578,
            "observed_rate": 0.214,
        },
    )
    metrics["backtest"]["signal_statement"] = SIGNAL
    metadata["run_id"] = "leader-language"
    (out / "predictions_metadata.json").write_text(json.dumps(metadata))
    monkeypatch.setenv("REVINTEL_PREDICTIONS_DIR", str(out))
    return out


def _page(page: str) -> AppTest:
    """The app on ``page`` (the drill-down on the deal with no account)."""
    at = AppTest.from_file(MAIN, default_timeout=30)
    if page.endswith("deal_drilldown.py"):
        at.query_params["deal"] = BLANK_DEAL
    at.run()
    return at.switch_page(page).run()


@pytest.mark.parametrize("page", LEADER_PAGES)
def test_leader_pages_show_no_statistic_names_or_raw_codes(leader_outputs: Path, page: str) -> None:
    at = _page(page)
    assert not at.exception
    shown = [text for inside, text in _texts(at._tree) if not inside]
    assert shown
    offending = {text: _banned(text) for text in shown if _banned(text)}
    assert offending == {}


def test_leader_pages_say_how_far_to_trust_the_numbers_in_words(leader_outputs: Path) -> None:
    at = _page("views/overview.py")
    assert at.info[0].value.replace("\\", "") == (
        "Backtested on 3 past dates (2025-11-14 to 2026-05-14), the win probabilities were only roughly "
        "right: on average the predicted chances were 8 percentage points away from the share of deals "
        "actually won (13 at the worst date), more than chance explains at every date; the biggest miss: "
        "deals 31-60 days old on 2026-05-14 were given 58% on average and 21% were won."
    )
    assert any(
        w.value.replace("\\", "").startswith("Among recently closed deals the model tells")
        for w in at.warning
    )
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["health"]
    forecast = _page("views/forecast.py")
    trust = next(m.value for m in forecast.markdown if "Replayed on" in m.value).replace("\\", "")
    assert trust == (
        "Replayed on 3 past periods, actual revenue landed inside the likely range 78% of the time (it aims "
        "to hold 80% of outcomes): the range is about the right width. Its misses were 41% smaller than "
        "those of the same forecast treating every deal as independent."
    )
    assert {m.label: m.value for m in forecast.metric}["Past periods inside the range"] == "78%"
    detail = next(e for e in forecast.expander if e.label == "Statistical detail")
    assert {m.label: m.value for m in detail.metric} == {
        "Pinball loss": "$5,400",
        "Naive pinball loss": "$9,100",
    }


def test_drilldown_names_a_deal_with_no_account_and_its_problems_in_words(leader_outputs: Path) -> None:
    at = _page("views/deal_drilldown.py")
    assert at.title[0].value.replace("\\", "") == f"Deal {BLANK_DEAL} (no account in the CRM)"
    assert "Data problems on this deal: no account in the CRM, no engage date yet." in [
        c.value for c in at.caption
    ]
    value = next(m for m in at.metric if m.label == "Deal value")
    assert value.proto.help.replace("\\", "") == (
        "From the product's list price less the usual discount on won deals (no amount in the CRM)."
    )
    # short enough for a quarter-width metric ("not engaged yet" was cut to "not engaged..." at 1400 px)
    assert next(m.value for m in at.metric if m.label == "Age") == "Not engaged"
    risk = _page("views/risk_dashboard.py")
    flags = set(risk.dataframe[0].value["data_flags"])
    assert "no account in the CRM, no engage date yet" in flags
    assert "product name spelled differently from the product list (corrected)" in flags


def test_the_health_page_keeps_the_statistics(leader_outputs: Path) -> None:
    at = _page("views/model_health.py")
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"Validation AUC", "Validation ECE", "AUC (mean)", "Brier score (mean)", "ECE (mean)"} <= labels
    assert at.info[0].value.replace("\\", "") == SIGNAL
    assert any("held-out AUC 0.48" in w.value.replace("\\", "") for w in at.warning)
    quality = next(d.value for d in at.dataframe if "code" in d.value.columns)
    assert "blank_account" in set(quality["code"])


@pytest.mark.parametrize("page", ("views/what_changed.py", "views/forecast.py", "views/risk_dashboard.py"))
def test_a_run_with_a_history_shows_no_change_codes_either(history_env: Path, page: str) -> None:
    """The change types (amount_up, pushed_out, ...) read in words, in expanders too (the CSV keeps them)."""
    at = _page(page)
    assert not at.exception
    shown = [text.replace("\\", "") for _, text in _texts(at._tree)]
    assert [text for text in shown if CHANGE_CODES.search(text)] == []
