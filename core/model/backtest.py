"""Rolling-origin backtest of the win-probability model (pure: a full export in, a report dict out).

At each as-of date the export is cut (``core.data.cut_at``), a model is trained on what was known then,
every deal open at that date is scored, and the scores are compared with what happened afterwards:
the eventual outcome in the export (a deal still open at the export's end counts as not won when it is
stale, and as its estimated chance of being won otherwise; counted) or, for synthetic data, the generator's
truth (every deal has an outcome; the oracle's probability is scored beside the model). Two baselines are
scored on the same deals: the historical base rate (win rate of deals closed before the as-of date) and a
stage/age rate (win rate of past deals that were still open at a similar age).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import CRMData, cut_at
from core.data.synthetic import oracle_win_probability
from core.model.metrics import (
    bin_index,
    calibrated_draws,
    calibration_error_against,
    calibration_if_calibrated,
    chance_range_text,
    ece_if_calibrated,
    expected_calibration_error,
    probability_scores,
    reliability_table,
    sorted_runs,
)
from core.model.win_probability import WITHOUT_HISTORY, WinProbabilityModel

METRIC_KEYS = ("auc", "brier", "brier_skill", "log_loss", "ece")
AGE_BUCKET_DAYS = 14
MIN_BUCKET_DEALS = 30
MATURITY_DAYS = 120
AGE_GROUPS = ((0, 14), (15, 30), (31, 60), (61, 90), (91, 180), (181, 365), (366, None))


def default_as_of_dates(full: CRMData, count: int = 5) -> list[pd.Timestamp]:
    """Month starts spread from when there is enough history to four months before the data's end: the
    export's end, or the as-of date of a cut (its outcomes are all a backtest inside it may judge by).

    "Enough history": at least two months after the first close and 40% of the way through the data.
    """
    first_close = full.deals["close_date"].min()
    first_engage = full.deals["engage_date"].min()
    if pd.isna(first_close):
        return []
    data_end = min(full.export_end, full.as_of)  # a cut's default dates lie before its as-of date
    earliest = max(first_close + pd.Timedelta(days=60), first_engage + 0.4 * (data_end - first_engage))
    start = earliest.to_period("M").to_timestamp()
    if start < earliest:
        start = start + pd.offsets.MonthBegin(1)
    end = data_end - pd.Timedelta(days=120)
    months = pd.date_range(start, end, freq="MS")
    if len(months) <= count:
        return list(months)
    picks = np.unique(np.round(np.linspace(0, len(months) - 1, count)).astype(int))
    return [months[i] for i in picks]


def historical_base_rate(crm: CRMData) -> float:
    """Win rate of the deals closed by ``crm.as_of`` (what a naive analyst would quote)."""
    closed = crm.deals.loc[~crm.deals["is_open"]]
    return float(closed["is_won"].mean()) if len(closed) else 0.5


def matured_counts(crm: CRMData, horizon_days: int = MATURITY_DAYS) -> Callable[[float], tuple[int, int]]:
    """``age -> (deals, wins)`` among deals engaged at least ``age + horizon_days`` before as-of that were
    still open at ``age`` (arrays prepared once, counts memoised per age).

    Each such deal had ``horizon_days`` after that age to reach a decision, so "won by as-of" is nearly its
    eventual outcome (a deal still open counts as not won), without the closed-only bias toward fast closers.
    """
    deals = crm.deals.loc[crm.deals["engage_date"].notna()]
    engage = deals["engage_date"].to_numpy()
    close_age = (deals["close_date"] - deals["engage_date"]).dt.days.to_numpy(dtype=float)
    won = deals["is_won"].to_numpy(dtype=bool)
    seen: dict[float, tuple[int, int]] = {}

    def counts(age_days: float) -> tuple[int, int]:
        if age_days not in seen:
            cutoff = (crm.as_of - pd.Timedelta(days=age_days + horizon_days)).to_datetime64()
            keep = (engage <= cutoff) & (np.isnan(close_age) | (close_age > age_days))
            seen[age_days] = (int(keep.sum()), int(won[keep].sum()))
        return seen[age_days]

    return counts


def cohort_base_rate(
    crm: CRMData, strength: float = 20.0, population: Callable[[float], tuple[int, int]] | None = None
) -> float:
    """Censoring-aware constant: share won among deals engaged ``MATURITY_DAYS`` or more before as-of.

    ``population``: :func:`matured_counts` of ``crm`` when the caller already has it.
    """
    size, won = (population or matured_counts(crm))(0.0)
    return float((won + strength * 0.5) / (size + strength))


def stage_age_rate(crm: CRMData, strength: float = 20.0) -> pd.Series:
    """Per open deal: share won among matured past deals that were still open at the deal's age (smoothed).

    Ages are bucketed by ``AGE_BUCKET_DAYS``; a bucket with fewer than ``MIN_BUCKET_DEALS`` matured deals
    borrows the nearest younger bucket. Prospecting deals count as age 0.
    """
    population = matured_counts(crm)
    prior = cohort_base_rate(crm, population=population)
    open_deals = crm.deals.loc[crm.deals["is_open"]]
    ages = open_deals["age_days"].fillna(0.0).clip(lower=0).to_numpy()
    buckets = np.floor(ages / AGE_BUCKET_DAYS) * AGE_BUCKET_DAYS
    rates = {}
    for bucket in np.unique(buckets):
        start = bucket
        while True:
            size, won = population(start)
            if size >= MIN_BUCKET_DEALS or start <= 0:
                break
            start -= AGE_BUCKET_DAYS
        rates[bucket] = (won + strength * prior) / (size + strength)
    return pd.Series(
        [rates[b] for b in buckets], index=open_deals["opportunity_id"].to_numpy(), name="stage_age"
    )


def eventual_outcomes(
    full: CRMData, open_ids: pd.Series, truth: pd.DataFrame | None, estimated: pd.Series | None = None
) -> tuple[pd.Series, dict]:
    """Eventual outcome of each of ``open_ids`` (the deals open at an as-of date: 1 won, 0 not), and how the
    labels were found.

    With ``truth`` (synthetic data) every deal's outcome is known (a deal that never closes is not won).
    Otherwise the outcome is the deal's stage at the export's end. A deal still open there counts as not won
    when it is stale at the export (open longer than any deal in the export ever took to close, the loader's
    stale rule). One still open and not stale has no outcome yet: it gets its ``estimated`` chance of being
    won (a soft label; see :func:`outcome_estimates_at_export`) when given, and is excluded otherwise.
    Dropping those deals would bias the evaluation: they are the slow ones, mostly never won (on the demo
    data at 2026-04-01, 160 deals of which 9% are won in the end against 43% of all).
    """
    if truth is not None:
        outcome = truth.set_index("opportunity_id")["outcome"].reindex(open_ids)
        known = outcome.notna()
        labels = outcome[known].eq("Won").astype(float)
        return labels, {
            "label_source": "truth.csv (every deal's eventual outcome; never closing = not won)",
            "n_open": int(len(open_ids)),
            "still_open_at_export_counted_not_won": 0,
            "still_open_at_export_estimated": 0,
            "excluded_still_open_at_export": 0,
            "excluded_not_in_truth": int((~known).sum()),
        }
    final, closed = _at_export(full, open_ids)
    stale = ~closed & final["stale"].fillna(False).astype(bool)
    labels = final.loc[closed | stale, "deal_stage"].eq("Won").astype(float)
    pending = final.index[~closed & ~stale]
    guesses = (estimated if estimated is not None else pd.Series(dtype=float)).reindex(pending).dropna()
    source = (
        f"stage in the export on {full.export_end:%Y-%m-%d}; deals still open and stale there "
        "(older than any deal ever took to close) count as not won"
    )
    if estimated is not None:
        source += (
            "; deals still open there and not stale count as their estimated chance of being won (the "
            "competing-risks hazard fitted on the whole export, as training completes open deals); AUC is "
            "over the deals with a known outcome only"
        )
    return pd.concat([labels, guesses]).reindex(open_ids).dropna(), {
        "label_source": source,
        "n_open": int(len(open_ids)),
        "still_open_at_export_counted_not_won": int(stale.sum()),
        "still_open_at_export_estimated": int(len(guesses)),
        "excluded_still_open_at_export": int(len(pending) - len(guesses)),
    }


def _at_export(full: CRMData, open_ids: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The export's last record of each of ``open_ids``, and whether it closed (won or lost) by then."""
    final = full.deals.set_index("opportunity_id").reindex(open_ids)
    return final, final["deal_stage"].isin(["Won", "Lost"])


