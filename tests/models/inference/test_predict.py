"""predict.py end to end on a small export: contract, determinism, atomicity, bad input, bad models."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.synthetic import generate_crm
from core.forecast.periods import headline_quarter
from core.forecast.targets import chance_of_reaching
from core.outputs import UNSCORED_BLANK_COLUMNS
from models.generate import write_crm
from models.inference.predict import main

OUTPUTS = ("latest_predictions.csv", "forecast.csv", "shap_values.csv", "predictions_metadata.json")
REQUIRED = (
    "opportunity_id, sales_agent, manager, regional_office, product, account, deal_stage, engage_date, "
    "age_days, deal_value, value_source, win_probability, risk_score, risk_tier, expected_revenue, "
    "value_at_risk, p_close_in_quarter, p_close_next_quarter, expected_close_date, stale, driver_1, "
    "driver_2, driver_3"
).split(", ")
EVIL_ACCOUNT = '=HYPERLINK("http://evil.example","click")'


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OUTPUTS}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic deals; one account renamed to a spreadsheet formula."""
    folder = tmp_path_factory.mktemp("export")
    crm = generate_crm(n_deals=1500, seed=21)
    write_crm(crm, folder)
    pipeline = pd.read_csv(folder / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    victim = pipeline.loc[pipeline["deal_stage"].eq("Engaging") & pipeline["account"].ne(""), "account"].iloc[
        0
    ]
    pipeline["account"] = pipeline["account"].replace(victim, EVIL_ACCOUNT)
    accounts["account"] = accounts["account"].replace(victim, EVIL_ACCOUNT)
    pipeline.to_csv(folder / "sales_pipeline.csv", index=False)
    accounts.to_csv(folder / "accounts.csv", index=False)
    (folder / "truth.csv").unlink()
    return folder


@pytest.fixture(scope="module")
def first_run(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One run that trains a model; later tests reuse its model and outputs."""
    root = tmp_path_factory.mktemp("run")
    out, models = root / "out", root / "models"
    code = main(
        [
            "--data-dir",
            str(export),
            "--out-dir",
            str(out),
            "--model-dir",
            str(models),
            "--simulations",
            "300",
            "--quiet",
        ]
    )
    assert code == 0
    return {"out": out, "models": models, "export": export}


def _args(
    run: dict[str, Path], out: Path | None = None, data: Path | None = None, models: Path | None = None
) -> list[str]:
    return [
        "--data-dir",
        str(data or run["export"]),
        "--out-dir",
        str(out or run["out"]),
        "--model-dir",
        str(models or run["models"]),
        "--simulations",
        "300",
        "--quiet",
    ]


def test_outputs_follow_the_contract(first_run: dict[str, Path]) -> None:
    out = first_run["out"]
    predictions = pd.read_csv(out / "latest_predictions.csv", dtype=str, keep_default_na=False)
    assert all(column in predictions.columns for column in REQUIRED)
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    counts = metadata["counts"]
    assert counts["scored"] + counts["unscored"] == len(predictions) == counts["open_deals"]
    # never-engaged deals are not scored (no training snapshot looked like them): blank, tier Unscored
    unscored = predictions[predictions["scored"].eq("False")]
    assert len(unscored) == counts["unscored"] > 0
    assert unscored["engage_date"].eq("").all() and unscored["deal_stage"].eq("Prospecting").all()
    assert (unscored[list(UNSCORED_BLANK_COLUMNS)] == "").all().all()
    assert unscored["risk_tier"].eq("Unscored").all() and "Unscored" in metadata["risk"]["tiers"]
    unscored_value = unscored["deal_value"].astype(float).sum()
    assert counts["unscored_pipeline_value"] == pytest.approx(unscored_value, abs=0.01 * len(unscored))
    predictions = predictions[predictions["scored"].eq("True")]
    for key in (
        "run_id",
        "as_of",
        "export_end",
        "data",
        "model",
        "counts",
        "simulation",
        "forecast_backtest",
        "risk",
        "timings_seconds",
        "data_quality",
        "software",
    ):
        assert key in metadata
    assert metadata["simulation"]["runs"] == 300
    assert metadata["model"]["trained_this_run"] is True
    assert set(metadata["timings_seconds"]) >= {"load", "train", "score", "explain", "forecast", "write"}
    numbers = predictions[["win_probability", "deal_value", "value_at_risk"]].astype(float)
    assert ((numbers["win_probability"] >= 0) & (numbers["win_probability"] <= 1)).all()
    recomputed = numbers["deal_value"] * (1 - numbers["win_probability"])
    # three rounded columns: 0.005 from each amount plus the 6th decimal of the probability times the value
    assert ((numbers["value_at_risk"] - recomputed).abs() <= 0.0101 + 5e-7 * numbers["deal_value"]).all()
    assert predictions["driver_1"].str.contains(r"\([+-]\d+(?:\.\d)? pts\)$").all()
    # no driver ever names a feature that is the same for every deal (the day of the quarter)
    named = predictions[["driver_1_feature", "driver_2_feature", "driver_3_feature"]].stack()
    assert "days_into_quarter" not in set(named) and "deal_timing" in set(named)
    forecast = pd.read_csv(out / "forecast.csv")
    assert set(forecast["segment_type"]) == {"all", "regional_office", "manager", "sales_agent", "product"}
    shap = pd.read_csv(out / "shap_values.csv", dtype={"opportunity_id": str}, keep_default_na=False)
    assert shap["opportunity_id"].nunique() == len(predictions)  # the scored deals
    # the waterfall's path in its own order stays a probability at every step
    path = shap.sort_values(["opportunity_id", "step"])
    level = path["base_value"] + path.groupby("opportunity_id")["shap_value"].cumsum()
    assert level.between(-1e-6, 1 + 1e-6).all()
    # each deal's base value + contributions = its win probability
    total = (
        shap.groupby("opportunity_id")["shap_value"].sum()
        + shap.groupby("opportunity_id")["base_value"].first()
    )
    probability = predictions.set_index("opportunity_id")["win_probability"].astype(float)
    assert (total.reindex(probability.index) - probability).abs().max() < 1e-4


def test_formula_account_is_neutralised(first_run: dict[str, Path]) -> None:
    text = (first_run["out"] / "latest_predictions.csv").read_text()
    assert "'" + EVIL_ACCOUNT.replace('"', '""') in text
    assert ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text


def test_second_run_reuses_the_model_and_is_byte_identical(
    first_run: dict[str, Path], tmp_path: Path
) -> None:
    assert main(_args(first_run, out=tmp_path)) == 0
    again = _digests(tmp_path)
    before = _digests(first_run["out"])
    for name in OUTPUTS[:3]:
        assert again[name] == before[name], name
    meta_a = json.loads((tmp_path / "predictions_metadata.json").read_text())
    meta_b = json.loads((first_run["out"] / "predictions_metadata.json").read_text())
    assert meta_a["model"]["trained_this_run"] is False
    assert meta_a["run_id"] == meta_b["run_id"]
    assert len([p for p in first_run["models"].iterdir() if (p / "manifest.json").exists()]) == 1
    # the forecast backtest was cached on the first run and reused
    assert meta_a["forecast_backtest"] == meta_b["forecast_backtest"]
    assert meta_a["forecast_backtest"]["summary"]["probability_source"] == "curves"


def test_every_broken_export_exits_2_and_keeps_outputs(
    first_run, broken_inputs, capsys, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    before = _digests(out)
    for broken in broken_inputs:
        code = main(_args(first_run, out=out, data=broken.data_dir))
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, broken.kind
        assert len(err) == 1 and err[0].startswith("error: ") and broken.expected in err[0], (
            broken.kind,
            err,
        )
        assert _digests(out) == before, broken.kind


@pytest.mark.parametrize("damage", ["truncated_model", "incompatible_spec", "garbled_manifest"])
def test_corrupt_model_exits_2_and_keeps_outputs(first_run, damage: str, capsys, tmp_path: Path) -> None:
    models, out = tmp_path / "models", tmp_path / "out"
    shutil.copytree(first_run["models"], models)
    shutil.copytree(first_run["out"], out)
    version = next(p for p in models.iterdir() if (p / "manifest.json").exists())
    if damage == "truncated_model":
        text = (version / "model.txt").read_text()
        (version / "model.txt").write_text(text[: len(text) // 3])
    elif damage == "incompatible_spec":
        manifest = json.loads((version / "manifest.json").read_text())
        manifest["feature_spec_sha256"] = "0" * 64
        (version / "manifest.json").write_text(json.dumps(manifest))
    else:
        (version / "manifest.json").write_text("{not json")
    before = _digests(out)
    code = main(_args(first_run, out=out, models=models))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and str(version.name) in err[0]
    assert _digests(out) == before


def test_usage_errors_exit_2(first_run, capsys, tmp_path: Path) -> None:
    assert main(_args(first_run, out=tmp_path) + ["--simulations", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --simulations must be at least 1 (got 0)"
    assert main(_args(first_run, out=tmp_path) + ["--as-of", "yesterday"]) == 2
    assert "--as-of 'yesterday' is not a date" in capsys.readouterr().err
    assert not (tmp_path / "forecast.csv").exists()


def test_a_model_trained_by_predict_is_trained_like_train_py(first_run: dict[str, Path]) -> None:
    """Same artifact as train.py: the short backtest in metrics.json, an MLflow run, an absolute data dir."""
    import mlflow

    metadata = json.loads((first_run["out"] / "predictions_metadata.json").read_text())
    assert metadata["data"]["data_dir"] == str(first_run["export"].resolve())
    backtest = metadata["model"]["metrics"]["backtest"]
    assert len(backtest["per_as_of"]) == 3
    assert all(row["as_of"] < metadata["as_of"] for row in backtest["per_as_of"])
    assert backtest["signal_statement"].startswith("Across 3 as-of dates")
    version = metadata["model"]["version"]
    saved = json.loads((first_run["models"] / version / "metrics.json").read_text())
    assert saved["backtest"]["summary"] == backtest["summary"]
    # the run went to the session's throwaway store (tests/conftest.py), never experiments/
    runs = mlflow.search_runs(
        experiment_names=["win-probability"], filter_string=f"params.version = '{version}'"
    )
    assert len(runs) == 1
    assert runs["metrics.backtest_auc"].iloc[0] == pytest.approx(backtest["summary"]["auc"])


def test_a_run_with_a_saved_model_imports_no_tracking_plotting_or_shap_library(
    first_run: dict[str, Path], tmp_path: Path
) -> None:
    """Lean imports: MLflow and matplotlib load only where a model is tracked; shap never (LightGBM's own
    TreeSHAP); scipy.stats only where LightGBM's scikit-learn layer pulls it in, not from our code."""
    script = (
        "import sys\n"
        "from models.inference.predict import main\n"
        f"code = main({_args(first_run, out=tmp_path)!r})\n"
        "print(code, *sorted(m for m in ('mlflow', 'matplotlib', 'shap', 'streamlit') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["0"], done.stderr[-2000:]


def test_drop_invalid_sets_rows_aside_in_rejected_rows_and_goes_on(first_run, capsys, tmp_path: Path) -> None:
    """Two won deals without their booked value: without --drop-invalid one line names the first and how
    many share it (exit 2, outputs untouched); with it they go to rejected_rows.csv and the run goes on."""
    data, out = tmp_path / "export", tmp_path / "out"
    shutil.copytree(first_run["export"], data)
    shutil.copytree(first_run["out"], out)
    before = _digests(out)
    pipeline = pd.read_csv(data / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    broken = pipeline.index[pipeline["deal_stage"].eq("Won")][:2]
    pipeline.loc[broken, "close_value"] = ""
    pipeline.to_csv(data / "sales_pipeline.csv", index=False)
    assert main(_args(first_run, out=out, data=data)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "missing close_value on a Won deal (opportunity_id "
        f"{pipeline.loc[broken[0], 'opportunity_id']}); "
        "1 more row shares this problem"
    )
    assert _digests(out) == before
    assert main([*_args(first_run, out=out, data=data), "--drop-invalid"]) == 0
    rejected = pd.read_csv(out / "rejected_rows.csv", dtype=str)
    assert rejected["opportunity_id"].tolist() == pipeline.loc[broken, "opportunity_id"].tolist()
    assert rejected["row"].tolist() == [str(i + 2) for i in broken]  # spreadsheet rows: header is row 1
    assert (rejected["column"] == "close_value").all() and rejected["problem"].str.contains("Won deal").all()
    metadata = json.loads((out / "predictions_metadata.json").read_text())
    assert metadata["counts"]["rejected_rows"] == 2
    assert [i["count"] for i in metadata["data_quality"]["items"] if i["code"] == "rejected_row"] == [2]


def test_the_quantile_grid_matches_the_forecast_and_gives_the_chance_of_a_target(
    first_run: dict[str, Path],
) -> None:
    """forecast_quantiles.csv holds q = 0.01 .. 0.99 of every period and segment from the same runs, for the
    open deals and the whole period: its P10/P50/P90 are forecast.csv's (``p*`` and ``total_p*``), revenue
    never falls as q rises, and the chance of reaching the P50 is one half."""
    grid = pd.read_csv(first_run["out"] / "forecast_quantiles.csv")
    forecast = pd.read_csv(first_run["out"] / "forecast.csv")
    keys = ["period_type", "period_start", "segment_type", "segment"]
    assert set(grid["scope"]) == {"open", "total"}
    assert grid.groupby([*keys, "scope"]).size().eq(99).all()
    assert len(grid.groupby(keys)) == len(forecast)
    for scope, prefix in (("open", ""), ("total", "total_")):
        mine = grid[grid["scope"].eq(scope)]
        wide = mine[mine["q"].isin([0.1, 0.5, 0.9])].pivot_table(index=keys, columns="q", values="revenue")
        joined = forecast.set_index(keys).join(wide)
        for column, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
            assert np.allclose(joined[prefix + column], joined[q], atol=0.005)
        assert (mine.groupby(keys)["revenue"].diff().dropna() >= 0).all()
    quarter = forecast[forecast["period_type"].eq("quarter") & forecast["segment_type"].eq("all")].iloc[0]
    rows = grid[grid["period_type"].eq("quarter") & grid["segment_type"].eq("all") & grid["scope"].eq("open")]
    rows = rows[rows["period_start"].eq(quarter["period_start"])]
    assert chance_of_reaching(rows, quarter["p50"]) == pytest.approx(0.5, abs=0.011)
    assert chance_of_reaching(rows, quarter["p90"] * 10) == 0.01
    assert chance_of_reaching(rows, 0.0) == 0.99


def test_the_track_record_judges_the_whole_quarter_against_everything_won_in_it(
    first_run: dict[str, Path],
) -> None:
    """forecast_accuracy.csv: each past week's whole-quarter forecast (won already + open + deals not yet
    created) against all the quarter won; the open deals' part never exceeds it, and the quarter's revenue
    won before the week is inside every run of the whole-quarter forecast."""
    accuracy = pd.read_csv(first_run["out"] / "forecast_accuracy.csv", parse_dates=["as_of", "period_start"])
    deals = pd.read_csv(first_run["export"] / "sales_pipeline.csv", parse_dates=["close_date"])
    won = deals[deals["deal_stage"].eq("Won")]
    assert len(accuracy) > 0
    for row in accuracy.itertuples(index=False):
        quarter_end = (row.period_start.to_period("Q").end_time).normalize()
        assert row.as_of < quarter_end  # on its last day a quarter has nothing left to forecast
        in_quarter = won[won["close_date"].between(row.period_start, quarter_end)]
        assert row.total_actual == pytest.approx(in_quarter["close_value"].sum())
        assert row.actual <= row.total_actual + 0.01
        before = in_quarter.loc[in_quarter["close_date"] <= row.as_of, "close_value"].sum()
        assert before - 0.01 <= row.total_p10 <= row.total_p50 <= row.total_p90
        assert row.total_expected >= row.expected + before - 0.01


def test_the_quarters_forecast_is_replayed_at_the_compare_date_and_now_alike(
    first_run: dict[str, Path],
) -> None:
    """metadata changes.quarter: the as-of quarter's whole-period forecast replayed the same (model-free)
    way a week before and at the as-of date, each with its quantile grid, so What Changed can say how the
    middle estimate and the chance of a target moved, like for like."""
    metadata = json.loads((first_run["out"] / "predictions_metadata.json").read_text())
    quarter = metadata["changes"]["quarter"]
    as_of = pd.Timestamp(metadata["as_of"])
    assert quarter["period_start"] == f"{headline_quarter(as_of).start_time:%Y-%m-%d}"  # as the app's
    assert quarter["then"]["as_of"] == metadata["changes"]["compare_to"]
    assert quarter["now"]["as_of"] == metadata["as_of"]
    for side in ("then", "now"):
        outlook = quarter[side]
        grid = pd.Series(outlook["grid"]["revenue"], index=outlook["grid"]["q"])
        assert len(grid) == 99 and grid.is_monotonic_increasing
        assert (grid[0.1], grid[0.5], grid[0.9]) == pytest.approx(
            (outlook["p10"], outlook["p50"], outlook["p90"])
        )
