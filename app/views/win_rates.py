"""Win Rates: the win rate by quarter of close with its likely range, segments side by side, why the rate
moved between the last two quarters (mix and rate), speed per segment and how steady each rep is
(win_rates.csv, win_rate_change.csv, rep_consistency.csv)."""

from __future__ import annotations

import streamlit as st

from app.components import charts
from app.components import diagnostic_charts as diagnostics
from app.components.format import TABLE_PLACEHOLDER, Money, md, percent
from app.components.gate import missing_notice, require_run
from app.filters import current_filters
from app.services import win_rates as rates
from app.services.store import (
    predict_command,
    rep_consistency,
    run_state,
    stage_conversion,
    win_rate_change,
    win_rates,
)
from core.diagnostics.win_rates import change_sentence

# a rate x 100 shown rounded: Streamlit's "percent" format with a step cuts the digits off (30 of 43 read 69%)
PERCENT = {"format": "%.0f%%"}

run = require_run(run_state())
money = Money(run.metadata.currency)
st.title("Win rates")
table = win_rates(run)
if table is None or table.empty:
    missing_notice("Win rates by quarter (win_rates.csv)", predict_command(run.out_dir))
    st.stop()
change = win_rate_change(run)
consistency = rep_consistency(run)
filters = current_filters()
people = rates.teams(run.predictions, consistency)
chosen = rates.scope(filters, people)
latest = rates.latest_quarter(table)
quarters = sorted(table["period_start"].unique())
st.caption(
    f"Every deal counts in the quarter it closed, won or lost, over the last {len(quarters)} complete "
    f"quarters ({rates.quarter_label(quarters[0])} to {rates.quarter_label(latest)}); open deals count "
    "nowhere yet."
)
ignored = rates.ignored_filters(filters)
if ignored:
    st.caption(
        f"Not applied on this page: the sidebar's {md(', '.join(ignored))} choice. A closed deal has no risk "
        "tier or stale flag, and every closed deal was engaged."
    )
if chosen.missing is not None:
    st.info(md(chosen.missing))
    st.stop()

# 1. The trend
st.subheader(f"Win rate by quarter, {md(chosen.describe())}")
trend = rates.trend(table, chosen)
if trend.empty:
    st.info(
        f"{md(rates.capitalized(chosen.describe()))} closed no deal in the last {len(quarters)} complete "
        "quarters, so the file has no win rate for it (the team's is not shown in its place)."
    )
else:
    if len(chosen.segments) == 1:
        now = trend.iloc[-1]
        cols = st.columns(4)
        cols[0].metric(
            f"Win rate, {rates.quarter_label(now['period_start'])}",
            percent(now["win_rate"]),
            help="Deals won / deals closed (won or lost) in the quarter.",
        )
        cols[1].metric(
            "Likely range",
            f"{percent(now['low'])} - {percent(now['high'])}",
            help="Where the rate would likely land with this many deals, 9 times in 10.",
        )
        cols[2].metric("Deals closed", f"{int(now['closed']):,}", help=f"{int(now['won']):,} of them won.")
        if len(trend) > 1:
            before = trend.iloc[-2]
            cols[3].metric(
                f"Change from {rates.quarter_label(before['period_start'])}",
                f"{(now['win_rate'] - before['win_rate']) * 100:+.1f} pts",
                help="Percentage points. A ringed quarter in the chart moved more than chance explains.",
            )
    charts.show(diagnostics.win_rate_trend(trend), key="win_rate_trend")
    moved = trend[trend["changed"]]
    ringed = "the quarter" if len(moved) == 1 else f"the {len(moved)} quarters"
    marks = (
        f"Ringed: {ringed} whose rate moved more than chance explains from the quarter before (about one "
        "quarter in ten is ringed by chance alone)."
        if len(moved)
        else "No quarter moved more than chance explains from the quarter before."
    )
    st.caption(f"Shaded: the likely range of the rate given how many deals closed. {marks}")
    thin = rates.thin_first_quarter(table[table["segment_type"].eq("all")].sort_values("period_start"))
    if thin:
        st.caption(md(thin if chosen.whole_team else f"Across the whole team, {thin}"))