_ESTIMATES: dict[tuple, pd.Series] = {}


def outcome_estimates_at_export(full: CRMData, seed: int) -> pd.Series:
    """Estimated chance of being won of each deal still open at the export's end (``full.as_of``).

    ``WinProbabilityModel.estimated_outcomes`` on the whole export: the hazard knows every close up to the
    export, and each deal has survived that long, so this is the best estimate available of the outcomes the
    export does not show yet. On the synthetic exports it brings the backtest's ECE to within 0.006 of the ECE
    against the true outcomes at every date, where dropping those deals put it up to 0.032 off
    (model-spec section 6). Computed once per export and seed in each process (the backtest's dates share
    it); a default model already fitted on ``full`` gives the same from its ``estimated_outcomes``, free.
    """
    key = (full.data_hash, full.as_of, full.export_end, seed)
    if key not in _ESTIMATES:
        _ESTIMATES.clear()  # one export at a time: a long-running process does not accumulate them
        _ESTIMATES[key] = WinProbabilityModel(seed=seed).estimated_outcomes(full)
    return _ESTIMATES[key]


def aligned_scores(labels: pd.Series, predicted: pd.Series, base_rate: float) -> dict:
    """Metric dict of ``predicted`` (aligned on ``labels``' index) with Brier skill against ``base_rate``."""
    p = predicted.reindex(labels.index).to_numpy(dtype=float)
    return probability_scores(labels.to_numpy(), p, base_rate)


