"""targets.csv: each quarter's target per segment, rolled up from the quotas file (Salesforce
ForecastingQuota, our quotas.csv).

A quota belongs to its owner's quarter (monthly quotas add up). The roll-up follows the team hierarchy of
the deals and never adds a quota twice:

* a rep's target is the rep's own quota;
* a manager's is the manager's own quota, else the sum of the team's reps' quotas;
* a region's is the sum of its managers' targets (and of the quotas of reps without a manager), when no
  manager of the region also sells in another one;
* the whole team's is a quota without an owner, else the quota of the one person every manager reports to
  (a vice-president in Salesforce's User.csv), else the sum over managers as for a region.

``source`` says which rule gave each figure, with how many of the people it could have added had a quota
("sum of 5 of 6 managers' targets"), so a partial sum is never read as the whole. Owners who are neither a
rep nor a manager of any deal, nor that one person above the managers (a misspelt name, a second-line
manager) give no target and are listed by :func:`unmatched_owners`. Products get no target: quotas are per
person.
"""

from __future__ import annotations

import pandas as pd

from core.data.contract import UNKNOWN

COLUMNS = ["period_start", "period_end", "segment_type", "segment", "target", "source"]


def _hierarchy(deals: pd.DataFrame) -> pd.DataFrame:
    """Each rep's manager and office as the deals carry them, once per combination."""
    return deals[["sales_agent", "manager", "regional_office"]].astype(str).drop_duplicates()


def _per_quarter(quotas: pd.DataFrame) -> pd.DataFrame:
    """Each owner's quota per calendar quarter (period_start = the quarter's first day)."""
    quarter = quotas["period_start"].dt.to_period("Q").dt.start_time.dt.normalize()
    summed = quotas.assign(quarter=quarter).groupby(["quarter", "owner"], sort=True)["quota"].sum()
    return summed.reset_index()


def _manager_targets(
    hierarchy: pd.DataFrame, own: dict[str, float]
) -> tuple[dict[str, float], dict[str, str]]:
    """Each manager's target (own quota, else the team's reps' quotas) and the rule that gave it."""
    targets, sources = {}, {}
    for manager, team in hierarchy[hierarchy["manager"].ne(UNKNOWN)].groupby("manager", sort=True):
        if manager in own:
            targets[manager], sources[manager] = own[manager], "quota"
            continue
        reps = team["sales_agent"].unique()
        with_quota = [rep for rep in reps if rep in own]
        if with_quota:
            targets[manager] = sum(own[rep] for rep in with_quota)
            sources[manager] = _sum_text(len(with_quota), len(reps), "rep")
    return targets, sources


WORDS = {  # what a sum adds up, one and several
    "rep": ("rep's quota", "reps' quotas"),
    "manager": ("manager's target", "managers' targets"),
    "loose": ("quota of a rep without a manager", "quotas of reps without a manager"),
}


def _sum_text(count: int, of: int, what: str) -> str:
    """'sum of 4 reps' quotas', or 'sum of 4 of 5 reps' quotas' when some had none."""
    one, several = WORDS[what]
    if count == of:
        return f"sum of {count} {one if count == 1 else several}"
    return f"sum of {count} of {of} {several}"


def _group_target(
    hierarchy: pd.DataFrame, managers: dict[str, float], own: dict[str, float]
) -> tuple[float, str] | None:
    """A group's target as the sum of its managers' targets and the quotas of its reps without a manager."""
    named = sorted(set(hierarchy.loc[hierarchy["manager"].ne(UNKNOWN), "manager"]))
    loose = sorted(set(hierarchy.loc[hierarchy["manager"].eq(UNKNOWN), "sales_agent"]))
    parts = [managers[m] for m in named if m in managers] + [own[r] for r in loose if r in own]
    if not parts:
        return None
    counted = sum(m in managers for m in named)
    text = _sum_text(counted, len(named), "manager") if named else ""
    extra = sum(r in own for r in loose)
    if extra:
        reps = _sum_text(extra, len(loose), "loose").removeprefix("sum of ")
        text = f"{text} and {reps}" if text else f"sum of {reps}"
    return sum(parts), text


def _head(hierarchy: pd.DataFrame, teams: pd.DataFrame) -> str:
    """The one person every manager of the deals reports to in the sales-team table, else ""."""
    named = set(hierarchy["manager"]) - {UNKNOWN}
    above = set(teams.loc[teams["sales_agent"].isin(named), "manager"].astype(str))
    reported = set(teams.loc[teams["sales_agent"].isin(named), "sales_agent"])
    return above.pop() if named and reported == named and len(above) == 1 and UNKNOWN not in above else ""


def quarter_targets(
    quotas: pd.DataFrame, deals: pd.DataFrame, teams: pd.DataFrame, quarters: pd.PeriodIndex
) -> pd.DataFrame:
    """targets.csv for ``quarters`` (columns ``COLUMNS``, "all" first, then regions, managers and reps);
    ``teams`` is the sales-team table, which may say whom the managers report to."""
    hierarchy = _hierarchy(deals)
    head = _head(hierarchy, teams)
    offices_of = hierarchy.groupby("manager")["regional_office"].nunique()
    spread = set(offices_of[offices_of.gt(1)].index) - {UNKNOWN}
    per_quarter = _per_quarter(quotas)
    rows = []
    for quarter in quarters:
        start = quarter.start_time.normalize()
        here = per_quarter[per_quarter["quarter"].eq(start)]
        if here.empty:
            continue
        own = dict(zip(here["owner"], here["quota"], strict=True))
        managers, manager_sources = _manager_targets(hierarchy, own)
        found = []
        if "" in own:
            found.append(("all", "All", own[""], "quota of the whole team"))
        elif head in own:
            found.append(("all", "All", own[head], f"quota of {head}, to whom every manager reports"))
        else:
            whole = _group_target(hierarchy, managers, own)
            if whole is not None:
                found.append(("all", "All", *whole))
        for office, members in hierarchy.groupby("regional_office", sort=True):
            if office == UNKNOWN or spread & set(members["manager"]):
                continue
            group = _group_target(members, managers, own)
            if group is not None:
                found.append(("regional_office", office, *group))
        found += [("manager", m, managers[m], manager_sources[m]) for m in sorted(managers)]
        reps = sorted(set(hierarchy["sales_agent"]) & set(own))
        found += [("sales_agent", rep, own[rep], "quota") for rep in reps]
        end = quarter.end_time.normalize()
        rows += [(start, end, kind, name, round(value, 2), source) for kind, name, value, source in found]
    return pd.DataFrame(rows, columns=COLUMNS)


def unmatched_owners(quotas: pd.DataFrame, deals: pd.DataFrame, teams: pd.DataFrame) -> list[str]:
    """Quota owners who are neither a rep nor a manager of any deal nor the person above every manager:
    their quotas give no target."""
    hierarchy = _hierarchy(deals)
    people = set(hierarchy["sales_agent"]) | set(hierarchy["manager"]) | {_head(hierarchy, teams)}
    owners = quotas["owner"][quotas["owner"].ne("")]
    return sorted(set(owners) - people)
