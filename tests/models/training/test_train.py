"""train.py end to end on a small synthetic export: artifact, metrics schema, MLflow run, error policy."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.data import cut_at, read_crm
from core.data.synthetic import generate_crm
from core.model.backtest import evaluate_as_of
from core.settings import SETTINGS
from models.generate import write_crm
from models.training.train import main


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-deal synthetic export."""
    folder = tmp_path_factory.mktemp("train_export")
    write_crm(generate_crm(n_deals=2000, seed=21), folder)
    return folder


def test_writes_a_versioned_artifact_without_mlflow(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        [
            "--data-dir",
            str(export_dir),
            "--as-of",
            "2026-04-01",
            "--model-dir",
            str(tmp_path),
            "--no-mlflow",
            "--backtest-dates",
            "none",
        ]
    )
    assert code == 0
    version = (tmp_path / "LATEST").read_text().strip()
    assert version.startswith("20260401-")
    metrics = json.loads((tmp_path / version / "metrics.json").read_text())
    assert set(metrics) == {"validation"}
    assert metrics["validation"]["calibration_method"] in ("sigmoid", "isotonic")
    assert 0 < metrics["validation"]["brier"] < 0.25
    assert f"saved model {version}" in capsys.readouterr().out


def test_logs_an_mlflow_run_and_writes_the_backtest(
    export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code = main(
        [
            "--data-dir",
            str(export_dir),
            "--as-of",
            "2026-04-01",
            "--model-dir",
            str(tmp_path / "models"),
            "--backtest-dates",
            "2025-12-01",
        ]
    )
    assert code == 0
    version = (tmp_path / "models" / "LATEST").read_text().strip()
    backtest = json.loads((tmp_path / "models" / version / "metrics.json").read_text())["backtest"]
    assert backtest["as_of_dates"] == ["2025-12-01"]
    row = backtest["per_as_of"][0]
    for key in ("baseline_base_rate", "baseline_stage_age"):  # the issue: "and the same for two baselines"
        assert set(row[key]) == {"auc", "brier", "brier_skill", "log_loss", "ece", "reliability"}
        assert sum(b["n"] for b in row[key]["reliability"]) == row["n"]
    (constant,) = row["baseline_base_rate"]["reliability"]  # one bin: the base rate for every deal
    assert constant["mean_predicted"] == pytest.approx(row["base_rate"])
    assert constant["observed_rate"] == pytest.approx(row["observed_win_rate"])
    assert len(row["baseline_stage_age"]["reliability"]) > 1
    assert set(row["model"]) == {"auc", "brier", "brier_skill", "log_loss", "ece", "ece_if_calibrated"}
    assert row["model"]["ece_if_calibrated"]["p05"] < row["model"]["ece_if_calibrated"]["p95"]
    assert row["reliability"][0].keys() == {"bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"}
    assert backtest["signal_statement"].startswith("Across 1 as-of dates")
    # scored in a worker process, labelled with the fit's own estimates: the same row as one process computes
    assert row["still_open_at_export_estimated"] > 0 and row["n_known_outcome"] < row["n"]
    crm = cut_at(read_crm(export_dir), "2026-04-01")
    assert json.loads(json.dumps(evaluate_as_of(crm, pd.Timestamp("2025-12-01"), SETTINGS.seed))) == row
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["win-probability"])
    assert len(runs) == 1 and runs["params.version"].iloc[0] == version
    assert runs["status"].iloc[0] == "FINISHED"
    assert runs["metrics.backtest_auc"].iloc[0] == pytest.approx(backtest["summary"]["auc"])
    client = mlflow.tracking.MlflowClient()
    versions = client.search_model_versions("name='revintel-win-probability'")
    assert [int(v.version) for v in versions] == [1] and versions[0].run_id == runs["run_id"].iloc[0]
    booster = client.get_logged_model(versions[0].source.removeprefix("models:/"))
    logged = {metric.key: metric.value for metric in booster.metrics}
    assert logged["backtest_auc"] == pytest.approx(backtest["summary"]["auc"])  # logged after the booster
    assert logged["backtest_pooled_ece"] == pytest.approx(backtest["summary"]["pooled"]["ece"])
    assert "validation_brier" in logged and booster.params["as_of"] == "2026-04-01"
    artifacts = {a.path for a in client.list_artifacts(runs["run_id"].iloc[0])}
    assert {"reliability.png", "model_artifact"} <= artifacts
    assert not (Path.cwd() / "mlruns").exists()