@dataclass(frozen=True)
class AsOfScores:
    """What a model trained at one as-of date predicted for the deals open then (no outcomes yet).

    :func:`score_as_of` makes it (the expensive part: the fits) in whichever process; :func:`evaluate_scores`
    labels it and computes the metrics where the export's estimated outcomes are at hand.
    """

    as_of: pd.Timestamp
    open_ids: pd.Series
    base_rate: float
    cohort_rate: float
    stage_age: pd.Series
    predictions: dict[str, pd.Series]
    won_if_closes: pd.Series | None


def history_ablation(crm: CRMData) -> dict[str, dict]:
    """The variant that retrains without the field history's features, when the export has a history (so
    every backtest says what the history adds); none otherwise."""
    return dict(WITHOUT_HISTORY) if crm.history is not None else {}


def score_as_of(
    full: CRMData,
    as_of: pd.Timestamp,
    seed: int,
    variants: dict[str, dict] | None = None,
    model_factory: Callable[..., WinProbabilityModel] = WinProbabilityModel,
    won_if_closes: bool = True,
) -> AsOfScores:
    """Train at ``as_of`` on the cut and score its open deals: the model, the variants and the baselines."""
    crm = cut_at(full, as_of)
    models = {"model": model_factory(seed=seed).fit(crm)}
    for name, params in (variants or {}).items():
        models[name] = model_factory(seed=seed, **params).fit(crm)
    return AsOfScores(
        as_of=crm.as_of,
        open_ids=crm.open_ids,
        base_rate=historical_base_rate(crm),
        cohort_rate=cohort_base_rate(crm),
        stage_age=stage_age_rate(crm),
        predictions={name: model.predict_proba(crm) for name, model in models.items()},
        # the hazard's diagnostic split (won if it closes), when the model has one (not with a history)
        won_if_closes=models["model"].predict_won_if_closes(crm)
        if won_if_closes and getattr(models["model"], "hazard_", None)
        else None,
    )


