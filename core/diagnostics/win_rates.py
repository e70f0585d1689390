"""Why the win rate moves (ARCHITECTURE section 4: win_rates.csv, win_rate_change.csv): win rates with
intervals by quarter of close and segment, the change between two quarters split into mix and rate, sales
velocity, and each rep's quarter-to-quarter consistency against chance.

A deal counts in the quarter it closed (won or lost); deals still open count nowhere (on MavenTech a deal
that never closes is not won, but it has no quarter of close either). The interval is Wilson's at 90%:
a rep with 4 closed deals gets a wide one and is not ranked above one with 200.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from core.forecast.forecast import deal_values
from core.outputs import CONSISTENCY, CONVERSION, WIN_RATE_CHANGE, WIN_RATES
from core.outputs import names as column_names

Z = float(stats.norm.ppf(0.95))  # two-sided 90% interval
QUARTERS = 8  # the last complete quarters shown
SIZE_BANDS = ("small", "mid-sized", "large", "largest")  # quartiles of closed deals' values
BASE_SEGMENTS = ("all", "regional_office", "manager", "sales_agent", "product", "sector", "deal_size")
OPTIONAL_SEGMENTS = ("deal_type", "lead_source")  # when the export has them
SHRINK_DEALS = 20.0  # rep consistency: a rep's rate is shrunk toward the team's with this many pseudo-deals


def wilson(won: np.ndarray, closed: np.ndarray, z: float = Z) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of won / closed (NaN where nothing closed)."""
    won, closed = np.asarray(won, dtype=float), np.asarray(closed, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = won / closed
        centre = (p + z**2 / (2 * closed)) / (1 + z**2 / closed)
        half = z * np.sqrt(p * (1 - p) / closed + z**2 / (4 * closed**2)) / (1 + z**2 / closed)
    # it always holds p; at 0 or 1 only rounding could put the bound a hair inside
    return np.minimum(centre - half, p), np.maximum(centre + half, p)


def _first_incomplete(as_of: pd.Timestamp) -> pd.Period:
    """The first quarter not complete at ``as_of``: the one holding it, or the next when ``as_of`` is its
    last day."""
    quarter = as_of.to_period("Q")
    return quarter + 1 if as_of.normalize() == quarter.end_time.normalize() else quarter


def closed_deals(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Deals closed in the last ``QUARTERS`` complete quarters before ``as_of`` (and after the quarter the
    export begins in, when it begins mid-quarter: that quarter holds only its quickest deals) with their
    quarter, value, size band and cycle days."""
    first = (_first_incomplete(as_of) - QUARTERS).start_time.normalize()
    started = deals["engage_date"].min()
    if pd.notna(started) and started > started.to_period("Q").start_time:  # the export begins mid-quarter
        first = max(first, (started.to_period("Q") + 1).start_time.normalize())
    end = _first_incomplete(as_of).start_time.normalize()
    closed = deals[deals["close_date"].notna() & (deals["close_date"] >= first) & (deals["close_date"] < end)]
    closed = closed[~closed["is_open"]]
    value = deal_values(closed, deals)["deal_value"].where(~closed["is_won"], closed["close_value"])
    edges = np.quantile(value, [0.25, 0.5, 0.75]) if len(value) else np.zeros(3)
    band = np.asarray(SIZE_BANDS, dtype=object)[np.searchsorted(edges, value.to_numpy(), side="right")]
    cycle = (closed["close_date"] - closed["engage_date"]).dt.days.astype(float)
    return closed.assign(
        period_start=closed["close_date"].dt.to_period("Q").dt.start_time.dt.normalize(),
        value=value.to_numpy(),
        deal_size=band,
        cycle_days=cycle.where(cycle >= 0),
    )


def segment_types(deals: pd.DataFrame) -> tuple[str, ...]:
    """The segment types win rates are split by: the base ones and those the export fills in."""
    extra = tuple(c for c in OPTIONAL_SEGMENTS if c in deals and deals[c].fillna("").astype(str).ne("").any())
    return (*BASE_SEGMENTS, *extra)


def _segment(closed: pd.DataFrame, segment_type: str) -> pd.Series:
    """Each closed deal's segment of ``segment_type`` ("All" for the whole team, "Not set" for blanks)."""
    if segment_type == "all":
        return pd.Series("All", index=closed.index)
    return closed[segment_type].fillna("").astype(str).replace("", "Not set")


def win_rates(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """win_rates.csv: per segment and quarter of close, closed and won deals, the win rate with its 90%
    interval, whether it moved beyond chance from the quarter before (``changed``: two-sided Fisher exact
    test, p < 0.1), average won value, average days to win, and sales velocity (closed deals x win rate x
    average won value / days to win: revenue per day the segment's flow produces)."""
    closed = closed_deals(deals, as_of)
    frames = []
    for segment_type in segment_types(deals):
        names = _segment(closed, segment_type)
        grouped = closed.assign(segment=names, won_value=closed["value"].where(closed["is_won"]))
        grouped = grouped.assign(won_cycle=grouped["cycle_days"].where(grouped["is_won"]))
        table = (
            grouped.groupby(["segment", "period_start"])
            .agg(
                closed=("is_won", "size"),
                won=("is_won", "sum"),
                avg_won_value=("won_value", "mean"),
                cycle_days=("won_cycle", "mean"),
            )
            .reset_index()
        )
        frames.append(table.assign(segment_type=segment_type))
    table = pd.concat(frames, ignore_index=True)
    table["won"] = table["won"].astype(int)
    table["win_rate"] = table["won"] / table["closed"]
    table["low"], table["high"] = wilson(table["won"].to_numpy(), table["closed"].to_numpy())
    table["velocity"] = table["closed"] * table["win_rate"] * table["avg_won_value"] / table["cycle_days"]
    table = table.sort_values(["segment_type", "segment", "period_start"], kind="mergesort")
    previous = table.groupby(["segment_type", "segment"])[["won", "closed", "period_start"]].shift()
    consecutive = previous["period_start"].eq(table["period_start"] - pd.DateOffset(months=3))
    table["changed"] = consecutive & (_two_proportion_p(previous["won"], previous["closed"], table) < 0.1)
    order = {name: i for i, name in enumerate(segment_types(deals))}
    table = table.assign(_st=table["segment_type"].map(order))
    table = table.sort_values(["_st", "segment", "period_start"], kind="mergesort")
    columns = list(column_names(WIN_RATES))
    return table[columns].reset_index(drop=True)


def _two_proportion_p(won0: pd.Series, closed0: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """Two-sided p-value that the win rate differs from the quarter before: Fisher's exact test, which
    holds at small counts (1 if unknown)."""
    p = np.ones(len(table))
    after = zip(table["won"].to_numpy(), table["closed"].to_numpy(), strict=True)
    for i, (w0, n0, (w1, n1)) in enumerate(zip(won0.to_numpy(), closed0.to_numpy(), after, strict=True)):
        if pd.notna(w0) and pd.notna(n0) and n0 > 0 and n1 > 0:
            counts = [[int(w0), int(n0 - w0)], [int(w1), int(n1 - w1)]]
            p[i] = stats.fisher_exact(counts).pvalue
    return p


def win_rate_change(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    before: pd.Timestamp | None = None,
    after: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """win_rate_change.csv: the change in the whole team's win rate between two quarters of close (default
    the last two complete ones), split per segment of each segment type into a mix effect (the segment's share
    of closed deals moved) and a rate effect (its own win rate moved): with shares s, rates r and the team's
    rates R, ``mix = (s1 - s0)((r0 + r1)/2 - (R0 + R1)/2)`` and ``rate = (r1 - r0)(s0 + s1)/2``, which add up
    over a segment type's
    segments to the total change exactly (the team's mean rate, subtracted in the mix, multiplies shares
    that sum to 0): a segment growing its share adds to the rate only when it wins more than the team. A
    segment closed in one quarter only keeps its one rate (rate effect 0)."""
    closed = closed_deals(deals, as_of)
    last = _first_incomplete(as_of) - 1
    after = after if after is not None else last.start_time.normalize()
    before = before if before is not None else (last - 1).start_time.normalize()
    rows = []
    for segment_type in segment_types(deals)[1:]:
        names = _segment(closed, segment_type)
        counts = {}
        for key, start in (("0", before), ("1", after)):
            mine = closed["period_start"].eq(start)
            counts[key] = (
                pd.DataFrame({"segment": names[mine], "won": closed.loc[mine, "is_won"].astype(int)})
                .groupby("segment")["won"]
                .agg(["size", "sum"])
            )
        table = counts["0"].join(counts["1"], how="outer", suffixes=("_before", "_after")).fillna(0)
        n0, n1 = table["size_before"].sum(), table["size_after"].sum()
        if n0 == 0 or n1 == 0:
            continue
        s0, s1 = table["size_before"] / n0, table["size_after"] / n1
        with np.errstate(invalid="ignore", divide="ignore"):
            r0 = table["sum_before"] / table["size_before"]
            r1 = table["sum_after"] / table["size_after"]
        r0, r1 = r0.fillna(r1), r1.fillna(r0)
        team = (table["sum_before"].sum() / n0 + table["sum_after"].sum() / n1) / 2
        frame = pd.DataFrame(
            {
                "segment_type": segment_type,
                "segment": table.index.astype(str),
                "period_before": before,
                "period_after": after,
                "closed_before": table["size_before"].astype(int).to_numpy(),
                "won_before": table["sum_before"].astype(int).to_numpy(),
                "closed_after": table["size_after"].astype(int).to_numpy(),
                "won_after": table["sum_after"].astype(int).to_numpy(),
                "share_before": s0.to_numpy(),
                "share_after": s1.to_numpy(),
                "rate_before": r0.to_numpy(),
                "rate_after": r1.to_numpy(),
                "mix_effect": ((s1 - s0) * ((r0 + r1) / 2 - team)).to_numpy(),
                "rate_effect": ((r1 - r0) * (s0 + s1) / 2).to_numpy(),
            }
        )
        frame["total_change"] = frame["mix_effect"] + frame["rate_effect"]
        rows.append(frame)
    columns = list(column_names(WIN_RATE_CHANGE))
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def change_sentence(change: pd.DataFrame) -> str:
    """One sentence for win_rate_change.csv: how much the team's win rate moved, whether that is more than
    chance (two-proportion test, p < 0.1), and the segment (of any type) whose mix + rate effect moved it
    most in that direction, and through which effect."""
    if change.empty:
        return "Too few deals closed in the two quarters to say why the win rate moved."
    team = change[change["segment_type"].eq(change["segment_type"].iloc[0])]
    total = float(team["total_change"].sum())
    won = np.array([team["won_before"].sum(), team["won_after"].sum()], dtype=float)
    closed = np.array([team["closed_before"].sum(), team["closed_after"].sum()], dtype=float)
    pooled = won.sum() / closed.sum()
    se = np.sqrt(pooled * (1 - pooled) * (1 / closed[0] + 1 / closed[1]))
    beyond = se > 0 and 2 * stats.norm.sf(abs(total) / se) < 0.1
    before, after = pd.Timestamp(team["period_before"].iloc[0]), pd.Timestamp(team["period_after"].iloc[0])
    moved = (
        f"The win rate {'fell' if total < 0 else 'rose'} by {abs(total) * 100:.1f} points from "
        f"Q{before.quarter} {before.year} to Q{after.quarter} {after.year}"
    )
    if not beyond:
        return moved + ", no more than chance moves it at these volumes."
    top = change.sort_values("total_change", ascending=total < 0, kind="mergesort").iloc[0]
    if abs(top["rate_effect"]) >= abs(top["mix_effect"]):
        how = "its own deals winning " + ("less" if top["rate_effect"] < 0 else "more")
    else:
        grew = top["share_after"] > top["share_before"]
        how = "its share of the closed deals " + ("growing" if grew else "shrinking")
    return (
        f"{moved}; {top['segment']} ({top['segment_type'].replace('_', ' ')}) accounts for "
        f"{top['total_change'] * 100:+.1f} points of it, mostly through {how}."
    )


def rep_consistency(deals: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """rep_consistency.csv: each rep's quarter-to-quarter win-rate spread (standard deviation over the
    quarters with closed deals) against the spread chance alone gives at their volume
    (``sqrt(mean(p (1 - p) / n_q))`` with p their rate shrunk toward the team's by ``SHRINK_DEALS``
    pseudo-deals); ``ratio`` above 1 means less consistent than chance."""
    closed = closed_deals(deals, as_of)
    team = float(closed["is_won"].mean()) if len(closed) else np.nan
    by_quarter = closed.groupby(["sales_agent", "period_start"])["is_won"].agg(["size", "sum"]).reset_index()
    rows = []
    for rep, part in by_quarter.groupby("sales_agent", sort=True):
        n, w = part["size"].to_numpy(dtype=float), part["sum"].to_numpy(dtype=float)
        shrunk = (w.sum() + SHRINK_DEALS * team) / (n.sum() + SHRINK_DEALS)
        rates = w / n
        spread = float(np.std(rates, ddof=1)) if len(rates) > 1 else np.nan
        chance = float(np.sqrt(np.mean(shrunk * (1 - shrunk) / n))) if len(rates) > 1 else np.nan
        manager = deals.loc[deals["sales_agent"].eq(rep), "manager"].iloc[0]
        rows.append(
            {
                "sales_agent": rep,
                "manager": manager,
                "quarters": int(len(rates)),
                "closed": int(n.sum()),
                "win_rate": float(w.sum() / n.sum()),
                "shrunk_win_rate": shrunk,
                "spread": spread,
                "chance_spread": chance,
                "ratio": spread / chance if chance and np.isfinite(chance) and chance > 0 else np.nan,
            }
        )
    columns = list(column_names(CONSISTENCY))
    return pd.DataFrame(rows, columns=columns)


def stage_conversion(
    deals: pd.DataFrame, history: pd.DataFrame | None, stage_order: tuple[str, ...], as_of: pd.Timestamp
) -> pd.DataFrame:
    """stage_conversion.csv (with a field history): of the deals closed in the last complete quarters (as
    ``closed_deals``) whose history reached each open stage, how many moved on (reached a later stage, or
    were won from the last one) and how many were won in the end. A deal's furthest stage is the furthest its
    history rows name (stages outside the CRM's order are left out)."""
    columns = list(column_names(CONVERSION))
    if history is None or not stage_order:
        return pd.DataFrame(columns=columns)
    closed = closed_deals(deals, as_of)
    rows = history[history["opportunity_id"].isin(set(closed["opportunity_id"]))]
    position = rows["stage"].map({name: i for i, name in enumerate(stage_order)})
    furthest = position.groupby(rows["opportunity_id"]).max().dropna()
    won = closed.set_index("opportunity_id")["is_won"].reindex(furthest.index).astype(bool)
    table = []
    for i, name in enumerate(stage_order):
        reached = furthest >= i
        moved_on = (furthest > i) | (won & (i == len(stage_order) - 1))
        n = int(reached.sum())
        table.append(
            {
                "stage": name,
                "position": i + 1,
                "reached": n,
                "moved_on": int((reached & moved_on).sum()),
                "conversion": float((reached & moved_on).sum() / n) if n else np.nan,
                "won": int((reached & won).sum()),
                "win_rate": float((reached & won).sum() / n) if n else np.nan,
            }
        )
    return pd.DataFrame(table, columns=columns)
