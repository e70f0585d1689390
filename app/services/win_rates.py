"""Win Rates: the team's win rate by quarter of close, each segment's latest quarter with its likely range,
why the rate moved (mix and rate per segment) and each rep's quarter-to-quarter consistency, for the
sidebar's region, manager, rep, product and sector choices (win_rates.csv, win_rate_change.csv,
rep_consistency.csv).

Frames in, frames out; nothing here reads files or imports streamlit. The files hold every segment type on
its own (the whole team, each region, each manager, ...), never two combined: a filter the files cannot
answer is said in words (:attr:`Scope.missing`), never replaced by the team's numbers. Regions, managers and
reps nest (a rep has one manager, a manager one region), so a manager's reps are that manager's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from app.filters import SEGMENT_LABELS, DealFilters

SEGMENT_TYPE_LABELS = {  # every segment type the batch step may write, in the leader's words
    **{kind: label for kind, label in SEGMENT_LABELS.items() if kind != "all"},
    "deal_size": "Deal size",
    "deal_type": "Deal type",
    "lead_source": "Lead source",
}
FILTER_SEGMENTS = {  # sidebar filter -> the segment type of the win-rate files it names
    "regions": "regional_office",
    "managers": "manager",
    "reps": "sales_agent",
    "products": "product",
    "sectors": "sector",
}
PEOPLE = (
    "regional_office",
    "manager",
    "sales_agent",
)  # broadest first: each level sits inside the one before
CLEARLY_SWINGS = 1.5  # a rep whose spread is this many times chance's swings more than their volume explains


def segment_label(segment_type: str) -> str:
    """A segment type in the leader's words ("sales_agent" -> "Rep"); unknown ones with spaces."""
    return SEGMENT_TYPE_LABELS.get(segment_type, segment_type.replace("_", " ").capitalize())


def capitalized(text: str) -> str:
    """``text`` with its first letter upper case, the rest as it is (names keep their capitals)."""
    return text[:1].upper() + text[1:]


def quarter_label(day: pd.Timestamp) -> str:
    """A quarter as a leader names it: "Q2 2026"."""
    day = pd.Timestamp(day)
    return f"Q{day.quarter} {day.year}"


def ignored_filters(filters: DealFilters) -> list[str]:
    """The sidebar choices a closed deal cannot answer (it has no risk tier or stale flag, and was engaged),
    in words for the page's caption."""
    return filters.not_applied("tiers")