def evaluate_as_of(
    full: CRMData,
    as_of: pd.Timestamp,
    seed: int,
    truth: pd.DataFrame | None = None,
    variants: dict[str, dict] | None = None,
    model_factory: Callable[..., WinProbabilityModel] = WinProbabilityModel,
) -> dict:
    """Train at ``as_of`` on the cut, score its open deals, and compare with their eventual outcomes."""
    scores = score_as_of(full, as_of, seed, variants, model_factory, won_if_closes=truth is None)
    estimated = outcome_estimates_at_export(full, seed) if truth is None else None
    return evaluate_scores(full, scores, seed, truth, estimated)


def evaluate_scores(
    full: CRMData,
    scores: AsOfScores,
    seed: int,
    truth: pd.DataFrame | None = None,
    estimated: pd.Series | None = None,
    outcomes: tuple[pd.Series, dict] | None = None,
) -> dict:
    """The backtest row of one as-of date: ``scores`` against the deals' eventual outcomes
    (:func:`eventual_outcomes`, or ``outcomes`` when the caller already has them; ``estimated`` for deals the
    export has not resolved)."""
    labels, counts = (
        outcomes if outcomes is not None else eventual_outcomes(full, scores.open_ids, truth, estimated)
    )
    base = scores.base_rate
    predictions = scores.predictions
    row: dict = {
        "as_of": f"{scores.as_of:%Y-%m-%d}",
        "n": int(len(labels)),
        "n_known_outcome": int(labels.isin((0.0, 1.0)).sum()),
        "base_rate": base,
        "observed_win_rate": float(labels.mean()) if len(labels) else None,
        **counts,
    }
    row["model"] = aligned_scores(labels, predictions["model"], base)
    model_p = predictions["model"].reindex(labels.index).to_numpy(dtype=float)
    row["model"]["ece_if_calibrated"] = ece_if_calibrated(model_p, seed=seed)

    def with_reliability(predicted: pd.Series) -> dict:
        """A baseline's (or the oracle's) metrics and, like the model's, its reliability table."""
        p = predicted.reindex(labels.index).to_numpy(dtype=float)
        table = reliability_table(labels.to_numpy(), p).to_dict("records")
        return {**aligned_scores(labels, predicted, base), "reliability": table}

    row["baseline_base_rate"] = with_reliability(pd.Series(base, index=labels.index))
    row["baseline_stage_age"] = with_reliability(scores.stage_age)
    row["cohort_base_rate"] = scores.cohort_rate
    row["baseline_cohort_rate"] = with_reliability(pd.Series(scores.cohort_rate, index=labels.index))
    row["variants"] = {
        name: aligned_scores(labels, p, base) for name, p in predictions.items() if name != "model"
    }
    if truth is not None:
        oracle = oracle_win_probability(truth, scores.as_of)
        row["oracle"] = with_reliability(oracle)
        row["model"]["calibration_error_vs_truth"] = calibration_error_against(
            oracle.reindex(labels.index).to_numpy(dtype=float), model_p
        )
    elif scores.won_if_closes is not None:
        row["closed_by_export"] = _closed_only_view(full, scores, predictions["model"])
    row["reliability"] = reliability_table(labels.to_numpy(), model_p).to_dict("records")
    ages = (scores.as_of - _at_export(full, labels.index)[0]["engage_date"]).dt.days
    row["calibration_by_age"] = calibration_by_age(ages, labels, predictions["model"], seed)
    return row


