"""Benchmark predict.py end to end on synthetic exports: per-step seconds and peak memory per size.

    python benchmarks/bench_predict.py                 # 10k and 100k deals
    python benchmarks/bench_predict.py --sizes 10000,100000,1000000
    python benchmarks/bench_predict.py --sizes 8800 --data-dir ../shared/data/maventech

Each size runs in a fresh process (so peak RSS is that run's own), first training a model (cold) and then
predicting again with the saved model (warm). Per-step times come from predictions_metadata.json. A cold
run also has the short backtest's worker processes, so memory is the peak of the RSS summed over the run's
whole process tree (sampled every 0.2 s), printed beside the main process's own peak. MLflow runs go to a
throwaway store in the benchmark's temp folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = (
    "load",
    "train",
    "market",
    "score",
    "explain",
    "forecast",
    "write",
    "forecast_backtest",
    "track_record",
)


def _child(data_dir: Path, out_dir: Path, model_dir: Path, simulations: int) -> None:
    """Run predict.py in this process and print wall time and peak RSS as JSON."""
    from models.inference.predict import main

    start = time.perf_counter()
    code = main(
        [
            "--data-dir",
            str(data_dir),
            "--out-dir",
            str(out_dir),
            "--model-dir",
            str(model_dir),
            "--simulations",
            str(simulations),
            "--quiet",
        ]
    )
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"exit": code, "wall": wall, "peak_mib": peak_mib}))


def _tree_peak_mib(child: subprocess.Popen, every: float = 0.2) -> float:
    """Wait for ``child``; the largest RSS summed over it and its descendants seen while it ran (MiB)."""
    import psutil

    root, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            processes = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in processes if p.is_running()))
        except psutil.Error:  # a process ended between listing and reading it
            pass
        time.sleep(every)
    return peak / 2**20


def _run(data_dir: Path, work: Path, simulations: int, label: str) -> dict:
    """One predict run in a child process; its timings and peak memory."""
    out_dir, model_dir = work / "out", work / "models"
    command = [
        sys.executable,
        __file__,
        "--child",
        str(data_dir),
        str(out_dir),
        str(model_dir),
        str(simulations),
    ]
    tracking = {"MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}  # never the user's experiments/
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, env={**os.environ, **tracking})
        tree_peak = _tree_peak_mib(child)
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(command, child.returncode, out.read(), err.read())
    if done.returncode != 0:
        raise SystemExit(f"{label}: predict failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["exit"] != 0:
        raise SystemExit(f"{label}: predict exited {result['exit']}: {done.stderr.strip()[-500:]}")
    metadata = json.loads((out_dir / "predictions_metadata.json").read_text())
    return {
        "label": label,
        "open_deals": metadata["counts"]["open_deals"],
        "tree_peak_mib": tree_peak,
        **result,
        "steps": metadata["timings_seconds"],
    }


def _print(row: dict) -> None:
    """One line per run."""
    steps = "  ".join(f"{name} {row['steps'].get(name, 0.0):7.1f}" for name in STEPS)
    print(
        f"{row['label']:>22}  open {row['open_deals']:>8,}  wall {row['wall']:7.1f} s  "
        f"peak {row['tree_peak_mib'] / 1024:5.2f} GiB all processes ({row['peak_mib'] / 1024:4.2f} main)  | "
        f"{steps}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Benchmark each size (cold: trains; warm: reuses the model) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated deal counts")
    parser.add_argument("--simulations", type=int, default=10_000)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="benchmark this export instead of synthetic"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", action="store_true", help="with the generator's field history")
    args = parser.parse_args(argv)
    from core.data.synthetic import generate_crm
    from models.generate import write_crm

    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
            work = Path(tmp)
            data_dir = args.data_dir
            if data_dir is None:
                data_dir = work / "data"
                start = time.perf_counter()
                crm = generate_crm(n_deals=size, seed=args.seed)
                write_crm(crm, data_dir)
                if args.history:
                    from core.data.synthetic_history import synthetic_history

                    history, pipeline = synthetic_history(crm, args.seed)
                    pipeline.to_csv(data_dir / "sales_pipeline.csv", index=False)
                    history.to_csv(data_dir / "deal_history.csv", index=False)
                    print(f"{len(history):,} history rows", flush=True)
                print(f"{size:,} deals generated in {time.perf_counter() - start:.1f} s", flush=True)
            _print(_run(data_dir, work, args.simulations, f"{size:,} deals cold"))
            _print(_run(data_dir, work, args.simulations, f"{size:,} deals warm"))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
        sys.exit(0)
    sys.exit(main())
