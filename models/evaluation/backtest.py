"""Rolling-origin backtest of the win-probability model: JSON + Markdown report.

    python models/evaluation/backtest.py --data-dir DIR --as-of-dates D1,D2,... --out-dir DIR [--seed N]
                                         [--variants closed_only,blank_as_missing|none]

At each as-of date the export is cut, a model is trained on what was known then and the deals open then
are scored against what happened afterwards (``core.model.backtest``). With a ``truth.csv`` beside the
export (synthetic data) outcomes come from it and the oracle's true probabilities are scored too.
Variants retrain with one design choice switched off, to show its effect: ``closed_only`` (naive
censoring: train on closed deals only) and ``blank_as_missing`` (let the model see blank accounts, a leak).

The report is built from sections (``SECTIONS``, chosen with ``--sections``): each is a function (full
export, truth, args) -> (key, JSON dict, Markdown text): the win-probability backtest, then the forecast
backtest (``models/evaluation/forecast_backtest.py``).
Exit codes: 0 success, 2 bad input, 1 unexpected failure.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.data import CRMData, mapping_for, parse_as_of, read_crm
from core.errors import DataContractError, UsageError
from core.model.backtest import default_as_of_dates, history_ablation, outside_chance, rolling_backtest
from core.model.metrics import chance_range_text
from core.settings import SETTINGS
from models.cli_support import OneLineArgumentParser, add_export_arguments, exit_process, run_cli
from models.storage import write_atomically

VARIANTS: dict[str, dict] = {
    "closed_only": {"censoring": "closed_only"},
    "blank_as_missing": {"account_policy": "as_missing"},
}
TRUTH_NUMERIC = (
    "list_price",
    "p_win_if_closes",
    "zombie_probability",
    "true_win_probability",
    "won_shape",
    "won_scale",
    "lost_shape",
    "lost_scale",
    "pull_probability",
    "pull_window_days",
)
Section = Callable[[CRMData, "pd.DataFrame | None", object], tuple[str, dict, str]]


def read_truth(data_dir: Path) -> pd.DataFrame | None:
    """The synthetic generator's truth.csv beside the export, typed for the oracle (None when absent)."""
    path = data_dir / "truth.csv"
    if not path.exists():
        return None
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [
        c
        for c in ("opportunity_id", "outcome", "engage_date", "close_date", *TRUTH_NUMERIC)
        if c not in truth.columns
    ]
    if missing:
        raise DataContractError("truth.csv", "required column missing", column=missing[0])
    for column in TRUTH_NUMERIC:
        values = pd.to_numeric(truth[column], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax()) + 2
            raise DataContractError(
                "truth.csv", f"not a number: '{truth[column].iloc[row - 2]}'", column=column, row=row
            )
        truth[column] = values.astype(float)
    return truth


def _fmt(value: object, digits: int = 3) -> str:
    """A number with fixed decimals, or n/a."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _reliability_text(table: list[dict]) -> str:
    """A reliability table on one line: each bin's count, mean prediction and observed rate."""
    return "; ".join(
        f"{b['bin_lower']:.1f}-{b['bin_upper']:.1f}: n={b['n']}, predicted {b['mean_predicted']:.2f}, "
        f"observed {b['observed_rate']:.2f}"
        for b in table
    )