def calibration_by_age(
    ages: pd.Series, labels: pd.Series, predicted: pd.Series, seed: int, draws: int = 1000
) -> list[dict]:
    """The model's calibration by the deal's age at the as-of date, for the deals of ``labels``.

    ``ages`` are days since engagement (missing or negative for a deal not engaged by then: its own group);
    the groups are :data:`AGE_GROUPS`. Per non-empty group: deals, mean prediction, observed rate, the 5-95%
    range of a calibrated forecaster's observed rate there (outcomes drawn from the model's own
    probabilities) and ``over``, predicted minus observed summed over the group's deals. The ECE says how far
    off the model is; this says where: a cohort that behaves unlike any before it shows as one group.
    """
    age = ages.reindex(labels.index).to_numpy(dtype=float)
    if not age.size:
        return []
    names = [f"{low}-{high}" if high is not None else f"over {low - 1}" for low, high in AGE_GROUPS]
    group = np.full(age.size, len(AGE_GROUPS))  # not engaged by the as-of date
    for index, (low, high) in enumerate(AGE_GROUPS):
        group[(age >= low) & (age <= (np.inf if high is None else high))] = index
    order, starts, counts = sorted_runs(group)
    group, p = group[order], predicted.reindex(labels.index).to_numpy(dtype=float)[order]
    y = labels.to_numpy(dtype=float)[order]
    chance = np.quantile(
        np.concatenate(list(calibrated_draws(p, starts, counts, draws, seed))), [0.05, 0.95], 0
    )
    rows = []
    for k, (start, count) in enumerate(zip(starts, counts, strict=True)):
        code = int(group[start])
        part = slice(start, start + count)
        rows.append(
            {
                "age_days": names[code] if code < len(names) else "not engaged",
                "n": int(count),
                "mean_predicted": float(p[part].mean()),
                "observed_rate": float(y[part].mean()),
                "chance_low": float(chance[0][k]),
                "chance_high": float(chance[1][k]),
                "over": float((p[part] - y[part]).sum()),
            }
        )
    return rows


def pooled_calibration(
    labelled: list[tuple[AsOfScores, pd.Series]], seed: int, truth: pd.DataFrame | None = None
) -> dict:
    """The model's calibration over every backtest date at once: ECE, reliability table and chance ranges.

    One date's ECE rests on about a thousand deals and is mostly sampling noise (a perfectly calibrated
    forecaster scores about 0.013-0.046 on the demo dates); pooled, the dates give several times the deals.
    A deal open at several dates appears once per date with one outcome, so the rows are not independent:
    the chance ranges draw one outcome per deal (:func:`core.model.metrics.calibrated_draws`), which makes
    them wider than independent draws, and each bin says how many distinct deals it holds. With ``truth``
    the true probabilities' pooled ECE (the floor the outcomes allow) and the model's error against them are
    added.
    """
    frames = []
    for scores, labels in labelled:  # each date's scores with their eventual outcomes
        frame = pd.DataFrame(
            {
                "deal": labels.index.to_numpy(),
                "observed": labels.to_numpy(dtype=float),
                "predicted": scores.predictions["model"].reindex(labels.index).to_numpy(dtype=float),
            }
        )
        if truth is not None:
            frame["true"] = oracle_win_probability(truth, scores.as_of).reindex(labels.index).to_numpy(float)
        frames.append(frame)
    pooled = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if pooled.empty:
        return {}
    y, p = pooled["observed"].to_numpy(), pooled["predicted"].to_numpy()
    spread, bands = calibration_if_calibrated(p, seed=seed, groups=pooled["deal"].to_numpy())
    table = reliability_table(y, p)
    deals = pooled.groupby(bin_index(p))["deal"].nunique()
    table.insert(3, "n_deals", deals.to_numpy())
    table = table.merge(bands, on="bin_lower", how="left", validate="one_to_one")
    result = {
        "n": int(len(pooled)),
        "n_deals": int(pooled["deal"].nunique()),
        "ece": expected_calibration_error(y, p),
        "ece_if_calibrated": spread,
        "reliability": table.to_dict("records"),
    }
    if truth is not None:
        result["oracle_ece"] = expected_calibration_error(y, pooled["true"].to_numpy())
        result["calibration_error_vs_truth"] = calibration_error_against(pooled["true"].to_numpy(), p)
    return result


