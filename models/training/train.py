"""Train the win-probability model at an as-of date and save a versioned artifact (+ an MLflow run).

    python models/training/train.py --data-dir DIR --as-of DATE --model-dir DIR [--seed N] [--no-mlflow]
                                    [--backtest-dates D1,D2,...|none]

Writes ``<model-dir>/<version>/`` (LightGBM text model, calibrator JSON, feature spec, metrics with a short
rolling-origin backtest, model card, manifest; no pickle) and logs params, metrics, the reliability plot
and the booster (MLflow LightGBM flavour, registered) to ``MLFLOW_TRACKING_URI`` or experiments/mlflow.db.
Exit codes: 0 success, 2 bad input, 1 unexpected failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.errors import UsageError
from core.settings import SETTINGS
from models.cli_support import OneLineArgumentParser, exit_process, run_cli
from models.shared_tasks import SharedTasks, Task, deferred

# pandas, LightGBM and the model are imported where they are used, so that the CLI can start its second
# process before importing them (both processes then import at the same time)
if TYPE_CHECKING:
    import pandas as pd

    from core.data import CRMData
    from core.model import WinProbabilityModel

REGISTERED_MODEL_NAME = "revintel-win-probability"
EXPERIMENT_NAME = "win-probability"
SHORT_BACKTEST_DATES = 3
WORKER_MODULES = ("core.model.backtest",)  # what the second process needs for the backtest dates


def parse_dates(text: str | None) -> list[pd.Timestamp] | None:
    """``D1,D2,...`` to Timestamps; ``none`` to an empty list; None (flag absent) stays None."""
    from core.data import parse_as_of

    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    return [parse_as_of(part.strip()) for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Training:
    """A model fitted in this process, a call that waits for its metrics (validation + short backtest), one
    that returns the results of the extra tasks given to :func:`training`, in their order, and (with
    ``mlflow``) one that completes its MLflow run once the model is saved: ``log_run(metrics, folder)``
    returns the run id."""

    model: WinProbabilityModel
    metrics: Callable[[], dict]
    task_results: Callable[[], list[Any]]
    log_run: Callable[[dict, Path], str]


@contextmanager
def training(
    crm: CRMData,
    seed: int = SETTINGS.seed,
    backtest_dates: list[pd.Timestamp] | None = None,
    tasks: Sequence[Task] = (),
    worker: SharedTasks | None = None,
    mlflow: bool = False,
) -> Iterator[Training]:
    """Fit on ``crm`` while the short rolling-origin backtest runs in a second (spawned) process.

    The backtest replays dates before ``crm.as_of`` using only ``crm`` (outcomes known by its as-of date);
    by default three month-start dates (``default_as_of_dates``); pass ``[]`` to skip it. Its dates and the
    extra ``tasks`` (run first) are shared with the worker (``models.shared_tasks``): once the fit is done,
    this process takes over whatever the worker has not started. Every fit is seeded and single-threaded,
    so where a date is evaluated changes no number, only the wall time (this machine has 2 cores). The
    dates' scores are labelled here, once they are all in: deals the export has not resolved take the
    estimated outcomes this fit computed anyway (``WinProbabilityModel.estimated_outcomes``, the same as
    ``core.model.backtest.outcome_estimates_at_export``), so the worker never refits the hazard for them.
    Pass a ``worker`` started earlier (its owner closes it); otherwise one is started here and stopped on
    leaving.

    With ``mlflow`` the worker also logs the MLflow run. It imports MLflow before its last backtest date (this
    process, done fitting, takes that date: the second-largest, so the two finish together), opens the run
    with the booster as soon as the fit is done, and completes it when ``log_run`` is called. MLflow is
    seconds of imports and logging; done in the worker, they overlap this process's last date instead of
    following it.
    """
    import pandas as pd

    from core.model import WinProbabilityModel
    from core.model.backtest import backtest_report, default_as_of_dates, score_as_of

    dates = default_as_of_dates(crm, SHORT_BACKTEST_DATES) if backtest_dates is None else backtest_dates
    late = [d for d in dates if d >= crm.as_of]
    if late:
        raise UsageError(
            f"--backtest-dates {late[0]:%Y-%m-%d} is not before the as-of date {crm.as_of:%Y-%m-%d}"
        )
    # latest (largest) dates first: the worker starts on them, this process takes the small ones left over
    order = sorted(range(len(dates)), key=lambda i: dates[i], reverse=True)
    # with MLflow, this process takes the second-largest date: queued last, after the worker's MLflow import
    held_back = order[1:2] if mlflow else []
    order = [i for i in order if i not in held_back] + held_back
    # the fits run in either process; labelling needs the fit's estimates of the unresolved deals: here
    evaluations = [(score_as_of, (crm, pd.Timestamp(dates[i]), seed)) for i in order]
    queued = len(evaluations) - len(held_back)
    with ExitStack() as stack:
        if worker is None:
            worker = stack.enter_context(SharedTasks())
        extra = deferred(worker, tasks)  # submitted first: the worker starts on them
        backtest = [*worker.submit(evaluations[:queued])]
        worker.submit([(prepare_mlflow, ())] if mlflow else [])
        backtest += worker.submit(evaluations[queued:])
        model = WinProbabilityModel(seed=seed).fit(crm)
        opened = worker.submit([(start_mlflow_run, mlflow_run_inputs(model, crm))] if mlflow else [])
        logged: list[str] = []  # the run id once log_run has completed the run

        def metrics() -> dict:
            """metrics.json: the validation and, when there are backtest dates, the backtest."""
            result: dict = {"validation": model.validation_}
            if dates:
                done = worker.results(backtest)
                estimated = model.estimated_outcomes(crm)  # the fit computed them already
                scored = [done[order.index(i)] for i in range(len(dates))]  # back in the dates' order
                result["backtest"] = backtest_report(crm, scored, seed, None, estimated)
            return result

        def log_run(metrics: dict, folder: Path) -> str:
            """Complete the run opened by the worker (it has MLflow imported and the run open); the plot is
            drawn here while the worker may still be logging the booster."""
            if not mlflow:
                raise RuntimeError("training(mlflow=False) opens no MLflow run")
            plot = reliability_png(metrics)
            run_id, model_id = worker.results(opened, take_over=False)[0]
            done = worker.submit([(finish_mlflow_run, (run_id, model_id, metrics, folder, plot))])
            logged.append(worker.results(done, take_over=False)[0])
            return logged[0]

        try:
            yield Training(model, metrics, extra, log_run)
        except Exception:  # not on Ctrl-C: closing waits for the worker's queue
            if mlflow and not logged:  # the worker opened a run that will never be completed
                close_opened_run_as_failed(worker, opened)
            raise


def close_opened_run_as_failed(worker: SharedTasks, opened: list) -> None:
    """Best effort, while an error propagates: have the worker (MLflow imported, run open) close the run it
    opened as FAILED, so no run stays RUNNING forever. Any problem here yields to the original error."""
    try:
        run_id, _ = worker.results(opened, take_over=False)[0]
        worker.results(worker.submit([(fail_mlflow_run, (run_id,))]), take_over=False)
    except Exception:  # noqa: S110 - the error being raised matters, not this one
        pass


def train_model(
    crm: CRMData,
    seed: int = SETTINGS.seed,
    backtest_dates: list[pd.Timestamp] | None = None,
) -> tuple[WinProbabilityModel, dict]:
    """Fit on ``crm`` (a cut at its as-of date) and compute metrics.json: validation + short backtest."""
    with training(crm, seed, backtest_dates) as fitted:
        return fitted.model, fitted.metrics()


def reliability_png(metrics: dict) -> bytes:
    """:func:`reliability_figure` as PNG bytes (no timestamp: same metrics, same bytes)."""
    import io

    import matplotlib.pyplot as plt

    figure = reliability_figure(metrics)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return png.getvalue()


def reliability_figure(metrics: dict) -> Any:
    """A reliability plot: predicted vs observed per bin, one line per backtest date, each bin's marker area
    proportional to its number of deals (a bin of five deals that lands far off the diagonal is noise, and
    the reader must see that it holds five). When the backtest has a pooled table (``summary.pooled``), a
    second panel shows it with each bin's 5-95% range for a perfectly calibrated model (the Health page's
    diagram), so the plot says which misses are beyond chance, not only how large they look."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backtest = metrics.get("backtest", {})
    rows = backtest.get("per_as_of", [])
    pooled = backtest.get("summary", {}).get("pooled") or {}
    tables = [(row["as_of"], pd.DataFrame(row["reliability"])) for row in rows]
    largest = max([float(table["n"].max()) for _, table in tables if len(table)], default=1.0)
    panels = 2 if pooled.get("reliability") else 1
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 5), squeeze=False)
    axis = axes[0][0]
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    for as_of, table in tables:
        if len(table):
            (line,) = axis.plot(table["mean_predicted"], table["observed_rate"], label=as_of)
            axis.scatter(
                table["mean_predicted"],
                table["observed_rate"],
                s=8 + 250 * table["n"] / largest,
                color=line.get_color(),
                alpha=0.7,
            )
    axis.set_xlabel("predicted win probability")
    axis.set_ylabel("observed win rate")
    axis.set_title(
        f"Reliability (rolling-origin backtest)\nmarker area ~ deals in the bin (largest {largest:,.0f})"
    )
    axis.legend(fontsize=7)
    if panels == 2:
        pooled_panel(axes[0][1], pooled)
    figure.tight_layout()
    return figure


