"""Pure logic of the Model & Data Health page: backtest tables, reliability bins, feature importance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.components.format import percent, quality_finding

MODELS = {
    "model": "Model",
    "baseline_stage_age": "Baseline: stage and age",
    "baseline_base_rate": "Baseline: base rate",
    "oracle": "Oracle (true probabilities, synthetic data only)",
}
METRICS = ("auc", "brier", "brier_skill", "log_loss", "ece")
RELIABILITY_COLUMNS = ["bin_lower", "bin_upper", "n", "mean_predicted", "observed_rate"]


def backtest_table(metrics: dict) -> pd.DataFrame:
    """One row per (as-of date, model or baseline) with AUC, Brier, Brier skill, log loss and ECE."""
    rows = []
    for entry in (metrics.get("backtest") or {}).get("per_as_of", []):
        for key, label in MODELS.items():
            scores = entry.get(key)
            if not scores:
                continue
            rows.append(
                {
                    "as_of": entry.get("as_of"),
                    "n": entry.get("n"),
                    "base_rate": entry.get("base_rate"),
                    "model": label,
                    **{m: scores.get(m) for m in METRICS},
                }
            )
    return pd.DataFrame(rows, columns=["as_of", "n", "base_rate", "model", *METRICS])


def calibration_by_age_table(metrics: dict) -> pd.DataFrame:
    """The backtest's calibration by deal age (``per_as_of[*].calibration_by_age``), one row per date and age
    group; empty for metrics written before it existed."""
    rows = [
        {
            "as_of": entry.get("as_of"),
            "age_days": group["age_days"],
            "n": group["n"],
            "mean_predicted": group["mean_predicted"],
            "observed_rate": group["observed_rate"],
            "chance": f"{group['chance_low']:.1%}-{group['chance_high']:.1%}",
            "over": group["over"],
            "outside": not group["chance_low"] <= group["observed_rate"] <= group["chance_high"],
        }
        for entry in (metrics.get("backtest") or {}).get("per_as_of", [])
        for group in entry.get("calibration_by_age") or []
    ]
    columns = ["as_of", "age_days", "n", "mean_predicted", "observed_rate", "chance", "over", "outside"]
    return pd.DataFrame(rows, columns=columns)


def outcome_note(metrics: dict) -> str | None:
    """How the backtest knew the scored deals' outcomes, counts summed over its dates (None when not said).

    Without truth.csv some outcomes are not in the export yet: stale deals count as not won, and deals still
    open and not stale count as their estimated chance of winning, which a reader of the figures should know.
    """
    rows = (metrics.get("backtest") or {}).get("per_as_of") or []
    if not rows or not rows[0].get("label_source"):
        return None
    n = sum(r.get("n") or 0 for r in rows)
    kinds = {
        "still_open_at_export_counted_not_won": "still open and stale at the export, counted as not won",
        "still_open_at_export_estimated": "still open there and scored against an estimated outcome",
        "excluded_still_open_at_export": "left out, their outcome unknown",
    }
    counts = [(sum(r.get(key) or 0 for r in rows), text) for key, text in kinds.items()]
    details = [f"{count:,} {text}" for count, text in counts if count]
    return f"Outcomes: {rows[0]['label_source']}. Of {n:,} scored deals" + (
        f": {'; '.join(details)}." if details else ", every outcome is known."
    )


def reliability_bins(metrics: dict) -> pd.DataFrame:
    """Reliability bins pooled over every backtest as-of date.

    From the backtest's own pooled table when it has one (``summary.pooled``, written by the batch step with
    each bin's 5-95% range of a perfectly calibrated model's observed rate, one outcome drawn per deal);
    for older metrics the per-date bins are pooled here (count-weighted means) and carry no chance range.
    """
    pooled = (((metrics.get("backtest") or {}).get("summary") or {}).get("pooled") or {}).get("reliability")
    if pooled:
        return pd.DataFrame(pooled)[[*RELIABILITY_COLUMNS, "chance_low", "chance_high"]]
    rows = [
        b
        for entry in (metrics.get("backtest") or {}).get("per_as_of", [])
        for b in entry.get("reliability", [])
    ]
    if not rows:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    bins = pd.DataFrame(rows)
    bins = bins[bins["n"] > 0]
    bins = bins.assign(pred_sum=bins["mean_predicted"] * bins["n"], obs_sum=bins["observed_rate"] * bins["n"])
    pooled = bins.groupby(["bin_lower", "bin_upper"], as_index=False)[["n", "pred_sum", "obs_sum"]].sum()
    pooled["mean_predicted"] = pooled["pred_sum"] / pooled["n"]
    pooled["observed_rate"] = pooled["obs_sum"] / pooled["n"]
    return pooled[RELIABILITY_COLUMNS]


def _telling_apart(value: float, bound: float, fewest: int = 3, most: int = 6) -> int:
    """Decimals that show ``value`` and ``bound`` as different numbers (at least ``fewest``): an ECE of
    0.03329 "beyond the 0.014-0.033" chance range read as a contradiction at three decimals."""
    for digits in range(fewest, most + 1):
        if f"{float(value):.{digits}f}" != f"{float(bound):.{digits}f}":
            return digits
    return fewest


def pooled_calibration_note(metrics: dict) -> str | None:
    """The pooled ECE beside the reliability diagram, with the range chance gives a calibrated model."""
    backtest = metrics.get("backtest") or {}
    pooled = (backtest.get("summary") or {}).get("pooled") or {}
    spread = pooled.get("ece_if_calibrated") or {}
    if pooled.get("ece") is None or spread.get("p95") is None or len(backtest.get("per_as_of") or []) < 2:
        return None  # one date: the pooled figures are that date's, already in the table
    verdict = "within" if pooled["ece"] <= spread["p95"] else "beyond"
    digits = _telling_apart(pooled["ece"], spread["p95"])
    text = (
        f"Pooled over the dates ({pooled['n']:,} scores of {pooled['n_deals']:,} deals) the ECE is "
        f"{pooled['ece']:.{digits}f}, {verdict} the {spread['p05']:.{digits}f}-{spread['p95']:.{digits}f} a "
        "perfectly calibrated model shows by chance"
    )
    if pooled.get("oracle_ece") is not None:
        text += f" (the true probabilities: {pooled['oracle_ece']:.3f})"
    return text + "."


def feature_importance(shap: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Mean |SHAP| (probability points) per feature over all scored deals, largest first.

    ``label`` is the feature's plain-language name when the SHAP rows carry one, else the feature name.
    """
    importance = shap["shap_value"].abs().groupby(shap["feature"]).mean().rename("mean_abs_shap")
    importance = importance.reset_index().sort_values(
        ["mean_abs_shap", "feature"], ascending=[False, True], kind="stable"
    )
    if "feature_label" in shap.columns:
        names = shap.drop_duplicates("feature").set_index("feature")["feature_label"].astype(str)
        importance["label"] = importance["feature"].map(names).fillna(importance["feature"])
    else:
        importance["label"] = importance["feature"]
    return importance.head(top).reset_index(drop=True)