def _closed_only_view(full: CRMData, scores: AsOfScores, won: pd.Series) -> dict:
    """The usual (naive) evaluation population: open deals that closed by the export's end, and nothing else.

    On it the right probability is P(won | the deal closes), not P(won): the model's hazard supplies that
    ratio; the deployed P(won) is shown too, to make the difference visible.
    """
    base = scores.base_rate
    final, closed = _at_export(full, scores.open_ids)
    labels = final.loc[closed, "deal_stage"].eq("Won").astype(float)
    view: dict = {
        "n": int(len(labels)),
        "excluded_still_open_at_export": int((~closed).sum()),
        "observed_win_rate": float(labels.mean()) if len(labels) else None,
    }
    if len(labels) == 0:
        return view
    view["baseline_base_rate"] = aligned_scores(labels, pd.Series(base, index=labels.index), base)
    view["model_won_if_closes"] = aligned_scores(labels, scores.won_if_closes.fillna(base), base)
    view["model_won"] = aligned_scores(labels, won, base)
    return view


def _mean(rows: list[dict], section: str, key: str) -> float | None:
    """Mean of one metric over the as-of dates (ignoring missing values)."""
    values = [r[section][key] for r in rows if r.get(section) and r[section].get(key) is not None]
    return float(np.mean(values)) if values else None


def summarise(rows: list[dict]) -> dict:
    """Average metrics over the as-of dates for the model, the baselines, the variants and the oracle."""
    summary = {key: _mean(rows, "model", key) for key in ("auc", "brier", "brier_skill", "ece")}
    summary["log_loss"] = _mean(rows, "model", "log_loss")
    gaps = [r["model"]["brier"] - r["baseline_base_rate"]["brier"] for r in rows]
    summary["worst_brier_vs_base_rate"] = float(max(gaps)) if gaps else None
    summary["max_ece"] = float(max(r["model"]["ece"] for r in rows)) if rows else None
    summary["ece_beyond_sampling_noise"] = [
        r["as_of"]
        for r in rows
        if (r["model"].get("ece_if_calibrated") or {}).get("p95") is not None
        and r["model"]["ece"] > r["model"]["ece_if_calibrated"]["p95"]
    ]
    summary["largest_age_miss"] = largest_age_miss(rows, summary["ece_beyond_sampling_noise"])
    summary["calibration_error_vs_truth"] = _mean(rows, "model", "calibration_error_vs_truth")
    summary["baseline_base_rate"] = {k: _mean(rows, "baseline_base_rate", k) for k in METRIC_KEYS}
    summary["baseline_stage_age"] = {k: _mean(rows, "baseline_stage_age", k) for k in METRIC_KEYS}
    summary["baseline_cohort_rate"] = {k: _mean(rows, "baseline_cohort_rate", k) for k in METRIC_KEYS}
    cohort_gaps = [r["model"]["brier"] - r["baseline_cohort_rate"]["brier"] for r in rows]
    summary["worst_brier_vs_cohort_rate"] = float(max(cohort_gaps)) if cohort_gaps else None
    names = sorted({name for r in rows for name in r.get("variants", {})})
    summary["variants"] = {
        name: {
            k: float(
                np.mean([r["variants"][name][k] for r in rows if r["variants"][name].get(k) is not None])
            )
            for k in METRIC_KEYS
        }
        for name in names
    }
    if rows and "oracle" in rows[0]:
        summary["oracle"] = {k: _mean(rows, "oracle", k) for k in METRIC_KEYS}
    return summary


