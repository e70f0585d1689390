"""Quotas for a generated CRM, as sales operations would set them from the history it shows.

Each rep's quarterly quota is 110% of the rep's average won revenue in the last four complete quarters of
the export; each manager's is 90% of the team's quotas (reps carry more than their manager's number, as is
common). Quotas are in steps of 3,000 (a monthly quota is then a whole number) and cover every quarter of
the export and the two after it. Reps hired since the teams were set up (no team yet) get none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.synthetic import SyntheticCRM

QUOTA_STEP = 3_000
REP_STRETCH = 1.10  # a rep's quota against the rep's average quarter
MANAGER_SHARE = 0.90  # a manager's quota against the sum of the team's
QUARTERS_AFTER = 2
RECENT_QUARTERS = 4  # the quarters a quota is set from


def _steps(values: pd.Series | np.ndarray) -> np.ndarray:
    """Values rounded to whole steps of ``QUOTA_STEP``, at least one step."""
    return np.maximum(np.round(np.asarray(values, dtype=float) / QUOTA_STEP), 1).astype(np.int64) * QUOTA_STEP


def synthetic_quotas(crm: SyntheticCRM) -> pd.DataFrame:
    """quotas.csv of ``crm``: ``period_start`` (a quarter's first day), ``owner`` (a rep or a manager) and
    ``quota``, as text, ordered by quarter, managers first."""
    deals = crm.sales_pipeline
    won = deals[deals["deal_stage"].eq("Won")]
    close = pd.to_datetime(won["close_date"])
    first = pd.to_datetime(deals["engage_date"].replace("", None)).min().to_period("Q")
    last = crm.export_date.to_period("Q")
    recent = max(first + 1, last - RECENT_QUARTERS)  # the last four quarters wholly inside the export
    complete = pd.period_range(recent, last - 1, freq="Q")
    in_complete = close.dt.to_period("Q").isin(complete)
    revenue = pd.to_numeric(won["close_value"]).where(in_complete, 0.0).groupby(won["sales_agent"]).sum()
    teams = crm.sales_teams  # reps with a team who sell (a data export's User.csv lists managers too)
    teams = teams[teams["manager"].ne("") & teams["sales_agent"].isin(deals["sales_agent"])]
    average = revenue.reindex(teams["sales_agent"]).fillna(0.0) / max(len(complete), 1)
    reps = pd.Series(_steps(average * REP_STRETCH), index=teams["sales_agent"].to_numpy())
    managers = reps.groupby(teams["manager"].to_numpy()).sum()
    managers = pd.Series(_steps(managers * MANAGER_SHARE), index=managers.index)
    each = pd.concat([managers.sort_index(), reps.sort_index()])
    quarters = pd.period_range(first, last + QUARTERS_AFTER, freq="Q")
    return pd.DataFrame(
        {
            "period_start": np.repeat([f"{q.start_time:%Y-%m-%d}" for q in quarters], len(each)),
            "owner": np.tile(each.index.to_numpy(dtype=object), len(quarters)),
            "quota": np.tile(each.to_numpy().astype(str), len(quarters)),
        }
    )