REJECTED_ROW = "rejected_row"  # the report's code of rows set aside for breaking the data contract


def quality_table(report: dict | None) -> pd.DataFrame:
    """The data-quality report as one row per finding, the rows left out (rejected) first."""
    items = (report or {}).get("items", [])
    frame = pd.DataFrame(
        items, columns=["code", "file", "column", "count", "action", "description", "examples"]
    )
    frame["examples"] = frame["examples"].map(
        lambda v: ", ".join(map(str, v)) if isinstance(v, list) else str(v)
    )
    frame = frame.sort_values("code", key=lambda code: code != REJECTED_ROW, kind="stable")
    return frame[["description", "count", "action", "file", "column", "examples", "code"]].reset_index(
        drop=True
    )


def quality_table_in_words(report: dict | None) -> pd.DataFrame:
    """:func:`quality_table` with each finding and action in the words the Overview uses (the code column
    keeps the report's code), and no row count for a finding about a whole file (an encoding, an absent
    optional file), which read "0 rows"."""
    frame = quality_table(report)
    words = [
        quality_finding(code, description, action)
        for code, description, action in zip(
            frame["code"], frame["description"], frame["action"], strict=True
        )
    ]
    whole_file = frame["count"].eq(0) & frame["column"].fillna("").astype(str).eq("")
    return frame.assign(
        description=[finding[:1].upper() + finding[1:] for finding, _ in words],
        action=[action for _, action in words],
        count=frame["count"].astype(float).where(~whole_file),
    )