# 2. Segments side by side
st.subheader("Segments side by side")
types = rates.segment_types(table)
finer = {"regional_office": "manager", "manager": "sales_agent"}.get(chosen.segment_type, chosen.segment_type)
segment_type = st.selectbox(
    "Compare by",
    types,
    index=types.index(finer) if finer in types else 0,
    format_func=rates.segment_label,
    key=f"win_rates_compare_{chosen.segment_type}",
)
label = rates.segment_label(segment_type)
shown = rates.breakdown(chosen, segment_type, people)
if shown.missing is not None:
    st.info(md(shown.missing))
    latest_rows = table.iloc[0:0]
else:
    latest_rows = rates.latest_by_segment(table, segment_type, shown.segments)
    quiet = rates.quiet_segments(table, segment_type, shown.segments)
    if latest_rows.empty:
        st.info(
            f"No {md(label.lower())} of {md(chosen.describe())} closed a deal in "
            f"{rates.quarter_label(latest)}."
        )
    else:
        team = table[table["segment_type"].eq("all") & table["period_start"].eq(latest)]["win_rate"]
        charts.show(
            diagnostics.segment_rates_chart(latest_rows, float(team.iloc[0]) if len(team) else None, label),
            key="win_rate_segments",
        )
        note = (
            f" {len(quiet)} closed no deal in {rates.quarter_label(latest)} and are not listed: "
            f"{md(', '.join(quiet))}."
            if quiet
            else ""
        )
        st.caption(
            f"{rates.quarter_label(latest)}, ranked by the low end of each likely range (the bar), not by "
            "the rate itself: a segment that won 3 of 4 deals does not outrank one that won 120 of 200. "
            f"The dashed line is the team's rate.{note}"
        )
        st.dataframe(
            latest_rows.assign(
                win_rate=latest_rows["win_rate"] * 100,
                likely=[
                    f"{percent(lo)} - {percent(hi)}"
                    for lo, hi in zip(latest_rows["low"], latest_rows["high"], strict=True)
                ],
            )[
                [
                    "segment",
                    "win_rate",
                    "likely",
                    "won",
                    "closed",
                    "changed",
                    "avg_won_value",
                    "cycle_days",
                    "velocity",
                ]
            ],
            hide_index=True,
            width="stretch",
            placeholder=TABLE_PLACEHOLDER,
            key="win_rate_segment_table",
            column_config={
                "segment": label,
                "win_rate": st.column_config.NumberColumn("Win rate", **PERCENT),
                "likely": "Likely range",
                "won": st.column_config.NumberColumn("Won", format="localized"),
                "closed": st.column_config.NumberColumn("Closed", format="localized"),
                "changed": st.column_config.CheckboxColumn(
                    "Moved beyond chance", help="From the quarter before."
                ),
                "avg_won_value": st.column_config.NumberColumn("Average won deal", format=money.table_format),
                "cycle_days": st.column_config.NumberColumn("Days to win", format="%.0f"),
                "velocity": st.column_config.NumberColumn(
                    "Sales velocity (a day)", format=money.table_format
                ),
            },
        )

# 3. Why the rate moved
st.subheader("Why the win rate moved")
if change is None:
    missing_notice("Why the win rate moved (win_rate_change.csv)", predict_command(run.out_dir))
elif change.empty:
    st.info("Too few deals closed in the last two quarters to say why the win rate moved.")
else:
    before_q = rates.quarter_label(change["period_before"].iloc[0])
    after_q = rates.quarter_label(change["period_after"].iloc[0])
    own = rates.segment_change_sentence(change, chosen)
    if own:
        st.markdown(md(own))
    team_text = change_sentence(change)
    st.markdown(("For the whole team: " if own else "") + md(team_text))
    if shown.missing is None:
        moved_rows = rates.change_by_segment(change, segment_type, shown.segments)
        if moved_rows.empty:
            st.caption(f"No {md(label.lower())} closed deals in {before_q} or {after_q}.")
        else:
            charts.show(diagnostics.mix_rate_chart(moved_rows, label), key="win_rate_mix")
            total = float(moved_rows["total_change"].sum())
            team_total = rates.team_change(change)
            if shown.segments is None:
                adds = f"add up to the team's change of {team_total * 100:+.1f} points"
            else:
                n = len(moved_rows)
                these = f"this {md(label.lower())}" if n == 1 else f"these {n} {md(label.lower())}s"
                adds = (
                    f"of {these} add up to {total * 100:+.1f} points of the team's "
                    f"{team_total * 100:+.1f}-point change"
                )
            st.caption(
                f"From {before_q} to {after_q}. Each {md(label.lower())}'s part of the team's change is "
                "its share of the closed deals moving (mix) plus its own win rate moving (rate); the "
                f"parts {adds}."
            )

