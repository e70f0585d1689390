"""Train the win-probability model at an as-of date and save a versioned artifact (+ an MLflow run).

    python models/training/train.py --data-dir DIR --as-of DATE --model-dir DIR [--mapping FILE] [--seed N]
                                    [--no-mlflow]
                                    [--backtest-dates D1,D2,...|none]

Writes ``<model-dir>/<version>/`` (LightGBM text model, calibrator JSON, feature spec, metrics with a short
rolling-origin backtest, model card, manifest; no pickle) and logs params, metrics, the reliability plot
and the booster (MLflow LightGBM flavour, registered) to ``MLFLOW_TRACKING_URI`` or experiments/mlflow.db.
Exit codes: 0 success, 2 bad input, 1 unexpected failure.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from core.data import CRMData, cut_at, mapping_for, parse_as_of, read_crm
from core.errors import UsageError
from core.model import WinProbabilityModel
from core.model.backtest import backtest_report, default_as_of_dates, history_ablation, score_as_of
from core.parallel import worker_pool
from core.settings import SETTINGS
from models.cli_support import OneLineArgumentParser, add_export_arguments, exit_process, run_cli
from models.model_io import save_model

SHORT_BACKTEST_DATES = 3


def parse_dates(text: str | None) -> list[pd.Timestamp] | None:
    """``D1,D2,...`` to Timestamps; ``none`` to an empty list; None (flag absent) stays None."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    return [parse_as_of(part.strip()) for part in text.split(",") if part.strip()]


def train_model(
    crm: CRMData, seed: int = SETTINGS.seed, backtest_dates: list[pd.Timestamp] | None = None
) -> tuple[WinProbabilityModel, dict]:
    """Fit on ``crm`` (a cut at its as-of date) and compute metrics.json: validation + short backtest.

    The backtest replays dates before ``crm.as_of`` using only ``crm`` (outcomes known by its as-of date):
    three month-start dates by default (``default_as_of_dates``), ``[]`` for none. Its fits run in worker
    processes while this one fits the model; each is seeded and single-threaded, so where a date runs changes
    no number. Deals the export has not resolved are labelled with the outcomes this fit estimated anyway
    (``WinProbabilityModel.estimated_outcomes``).
    """
    dates = default_as_of_dates(crm, SHORT_BACKTEST_DATES) if backtest_dates is None else backtest_dates
    late = [d for d in dates if d >= crm.as_of]
    if late:
        raise UsageError(
            f"--backtest-dates {late[0]:%Y-%m-%d} is not before the as-of date {crm.as_of:%Y-%m-%d}"
        )
    with worker_pool(len(dates)) as pool:
        ablation = history_ablation(crm)  # with a field history, the backtest says what it adds
        scores = [pool.submit(score_as_of, crm, pd.Timestamp(date), seed, ablation) for date in dates]
        model = WinProbabilityModel(seed=seed).fit(crm)
        scored = [future.result() for future in scores]
    metrics: dict = {"validation": model.validation_}
    if dates:
        metrics["backtest"] = backtest_report(crm, scored, seed, None, model.estimated_outcomes(crm))
    return model, metrics


def build_parser() -> OneLineArgumentParser:
    """The train.py flags (ARCHITECTURE section 3)."""
    parser = OneLineArgumentParser(prog="train.py", description="Train and save the win-probability model.")
    parser.add_argument("--data-dir", type=Path, default=SETTINGS.data_dir, help="CRM export folder")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: latest date in the data)")
    add_export_arguments(parser)
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
    """Load -> fit and backtest -> save -> track."""
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    full = read_crm(args.data_dir, mapping_for(args.data_dir, args.mapping), args.drop_invalid)
    crm = full if args.as_of is None else cut_at(full, args.as_of)
    print(
        f"training at as-of {crm.as_of:%Y-%m-%d} on {len(crm.deals):,} deals from {args.data_dir}",
        file=sys.stderr,
    )
    model, metrics = train_model(crm, args.seed, parse_dates(args.backtest_dates))
    path = save_model(model, args.model_dir, metrics)
    print(f"saved model {path.name} to {path} ({time.perf_counter() - started:.1f} s)")
    if "backtest" in metrics:
        print(metrics["backtest"]["signal_statement"])
    if not args.no_mlflow:
        from models.tracking import REGISTERED_MODEL_NAME, log_training_run

        run_id = log_training_run(model, crm, metrics, path)
        print(f"MLflow run {run_id} (registered as {REGISTERED_MODEL_NAME})")
    return 0


if __name__ == "__main__":
    exit_process(main())