def _left_out_on_purpose(frame: pd.DataFrame) -> str:
    """The rows the load left out by rule (deleted records, history rows of unknown deals), in one sentence,
    '' when there are none: "every row was read" beside 60 deleted records "left out" contradicted it."""
    left_out = frame[
        frame["code"].ne(REJECTED_ROW)
        & frame["action"].astype(str).str.startswith("left out")
        & frame["count"].gt(0)
    ]
    if left_out.empty:
        return ""
    parts = []
    for _, item in left_out.iterrows():
        finding = quality_finding(item["code"], item["description"], item["action"])[0]
        parts.append(f"{finding[:1].lower()}{finding[1:]}: {int(item['count']):,}")
    total = int(left_out["count"].sum())
    rows = "1 row was" if total == 1 else f"{total:,} rows were"
    return f"{rows} left out on purpose, as the table below says ({'; '.join(parts)}). "


def rows_left_out(report: dict | None, rejected_rows: int) -> str:
    """Which rows of the export were rejected, in words: those set aside for breaking the data contract
    (``counts.rejected_rows``, else the report's rejected-row findings), or none; those the load left out by
    rule (deleted records); the other findings were kept, repaired or flagged."""
    frame = quality_table(report)
    rejected = int(rejected_rows) or int(frame.loc[frame["code"] == REJECTED_ROW, "count"].sum())
    kept = "kept, repaired or flagged as 'What was done' says."
    on_purpose = _left_out_on_purpose(frame)
    if not rejected and not on_purpose:
        return f"No row of the export was rejected: every row was read. The findings below were {kept}"
    if not rejected:
        return (
            "No row of the export was rejected for breaking the data contract. "
            f"{on_purpose}The other findings below were {kept}"
        )
    rows, were = (f"{rejected:,} row", "was") if rejected == 1 else (f"{rejected:,} rows", "were")
    return (
        f"{rows} of the export broke the data contract and {were} rejected: set aside before anything was "
        "computed, so no figure counts them. They are listed first below, by reason; each row and its reason "
        f"are in rejected_rows.csv beside the outputs. {on_purpose}The other findings below were {kept}"
    )


def quality_warnings(report: dict | None, open_deals: int) -> list[str]:
    """One sentence per quality finding that touches open deals, largest first, in words (no file or
    column names; the Health page's table has the report as written)."""
    frame = quality_table(report)
    frame = frame[frame["count"] > 0].sort_values("count", ascending=False, kind="stable")
    out = []
    for _, item in frame.iterrows():
        # of every open deal, unscored ones too: the denominator is said, since a page may show fewer
        share = (
            f" ({item['count'] / open_deals:.0%} of all {open_deals:,} open deals, unscored included)"
            if open_deals
            and item["code"] in {"blank_account", "stale_open_deal", "prospecting_without_engage_date"}
            else ""
        )
        finding, action = quality_finding(item["code"], item["description"], item["action"])
        sentence = f"{finding}: {item['count']:,}{share}. {action[:1].upper()}{action[1:]}."
        out.append(sentence[:1].upper() + sentence[1:])
    return out


NO_SIGNAL_AUC = 0.55


