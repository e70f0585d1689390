"""The model's numbers do not depend on which BLAS kernel the CPU gets.

OpenBLAS picks its kernels by CPU, and they differ in the last bits; the joint track record (Cholesky steps)
and the sigmoid calibrator used to inherit that, so the same data and seed gave a different model version on
another machine. Each probe runs in its own process with ``OPENBLAS_CORETYPE`` forcing one kernel family.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import hashlib
import numpy as np, pandas as pd
from core.features.history import joint_win_rates_before
from core.model.calibration import fit_sigmoid
rng = np.random.default_rng(5)
n = 6000
closed = pd.DataFrame({
    "agent": rng.integers(0, 30, n), "series": rng.integers(0, 3, n), "account": rng.integers(-1, 80, n),
    "close_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
})
closed["is_won"] = (rng.random(n) < 1 / (1 + np.exp(-(closed["agent"] % 5 - 2) * 0.3))).astype(int)
queries = closed[["agent", "series", "account"]].assign(snapshot_date=pd.Timestamp("2025-12-01"))
rates = joint_win_rates_before(closed, queries, [["agent"], ["agent", "series"], ["account"]])
z = np.log(rates / (1 - rates)) + rng.normal(0, 1, n)
c = fit_sigmoid(z, closed["is_won"].to_numpy(float))
print(hashlib.sha256(rates.tobytes()).hexdigest(), repr(c.slope), repr(c.intercept))
"""


def _uses_openblas_on_avx2() -> bool:
    """Both probe kernels (Nehalem: SSE4, Haswell: AVX2) run here only on an x86-64 CPU with AVX2."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx2" in flags and any(info.get("internal_api") == "openblas" for info in threadpool_info())


@pytest.mark.skipif(not _uses_openblas_on_avx2(), reason="needs numpy on OpenBLAS, x86-64 CPU with AVX2")
def test_track_record_and_calibrator_are_identical_under_two_blas_kernels() -> None:
    outputs = []
    for kernel in ("Nehalem", "Haswell"):
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
        done = subprocess.run(
            [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout.strip())
    assert len(outputs[0].split()) == 3
    assert outputs[0] == outputs[1]
