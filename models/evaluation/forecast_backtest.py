"""Forecast backtest: replay past as-of dates and compare forecast quantiles with the revenue actually won.

At each past as-of date ``t`` the export is cut at ``t`` (nothing after it is visible), the time-to-close
curves and the shock sizes are fitted on that cut, win probabilities come from ``probability_source``
(``model``: a WinProbabilityModel trained on the cut; ``curves``: the model-free historical chance
of a win given the deal's age), and the forecast is simulated twice with the same seed: with the fitted
dependence and as a naive baseline of independent deals. A window is one (as-of, period, segment) whose
period is completely observed in the export; its actual is the revenue won inside the period (after
``t``) by deals that were open at ``t``. Windows overlap (months inside quarters, offices inside all), so
they are not independent evidence; coverage is reported over all of them.

    python -m models.evaluation.forecast_backtest --data-dir DIR --as-of-dates D1,D2,... [--source model]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data import CRMData, cut_at, mapping_for, read_crm
from core.errors import RevIntelError
from core.forecast.dependence import fit_market
from core.forecast.forecast import deal_values, forecast_revenue
from core.forecast.simulation import Dependence
from core.forecast.timing import CloseTimingModel
from models.storage import write_atomically

BACKTEST_SIMULATIONS = 1000
BACKTEST_PAIRS = 50_000_000  # cap on simulations x open deals per backtest forecast in predict.py
PERIOD_TYPES = ("month", "quarter")
SEGMENT_TYPES = ("all", "regional_office")
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}

ProbabilitySource = Callable[[CRMData, CloseTimingModel], pd.Series]


def curve_probabilities(crm: CRMData, timing: CloseTimingModel) -> pd.Series:
    """Model-free win probability: the historical chance of a win given the deal's age and product."""
    open_deals = crm.deals[crm.deals["is_open"]]
    return pd.Series(
        timing.remaining_win_chance(open_deals).to_numpy(), index=open_deals["opportunity_id"].to_numpy()
    )


def model_probabilities(seed: int = 42, cache_dir: Path | None = None) -> ProbabilitySource:
    """Win probability from a WinProbabilityModel trained on the cut itself (what predict.py would do then).

    With ``cache_dir``, scores are kept per (data hash, as-of, seed) so reruns skip training.
    """
    from core.model import WinProbabilityModel

    def score(crm: CRMData, timing: CloseTimingModel) -> pd.Series:
        cached = None
        if cache_dir is not None:
            cached = cache_dir / f"{crm.data_hash[:12]}-{crm.as_of:%Y%m%d}-{seed}.csv"
            if cached.exists():
                frame = pd.read_csv(cached, dtype={"opportunity_id": str})
                return frame.set_index("opportunity_id")["win_probability"]
        probability = WinProbabilityModel(seed=seed).fit(crm).predict_proba(crm)
        if cached is not None:
            table = probability.rename_axis("opportunity_id").rename("win_probability").to_csv()
            write_atomically(cache_dir, {cached.name: table.encode("utf-8")})
        return probability

    return score


def actual_revenue(
    full: CRMData, cut: CRMData | None, periods: pd.DataFrame, segment_types: Sequence[str]
) -> pd.DataFrame:
    """Revenue won inside each period after the cut's as-of date by deals open at it, per segment; without
    a cut, all revenue won inside each period (the whole period's actual)."""
    later = full.deals[full.deals["is_won"]]
    if cut is not None:
        later = later[later["opportunity_id"].isin(cut.open_ids)]
    rows = []
    for period in periods.itertuples(index=False):
        start = period.period_start
        if cut is not None:
            start = max(start, cut.as_of + pd.Timedelta(days=1))
        won = later[(later["close_date"] >= start) & (later["close_date"] <= period.period_end)]
        for segment_type in segment_types:
            if segment_type == "all":
                sums = pd.Series({"All": won["close_value"].sum()})
            else:
                sums = won.groupby(segment_type)["close_value"].sum()
            for segment, value in sums.items():
                rows.append(
                    (period.period_type, period.period_start, segment_type, str(segment), float(value))
                )
    return pd.DataFrame(rows, columns=["period_type", "period_start", "segment_type", "segment", "actual"])