def outside_chance(group: dict) -> bool:
    """Whether a :func:`calibration_by_age` group's observed rate lies outside a calibrated forecaster's
    5-95% range there."""
    return not group["chance_low"] <= group["observed_rate"] <= group["chance_high"]


def largest_age_miss(rows: list[dict], dates: list[str]) -> dict | None:
    """Among the ``dates`` whose ECE is beyond chance, the age group (:func:`calibration_by_age`) whose
    predictions are furthest off in deals (``|over|``) and outside a calibrated forecaster's range; None if
    there is none."""
    misses = [
        {"as_of": row["as_of"], **group}
        for row in rows
        if row["as_of"] in dates
        for group in row.get("calibration_by_age", [])
        if outside_chance(group)
    ]
    return max(misses, key=lambda miss: abs(miss["over"]), default=None)


def signal_statement(summary: dict, rows: list[dict]) -> str:
    """Plain sentences: how much the model beats the base rate, how much of that is age alone, and (real data)
    how predictable win-versus-loss is among the deals that did close."""
    if not rows:
        return "No backtest: no as-of date had both closed history and deals with a known outcome."
    auc, skill = summary["auc"], summary["brier_skill"]
    n = sum(r["n"] for r in rows)
    if auc is None or skill is None:  # every deal at the dates had one outcome (or no base rate to beat)
        return (
            f"Across {len(rows)} as-of dates ({n:,} scored deals) every deal had the same outcome, so the "
            "model's ranking (AUC) and skill cannot be measured; check the export's dates."
        )
    stage_age = summary["baseline_stage_age"]
    beyond_age = 1 - summary["brier"] / stage_age["brier"] if stage_age["brier"] else 0.0
    worst = summary["worst_brier_vs_base_rate"]
    worst_text = (
        f"better at every date, by at least {-worst:.4f} Brier"
        if worst < 0
        else f"at its worst date {worst:.4f} Brier worse than it"
    )
    text = (
        f"Across {len(rows)} as-of dates ({rows[0]['as_of']} to {rows[-1]['as_of']}, {n:,} scored deals) the "
        f"model's AUC averages {auc:.3f} and its Brier score is {100 * abs(skill):.1f}% "
        f"{'better' if skill >= 0 else 'worse'} than the historical base rate "
        f"({worst_text}; largest calibration error, ECE, {summary['max_ece']:.3f})"
    )
    if "ece_beyond_sampling_noise" in summary:
        beyond = summary["ece_beyond_sampling_noise"]
        chance = "(95th percentile of ECE with outcomes drawn from its own probabilities)"
        text += (
            f". Its ECE is larger than a perfectly calibrated forecaster's would be by chance {chance} at "
            f"{len(beyond)} of {len(rows)} dates ({', '.join(beyond)})"
            if beyond
            else f". Its ECE is within what chance gives a perfectly calibrated forecaster {chance} at "
            "every date"
        )
    pooled = summary.get("pooled")
    if pooled and len(rows) > 1 and pooled["ece_if_calibrated"]["p95"] is not None:
        spread = pooled["ece_if_calibrated"]
        verdict = "within" if pooled["ece"] <= spread["p95"] else "beyond"
        text += (
            f"; pooled over the dates ({pooled['n']:,} scores of {pooled['n_deals']:,} deals) its ECE is "
            f"{pooled['ece']:.3f}, {verdict} what chance gives a calibrated forecaster "
            f"({chance_range_text(spread)})"
        )
        if pooled.get("oracle_ece") is not None:
            text += f"; the true probabilities' pooled ECE is {pooled['oracle_ece']:.3f}"
    if summary.get("calibration_error_vs_truth") is not None:
        text += (
            f"; measured against the true probabilities instead of the outcomes (no sampling noise) its "
            f"calibration error averages {summary['calibration_error_vs_truth']:.3f}"
        )
    oracle = summary.get("oracle")
    if oracle:
        text += f"; the true probabilities reach AUC {oracle['auc']:.3f}, Brier {oracle['brier']:.4f}"
    miss = summary.get("largest_age_miss")
    if miss:
        text += (
            f". The largest miss is at {miss['as_of']} in deals {miss['age_days']} days old: {miss['n']:,} "
            f"deals given {miss['mean_predicted']:.3f} on average, of which {miss['observed_rate']:.3f} were "
            f"won (a calibrated model: {miss['chance_low']:.3f}-{miss['chance_high']:.3f})"
        )
    text += (
        f". Against a stage/age rate (AUC {stage_age['auc']:.3f}) the model is {100 * abs(beyond_age):.1f}% "
        f"{'better' if beyond_age >= 0 else 'worse'} in Brier"
    )
    if beyond_age < 0.03:
        text += ", so most of what it knows is the deal's age and staleness, not who sells what to whom"
    views = [r["closed_by_export"] for r in rows if r.get("closed_by_export", {}).get("model_won_if_closes")]
    closed_auc = 0.5
    if views:
        closed_auc = float(
            np.mean([v["model_won_if_closes"]["auc"] for v in views if v["model_won_if_closes"]["auc"]])
        )
        text += (
            ". Among the deals that did close, win versus loss is "
            f"{'barely' if closed_auc < 0.6 else 'fairly'} "
            f"predictable (AUC {closed_auc:.3f})"
        )
    closed_weak = bool(views) and closed_auc < 0.6
    if auc < 0.55 or skill < 0.02:
        verdict = "Little signal beyond the base rate: trust the calibrated totals, not deal-level detail."
    elif closed_weak:
        verdict = (
            "The model's edge over the base rate is recognising deals that will never close "
            "(age, staleness); "
            "who sells what to whom barely predicts win versus loss in this data, so read deal-level "
            "differences among young deals as weak."
        )
    elif beyond_age < 0.03:
        verdict = (
            "Deal-level differences beyond age are weak: use the probabilities mainly to spot stale deals."
        )
    else:
        verdict = "There is real deal-level signal beyond the base rate and beyond age."
    return f"{text}. {verdict}"