def signal_warning(metrics: dict) -> str | None:
    """A plain warning when this run's held-out validation AUC is under 0.55 (barely better than chance).

    The validation scores recent snapshots whose outcome is known, i.e. deals that closed: win versus
    loss. The backtest also scores deals that never close, which age alone recognises, so the two can
    differ; the warning says what each measures rather than leaving the leader to reconcile them.
    """
    auc = (metrics.get("validation") or {}).get("auc")
    if auc is None or float(auc) >= NO_SIGNAL_AUC:
        return None
    text = (
        f"Among recently closed deals the model ranks wins against losses no better than chance (held-out "
        f"AUC {float(auc):.2f}; 0.5 is a coin flip): do not read small differences between live deals as "
        "signal."
    )
    backtest_auc = ((metrics.get("backtest") or {}).get("summary") or {}).get("auc")
    if backtest_auc is not None and float(backtest_auc) >= NO_SIGNAL_AUC:
        text += (
            f" Its higher backtest AUC ({float(backtest_auc):.2f}) comes from also scoring open deals that "
            "never close, which their age gives away."
        )
    return text


def no_signal_warning(metrics: dict) -> str | None:
    """:func:`signal_warning` in a sales leader's words, for the leader pages (no statistic named)."""
    auc = (metrics.get("validation") or {}).get("auc")
    if auc is None or float(auc) >= NO_SIGNAL_AUC:
        return None
    text = (
        "Among recently closed deals the model tells wins from losses no better than a coin flip: do not "
        "read small differences between live deals' chances as meaningful."
    )
    backtest_auc = ((metrics.get("backtest") or {}).get("summary") or {}).get("auc")
    if backtest_auc is not None and float(backtest_auc) >= NO_SIGNAL_AUC:
        text += " What it does tell is which open deals will never close, which their age gives away."
    return text


WELL_CALIBRATED_ECE = 0.05


def _backtest_dates(backtest: dict) -> list[str]:
    """The backtest's as-of dates, oldest first."""
    dates = [str(r["as_of"]) for r in backtest.get("per_as_of") or [] if r.get("as_of")]
    return dates or [str(d) for d in backtest.get("as_of_dates") or []]


def trust_sentence(metrics: dict) -> str:
    """How far to trust the win probabilities, in a sales leader's words (no statistic is named; the Health
    page has the figures).

    The verdict is the backtest's: with its sampling check (``ece_beyond_sampling_noise``) whether each
    date's calibration error is more than chance gives a perfectly calibrated forecaster on as many deals
    ("close to what happened" at no date, "mostly" under half the dates, else "only roughly right"; at no
    single date but pooled over the dates: "close at each date, a little further off taken together");
    without it (older metrics) the mean error against ``WELL_CALIBRATED_ECE``.
    """
    backtest = metrics.get("backtest") or {}
    summary = backtest.get("summary") or {}
    mean, worst = summary.get("ece"), summary.get("max_ece")
    if mean is None:
        return (
            "The win probabilities have not been replayed on past dates in this run: they were only checked "
            "against recent deals the model did not learn from."
        )
    dates = _backtest_dates(backtest)
    where = f"Backtested on {len(dates)} past date{'' if len(dates) == 1 else 's'}" if dates else "Backtested"
    if len(dates) > 1:
        where += f" ({dates[0]} to {dates[-1]})"
    elif dates:
        where += f" ({dates[0]})"
    gap = (
        f"on average the predicted chances were {100 * float(mean):.0f} percentage points away from the "
        "share of deals actually won"
    )
    beyond = summary.get("ece_beyond_sampling_noise")
    if beyond is None:
        verdict = "close to what happened" if float(mean) <= WELL_CALIBRATED_ECE else "only roughly right"
        return f"{where}, the win probabilities were {verdict}: {gap}."
    n_dates = len(dates) or len(beyond)
    if not beyond:
        pooled = summary.get("pooled") or {}
        pooled_p95 = (pooled.get("ece_if_calibrated") or {}).get("p95")
        if (
            n_dates > 1
            and pooled_p95 is not None
            and pooled.get("ece") is not None
            and pooled["ece"] > pooled_p95
        ):
            return (
                f"{where}, the win probabilities were close to what happened at each date ({gap}), though "
                "taken together a little further off than chance alone explains."
            )
        return (
            f"{where}, the win probabilities were close to what happened: {gap}, no more than chance "
            "explains."
        )
    verdict = "mostly close to what happened" if len(beyond) * 2 < n_dates else "only roughly right"
    where_off = (
        "every date" if len(beyond) >= n_dates else f"{len(beyond)} of {n_dates} dates ({', '.join(beyond)})"
    )
    text = f"{where}, the win probabilities were {verdict}: {gap}"
    if worst is not None and round(100 * float(worst)) > round(100 * float(mean)):
        text += f" ({100 * float(worst):.0f} at the worst date)"
    text += f", more than chance explains at {where_off}"
    miss = summary.get("largest_age_miss") or {}
    if miss.get("mean_predicted") is not None and miss.get("observed_rate") is not None:
        text += (
            f"; the biggest miss: deals {miss.get('age_days')} days old on {miss.get('as_of')} were given "
            f"{percent(miss['mean_predicted'])} on average and {percent(miss['observed_rate'])} were won"
        )
    return text + "."