def pooled_panel(axis: Any, pooled: dict) -> None:
    """The pooled reliability table: observed rate per bin (dot) against the range a perfectly calibrated
    model's observed rate falls in by chance at that bin (grey bar, 5-95%, one outcome per deal)."""
    import pandas as pd

    from core.model.metrics import chance_range_text

    table = pd.DataFrame(pooled["reliability"])
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    axis.vlines(
        table["mean_predicted"],
        table["chance_low"],
        table["chance_high"],
        color="lightgrey",
        linewidth=6,
        label="calibrated model, 5-95% by chance",
    )
    axis.scatter(
        table["mean_predicted"], table["observed_rate"], color="black", s=18, zorder=3, label="observed"
    )
    chance = pooled["ece_if_calibrated"]
    verdict = f"ECE {pooled['ece']:.3f}"
    if chance["p95"] is not None:
        within = "within" if pooled["ece"] <= chance["p95"] else "beyond"
        verdict += f", {within} chance ({chance_range_text(chance)})"
    axis.set_xlabel("predicted win probability")
    axis.set_title(
        f"All dates pooled ({pooled['n']:,} scores of {pooled['n_deals']:,} deals)\n{verdict}", fontsize=10
    )
    axis.legend(fontsize=7, loc="upper left")


def flat_metrics(metrics: dict) -> dict[str, float]:
    """Numeric metrics flattened to MLflow keys (validation_*, backtest_*)."""
    flat: dict[str, float] = {}
    for key, value in metrics.get("validation", {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"validation_{key}"] = float(value)
    summary = metrics.get("backtest", {}).get("summary", {})
    for key, value in summary.items():
        if isinstance(value, int | float) and value is not None:
            flat[f"backtest_{key}"] = float(value)
    pooled = summary.get("pooled") or {}
    for key in ("ece", "oracle_ece", "calibration_error_vs_truth"):
        if pooled.get(key) is not None:
            flat[f"backtest_pooled_{key}"] = float(pooled[key])
    return flat


def artifact_location(uri: str) -> str | None:
    """Run artifacts beside a SQLite store (``<db folder>/mlartifacts``), never in the working directory."""
    if not uri.startswith("sqlite:///"):
        return None
    folder = Path(uri.removeprefix("sqlite:///")).parent
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / "mlartifacts").resolve().as_uri()