def rolling_backtest(
    full: CRMData,
    as_of_dates: list[pd.Timestamp],
    seed: int,
    truth: pd.DataFrame | None = None,
    variants: dict[str, dict] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The backtest section of metrics.json (contracts.md section 3), plus variants and oracle when given."""
    estimated = outcome_estimates_at_export(full, seed) if truth is None else None
    scored = []
    for as_of in as_of_dates:
        if progress:
            progress(f"backtest as-of {pd.Timestamp(as_of):%Y-%m-%d}")
        scored.append(score_as_of(full, pd.Timestamp(as_of), seed, variants, won_if_closes=truth is None))
    return backtest_report(full, scored, seed, truth, estimated)


def backtest_report(
    full: CRMData,
    scored: list[AsOfScores],
    seed: int,
    truth: pd.DataFrame | None = None,
    estimated: pd.Series | None = None,
) -> dict:
    """The report of the dates' ``scored`` (in date order): one :func:`evaluate_scores` row per date (dates
    with nothing to score left out) and :func:`pooled_calibration` over them, each date labelled once."""
    outcomes = [eventual_outcomes(full, scores.open_ids, truth, estimated) for scores in scored]
    rows = [
        evaluate_scores(full, scores, seed, truth, outcomes=found)
        for scores, found in zip(scored, outcomes, strict=True)
    ]
    rows = [row for row in rows if row["n"] > 0]
    summary = summarise(rows)
    pooled = pooled_calibration(
        [(scores, labels) for scores, (labels, _) in zip(scored, outcomes, strict=True)], seed, truth
    )
    if pooled:
        summary["pooled"] = pooled
    return {
        "as_of_dates": [r["as_of"] for r in rows],
        "per_as_of": rows,
        "summary": summary,
        "signal_statement": signal_statement(summary, rows),
    }