LIKELY_RANGE = "likely range"  # a leader's words for the P10-P90 band, which aims to hold 80% of outcomes
WEEKLY_MISSES_BELOW = 0.7  # a weekly track record this far under 80% says the band misses too often


def forecast_trust(summary: dict, weekly_share: float | None = None) -> str | None:
    """How far to trust the forecast's likely range (P10-P90), in words, from the forecast backtest's
    summary (None without a coverage figure): which forecasts it replayed, how often actual revenue landed
    inside the range against the 80% aimed at, and how its misses compare with the same forecast treating
    every deal as independent. ``weekly_share`` is the track record's share of weeks inside the range: when
    it is well under 80%, a wide backtest range is not called wider than it needs to be."""
    coverage = summary.get("coverage_p10_p90")
    if coverage is None:
        return None
    if abs(float(coverage) - 0.8) <= 0.1:
        width = ": the range is about the right width."
    elif coverage < 0.8:
        width = ": the range is too narrow."
    elif weekly_share is not None and weekly_share < WEEKLY_MISSES_BELOW:
        width = (
            ". On these windows the range was wide enough, but the weekly track record shows it missing "
            "more often than it should, so it is not wider than it needs to be."
        )
    else:
        width = ": the range is wider than it needs to be."
    text = (
        f"{_replayed(summary)}, actual revenue landed inside the {LIKELY_RANGE} {percent(coverage)} of the "
        f"time (it aims to hold 80% of outcomes){width}"
    )
    change = miss_change(summary)
    if change is not None:
        text += (
            f" Its misses were {abs(change):.0%} {'smaller' if change < 0 else 'larger'} than those of the "
            "same forecast treating every deal as independent."
        )
    return text


def _replayed(summary: dict) -> str:
    """Which past forecasts the backtest replayed: its windows, their kinds and the dates they were made."""
    windows = int(summary.get("windows") or 0)
    kinds = " and ".join(str(k) for k in summary.get("period_types") or [])
    periods = f"{windows:,} past {kinds + ' ' if kinds else ''}{'windows' if kinds else 'periods'}"
    dates = sorted(str(d) for d in summary.get("as_of_dates") or [])
    if not windows:
        return "Replayed on past periods"
    if not dates:
        return f"Replayed on {periods}"
    made = f"on {dates[0]}" if len(dates) == 1 else f"on {len(dates)} dates ({dates[0]} to {dates[-1]})"
    return f"Replayed on {periods}, forecast {made}"


def miss_change(summary: dict) -> float | None:
    """The forecast's mean quantile loss relative to the independent-deals forecast's, minus one (-0.49:
    misses 49% smaller); None when either is missing or the baseline's is zero."""
    pinball, naive = summary.get("pinball"), summary.get("naive_pinball")
    if pinball is None or not naive:
        return None
    return float(pinball) / float(naive) - 1.0