def forecast_windows(
    full: CRMData,
    as_of: str | pd.Timestamp,
    probability_source: ProbabilitySource,
    simulations: int,
    seed: int,
) -> pd.DataFrame:
    """Windows of one as-of date: actual vs forecast quantiles, with dependence and naive."""
    cut = cut_at(full, as_of)
    try:
        timing = CloseTimingModel().fit(cut.deals, cut.as_of)
    except ValueError:  # nothing won yet at this date: there is no forecast to judge
        return pd.DataFrame()
    seasonality, dependence = fit_market(cut.deals, cut.as_of, timing)
    open_deals = cut.deals[cut.deals["is_open"]].reset_index(drop=True)
    probability = probability_source(cut, timing)
    scored = open_deals.assign(win_probability=probability.reindex(open_deals["opportunity_id"]).to_numpy())
    keys = ["period_type", "period_start", "segment_type", "segment"]
    frames = {}
    for name, dep in (("", dependence), ("naive_", Dependence(segment_type=dependence.segment_type))):
        forecast = forecast_revenue(
            scored, cut.deals, timing, dep, cut.as_of, simulations, seed, seasonality=seasonality
        )
        observed_until = min(full.export_end, full.as_of)  # never judge with data past the caller's as-of
        forecast = forecast[
            forecast["period_type"].isin(PERIOD_TYPES)
            & forecast["segment_type"].isin(SEGMENT_TYPES)
            & (forecast["period_end"] > cut.as_of)
            & (forecast["period_end"] <= observed_until)
        ]
        columns = ["period_end", "expected", *QUANTILES, *(f"total_{q}" for q in QUANTILES)]
        frames[name] = forecast.set_index(keys)[columns].add_prefix(name)
    joined = frames[""].join(frames["naive_"].drop(columns=["naive_period_end"]))
    if joined.empty:
        return pd.DataFrame()
    periods = joined.reset_index()[["period_type", "period_start", "period_end"]].drop_duplicates()
    actual = actual_revenue(full, cut, periods, SEGMENT_TYPES).set_index(keys)
    whole = (
        actual_revenue(full, None, periods, SEGMENT_TYPES).set_index(keys)["actual"].rename("total_actual")
    )
    windows = joined.join(actual, how="left").join(whole, how="left")
    windows = windows.fillna({"actual": 0.0, "total_actual": 0.0}).reset_index()
    windows.insert(0, "as_of", f"{cut.as_of:%Y-%m-%d}")
    windows["market_variance"] = dependence.market_variance
    windows["segment_variance"] = dependence.segment_variance
    return windows


def pinball(actual: np.ndarray, predicted: np.ndarray, q: float) -> np.ndarray:
    """Pinball (quantile) loss of each window."""
    diff = actual - predicted
    return np.maximum(q * diff, (q - 1) * diff)


def summarise(windows: pd.DataFrame) -> dict:
    """Coverage of [P10, P90] and mean pinball loss (average over P10/P50/P90), model and naive."""
    if windows.empty:
        return {
            "coverage_p10_p90": None,
            "pinball": None,
            "naive_coverage_p10_p90": None,
            "naive_pinball": None,
            "total_coverage_p10_p90": None,
            "windows": 0,
        }
    actual = windows["actual"].to_numpy()
    out = {}
    for prefix, label in (("", ""), ("naive_", "naive_")):
        inside = (actual >= windows[f"{prefix}p10"]) & (actual <= windows[f"{prefix}p90"])
        loss = np.mean(
            [pinball(actual, windows[f"{prefix}{k}"].to_numpy(), q) for k, q in QUANTILES.items()], axis=0
        )
        out[f"{label}coverage_p10_p90"] = round(float(inside.mean()), 4)
        out[f"{label}pinball"] = round(float(loss.mean()), 2)
        out[f"{label}below_p10"] = round(float((actual < windows[f"{prefix}p10"]).mean()), 4)
        out[f"{label}above_p90"] = round(float((actual > windows[f"{prefix}p90"]).mean()), 4)
    whole = windows["total_actual"].to_numpy()
    inside = (whole >= windows["total_p10"]) & (whole <= windows["total_p90"])
    out["total_coverage_p10_p90"] = round(float(inside.mean()), 4)
    out["total_below_p10"] = round(float((whole < windows["total_p10"]).mean()), 4)
    out["total_above_p90"] = round(float((whole > windows["total_p90"]).mean()), 4)
    scale = float(np.mean(np.abs(actual))) or 1.0
    out["pinball_relative_to_mean_actual"] = round(out["pinball"] / scale, 4)
    out["windows"] = int(len(windows))
    out["as_of_dates"] = sorted(windows["as_of"].unique().tolist())
    return out


