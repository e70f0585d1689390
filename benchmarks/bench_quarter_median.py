"""Measure issue 22's acceptance figure: the whole-quarter forecast's chance of reaching the TRUE median.

    python benchmarks/bench_quarter_median.py          # 4 quarters x 3 as-of dates, 20,000 oracle runs
    python benchmarks/bench_quarter_median.py --quarters 2026Q2 --simulations 2000

On the bundled demo (``dataset/``, ``generate_crm(15000, seed=7, export 2026-08-14)``) the true distribution
of a quarter's won revenue given the world at an as-of date is known (``oracle_quarter_revenue``). For each of
the last four complete quarters and three as-of dates (the day before the quarter, day 45, 14 days before
its end) the batch step runs as a user runs it (``models/inference/predict.py --as-of T`` into a fresh
model folder, so it trains at T), and P(revenue >= true median) is read off ``forecast_quantiles.csv``
(scope total, the quarter, the whole team) with ``chance_of_reaching``. Target: 0.5 +/- 0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.data.synthetic import QuarterRevenueDraws, oracle_quarter_revenue  # noqa: E402
from core.forecast.periods import headline_quarter  # noqa: E402
from core.forecast.targets import chance_of_reaching  # noqa: E402

QUARTERS = ("2025Q3", "2025Q4", "2026Q1", "2026Q2")


def as_of_dates(quarter: pd.Period) -> list[pd.Timestamp]:
    """The day before the quarter starts, its 45th day, and 14 days before it ends."""
    start, end = quarter.start_time.normalize(), quarter.end_time.normalize()
    return [start - pd.Timedelta(days=1), start + pd.Timedelta(days=44), end - pd.Timedelta(days=14)]


def run_batch_step(data_dir: Path, as_of: pd.Timestamp, folder: Path) -> float:
    """predict.py at ``as_of`` into ``folder`` (fresh model folder, so it trains at as-of); the seconds it
    took."""
    shutil.rmtree(folder, ignore_errors=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    predict = [
        sys.executable,
        str(ROOT / "models/inference/predict.py"),
        *("--data-dir", str(data_dir), "--as-of", f"{as_of:%Y-%m-%d}"),
        *("--out-dir", str(folder / "out"), "--model-dir", str(folder / "model"), "--quiet"),
    ]
    start = time.perf_counter()
    done = subprocess.run(predict, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"predict.py --as-of {as_of:%Y-%m-%d} failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def forecast_rows(out_dir: Path, quarter: pd.Period) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """The quarter's whole-team row of forecast.csv and its total and open quantile rows."""
    start = f"{quarter.start_time:%Y-%m-%d}"
    forecast = pd.read_csv(out_dir / "forecast.csv")
    row = forecast.loc[
        forecast["period_type"].eq("quarter")
        & forecast["segment_type"].eq("all")
        & forecast["period_start"].eq(start)
    ]
    grid = pd.read_csv(out_dir / "forecast_quantiles.csv")
    team = grid.loc[
        grid["period_type"].eq("quarter") & grid["segment_type"].eq("all") & grid["period_start"].eq(start)
    ]
    total, open_deals = team.loc[team["scope"].eq("total")], team.loc[team["scope"].eq("open")]
    if len(row) != 1 or len(total) != 99 or len(open_deals) != 99:
        raise RuntimeError(
            f"{out_dir}: no whole-team quarter rows for {quarter} (forecast covers too little)"
        )
    return row.iloc[0], total, open_deals


def chance_text(rows: pd.DataFrame, target: float) -> tuple[float, str]:
    """P(revenue >= target) from the q grid, and its text: '<0.01' / '>0.99' when off the grid."""
    chance = chance_of_reaching(rows, target)
    revenue = rows["revenue"].to_numpy(dtype=float)
    if target <= revenue.min():
        return chance, ">0.99"
    if target >= revenue.max():
        return chance, "<0.01"
    return chance, f"{chance:.3f}"


def median_error(draws: np.ndarray) -> float:
    """Half-width of the 95% order-statistic interval of the sample median (Monte Carlo error)."""
    ordered = np.sort(draws)
    n = len(ordered)
    half = 1.96 * np.sqrt(n) / 2
    lo, hi = int(np.floor(n / 2 - half)), int(np.ceil(n / 2 + half))
    return float(ordered[min(hi, n - 1)] - ordered[max(lo, 0)]) / 2


def measure(args: argparse.Namespace, quarter: pd.Period, as_of: pd.Timestamp) -> dict:
    """One (quarter, as-of) row: the forecast read at the oracle's median, and both sides' parts."""
    folder = args.work_dir / f"{as_of:%Y-%m-%d}"
    seconds = run_batch_step(args.data_dir, as_of, folder)
    row, total, open_rows = forecast_rows(folder / "out", quarter)
    start, end = quarter.start_time.normalize(), quarter.end_time.normalize()
    oracle_start = time.perf_counter()
    oracle: QuarterRevenueDraws = oracle_quarter_revenue(
        args.deals, args.seed, args.export_date, as_of, start, end, args.simulations, args.oracle_seed
    )
    oracle_seconds = time.perf_counter() - oracle_start
    draws = oracle.total
    median = float(np.median(draws))
    error = median_error(draws)
    chance, text = chance_text(total, median)
    open_median = float(np.median(oracle.open_deals))
    return {
        "quarter": str(quarter),
        "as_of": f"{as_of:%Y-%m-%d}",
        "headline": str(headline_quarter(as_of)),
        "chance": chance,
        "chance_text": text,
        "chance_low": chance_of_reaching(total, median + error),
        "chance_high": chance_of_reaching(total, median - error),
        "forecast_p50": float(row["total_p50"]),
        "oracle_p10": float(np.quantile(draws, 0.1)),
        "oracle_median": median,
        "oracle_median_error": error,
        "oracle_p90": float(np.quantile(draws, 0.9)),
        "forecast_p10": float(row["total_p10"]),
        "forecast_p90": float(row["total_p90"]),
        "actual": args.actuals[str(quarter)],
        "won_by_as_of": oracle.won_by_as_of,
        "forecast_closed_won": float(row["closed_won"]),
        "forecast_open_expected": float(row["expected"]),
        "oracle_open_mean": float(oracle.open_deals.mean()),
        "open_chance": chance_of_reaching(open_rows, open_median),
        "forecast_new_expected": float(row["new_expected"]),
        "oracle_new_mean": float((oracle.not_engaged_yet + oracle.not_created_yet).mean()),
        "predict_seconds": seconds,
        "oracle_seconds": oracle_seconds,
    }


