"""Benchmark the attention plan: an exact knapsack per manager for many open deals.

    python benchmarks/bench_attention.py                      # 100,000 open deals, 50 managers
    python benchmarks/bench_attention.py --deals 20000 --managers 10

Target (issue 23): 100,000 open deals and 50 managers solved in under 30 s. The deals are random but shaped
like predictions (values, quarter chances, tiers); the plan is checked against each manager's hours and the
greedy list.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.diagnostics.attention import REVIEW_HOURS, attention_plan  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    predictions = pd.DataFrame(
        {
            "opportunity_id": [f"D{i}" for i in range(args.deals)],
            "manager": rng.integers(0, args.managers, args.deals).astype(str),
            "deal_value": rng.lognormal(8.0, 1.0, args.deals),
            "p_close_in_quarter": rng.beta(1.5, 2.5, args.deals),
            "risk_tier": rng.choice(list(REVIEW_HOURS), args.deals),
            "stale": rng.random(args.deals) < 0.2,
            "scored": True,
        }
    )
    start = time.perf_counter()
    plan = attention_plan(predictions, {str(m): args.hours for m in range(args.managers)})
    seconds = time.perf_counter() - start
    used = plan.plan.groupby("manager")["hours"].sum()
    summary = plan.summary()
    assert (used <= args.hours + 1e-9).all() and summary["objective"] >= summary["greedy_objective"]
    print(
        f"{args.deals:,} open deals, {args.managers} managers x {args.hours:g} h: solved in {seconds:.1f} s; "
        f"{len(plan.plan):,} reviews, value in play {summary['objective']:,.0f} against the greedy list's "
        f"{summary['greedy_objective']:,.0f}"
    )


if __name__ == "__main__":
    main()