def mlflow_experiment() -> Any:
    """Import MLflow, point it at the store and select the experiment.

    Idempotent and cheap once done; called early where a run waits for its backtest anyway, since the
    imports and a new store's set-up take seconds. Telemetry is off unless the user set
    ``MLFLOW_DISABLE_TELEMETRY`` (nothing about a CRM leaves the machine).
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.lightgbm

    uri = os.environ.get("MLFLOW_TRACKING_URI") or SETTINGS.mlflow_tracking_uri
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT_NAME) is None:
        mlflow.create_experiment(EXPERIMENT_NAME, artifact_location=artifact_location(uri))
    mlflow.set_experiment(EXPERIMENT_NAME)
    return mlflow


def prepare_mlflow() -> None:
    """:func:`mlflow_experiment` as a task (its result, the module, cannot be sent between processes)."""
    mlflow_experiment()


def mlflow_run_inputs(model: WinProbabilityModel, crm: CRMData) -> tuple[str, dict, dict[str, float], str]:
    """What :func:`start_mlflow_run` needs, picklable: booster text, params, validation metrics, run name."""
    params = {
        **model.get_params(),
        "as_of": f"{crm.as_of:%Y-%m-%d}",
        "data_hash": crm.data_hash,
        "n_rounds": model.n_rounds_,
        "calibration": model.calibrator_.method,
    }
    validation = flat_metrics({"validation": model.validation_})
    return model.booster_.model_to_string(), params, validation, f"train-{crm.as_of:%Y-%m-%d}"


def start_mlflow_run(
    booster: str, params: dict, validation: dict[str, float], run_name: str
) -> tuple[str, str]:
    """Open an MLflow run with the params, the validation metrics and the booster (LightGBM flavour, not yet
    registered); returns (run id, logged model id). The run stays open until :func:`finish_mlflow_run`; if
    training fails before that, :func:`training` closes it as FAILED and nothing is registered.

    The booster's requirement is the installed LightGBM, given explicitly (MLflow would otherwise spend
    seconds inferring it in a subprocess).
    """
    import lightgbm

    mlflow = mlflow_experiment()
    run = mlflow.start_run(run_name=run_name)
    with failed_mlflow_run_on_error():
        mlflow.log_params(params)
        mlflow.log_metrics(validation)
        logged = mlflow.lightgbm.log_model(
            lightgbm.Booster(model_str=booster),
            name="booster",
            pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
        )
    return run.info.run_id, logged.model_id


def finish_mlflow_run(
    run_id: str, model_id: str, metrics: dict, artifact_dir: Path, reliability: bytes
) -> str:
    """Complete a run opened by :func:`start_mlflow_run` (in this process or another): the version, the
    backtest metrics (on the run and the logged model), the reliability plot (:func:`reliability_png`) and
    the artifact folder; then register the booster and close the run. Returns the run id."""
    mlflow = mlflow_experiment()
    active = mlflow.active_run()
    if active is None or active.info.run_id != run_id:
        mlflow.start_run(run_id=run_id)
    with failed_mlflow_run_on_error():
        mlflow.log_param("version", artifact_dir.name)
        backtest = {key: value for key, value in flat_metrics(metrics).items() if key.startswith("backtest_")}
        mlflow.log_metrics(backtest, model_id=model_id)
        with tempfile.TemporaryDirectory() as scratch:
            plot = Path(scratch) / "reliability.png"
            plot.write_bytes(reliability)
            mlflow.log_artifact(str(plot))
        mlflow.log_artifacts(str(artifact_dir), artifact_path="model_artifact")
        mlflow.register_model(f"models:/{model_id}", REGISTERED_MODEL_NAME)
    mlflow.end_run()
    return run_id


def fail_mlflow_run(run_id: str) -> None:
    """Mark a run that is still RUNNING as FAILED (it may be this process's active run)."""
    mlflow = mlflow_experiment()
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run("FAILED")
    client = mlflow.MlflowClient()
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_terminated(run_id, "FAILED")


@contextmanager
def failed_mlflow_run_on_error() -> Iterator[None]:
    """Close this process's open MLflow run as FAILED if the block raises (then re-raise)."""
    try:
        yield
    except BaseException:
        import mlflow

        mlflow.end_run("FAILED")
        raise


def build_parser() -> OneLineArgumentParser:
    """The train.py flags (ARCHITECTURE section 3)."""
    parser = OneLineArgumentParser(prog="train.py", description="Train and save the win-probability model.")
    parser.add_argument("--data-dir", type=Path, default=SETTINGS.data_dir, help="CRM export folder")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: latest date in the data)")
    parser.add_argument("--model-dir", type=Path, default=SETTINGS.model_dir, help="where model versions go")
    parser.add_argument("--seed", type=int, default=SETTINGS.seed, help="random seed")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow logging (faster)")
    parser.add_argument(
        "--backtest-dates",
        default=None,
        help="as-of dates for the short backtest in metrics.json (default: 3 automatic; 'none')",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    """Parse flags, train, save, log."""
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    with SharedTasks(preload=WORKER_MODULES) as worker:  # starts importing now, beside this process
        from core.data import cut_at, read_crm
        from core.model.io import save_model

        full = read_crm(args.data_dir)
        crm = full if args.as_of is None else cut_at(full, args.as_of)
        print(
            f"training at as-of {crm.as_of:%Y-%m-%d} on {len(crm.deals):,} deals from {args.data_dir}",
            file=sys.stderr,
        )
        dates = parse_dates(args.backtest_dates)
        with training(crm, args.seed, dates, worker=worker, mlflow=not args.no_mlflow) as fitted:
            metrics = fitted.metrics()
            path = save_model(fitted.model, args.model_dir, metrics)
            print(f"saved model {path.name} to {path} ({time.perf_counter() - started:.1f} s)")
            if "backtest" in metrics:
                print(metrics["backtest"]["signal_statement"])
            if not args.no_mlflow:
                run_id = fitted.log_run(metrics, path)
                print(f"MLflow run {run_id} (registered as {REGISTERED_MODEL_NAME})")
    return 0


if __name__ == "__main__":
    exit_process(main())