def test_bad_as_of_is_one_line_and_exit_2(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["--data-dir", str(export_dir), "--as-of", "2026-13-45", "--model-dir", str(tmp_path), "--no-mlflow"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == "error: --as-of '2026-13-45' is not a date (use YYYY-MM-DD)"


def test_backtest_dates_must_precede_the_as_of_date(
    export_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        [
            "--data-dir",
            str(export_dir),
            "--as-of",
            "2026-04-01",
            "--model-dir",
            str(tmp_path),
            "--no-mlflow",
            "--backtest-dates",
            "2026-05-01",
        ]
    )
    assert code == 2
    assert "is not before the as-of date 2026-04-01" in capsys.readouterr().err
    assert not (tmp_path / "LATEST").exists()


def test_a_failure_inside_the_run_closes_it_as_failed_and_registers_nothing(
    export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MLflow run opens and closes in one place: an error while logging marks it FAILED."""
    import mlflow

    from core.data import cut_at, read_crm
    from models import tracking
    from models.model_io import save_model
    from models.training.train import train_model

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    crm = cut_at(read_crm(export_dir), "2026-04-01")
    model, metrics = train_model(crm, 3, [])
    folder = save_model(model, tmp_path / "models", metrics)

    def broken_plot(metrics: dict) -> bytes:
        raise OSError("No space left on device")

    monkeypatch.setattr(tracking, "reliability_png", broken_plot)
    with pytest.raises(OSError, match="No space left"):
        tracking.log_training_run(model, crm, metrics, folder)
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["win-probability"])
    assert list(runs["status"]) == ["FAILED"]
    assert not mlflow.MlflowClient().search_model_versions("name='revintel-win-probability'")


def test_the_reliability_plot_shows_how_many_deals_each_bin_holds() -> None:
    """A sparse bin far off the diagonal must look sparse: marker area grows with the bin's deals."""
    import matplotlib.pyplot as plt

    from models.tracking import reliability_figure, reliability_png

    bins = [
        {"bin_lower": 0.1, "bin_upper": 0.2, "n": 5, "mean_predicted": 0.15, "observed_rate": 0.8},
        {"bin_lower": 0.5, "bin_upper": 0.6, "n": 500, "mean_predicted": 0.55, "observed_rate": 0.56},
    ]
    metrics = {"backtest": {"per_as_of": [{"as_of": "2026-04-01", "reliability": bins}]}}
    figure = reliability_figure(metrics)
    (points,) = figure.axes[0].collections
    sizes = points.get_sizes()
    assert sizes[1] > 20 * sizes[0]
    assert "largest 500" in figure.axes[0].get_title()
    plt.close(figure)
    assert reliability_png(metrics) == reliability_png(metrics)  # no timestamp in the PNG
    assert reliability_png(metrics).startswith(b"\x89PNG")


def test_the_reliability_plot_has_a_pooled_panel_with_the_chance_ranges() -> None:
    """With a pooled table the plot gets a second panel: each bin's observed rate against the 5-95% range a
    calibrated model shows by chance there, and the pooled ECE with its verdict in the title."""
    import matplotlib.pyplot as plt

    from models.tracking import reliability_figure

    bins = [
        {
            "bin_lower": 0.0,
            "bin_upper": 0.1,
            "n": 600,
            "n_deals": 300,
            "mean_predicted": 0.02,
            "observed_rate": 0.005,
            "chance_low": 0.012,
            "chance_high": 0.035,
        },
        {
            "bin_lower": 0.5,
            "bin_upper": 0.6,
            "n": 400,
            "n_deals": 350,
            "mean_predicted": 0.55,
            "observed_rate": 0.56,
            "chance_low": 0.50,
            "chance_high": 0.60,
        },
    ]
    pooled = {
        "n": 1000,
        "n_deals": 650,
        "ece": 0.031,
        "reliability": bins,
        "ece_if_calibrated": {"p05": 0.009, "median": 0.015, "p95": 0.023},
    }
    per_date = {"as_of": "2026-04-01", "reliability": bins}
    metrics = {"backtest": {"per_as_of": [per_date], "summary": {"pooled": pooled}}}
    figure = reliability_figure(metrics)
    assert len(figure.axes) == 2
    panel = figure.axes[1]
    assert "1,000 scores of 650 deals" in panel.get_title()
    assert "ECE 0.031, beyond chance (0.009-0.023)" in panel.get_title()
    ranges, observed = panel.collections
    segments = [segment.tolist() for segment in ranges.get_segments()]
    assert segments == [[[0.02, 0.012], [0.02, 0.035]], [[0.55, 0.5], [0.55, 0.6]]]
    assert observed.get_offsets().tolist() == [[0.02, 0.005], [0.55, 0.56]]
    plt.close(figure)
    del metrics["backtest"]["summary"]  # metrics written before pooling: the per-date panel alone
    figure = reliability_figure(metrics)
    assert len(figure.axes) == 1
    plt.close(figure)