# 4. Speed
if not latest_rows.empty and latest_rows["velocity"].notna().any():
    st.subheader("Speed: sales velocity and days to win")
    fastest = latest_rows.sort_values(["velocity", "segment"], ascending=[False, True], kind="stable")
    charts.show(diagnostics.speed_chart(fastest, money, label), key="win_rate_speed")
    st.caption(
        f"{rates.quarter_label(latest)}. Sales velocity = deals closed x win rate x average won deal / "
        "average days from engagement to win: the revenue each day of the sales cycle brings in. A "
        "segment with no win has no velocity."
    )

# 5. Rep consistency
st.subheader("How steady each rep is from quarter to quarter")
if consistency is None:
    missing_notice("Rep consistency (rep_consistency.csv)", predict_command(run.out_dir))
else:
    reps = rates.breakdown(chosen, "sales_agent", people)
    if reps.missing is not None:
        st.info(
            f"Each rep's consistency is over all their deals, not within {md(chosen.describe())}: clear the "
            "product and sector filters to see it."
        )
    else:
        rows = rates.rep_consistency_rows(consistency, reps.segments)
        mine = (
            consistency
            if reps.segments is None
            else consistency[consistency["sales_agent"].isin(reps.segments)]
        )
        left_out = int(mine["spread"].isna().sum())
        owner = rates.whose(chosen)
        st.markdown(md(rates.consistency_sentence(rows, left_out, owner)))
        if not rows.empty:
            charts.show(diagnostics.consistency_chart(rows, rates.CLEARLY_SWINGS), key="win_rate_consistency")
            st.caption(
                "Up: how much the rep's win rate swings from quarter to quarter. Across: how much it "
                "would swing by chance alone with as many deals a quarter (few deals swing more). On the "
                "dashed line a rep swings as chance does; about half the reps sit above it by chance, so "
                f"only a rep well above it ({rates.CLEARLY_SWINGS:g} times, the dotted line) is less "
                "steady than their volume explains. Dot size: deals closed."
            )

# 6. Stage to stage (only with a field history)
conversion = stage_conversion(run)
if conversion is not None and len(conversion) and conversion["reached"].sum() > 0:
    st.subheader("From stage to stage")
    if filters.active:
        st.caption("For the whole team: the sidebar's filters do not apply to this section.")
    st.markdown(md(rates.conversion_sentence(conversion)))
    st.dataframe(
        conversion.assign(conversion=conversion["conversion"] * 100, win_rate=conversion["win_rate"] * 100),
        hide_index=True,
        width="stretch",
        column_order=["stage", "reached", "moved_on", "conversion", "won", "win_rate"],
        column_config={
            "stage": "Stage",
            "reached": st.column_config.NumberColumn("Deals that reached it", format="localized"),
            "moved_on": st.column_config.NumberColumn("Moved on", format="localized"),
            "conversion": st.column_config.NumberColumn("Moved on (%)", format="%.0f%%"),
            "won": st.column_config.NumberColumn("Won in the end", format="localized"),
            "win_rate": st.column_config.NumberColumn("Won in the end (%)", format="%.0f%%"),
        },
    )
    st.caption(
        "Deals closed in the quarters above whose field history names a stage, by the furthest stage it "
        "names; moving on from the last stage means being won."
    )

with st.expander("For analysts: how these figures are computed"):
    st.caption(
        "Likely range: Wilson score interval at 90%. Moved beyond chance: two-sided Fisher exact test "
        "against the quarter before, p < 0.1. Why it moved: shift-share split with mean shares and rates "
        "(mix = share change x the segment's mean rate less the team's, rate = rate change x mean share), "
        "exact per segment type; the "
        "sentence's test is a two-proportion z-test on the team. Swing: standard deviation of the "
        "quarterly win rates; by chance: the binomial standard deviation at each quarter's volume with "
        "the rep's rate shrunk toward the team's by 20 deals."
    )