def win_probability_markdown(report: dict) -> str:
    """The Markdown section for the win-probability backtest."""
    lines = ["## Win probability", "", report["signal_statement"], ""]
    if not report["per_as_of"]:
        return "\n".join(lines)
    first = report["per_as_of"][0]
    lines += [f"Labels: {first['label_source']}.", ""]
    lines += [
        "ECE if calibrated: the range (5th-95th percentile) of the ECE a perfectly calibrated forecaster "
        "would show on the same deals by chance (outcomes drawn from the model's own probabilities); an ECE "
        "above it is miscalibration the sample size does not explain.",
        "",
    ]
    columns = ["model", "baseline_base_rate", "baseline_stage_age"]
    extra = [c for c in ("oracle",) if c in first] + sorted(first.get("variants", {}))
    lines += [
        "| as-of | n | excluded (open at export) | counted not won (stale at export) | estimated (open at "
        "export, not stale) | base rate | observed | who | AUC | Brier | Brier skill | log loss | ECE "
        "| ECE if calibrated (5-95%) |",
        "|---" * 14 + "|",
    ]
    for row in report["per_as_of"]:
        for name in columns + extra:
            metrics = row.get(name) or row.get("variants", {}).get(name)
            lines.append(
                f"| {row['as_of']} | {row['n']} | {row['excluded_still_open_at_export']} | "
                f"{row['still_open_at_export_counted_not_won']} | "
                f"{row.get('still_open_at_export_estimated', 0)} | {_fmt(row['base_rate'])} | "
                f"{_fmt(row['observed_win_rate'])} | {name} | {_fmt(metrics['auc'])} | "
                f"{_fmt(metrics['brier'], 4)} | "
                f"{_fmt(metrics['brier_skill'])} | {_fmt(metrics['log_loss'])} | {_fmt(metrics['ece'])} | "
                f"{chance_range_text(metrics.get('ece_if_calibrated')) or ''} |"
            )
    closed_views = [
        (r["as_of"], r["closed_by_export"]) for r in report["per_as_of"] if r.get("closed_by_export")
    ]
    if closed_views:
        lines += [
            "",
            "### Closed-by-export view (the usual, naive evaluation population)",
            "",
            "Only deals that closed by the export's end; on them the right probability is P(won | closes). "
            "`model_won_if_closes` is the model's competing-risks hazard ratio; `model_won` the deployed "
            "P(won), which also prices in the risk of never closing.",
            "",
            "| as-of | n | excluded | observed | who | AUC | Brier | Brier skill | ECE |",
            "|---" * 9 + "|",
        ]
        for as_of, view in closed_views:
            for name in ("baseline_base_rate", "model_won_if_closes", "model_won"):
                if name in view:
                    m = view[name]
                    lines.append(
                        f"| {as_of} | {view['n']} | {view['excluded_still_open_at_export']} | "
                        f"{_fmt(view['observed_win_rate'])} | {name} | {_fmt(m['auc'])} | "
                        f"{_fmt(m['brier'], 4)} | {_fmt(m['brier_skill'])} | {_fmt(m['ece'])} |"
                    )
    lines += ["", "### Reliability (model)", ""]
    lines += [f"- {row['as_of']}: {_reliability_text(row['reliability'])}" for row in report["per_as_of"]]
    lines += [
        "",
        "### Calibration by deal age (model)",
        "",
        "Deals grouped by their age at the as-of date (days since engagement). Over: predicted minus "
        "observed, summed over the group's deals. A group outside a calibrated model's range is marked.",
        "",
        "| as-of | age (days) | n | predicted | observed | calibrated, 5-95% by chance | over (deals) |",
        "|---" * 7 + "|",
    ]
    for row in report["per_as_of"]:
        for g in row.get("calibration_by_age", []):
            outside = " (outside)" if outside_chance(g) else ""
            lines.append(
                f"| {row['as_of']} | {g['age_days']} | {g['n']} | {g['mean_predicted']:.3f} | "
                f"{g['observed_rate']:.3f} | {g['chance_low']:.3f}-{g['chance_high']:.3f} | "
                f"{g['over']:+.1f}{outside} |"
            )
    lines += ["", "### Reliability (baselines, and the oracle on synthetic data)", ""]
    lines += [
        f"- {row['as_of']}, {name}: {_reliability_text(row[name]['reliability'])}"
        for row in report["per_as_of"]
        for name in ("baseline_base_rate", "baseline_stage_age", "baseline_cohort_rate", "oracle")
        if "reliability" in (row.get(name) or {})
    ]
    pooled = report["summary"].get("pooled")
    if pooled:
        truth_text = (
            f"; the true probabilities {_fmt(pooled['oracle_ece'])}, the model against them "
            f"{_fmt(pooled['calibration_error_vs_truth'])}"
            if pooled.get("oracle_ece") is not None
            else ""
        )
        lines += [
            "",
            "### Reliability pooled over the dates (model)",
            "",
            f"{pooled['n']:,} scores of {pooled['n_deals']:,} distinct deals: ECE {_fmt(pooled['ece'])}, a "
            f"perfectly calibrated forecaster {chance_range_text(pooled['ece_if_calibrated'])} by chance"
            f"{truth_text}. A deal open at several dates has one outcome: the chance ranges draw one per "
            "deal.",
            "",
            "| bin | n | distinct deals | predicted | observed | calibrated, 5-95% by chance |",
            "|---" * 6 + "|",
        ]
        lines += [
            f"| {b['bin_lower']:.1f}-{b['bin_upper']:.1f} | {b['n']} | {b['n_deals']} | "
            f"{b['mean_predicted']:.3f} | {b['observed_rate']:.3f} | "
            f"{b['chance_low']:.3f}-{b['chance_high']:.3f} |"
            for b in pooled["reliability"]
        ]
    return "\n".join(lines) + "\n"