def teams(predictions: pd.DataFrame, consistency: pd.DataFrame | None) -> pd.DataFrame:
    """Who sits where: one row per rep with their manager and region (columns of :data:`PEOPLE`), from the
    open deals and, for reps without open deals, rep_consistency.csv (which has no region: blank)."""
    people = predictions[list(PEOPLE)].astype(str).drop_duplicates()
    if consistency is not None and not consistency.empty:
        extra = consistency.loc[
            ~consistency["sales_agent"].isin(people["sales_agent"]), ["sales_agent", "manager"]
        ]
        people = pd.concat([people, extra.assign(regional_office="")], ignore_index=True)
    return people.sort_values(list(PEOPLE), kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Scope:
    """What the sidebar selects, as the files hold it: one segment type and its chosen segments ("all",
    ("All",) for the whole team); ``missing`` says why the files cannot answer the choice (no rows)."""

    segment_type: str
    segments: tuple[str, ...]
    missing: str | None = None

    @property
    def whole_team(self) -> bool:
        """True when nothing narrows the view."""
        return self.segment_type == "all"

    def describe(self) -> str:
        """The selection in words: "the whole team", "manager Marty Kiesel", "reps A and B"."""
        if self.whole_team:
            return "the whole team"
        label = segment_label(self.segment_type).lower()
        names = list(self.segments)
        if len(names) == 1:
            return f"{label} {names[0]}"
        return f"{label}s {', '.join(names[:-1])} and {names[-1]}"


def _within(people: pd.DataFrame, column: str, names: tuple[str, ...], chosen: dict[str, tuple]) -> list[str]:
    """The ``names`` of ``column`` whose every team row sits inside the other chosen people filters."""
    kept = []
    for name in names:
        rows = people[people[column].eq(name)]
        if rows.empty:
            continue
        if all(rows[other].isin(values).all() for other, values in chosen.items() if other != column):
            kept.append(name)
    return kept


def scope(filters: DealFilters, people: pd.DataFrame) -> Scope:
    """The files' segment the sidebar names: none -> the whole team; one kind of filter -> its segments;
    region, manager and rep together -> the narrowest, kept where it sits inside the others; anything else
    combined (a product within a manager) is not in the files, and ``missing`` says so."""
    chosen = {
        column: tuple(getattr(filters, name))
        for name, column in FILTER_SEGMENTS.items()
        if getattr(filters, name)
    }
    if not chosen:
        return Scope("all", ("All",))
    if len(chosen) == 1:
        ((column, names),) = chosen.items()
        return Scope(column, names)
    if set(chosen) <= set(PEOPLE):
        narrowest = next(c for c in reversed(PEOPLE) if c in chosen)
        kept = _within(people, narrowest, chosen[narrowest], chosen)
        if kept:
            return Scope(narrowest, tuple(kept))
        words = " and ".join(
            f"the chosen {segment_label(c).lower()}" for c in PEOPLE if c in chosen and c != narrowest
        )
        return Scope(narrowest, (), f"No {segment_label(narrowest).lower()} chosen sits inside {words}.")
    named = ", ".join(segment_label(c).lower() for c in chosen)
    return Scope(
        "all",
        (),
        f"The win-rate files hold each region, manager, rep, product and sector on its own, not combined "
        f"(here {named}): choose one kind of filter (or a region, its managers and reps) to see its rows.",
    )


def trend(win_rates: pd.DataFrame, chosen: Scope) -> pd.DataFrame:
    """The chosen segments' rows by quarter (segment, period_start, closed, won, win_rate, low, high,
    changed, ...), oldest first; empty when the files cannot answer the selection."""
    rows = win_rates[
        win_rates["segment_type"].eq(chosen.segment_type) & win_rates["segment"].isin(chosen.segments)
    ]
    return rows.sort_values(["segment", "period_start"], kind="stable").reset_index(drop=True)


def latest_quarter(win_rates: pd.DataFrame) -> pd.Timestamp | None:
    """The last complete quarter the file holds (None for an empty file)."""
    return None if win_rates.empty else pd.Timestamp(win_rates["period_start"].max())


def segment_types(win_rates: pd.DataFrame) -> list[str]:
    """The segment types the file splits by, in its own order, without the whole team."""
    return [kind for kind in dict.fromkeys(win_rates["segment_type"]) if kind != "all"]


@dataclass(frozen=True)
class Breakdown:
    """Which segments of one type the view shows: ``segments`` None for all of them; ``missing`` says why
    the files cannot break the selection down by this type."""

    segments: tuple[str, ...] | None
    missing: str | None = None


def breakdown(chosen: Scope, segment_type: str, people: pd.DataFrame) -> Breakdown:
    """The segments of ``segment_type`` inside the selection: all for the whole team, the chosen ones for
    their own type, a region's managers or reps and a manager's reps; the files hold nothing finer."""
    if chosen.missing is not None:
        return Breakdown((), chosen.missing)
    if chosen.whole_team:
        return Breakdown(None)
    if segment_type == chosen.segment_type:
        return Breakdown(chosen.segments)
    if segment_type in PEOPLE and chosen.segment_type in PEOPLE:
        if PEOPLE.index(segment_type) > PEOPLE.index(chosen.segment_type):
            inside = people.loc[people[chosen.segment_type].isin(chosen.segments), segment_type]
            return Breakdown(tuple(sorted(set(inside) - {""})))
    return Breakdown(
        (),
        f"The win-rate files hold {segment_label(segment_type).lower()} rates for the whole team, not within "
        f"{chosen.describe()}. Clear the filter to compare them, or choose "
        f"{'a finer' if chosen.segment_type in PEOPLE else 'the same'} kind of segment.",
    )


def latest_by_segment(
    win_rates: pd.DataFrame, segment_type: str, segments: tuple[str, ...] | None
) -> pd.DataFrame:
    """Each segment's row of the last complete quarter, ranked by the low end of its likely range (then its
    rate and name): a rep who won 3 of 4 does not rank above one who won 120 of 200."""
    quarter = latest_quarter(win_rates)
    rows = win_rates[win_rates["segment_type"].eq(segment_type) & win_rates["period_start"].eq(quarter)]
    if segments is not None:
        rows = rows[rows["segment"].isin(segments)]
    return rows.sort_values(
        ["low", "win_rate", "segment"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)


def quiet_segments(win_rates: pd.DataFrame, segment_type: str, segments: tuple[str, ...] | None) -> list[str]:
    """Segments of the type with closed deals in earlier quarters but none in the last one."""
    rows = win_rates[win_rates["segment_type"].eq(segment_type)]
    if segments is not None:
        rows = rows[rows["segment"].isin(segments)]
    latest = set(rows.loc[rows["period_start"].eq(latest_quarter(win_rates)), "segment"])
    return sorted(set(rows["segment"]) - latest)


THIN_QUARTER = 1 / 3  # an oldest quarter with under this share of the others' median closed deals


def thin_first_quarter(team: pd.DataFrame) -> str | None:
    """A warning when the oldest quarter of the team's rows (segment_type "all", oldest first) closed far
    fewer deals than the others, as the quarter an export starts in does (only the quick deals closed in it);
    None otherwise. Plain text."""
    if len(team) < 3:
        return None
    first, others = team.iloc[0], team.iloc[1:]
    if first["closed"] >= THIN_QUARTER * float(others["closed"].median()):
        return None
    text = (
        f"{quarter_label(first['period_start'])} counts only {int(first['closed']):,} closed deals, against "
        f"{int(others['closed'].min()):,} to {int(others['closed'].max()):,} in the other quarters"
    )
    if "cycle_days" in team and pd.notna(first["cycle_days"]) and others["cycle_days"].notna().any():
        text += (
            f", and its wins took {first['cycle_days']:.0f} days against {others['cycle_days'].min():.0f} to "
            f"{others['cycle_days'].max():.0f}"
        )
    return text + ": it is probably the quarter the export starts in, so read its rate with care."


def team_change(change: pd.DataFrame) -> float:
    """The whole team's win-rate change between the two quarters (a segment type's total_change adds up to
    it; any type gives the same sum)."""
    if change.empty:
        return 0.0
    first = change["segment_type"].iloc[0]
    return float(change.loc[change["segment_type"].eq(first), "total_change"].sum())


def change_by_segment(
    change: pd.DataFrame, segment_type: str, segments: tuple[str, ...] | None
) -> pd.DataFrame:
    """The segments' mix and rate effects (rows of win_rate_change.csv), largest move first; their
    total_change adds up to the team's change when every segment is shown."""
    rows = change[change["segment_type"].eq(segment_type)]
    if segments is not None:
        rows = rows[rows["segment"].isin(segments)]
    order = rows["total_change"].abs().sort_values(ascending=False, kind="stable").index
    return rows.loc[order].reset_index(drop=True)


def segment_change_sentence(change: pd.DataFrame, chosen: Scope) -> str | None:
    """For a selection narrower than the team: each chosen segment's own win rate in the two quarters and
    how much it moved the team's rate (plain text; None for the whole team or no rows)."""
    if chosen.whole_team or chosen.missing is not None:
        return None
    rows = change[change["segment_type"].eq(chosen.segment_type) & change["segment"].isin(chosen.segments)]
    if rows.empty:
        return None
    before, after = quarter_label(rows["period_before"].iloc[0]), quarter_label(rows["period_after"].iloc[0])
    parts = []
    for row in rows.itertuples():
        then = (
            f"{row.won_before / row.closed_before:.0%} of {row.closed_before:,}"
            if row.closed_before
            else "none"
        )
        now = (
            f"{row.won_after / row.closed_after:.0%} of {row.closed_after:,}" if row.closed_after else "none"
        )
        moved = round(row.total_change * 100, 1)
        verb = "lowered" if moved < 0 else "raised"
        effect = (
            "which left the team's win rate where it was"
            if moved == 0
            else f"which {verb} the team's win rate by {abs(moved):.1f} points"
        )
        parts.append(f"{row.segment} won {then} closed deals in {before} and {now} in {after}, {effect}")
    return "; ".join(parts) + "."


def rep_consistency_rows(consistency: pd.DataFrame, reps: tuple[str, ...] | None) -> pd.DataFrame:
    """Reps with a spread (closed deals in two quarters or more), of ``reps`` when given, least steady
    first."""
    rows = consistency[consistency["spread"].notna() & consistency["chance_spread"].notna()]
    if reps is not None:
        rows = rows[rows["sales_agent"].isin(reps)]
    return rows.sort_values(["ratio", "sales_agent"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def whose(chosen: Scope) -> str:
    """The selection as the owner of reps: "the team's", "Marty Kiesel's", "the West region's", or "the
    chosen"."""
    if chosen.whole_team:
        return "the team's"
    if len(chosen.segments) == 1 and chosen.segment_type in ("manager", "regional_office"):
        name = chosen.segments[0]
        return f"{name}'s" if chosen.segment_type == "manager" else f"the {name} region's"
    return "the chosen"


def consistency_sentence(rows: pd.DataFrame, left_out: int, owner: str) -> str:
    """One plain sentence on the reps' quarter-to-quarter swings against what chance gives at their volume
    (``rows`` from :func:`rep_consistency_rows`; ``left_out`` reps had closed deals in one quarter only;
    ``owner`` from :func:`whose`)."""
    if rows.empty:
        return f"None of {owner} reps closed deals in two quarters or more, so there is no swing to compare."
    swinging = rows[rows["ratio"] >= CLEARLY_SWINGS]
    n = len(rows)
    if n == 1 and not left_out:
        rep = rows.iloc[0]
        verdict = (
            "more than that many deals explain"
            if rep["ratio"] >= CLEARLY_SWINGS
            else "within what that many deals produce"
        )
        return (
            f"{rep['sales_agent']}'s win rate swings {rep['spread'] * 100:.0f} points from quarter to "
            f"quarter, against {rep['chance_spread'] * 100:.0f} by chance alone at their volume: {verdict}."
        )
    reps = f"{n} rep{'s' if n != 1 else ''}"
    if swinging.empty:
        sentence = (
            f"None of {owner} {reps} swings from quarter to quarter by {CLEARLY_SWINGS:g} times what chance "
            "alone gives at their volume or more: their ups and downs are what that many deals produce"
        )
    else:
        top = swinging.iloc[0]
        count = len(swinging)
        sentence = (
            f"{count} of {owner} {reps} swing{'s' if count == 1 else ''} from quarter to quarter by "
            f"{CLEARLY_SWINGS:g} times what chance alone gives at their volume or more; {top['sales_agent']} "
            f"the most ({top['spread'] * 100:.0f} points a quarter against {top['chance_spread'] * 100:.0f} "
            "by chance)"
        )
    if left_out:
        sentence += f". {left_out} rep{'s' if left_out != 1 else ''} closed deals in one quarter only"
    return sentence + "."


def conversion_sentence(conversion: pd.DataFrame) -> str:
    """Where the fewest deals move on, in words (the last stage's "moving on" is being won)."""
    known = conversion[conversion["reached"] > 0]
    if known.empty:
        return "No closed deal's history names a stage."
    weakest = known.sort_values(["conversion", "position"], kind="mergesort").iloc[0]
    last = int(weakest["position"]) == int(conversion["position"].max())
    onward = "were won" if last else "moved on to a later stage"
    return (
        f"Deals leak most at {weakest['stage']}: of the {int(weakest['reached']):,} closed deals that "
        f"reached it, {int(weakest['moved_on']):,} ({weakest['conversion']:.0%}) {onward}."
    )
