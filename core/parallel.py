"""The one helper for work that truly pays to spread over the cores: independent, seeded tasks.

Backtest dates (a model fit each) run in worker processes; simulation chunks at 100k+ deals in threads (numpy
releases the GIL, and threads share the deals' arrays instead of copying them). Every task is seeded, so
where it runs never changes a number, only the wall time. With one core or one task, nothing is started.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any


class InProcess(Executor):
    """An executor that runs each task when it is submitted (one core, or one task)."""

    def submit(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args, **kwargs))
        except Exception as error:  # raised by future.result(), as a pool would
            future.set_exception(error)
        return future


@contextmanager
def worker_pool(tasks: int, threads: bool = False) -> Iterator[Executor]:
    """A pool of up to one worker per core for ``tasks`` tasks: spawned processes (no state is inherited),
    or with ``threads`` threads of this process."""
    workers = min(tasks, os.cpu_count() or 1)
    if workers <= 1:
        yield InProcess()
        return
    if threads:
        with ThreadPoolExecutor(workers) as pool:
            yield pool
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool
