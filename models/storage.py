"""The one atomic writer every stage uses: each file goes to a temp name in its folder first, then all are
renamed into place.

If anything fails before the renames (bad data, bad model, a crash while serialising), the previous files
stay byte-for-byte as they were. Renames are atomic per file on POSIX (same directory). Predictions, the
forecast backtest cache, model versions, backtest reports and generated exports all go through it.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out_dir``: all temp files first, then rename each into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    temp: Path | None = None
    try:
        for name, payload in files.items():
            target = out_dir / name
            temp = out_dir / f".{name}.tmp-{os.getpid()}"
            with open(temp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            staged.append((temp, target))
    except BaseException:
        for done, _ in staged:
            done.unlink(missing_ok=True)
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise
    for temp, target in staged:
        os.replace(temp, target)
    return [target for _, target in staged]
