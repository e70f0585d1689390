"""Independent tasks shared between this process and one spawned worker process.

The worker runs the tasks in the order they were submitted. This process, whenever it asks for results,
first runs itself every requested task the worker has not started yet (from the last one backwards), then
waits for the rest. So neither process idles while the other still has work queued, and each task runs
exactly once. Submit the longest tasks first: the worker starts on them while this process does its own
work. A worker can be started before its tasks are known, importing ``preload`` modules meanwhile (a
spawned process imports everything afresh, which takes seconds with LightGBM and pandas).

Tasks must be picklable (top-level functions, picklable arguments) and give the same result in either
process (seeded and single-threaded): who ran a task never changes a number. A task that fails raises its
error in this process when its result is asked for. Leaving the ``with`` block stops the worker.
"""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

Task = tuple[Callable[..., Any], tuple]

MAX_TASKS = 256
_SKIPPED = "__ran_in_the_parent__"
_claims: Any = None  # (lock, flags) inside the worker, set by the pool initializer


def _init_worker(lock: Any, flags: Any, preload: Sequence[str]) -> None:
    """Pool initializer: keep the shared claim flags and import what the tasks will need."""
    global _claims
    _claims = (lock, flags)
    for module in preload:
        importlib.import_module(module)


def _claim(lock: Any, flags: Any, index: int) -> bool:
    """Mark task ``index`` as taken; False when the other process already took it."""
    with lock:
        if flags[index]:
            return False
        flags[index] = 1
        return True


def _run_if_unclaimed(index: int, task: Task) -> Any:
    """The worker's side: run the task unless this process's parent already ran it."""
    if not _claim(*_claims, index):
        return _SKIPPED
    function, args = task
    return function(*args)


class SharedTasks:
    """A spawned worker running submitted tasks, with this process taking over what is still queued."""

    def __init__(self, tasks: Iterable[Task] = (), preload: Sequence[str] = ()) -> None:
        self._tasks: list[Task] = []
        self._done: dict[int, Any] = {}
        self._pending: list[Any] = []
        self._pool: Any = None
        self._closed = False
        self._preload = tuple(preload)
        if self._preload:
            self._start()
        self.submit(tasks)

    def _start(self) -> None:
        """Spawn the worker (it imports ``preload`` before taking tasks)."""
        context = multiprocessing.get_context("spawn")
        self._lock = context.Lock()
        self._flags = context.RawArray("b", MAX_TASKS)
        self._pool = context.Pool(
            1, initializer=_init_worker, initargs=(self._lock, self._flags, self._preload)
        )

    def submit(self, tasks: Iterable[Task]) -> range:
        """Queue more tasks for the worker (started now if need be); returns their indices."""
        new = list(tasks)
        start = len(self._tasks)
        if not new:
            return range(start, start)
        if self._closed:
            raise RuntimeError("tasks submitted to a closed SharedTasks")
        if start + len(new) > MAX_TASKS:
            raise ValueError(f"at most {MAX_TASKS} tasks can be shared")
        if self._pool is None:
            self._start()
        for offset, task in enumerate(new):
            self._tasks.append(task)
            self._pending.append(self._pool.apply_async(_run_if_unclaimed, (start + offset, task)))
        return range(start, len(self._tasks))

    def results(self, indices: Iterable[int] | None = None) -> list[Any]:
        """Results of the tasks at ``indices`` (default all), in that order."""
        wanted = list(range(len(self._tasks)) if indices is None else indices)
        for index in sorted(wanted, reverse=True):
            if index not in self._done and _claim(self._lock, self._flags, index):
                function, args = self._tasks[index]
                self._done[index] = function(*args)
        for index in wanted:
            if index not in self._done:
                self._done[index] = self._pending[index].get()
        return [self._done[index] for index in wanted]

    def close(self, wait: bool = False) -> None:
        """Stop the worker: at once (a task still running is abandoned), or with ``wait`` once it has gone
        through its queue (tasks taken over here are skipped there)."""
        self._closed = True
        if self._pool is not None:
            if wait:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> SharedTasks:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