def quarter_actuals(data_dir: Path, quarters: list[pd.Period]) -> dict[str, float]:
    """Revenue won in each quarter, from the data's truth.csv."""
    truth = pd.read_csv(data_dir / "truth.csv", dtype=str, keep_default_na=False)
    won = truth.loc[truth["outcome"].eq("Won")]
    close = pd.to_datetime(won["close_date"])
    return {
        str(q): float(won.loc[close.dt.to_period("Q").eq(q), "close_value"].astype(float).sum())
        for q in quarters
    }


def money(value: float) -> str:
    """Dollars in millions, three decimals."""
    return f"{value / 1e6:.3f}"


def print_tables(rows: list[dict]) -> None:
    """The measured table, the parts table and the summary lines (markdown)."""
    print(
        "| quarter | as-of | P(rev >= true median) | forecast P50 | true median (+/- MC) | true P10-P90 "
        "| forecast P10-P90 | actual |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        chance = f"{r['chance_text']} ({r['chance_low']:.3f}-{r['chance_high']:.3f})"
        median = f"{money(r['oracle_median'])} (+/- {r['oracle_median_error']:,.0f})"
        print(
            f"| {r['quarter']} | {r['as_of']} | {chance} | {money(r['forecast_p50'])} | {median} "
            f"| {money(r['oracle_p10'])}-{money(r['oracle_p90'])} | {money(r['forecast_p10'])}-"
            f"{money(r['forecast_p90'])} | {money(r['actual'])} |"
        )
    print()
    print(
        "| quarter | as-of | won by as-of: forecast / true | open: forecast expected / true mean "
        "| P(open >= true open median) | not yet engaged or created: forecast / true mean |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['quarter']} | {r['as_of']} "
            f"| {money(r['forecast_closed_won'])} / {money(r['won_by_as_of'])} "
            f"| {money(r['forecast_open_expected'])} / {money(r['oracle_open_mean'])} "
            f"| {r['open_chance']:.3f} "
            f"| {money(r['forecast_new_expected'])} / {money(r['oracle_new_mean'])} |"
        )
    chances = np.array([r["chance"] for r in rows])
    inside = int(((chances >= 0.4) & (chances <= 0.6)).sum())
    print()
    print(
        f"mean P(rev >= true median) over {len(rows)} dates: {chances.mean():.3f}; "
        f"{inside} of {len(rows)} in 0.4-0.6"
    )
    print(f"mean P(open >= true open median): {np.mean([r['open_chance'] for r in rows]):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "dataset")
    parser.add_argument("--deals", type=int, default=15_000, help="the data's generate_crm n_deals")
    parser.add_argument("--seed", type=int, default=7, help="the data's generate_crm seed")
    parser.add_argument("--export-date", default="2026-08-14", help="the data's generate_crm export date")
    parser.add_argument("--quarters", default=",".join(QUARTERS), help="comma-separated, e.g. 2025Q3,2026Q2")
    parser.add_argument("--simulations", type=int, default=20_000, help="oracle runs per as-of date")
    parser.add_argument("--oracle-seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "benchmarks/out/quarter_median")
    args = parser.parse_args()
    quarters = [pd.Period(q.strip(), freq="Q") for q in args.quarters.split(",")]
    args.actuals = quarter_actuals(args.data_dir, quarters)
    for quarter in quarters:  # the oracle's world is the data's: at the quarter's end it is the actual
        end = quarter.end_time.normalize()
        known = oracle_quarter_revenue(
            args.deals, args.seed, args.export_date, end, quarter.start_time, end, 1
        )
        if float(known.total[0]) != args.actuals[str(quarter)]:
            raise SystemExit(
                f"{args.data_dir} is not generate_crm({args.deals}, {args.seed}, {args.export_date})"
            )
    start = time.perf_counter()
    rows = []
    for quarter in quarters:
        for as_of in as_of_dates(quarter):
            rows.append(measure(args, quarter, as_of))
            r = rows[-1]
            print(
                f"{r['quarter']} at {r['as_of']}: P = {r['chance_text']} "
                f"(predict {r['predict_seconds']:.0f} s, oracle {r['oracle_seconds']:.0f} s)",
                flush=True,
            )
    args.work_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.work_dir / "results.csv", index=False)
    print()
    print_tables(rows)
    print(
        f"\n{len(rows)} dates in {time.perf_counter() - start:.0f} s; rows in {args.work_dir / 'results.csv'}"
    )


if __name__ == "__main__":
    main()
