"""Batch scoring: win probability, drivers, risk, time to close and the revenue forecast for every open deal.

    python models/inference/predict.py --data-dir DIR --as-of DATE --out-dir DIR --model-dir DIR
                                        [--mapping FILE] [--retrain] [--simulations N] [--seed N]

Writes latest_predictions.csv, forecast.csv, shap_values.csv and predictions_metadata.json into --out-dir,
all atomically (temp files, then renames): a failed run leaves the previous outputs byte-for-byte intact.
Exit codes: 0 success, 2 bad input or bad model files (one line on stderr), 1 unexpected failure.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.data import load_crm, mapping_for, parse_as_of
from core.errors import DataContractError, UsageError
from core.settings import SETTINGS
from models.cli_support import OneLineArgumentParser, add_export_arguments, exit_process, run_cli
from models.inference.batch import build_outputs
from models.storage import write_atomically


class Progress:
    """Step timings plus a simple progress display on stderr (no extra dependency)."""

    def __init__(self, stream=sys.stderr, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        """One progress line."""
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str, label: str) -> Iterator[None]:
        """Time a step and announce its start and end."""
        self.say(f"predict: {label} ...")
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
        self.say(f"predict: {label} done in {elapsed:.1f} s")

    def fraction(self, label: str) -> Callable[[float], None]:
        """A callback printing ``label NN%`` each time another tenth is done."""
        shown = {"tenth": 0}

        def report(done: float) -> None:
            tenth = int(done * 10)
            if tenth > shown["tenth"]:
                shown["tenth"] = tenth
                self.say(f"predict:   {label} {tenth * 10}%")

        return report


def read_hours(path: Path) -> dict[str, float]:
    """--attention-hours: a CSV with columns manager and hours (hours >= 0); a one-line error names the file,
    column and row of the first problem."""
    import pandas as pd

    if not path.is_file():
        raise DataContractError(path.name, f"file not found: {path}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("manager", "hours"):
        if column not in frame.columns:
            raise DataContractError(path.name, "missing column", column)
    hours = pd.to_numeric(frame["hours"].str.strip(), errors="coerce")
    bad = hours.isna() | (hours < 0)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataContractError(
            path.name,
            f"hours must be a number of 0 or more, got '{frame['hours'].iloc[row]}'",
            "hours",
            row + 2,
        )
    return dict(zip(frame["manager"].str.strip(), hours.astype(float), strict=True))


def build_parser() -> OneLineArgumentParser:
    """The command-line flags of ARCHITECTURE section 3."""
    parser = OneLineArgumentParser(prog="predict.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SETTINGS.data_dir, help="CRM export folder")
    parser.add_argument(
        "--as-of", default=None, help="analysis date YYYY-MM-DD (default: latest date in the data)"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=SETTINGS.out_dir, help="where the outputs are written"
    )
    parser.add_argument("--model-dir", type=Path, default=SETTINGS.model_dir, help="model artifacts folder")
    add_export_arguments(parser)
    parser.add_argument("--retrain", action="store_true", help="train a new model even if one is compatible")
    parser.add_argument("--simulations", type=int, default=SETTINGS.simulations, help="Monte Carlo runs")
    parser.add_argument("--seed", type=int, default=SETTINGS.seed, help="random seed")
    parser.add_argument(
        "--compare-to",
        default=None,
        help="what changed since this date YYYY-MM-DD (default: a week before the as-of date)",
    )
    parser.add_argument(
        "--attention-hours",
        type=Path,
        default=None,
        help="CSV of manager,hours: each manager's deal-review hours this week (default 6 each)",
    )
    parser.add_argument(
        "--no-mlflow", action="store_true", help="when a model is trained, skip its MLflow run (faster)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines (only shown on a terminal)")
    return parser


def _check_args(args) -> None:
    """Usage errors the parser cannot see."""
    if args.simulations < 1:
        raise UsageError(f"--simulations must be at least 1 (got {args.simulations})")
    if args.seed < 0:
        raise UsageError(f"--seed must be zero or positive (got {args.seed})")
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise UsageError(f"--out-dir {args.out_dir} exists and is not a folder")
    if args.model_dir.exists() and not args.model_dir.is_dir():
        raise UsageError(f"--model-dir {args.model_dir} exists and is not a folder")


def run(argv: list[str] | None = None) -> int:
    """Load -> model -> scores, drivers, forecast and metadata in memory -> write them all atomically."""
    args = build_parser().parse_args(argv)
    _check_args(args)
    # progress lines only on an interactive terminal: scripted runs get exactly one stderr line on error
    progress = Progress(quiet=args.quiet or not sys.stderr.isatty())
    with progress.step("load", "loading and validating the CRM export"):
        mapping = mapping_for(args.data_dir, args.mapping)
        crm = load_crm(args.data_dir.resolve(), args.as_of, mapping, args.drop_invalid)
    compare_to = parse_as_of(args.compare_to) if args.compare_to else None
    files = build_outputs(
        crm,
        args.model_dir,
        args.retrain,
        args.simulations,
        args.seed,
        progress,
        mlflow=not args.no_mlflow,
        compare_to=compare_to,
        attention_hours=read_hours(args.attention_hours) if args.attention_hours else None,
    )
    with progress.step("write", f"writing outputs to {args.out_dir}"):
        written = write_atomically(args.out_dir, files)
    progress.say(f"predict: wrote {', '.join(p.name for p in written)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point under the shared error policy (exit 0 / 2 / 1)."""
    return run_cli(lambda: run(argv))


if __name__ == "__main__":
    exit_process(main())
