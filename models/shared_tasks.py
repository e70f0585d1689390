"""Independent tasks shared between this process and one spawned worker process.

The worker runs the tasks in the order they were submitted. This process, whenever it asks for results,
first runs itself every requested task the worker has not started yet (from the last one backwards), then
waits for the rest (or only waits, when asked to leave a task to the worker). So neither process idles
while the other still has work queued, and each task runs exactly once. Submit the longest tasks first:
the worker starts on them while this process does its own work. A worker can be started before its tasks
are known, importing ``preload`` modules meanwhile (a spawned process imports everything afresh, which
takes seconds with LightGBM and pandas).

Tasks must be picklable (top-level functions, picklable arguments) and give the same result in either
process (seeded and single-threaded): who ran a task never changes a number. A task that fails raises its
error in this process when its result is asked for; a worker that dies (killed, out of memory) is an
error too, never a hang. Leaving the ``with`` block stops the worker.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pickle
import queue
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from core.errors import RevIntelError

Task = tuple[Callable[..., Any], tuple]

MAX_TASKS = 256
POLL_SECONDS = 0.5
# Queues of stopped workers, kept until this process exits. A queue's feeder thread can hold the last
# references to the queue's semaphores; dropped there while the interpreter shuts down, their clean-up
# (unlink, then tell multiprocessing's resource tracker) was cut in half about once in ten predict.py runs,
# and the tracker then warned of a "leaked semaphore" after a successful run. Kept here, they are cleaned up
# by multiprocessing's own exit handler, in the main thread.
_RETIRED: list[Any] = []


def _claim(lock: Any, flags: Any, index: int) -> bool:
    """Mark task ``index`` as taken; False when the other process already took it."""
    with lock:
        if flags[index]:
            return False
        flags[index] = 1
        return True


def _sendable(error: BaseException) -> BaseException:
    """The error itself if it survives pickling, else one of the same kind carrying its message."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        kind = RevIntelError if isinstance(error, RevIntelError) else RuntimeError
        return kind(str(error) if kind is RevIntelError else f"{type(error).__name__}: {error}")


def _worker(inbox: Any, outbox: Any, lock: Any, flags: Any, preload: Sequence[str]) -> None:
    """The worker's loop: import ``preload``, then run each unclaimed task and send back its outcome."""
    for module in preload:
        importlib.import_module(module)
    while (item := inbox.get()) is not None:
        index, (function, args) = item
        if not _claim(lock, flags, index):
            continue  # the parent ran it
        try:
            outbox.put((index, True, function(*args)))
        except Exception as error:
            outbox.put((index, False, _sendable(error)))


def deferred(worker: SharedTasks | None, tasks: Sequence[Task]) -> Callable[[], list[Any]]:
    """Hand ``tasks`` to ``worker`` now; the call returned gives their results, in order. Without a worker
    the tasks run in this process, when that call is made."""
    if worker is None:
        return lambda: [function(*args) for function, args in tasks]
    submitted = worker.submit(tasks)
    return lambda: worker.results(submitted)


class SharedTasks:
    """A spawned worker running submitted tasks, with this process taking over what is still queued."""

    def __init__(self, tasks: Iterable[Task] = (), preload: Sequence[str] = ()) -> None:
        self._tasks: list[Task] = []
        self._done: dict[int, tuple[bool, Any]] = {}
        self._process: Any = None
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
        self._inbox = context.Queue()
        self._outbox = context.Queue()
        self._process = context.Process(
            target=_worker,
            args=(self._inbox, self._outbox, self._lock, self._flags, self._preload),
            daemon=True,
        )
        self._process.start()

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
        if self._process is None:
            self._start()
        for offset, task in enumerate(new):
            self._tasks.append(task)
            self._inbox.put((start + offset, task))
        return range(start, len(self._tasks))

    def results(self, indices: Iterable[int] | None = None, take_over: bool = True) -> list[Any]:
        """Results of the tasks at ``indices`` (default all), in that order. With ``take_over=False`` this
        process only waits: for tasks cheaper in the worker, which has already imported what they need."""
        wanted = list(range(len(self._tasks)) if indices is None else indices)
        for index in sorted(wanted, reverse=True):
            if take_over and index not in self._done and _claim(self._lock, self._flags, index):
                function, args = self._tasks[index]
                self._done[index] = (True, function(*args))  # its error, if any, is raised right here
        while any(index not in self._done for index in wanted):
            self._receive()
        outcomes = [self._done[index] for index in wanted]
        for ok, value in outcomes:
            if not ok:
                raise value
        return [value for _, value in outcomes]

    def _receive(self) -> None:
        """Take one outcome from the worker; a worker that stopped is an error."""
        try:
            index, ok, value = self._outbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not self._process.is_alive():
                raise RuntimeError(
                    f"the second process stopped unexpectedly (exit code {self._process.exitcode}; "
                    "out of memory?) before finishing its tasks"
                ) from None
            return
        self._done[index] = (ok, value)

    def close(self, wait: bool = False) -> None:
        """Stop the worker: at once (a task still running is abandoned), or with ``wait`` once it has gone
        through its queue (tasks taken over here are skipped there)."""
        self._closed = True
        if self._process is None:
            return
        if wait:
            self._inbox.put(None)
            while self._process.is_alive():  # keep reading, so a worker sending results can finish
                try:
                    index, ok, value = self._outbox.get(timeout=POLL_SECONDS)
                    self._done.setdefault(index, (ok, value))
                except queue.Empty:
                    pass
            self._process.join()
        else:
            self._process.terminate()
            self._process.join()
            self._inbox.cancel_join_thread()  # a task still being sent must not block this process's exit
        _RETIRED.append(self._inbox)
        self._process = None

    def __enter__(self) -> SharedTasks:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