def win_probability_section(full: CRMData, truth: pd.DataFrame | None, args: object) -> tuple[str, dict, str]:
    """Backtest the win-probability model at the requested dates, with the requested variants."""
    dates = args.as_of_dates or default_as_of_dates(full)
    late = [d for d in dates if d > full.export_end]
    if late:
        raise UsageError(
            f"--as-of-dates {late[0]:%Y-%m-%d} is after the export's end {full.export_end:%Y-%m-%d}"
        )
    variants = {name: VARIANTS[name] for name in args.variants} | history_ablation(full)
    report = rolling_backtest(
        full, dates, args.seed, truth, variants, progress=lambda message: print(message, file=sys.stderr)
    )
    return "win_probability", report, win_probability_markdown(report)


def forecast_section(full: CRMData, truth: pd.DataFrame | None, args: object) -> tuple[str, dict, str]:
    """The forecast backtest (owned by the forecast engineer, ``models/evaluation/forecast_backtest.py``)."""
    from models.evaluation.forecast_backtest import forecast_backtest_section

    return forecast_backtest_section(full, truth, args)


SECTIONS: dict[str, Section] = {"win_probability": win_probability_section, "forecast": forecast_section}


def build_parser() -> OneLineArgumentParser:
    """The backtest.py flags (ARCHITECTURE section 3)."""
    parser = OneLineArgumentParser(prog="backtest.py", description="Rolling-origin backtest of the model.")
    parser.add_argument("--data-dir", type=Path, default=SETTINGS.data_dir, help="CRM export folder")
    add_export_arguments(parser)
    parser.add_argument(
        "--as-of-dates", default=None, help="D1,D2,... (default: 5 month starts with enough history)"
    )
    parser.add_argument("--out-dir", type=Path, default=SETTINGS.out_dir, help="where backtest.json/.md go")
    parser.add_argument("--seed", type=int, default=SETTINGS.seed, help="random seed")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"report sections to run ({','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"design ablations to retrain ({','.join(VARIANTS)}; 'none' for none)",
    )
    return parser


def parse_args(argv: list[str] | None) -> object:
    """Parse and validate flags (dates, variants)."""
    args = build_parser().parse_args(argv)
    text = args.as_of_dates
    args.as_of_dates = [parse_as_of(p.strip()) for p in text.split(",") if p.strip()] if text else []
    names = (
        []
        if args.variants.strip().lower() == "none"
        else [v.strip() for v in args.variants.split(",") if v.strip()]
    )
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise UsageError(
            f"--variants: unknown variant '{unknown[0]}' (choose from {', '.join(VARIANTS)} or none)"
        )
    args.variants = names
    sections = [v.strip() for v in args.sections.split(",") if v.strip()]
    unknown = [v for v in sections if v not in SECTIONS]
    if unknown or not sections:
        raise UsageError(
            f"--sections: unknown section '{(unknown or [''])[0]}' (choose from {', '.join(SECTIONS)})"
        )
    args.sections = sections
    return args


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    """Run every report section and write backtest.json and backtest.md."""
    args = parse_args(argv)
    started = time.perf_counter()
    full = read_crm(args.data_dir, mapping_for(args.data_dir, args.mapping), args.drop_invalid)
    truth = read_truth(Path(args.data_dir))
    report: dict = {
        "data_dir": str(args.data_dir),
        "data_hash": full.data_hash,
        "export_end": f"{full.export_end:%Y-%m-%d}",
        "seed": args.seed,
    }
    markdown = [
        f"# Backtest of {args.data_dir}",
        "",
        f"Export end {full.export_end:%Y-%m-%d}; data hash `{full.data_hash[:16]}`; seed {args.seed}.",
        "",
    ]
    for name in args.sections:
        key, data, text = SECTIONS[name](full, truth, args)
        report[key] = data
        markdown.append(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "backtest.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "backtest.md": "\n".join(markdown),
    }
    write_atomically(args.out_dir, {name: text.encode("utf-8") for name, text in files.items()})
    print(f"wrote {args.out_dir / 'backtest.json'} and backtest.md ({time.perf_counter() - started:.1f} s)")
    if "win_probability" in report:
        print(report["win_probability"]["signal_statement"])
    return 0


if __name__ == "__main__":
    exit_process(main())