def recent_as_of_dates(as_of: pd.Timestamp, count: int = 4, gap_months: int = 1) -> list[pd.Timestamp]:
    """The ``count`` month ends before ``as_of`` that leave at least ``gap_months`` whole months to judge."""
    last = (as_of.to_period("M") - gap_months - 1).end_time.normalize()
    if last > as_of:
        return []
    return [(last.to_period("M") - k).end_time.normalize() for k in range(count - 1, -1, -1)]


def run_forecast_backtest(
    full: CRMData,
    as_of_dates: Sequence[str | pd.Timestamp],
    probability_source: ProbabilitySource | str = "model",
    simulations: int = 10_000,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> dict:
    """Backtest the revenue forecast at each as-of date; returns {"summary", "windows"} (contracts.md 4)."""
    if isinstance(probability_source, str):
        if probability_source not in ("model", "curves"):
            raise ValueError(f"probability_source must be 'model' or 'curves', got {probability_source!r}")
        source_name = probability_source
        source = (
            model_probabilities(seed, cache_dir) if probability_source == "model" else curve_probabilities
        )
    else:
        source_name, source = "custom", probability_source
    parts = []
    for as_of in as_of_dates:
        if progress is not None:
            progress(f"forecast backtest at {pd.Timestamp(as_of):%Y-%m-%d}")
        parts.append(forecast_windows(full, as_of, source, simulations, seed))
    windows = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else pd.DataFrame()
    )
    summary = summarise(windows)
    judged = set(windows["as_of"]) if not windows.empty else set()
    dates = [f"{pd.Timestamp(d):%Y-%m-%d}" for d in as_of_dates]
    summary["skipped_as_of_dates"] = [d for d in dates if d not in judged]
    summary.update(
        {
            "probability_source": source_name,
            "simulations": simulations,
            "seed": seed,
            "period_types": list(PERIOD_TYPES),
            "segment_types": list(SEGMENT_TYPES),
        }
    )
    records = []
    if not windows.empty:
        for row in windows.itertuples(index=False):
            records.append(
                {
                    "as_of": row.as_of,
                    "period_type": row.period_type,
                    "period_start": f"{row.period_start:%Y-%m-%d}",
                    "segment_type": row.segment_type,
                    "segment": row.segment,
                    "actual": round(row.actual, 2),
                    "p10": round(row.p10, 2),
                    "p50": round(row.p50, 2),
                    "p90": round(row.p90, 2),
                    "naive_p10": round(row.naive_p10, 2),
                    "naive_p50": round(row.naive_p50, 2),
                    "naive_p90": round(row.naive_p90, 2),
                    "total_actual": round(row.total_actual, 2),
                    "total_p10": round(row.total_p10, 2),
                    "total_p50": round(row.total_p50, 2),
                    "total_p90": round(row.total_p90, 2),
                }
            )
    return {"summary": summary, "windows": records}


