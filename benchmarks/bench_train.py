"""Benchmark: train time and peak memory of the win-probability model on synthetic exports of several sizes.

    python benchmarks/bench_train.py [--deals 10000,100000,1000000] [--seed 7] [--n-jobs 1]

Each size runs in its own subprocess (so peak memory is per size): generate the export, write and read it
with the real loader, then time ``WinProbabilityModel.fit`` at the export date. Prints one line per size
and a JSON summary. Targets: 1M deals under 10 minutes and 12 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_one(deals: int, seed: int, n_jobs: int) -> dict:
    """Generate, load and fit one size in this process; return timings and peak resident memory."""
    from core.data import read_crm
    from core.data.synthetic import generate_crm
    from core.model import WinProbabilityModel
    from models.generate import write_crm

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        write_crm(generate_crm(n_deals=deals, seed=seed), Path(folder))
        generated = time.perf_counter()
        crm = read_crm(folder)
    loaded = time.perf_counter()
    model = WinProbabilityModel(seed=seed, n_jobs=n_jobs).fit(crm)
    trained = time.perf_counter()
    model.predict_proba(crm)
    scored = time.perf_counter()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "deals": deals,
        "generate_s": round(generated - started, 1),
        "load_s": round(loaded - generated, 1),
        "train_s": round(trained - loaded, 1),
        "score_s": round(scored - trained, 1),
        "training_snapshots": int(model.n_training_snapshots_),
        "rounds": int(model.n_rounds_),
        "peak_memory_gb": round(peak_kib / 1024**2, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every requested size in a subprocess and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(run_one(args.worker, args.seed, args.n_jobs)))
        return 0
    results = []
    for deals in [int(d) for d in args.deals.split(",")]:
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                str(deals),
                "--seed",
                str(args.seed),
                "--n-jobs",
                str(args.n_jobs),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{deals:>9,} deals: train {result['train_s']:>7.1f} s  (load {result['load_s']} s, "
            f"{result['training_snapshots']:,} snapshots, {result['rounds']} rounds)  "
            f"peak memory {result['peak_memory_gb']:.2f} GB",
            flush=True,
        )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
