"""Tasks shared between this process and a spawned worker: each runs once, results keep task order."""

from __future__ import annotations

import math
import operator
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.shared_tasks import SharedTasks, deferred

ROOT = Path(__file__).resolve().parents[2]


def test_results_come_back_in_task_order_whoever_ran_them() -> None:
    tasks = [(operator.mul, (i, i + 1)) for i in range(8)]
    with SharedTasks(tasks) as shared:
        assert shared.results([5, 0]) == [30, 0]
        assert shared.results() == [i * (i + 1) for i in range(8)]


def test_every_task_runs_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    tasks = [(os.system, (f"echo {i} >> {log}",)) for i in range(10)]
    shared = SharedTasks(tasks)
    assert shared.results() == [0] * 10
    shared.close(wait=True)  # the worker has gone through its whole queue, skipping what ran here
    assert sorted(int(line) for line in log.read_text().split()) == list(range(10))


def test_a_failing_task_raises_its_error_here() -> None:
    with SharedTasks([(operator.add, (1, 2)), (math.sqrt, (-1.0,))]) as shared:
        assert shared.results([0]) == [3]
        with pytest.raises(ValueError, match="math domain error"):
            shared.results([1])


def _wait_for_lines(log: Path, count: int, timeout: float = 120.0) -> None:
    """Block until the worker has written ``count`` lines to ``log``."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and len(log.read_text().split()) >= count):
        assert time.monotonic() < deadline, f"the worker wrote {log} too slowly"
        time.sleep(0.05)


def test_tasks_the_worker_ran_give_their_results_and_errors_here(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    tasks = [(math.sqrt, (-1.0,)), (operator.mul, (6, 7)), (os.system, (f"echo worker >> {log}",))]
    with SharedTasks(tasks) as shared:
        _wait_for_lines(log, 1)  # the worker ran all three, in order
        assert shared.results([1, 2]) == [42, 0]
        with pytest.raises(ValueError, match="math domain error"):
            shared.results([0])


def test_no_tasks_starts_no_worker() -> None:
    with SharedTasks([]) as shared:
        assert shared.results() == []
        assert shared._process is None


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with SharedTasks([(time.sleep, (60,)), (operator.add, (1, 1))]) as shared:
        deadline = time.monotonic() + 60
        while not shared._flags[0]:  # wait until the worker has taken the first task
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        os.kill(shared._process.pid, 9)
        assert shared.results([1]) == [2]  # not started by the worker: this process runs it
        with pytest.raises(RuntimeError, match="second process stopped unexpectedly"):
            shared.results([0])


def test_an_error_that_cannot_be_pickled_arrives_with_its_message(tmp_path: Path) -> None:
    from core.data import read_crm
    from core.errors import RevIntelError

    log = tmp_path / "ran.log"
    missing = tmp_path / "no_export_here"
    with SharedTasks([(read_crm, (missing,)), (os.system, (f"echo done >> {log}",))]) as shared:
        _wait_for_lines(log, 1)  # the worker ran both
        with pytest.raises(RevIntelError, match="no_export_here"):
            shared.results([0])


CLEAN_UP_THREADS = """
import atexit, sys, threading, time
threads = []
atexit.register(lambda: print(sorted(set(threads))))  # registered first, so it runs after multiprocessing's
from multiprocessing import synchronize
cleanup = synchronize.SemLock._cleanup
def recording(name):
    threads.append(threading.current_thread().name)
    cleanup(name)
synchronize.SemLock._cleanup = staticmethod(recording)
from models.shared_tasks import SharedTasks, deferred

def run():
    with SharedTasks() as worker:
        assert worker.results(worker.submit([(len, (b"x" * 1000,)) for _ in range(4)])) == [1000] * 4

run()
import gc
gc.collect()  # what a long run's allocations do sooner or later: the closed worker's queues are collected
time.sleep(0.5)  # and the inbox's feeder thread has long seen its sentinel
"""


def test_queue_semaphores_are_cleaned_up_in_the_main_thread() -> None:
    """Cleaned up in the feeder thread, a semaphore's clean-up could be cut off by the interpreter's exit,
    and the resource tracker then warned of a leaked semaphore after a successful run."""
    done = subprocess.run([sys.executable, "-c", CLEAN_UP_THREADS], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['MainThread']"
    assert "leaked" not in done.stderr


def test_deferred_tasks_go_to_the_worker_at_once_or_run_here_when_asked() -> None:
    calls: list[int] = []
    here = deferred(None, [(calls.append, (1,)), (pow, (2, 3))])
    assert calls == []  # without a worker nothing runs until the results are asked for
    assert here() == [None, 8] and calls == [1]
    with SharedTasks() as worker:
        there = deferred(worker, [(pow, (2, 3)), (pow, (3, 2))])
        assert worker.results() == [8, 9]  # submitted at once: the worker already holds them
        assert there() == [8, 9]


def test_without_take_over_this_process_waits_for_the_worker() -> None:
    with SharedTasks([(time.sleep, (0.5,)), (os.getpid, ()), (os.getpid, ())]) as shared:
        assert shared.results([2]) == [os.getpid()]  # taken over here: the worker is still asleep
        (pid,) = shared.results([1], take_over=False)
        assert pid != os.getpid()  # left to the worker, once it woke up