def recent_forecast_backtest(crm: CRMData, seed: int) -> dict:
    """Forecast backtest at the 4 month ends before as-of, with model-free (curve) win probabilities.

    Training a model at each past date would take minutes, so predict.py backtests the forecast machinery
    (time to close, seasonality, shocks, simulation) with the curves' win chances; the trained-model
    version is ``python -m models.evaluation.forecast_backtest --source model``. The result depends only on
    the data, the as-of date and the seed, so predict.py caches it in ``<model-dir>/forecast_backtest/``.
    """
    dates = [d for d in recent_as_of_dates(crm.as_of) if d >= crm.deals["engage_date"].min()]
    n_open = max(int(crm.deals["is_open"].sum()), 1)
    simulations = int(min(BACKTEST_SIMULATIONS, max(200, BACKTEST_PAIRS // n_open)))
    try:
        result = run_forecast_backtest(crm, dates, "curves", simulations, seed)
    except (ValueError, RevIntelError) as exc:  # too little history before as-of to replay it
        return {"summary": None, "windows": [], "status": f"not enough history to backtest ({exc})"}
    result["summary"]["note"] = (
        "win probabilities from the time-to-close curves (model-free); trained-model "
        "backtest: python -m models.evaluation.forecast_backtest --source model"
    )
    return result


def forecast_backtest_markdown(result: dict) -> str:
    """A short Markdown section: summary table and what it means."""
    summary = result["summary"]
    if not summary.get("windows"):
        return "## Forecast backtest\n\nNo complete forecast window in the export for these as-of dates.\n"

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0%}"

    lines = [
        "## Forecast backtest",
        "",
        f"{summary['windows']} windows (as-of x month/quarter x all/regional office) at "
        f"{', '.join(summary['as_of_dates'])}; win probabilities from {summary['probability_source']}; "
        f"{summary['simulations']:,} simulations.",
        "",
        "| forecast | P10-P90 coverage (target 80%) | below P10 | above P90 | pinball loss |",
        "|---|---|---|---|---|",
        f"| shipped (dependent deals) | {pct(summary['coverage_p10_p90'])} | {pct(summary['below_p10'])} | "
        f"{pct(summary['above_p90'])} | {summary['pinball']:,.0f} |",
        f"| naive (independent deals) | {pct(summary['naive_coverage_p10_p90'])} | "
        f"{pct(summary['naive_below_p10'])} | {pct(summary['naive_above_p90'])} | "
        f"{summary['naive_pinball']:,.0f} |",
        f"| whole period (won already + open + not yet created) | {pct(summary['total_coverage_p10_p90'])} | "
        f"{pct(summary['total_below_p10'])} | {pct(summary['total_above_p90'])} | n/a |",
        "",
    ]
    return "\n".join(lines) + "\n"


def forecast_backtest_section(
    full: CRMData, truth: pd.DataFrame | None, args: object
) -> tuple[str, dict, str]:
    """A backtest.py report section: the forecast backtest at month ends (trained model per as-of date).

    Uses ``args.as_of_dates`` shifted to the month end before each date when given, else the six month
    ends that leave two whole months to judge before the export's end; ``args.seed``.
    """
    requested = getattr(args, "as_of_dates", None) or []
    if requested:
        dates = [
            pd.Timestamp(d) - pd.Timedelta(days=1) if pd.Timestamp(d).day == 1 else pd.Timestamp(d)
            for d in requested
        ]
    else:
        dates = recent_as_of_dates(full.export_end, count=6, gap_months=2)
    seed = getattr(args, "seed", 42)
    result = run_forecast_backtest(
        full, dates, "model", 10_000, seed, progress=lambda message: print(message, file=sys.stderr)
    )
    return "forecast", result, forecast_backtest_markdown(result)


def main(argv: list[str] | None = None) -> int:
    """CLI: print the summary and write the full result as JSON."""
    from models.cli_support import OneLineArgumentParser, add_export_arguments, run_cli

    def run() -> int:
        parser = OneLineArgumentParser(prog="forecast_backtest", description="Backtest the revenue forecast.")
        parser.add_argument("--data-dir", type=Path, required=True)
        add_export_arguments(parser)
        parser.add_argument("--as-of-dates", required=True, help="comma-separated YYYY-MM-DD dates")
        parser.add_argument("--source", choices=("model", "curves"), default="model")
        parser.add_argument("--simulations", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--out", type=Path, default=None, help="write the JSON result here")
        parser.add_argument(
            "--cache-dir", type=Path, default=None, help="keep trained-model scores per as-of here"
        )
        args = parser.parse_args(argv)
        full = read_crm(args.data_dir, mapping_for(args.data_dir, args.mapping), args.drop_invalid)
        dates = [d.strip() for d in args.as_of_dates.split(",") if d.strip()]
        result = run_forecast_backtest(
            full,
            dates,
            args.source,
            args.simulations,
            args.seed,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
            cache_dir=args.cache_dir,
        )
        print(json.dumps(result["summary"], indent=2))
        if args.out is not None:
            write_atomically(args.out.parent, {args.out.name: (json.dumps(result, indent=2) + "\n").encode()})
        return 0

    return run_cli(run)


if __name__ == "__main__":
    from models.cli_support import exit_process  # LightGBM is loaded: skip the exit's garbage collections

    exit_process(main())


TRACK_RECORD_SIMULATIONS = 200  # a week's P10-P90 needs no more; 400 made MavenTech's cold run 4 s longer
TRACK_RECORD_QUARTERS = 2
TRACK_RECORD_BIG = 250_000  # deals: above this the track record replays every other week


def track_record_dates(crm: CRMData, quarters: int = TRACK_RECORD_QUARTERS) -> list[pd.Timestamp]:
    """Every Friday of the last ``quarters`` complete quarters before ``crm.as_of`` (as far as data goes);
    every other Friday for exports of more than ``TRACK_RECORD_BIG`` deals (each week replays the whole
    export: at 1M deals the weekly track record took 458 s of a cold run)."""
    last = (crm.as_of.to_period("Q") - 1).end_time.normalize()
    first = (last.to_period("Q") - (quarters - 1)).start_time.normalize()
    start = max(first, crm.deals["engage_date"].min())
    weeks = 2 if len(crm.deals) > TRACK_RECORD_BIG else 1
    return list(pd.date_range(start, last, freq=f"{weeks}W-FRI"))


@dataclass(frozen=True)
class Replayed:
    """A forecast replayed at a past date: the cut, forecast.csv's frame and (if asked) its quantile grid."""

    cut: CRMData
    forecast: pd.DataFrame
    grid: pd.DataFrame | None


def model_free_forecast(
    crm: CRMData, as_of: pd.Timestamp, seed: int, memo: dict | None = None, grid: bool = False
) -> Replayed | None:
    """The forecast the batch step would have made at ``as_of`` from a cut of ``crm``, with model-free win
    chances (the curves'), as the track record and the forecast backtest replay it; None when too little
    had been won by then to fit anything. ``memo``: fit_market's, shared by cuts of one export."""
    cut = cut_at(crm, as_of)
    try:
        timing = CloseTimingModel().fit(cut.deals, cut.as_of)
        seasonality, dependence = fit_market(cut.deals, cut.as_of, timing, memo=memo)
    except (ValueError, RevIntelError):
        return None
    open_deals = cut.deals[cut.deals["is_open"]].reset_index(drop=True)
    scored = open_deals.assign(
        win_probability=curve_probabilities(cut, timing).reindex(open_deals["opportunity_id"]).to_numpy()
    )
    made = forecast_revenue(
        scored,
        cut.deals,
        timing,
        dependence,
        cut.as_of,
        TRACK_RECORD_SIMULATIONS,
        seed,
        seasonality=seasonality,
        grid=grid,
    )
    return Replayed(cut, *made) if grid else Replayed(cut, made, None)


def track_record(crm: CRMData, seed: int, dates: Sequence[pd.Timestamp] | None = None) -> pd.DataFrame:
    """forecast_accuracy.csv: at each past week, the forecast the batch step would have made for its own
    quarter (model-free win chances, as the forecast backtest) against what the deals open then went on to
    win in that quarter; ``total_*`` the whole quarter's forecast then (won already + open + deals not yet
    created) against all the quarter won (``total_actual``); ``rep_commit`` is what the reps had in Commit
    for the quarter then (deals with a Commit category and a close date inside it), blank when the export
    holds no category at that date."""
    rows, memo = [], {}  # the weeks share each past month's out-of-sample forecast (fit_market's memo)
    for as_of in track_record_dates(crm) if dates is None else dates:
        replayed = model_free_forecast(crm, as_of, seed, memo=memo)
        if replayed is None:
            continue
        cut, forecast = replayed.cut, replayed.forecast
        open_deals = cut.deals[cut.deals["is_open"]].reset_index(drop=True)
        quarter = forecast[
            forecast["period_type"].eq("quarter")
            & forecast["segment_type"].eq("all")
            & (forecast["period_start"] <= cut.as_of)
            & (forecast["period_end"] >= cut.as_of)
        ]
        if (
            quarter.empty
            or quarter["period_end"].iloc[0] > crm.as_of
            or quarter["period_end"].iloc[0] == cut.as_of
        ):
            continue  # a quarter not over by the export's as-of date, or one with nothing left to forecast
        period = quarter.iloc[0]
        actual = actual_revenue(crm, cut, quarter[["period_type", "period_start", "period_end"]], ("all",))
        category = open_deals["forecast_category"].fillna("")
        committed = category.eq("Commit") & open_deals["rep_close_date"].between(
            period["period_start"], period["period_end"]
        )
        values = deal_values(open_deals, cut.deals)["deal_value"]
        won_in_quarter = crm.deals[
            crm.deals["is_won"]
            & crm.deals["close_date"].between(period["period_start"], period["period_end"])
        ]
        rows.append(
            {
                "as_of": f"{cut.as_of:%Y-%m-%d}",
                "period_start": f"{period['period_start']:%Y-%m-%d}",
                "expected": round(float(period["expected"]), 2),
                "p10": round(float(period["p10"]), 2),
                "p50": round(float(period["p50"]), 2),
                "p90": round(float(period["p90"]), 2),
                "actual": round(float(actual["actual"].sum()), 2),
                **{
                    f"total_{k}": round(float(period[f"total_{k}"]), 2)
                    for k in ("expected", "p10", "p50", "p90")
                },
                "total_actual": round(float(won_in_quarter["close_value"].sum()), 2),
                "rep_commit": round(float(values[committed].sum()), 2) if category.ne("").any() else np.nan,
            }
        )
    columns = ["as_of", "period_start", "expected", "p10", "p50", "p90", "actual"]
    columns += [f"total_{k}" for k in ("expected", "p10", "p50", "p90", "actual")] + ["rep_commit"]
    return pd.DataFrame(rows, columns=columns)
