"""Benchmark the synthetic generator at scale: wall time and peak memory to generate and write N deals,
then the time and peak memory of reading the export back with ``core.data.read_crm``.

Run: ``python benchmarks/bench_generator.py [--deals 1000000] [--seed 7]`` (target: generation < 60 s).
Peak memory is the process's peak resident set size (``resource.getrusage`` ru_maxrss) after each step, next
to the baseline after imports. tracemalloc is not used: tracing every allocation slows pandas' string
handling about tenfold and would make the timings meaningless.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from core.data import read_crm
from core.data.synthetic import generate_crm
from models.generate import write_crm

T = TypeVar("T")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, step: Callable[[], T]) -> T:
    """Run ``step`` and print its wall time, tracemalloc peak and the process's peak RSS so far."""
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    print(f"{label:<28} {seconds:8.2f} s   process peak RSS so far {peak_rss_mib():8.1f} MiB", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Generate, write and read back one synthetic export in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(
        f"synthetic CRM benchmark: {args.deals:,} deals, seed {args.seed}; "
        f"peak RSS after imports {peak_rss_mib():.1f} MiB"
    )
    with tempfile.TemporaryDirectory(prefix="revintel-bench-") as tmp:
        out = Path(tmp)
        total = time.perf_counter()
        crm = measure("generate (in memory)", lambda: generate_crm(args.deals, args.seed))
        paths = measure("write 5 CSV files", lambda: write_crm(crm, out))
        generation = time.perf_counter() - total
        size = sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"{'generate + write total':<28} {generation:8.2f} s   ({size:,.0f} MiB on disk; target < 60 s: "
            f"{'met' if generation < 60 else 'MISSED'})",
            flush=True,
        )
        crm = None  # free the frames before reading back
        loaded = measure("read_crm (validate + cut)", lambda: read_crm(out))
        print(
            f"loaded {len(loaded.deals):,} deals, {int(loaded.deals['is_open'].sum()):,} open at "
            f"{loaded.as_of:%Y-%m-%d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