DEPENDENCE_FEATURES = 4  # the Health page's dependence plots: the most important features
DEPENDENCE_DEALS = 2_000  # deals per plot at most: a fixed sample of a large run, the same in every plot
MOST_CATEGORIES = 20  # a feature of categories shows its most common ones; the rest read "other"
NUMERIC_SHARE = 0.9  # a feature whose known values read as numbers this often is drawn on a number axis
# an amount ("$5,482", "CA$1,200") or a number leading a phrase ("375 days since engagement, ...")
_LEADING_NUMBER = r"^(?:[A-Z]{0,3}[^\w\s.,\-]\s?)?(-?\d[\d,]*(?:\.\d+)?)(.*)$"


def sample_deals(opportunity_ids: pd.Index, most: int = DEPENDENCE_DEALS) -> pd.Index:
    """At most ``most`` of the (sorted, unique) ids, the same ones every time for the same ids."""
    if len(opportunity_ids) <= most:
        return opportunity_ids
    picked = np.sort(np.random.default_rng(0).choice(len(opportunity_ids), most, replace=False))
    return opportunity_ids[picked]


def feature_numbers(values: pd.Series) -> tuple[pd.Series, str]:
    """A feature's values as numbers (NaN for a blank or a category) and what a number read from text means
    ("days since engagement" for "375 days since engagement, engaged 34 days into its quarter", "" for a
    plain number or an amount such as "$5,482")."""
    text = values.astype(str).str.strip().reset_index(drop=True)
    numbers = pd.to_numeric(text, errors="coerce")
    worded = numbers.isna() & text.ne("")
    if not worded.any():
        return pd.Series(numbers.to_numpy(), index=values.index), ""
    parts = text[worded].str.extract(_LEADING_NUMBER).astype("string")
    lead = pd.to_numeric(parts[0].str.replace(",", "", regex=False), errors="coerce").astype(float)
    numbers = numbers.astype(float).fillna(lead)
    meaning = parts[1].str.split(",").str[0].str.strip()[lead.notna()].mode()
    return pd.Series(numbers.to_numpy(), index=values.index), (str(meaning.iloc[0]) if len(meaning) else "")


def dependence_points(
    shap: pd.DataFrame, risk_tier: pd.Series, features: list[str], most: int = DEPENDENCE_DEALS
) -> tuple[pd.DataFrame, int]:
    """The SHAP dependence plots' points: for each of ``features``, each sampled deal's value (``value`` a
    number, NaN for a category, ``category`` the text, "unknown" when blank), its impact on the chance
    (``impact``, probability) and ``risk_tier`` (from ``risk_tier``, indexed by opportunity_id); and how
    many deals the SHAP rows explain. ``shap`` is indexed by opportunity_id (sorted), as the store keeps it.
    Columns: feature, opportunity_id, value, category, impact, risk_tier, numeric, meaning."""
    deals = shap.index.unique()
    rows = shap.loc[sample_deals(deals, most)]
    rows = rows[rows["feature"].astype(str).isin(features)]
    frames = []
    for feature in features:
        part = rows[rows["feature"].astype(str).eq(feature)]
        numbers, meaning = feature_numbers(part["feature_value"])
        known = part["feature_value"].astype(str).str.strip().ne("")
        numeric = bool(known.any()) and float(numbers[known].notna().mean()) >= NUMERIC_SHARE
        category = part["feature_value"].astype(str).str.strip().replace("", "unknown")
        common = category.value_counts().index[:MOST_CATEGORIES]
        frames.append(
            pd.DataFrame(
                {
                    "feature": feature,
                    "opportunity_id": part.index.astype(str),
                    "value": numbers.to_numpy() if numeric else np.nan,
                    "category": category.where(category.isin(common), "other").to_numpy(),
                    "impact": part["shap_value"].to_numpy(dtype=float),
                    "risk_tier": part.index.map(risk_tier).astype(str),
                    "numeric": numeric,
                    "meaning": meaning if numeric else "",
                }
            )
        )
    columns = ["feature", "opportunity_id", "value", "category", "impact", "risk_tier", "numeric", "meaning"]
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return points, len(deals)
