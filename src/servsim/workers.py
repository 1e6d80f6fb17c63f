"""Local process pools that survive a dead worker.

A worker process can die under a task — the out-of-memory killer, SIGKILL, a crash in native code —
and a plain ``ProcessPoolExecutor`` then fails every task in flight with ``BrokenProcessPool``. Here
at most one task per worker is in flight, so the tasks lost with a broken pool are the ones that were
running. The pool is rebuilt, and lost tasks are run again one at a time in a one-worker pool before
the rest: an innocent one then finishes, and one that kills its worker alone is known to be the cause.
It goes to the back of that queue, and after ``WORKER_RETRIES`` retries :class:`WorkerDied` names it.
Tasks must be pure functions of their arguments, so a task run again gives the same result.

Workers die with their driver, however it dies (SIGKILL included): on Linux each worker asks the
kernel for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and everywhere a daemon
thread in each worker ends it within :data:`ORPHAN_POLL_S` seconds once its parent has gone (its
parent pid changes). ``PR_SET_PDEATHSIG`` fires when the parent *thread* that started the worker
ends; a pool starts its workers from the thread that submits tasks, so it is used only when that
is the main thread, whose end is the driver's end.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")

#: More attempts a task gets after it alone was running in a local worker process that died.
WORKER_RETRIES = 2
#: Seconds between a worker's checks that its parent is still alive (where PDEATHSIG is missing).
ORPHAN_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """Task ``index`` killed the worker process running it ``attempts`` times (``cause``: how the
    process ended, e.g. `` (killed by SIGKILL ...)``)."""

    def __init__(self, index: int, attempts: int, cause: str) -> None:
        super().__init__(index, attempts, cause)
        self.index, self.attempts, self.cause = index, attempts, cause


def resilient_map(fn: Callable[[A], R], args: Sequence[A], workers: int,
                  describe: Callable[[int], str] = str) -> Iterator[tuple[int, R]]:
    """``(i, fn(args[i]))`` for every i, in the order they finish, on a pool of ``workers`` processes
    (see the module docstring). ``describe(i)`` names task i in the warning logged when a worker dies.

    Interrupted (Ctrl-C, SIGTERM, an exception in the caller), it stops the workers at once: results
    yielded so far are the caller's to keep.
    """
    waiting = deque(range(len(args)))   # not yet run, in order
    suspects: deque[int] = deque()      # lost with a broken pool: run again one at a time
    deaths: Counter[int] = Counter()    # attempts lost with a dead worker, per task
    while waiting or suspects:
        source = suspects or waiting
        size = 1 if suspects else min(workers, len(waiting))
        pool = ProcessPoolExecutor(max_workers=size, initializer=_start_worker, initargs=_worker_args())
        in_flight: dict[Future[R], int] = {}
        lost: list[int] = []
        processes: list[object] = []
        try:
            broken = False
            while not broken and (source or in_flight):
                broken = not _submit(pool, fn, args, source, in_flight, size)
                processes = list((getattr(pool, "_processes", None) or {}).values())
                finished = set() if broken else wait(in_flight, return_when=FIRST_COMPLETED).done
                results = []
                for fut in finished:
                    i = in_flight.pop(fut)
                    if isinstance(fut.exception(), BrokenProcessPool):
                        lost.append(i)
                        broken = True
                    else:
                        results.append((i, fut))
                if not broken:  # refill first, so the workers keep busy while the caller uses results
                    broken = not _submit(pool, fn, args, source, in_flight, size)
                for i, fut in results:
                    yield i, fut.result()
            # the pool broke: each task still in flight ends now, finished or lost with it
            for fut in wait(in_flight).done:
                i = in_flight.pop(fut)
                if isinstance(fut.exception(), BrokenProcessPool):
                    lost.append(i)
                else:
                    yield i, fut.result()
        except BaseException:
            # interrupted or failed: drop queued tasks and stop the workers now (shutdown forgets the
            # pool's processes, so take them first)
            running = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in running:
                proc.terminate()
            raise
        pool.shutdown(wait=True)
        if not lost:
            continue  # done, or a worker died between tasks: rebuild the pool for the rest
        lost.sort()
        for i in lost:
            deaths[i] += 1
        cause = _exit_cause(processes)
        if len(lost) == 1 and deaths[lost[0]] > WORKER_RETRIES:
            raise WorkerDied(lost[0], deaths[lost[0]], cause)
        log.warning("a worker process died%s; running again: %s", cause, "; ".join(describe(i) for i in lost))
        if len(lost) == 1:
            suspects.append(lost[0])  # it was alone in its worker: the other suspects go first
        else:
            suspects.extendleft(reversed(lost))


def _submit(pool: ProcessPoolExecutor, fn: Callable[[A], R], args: Sequence[A], source: deque[int],
            in_flight: dict[Future[R], int], size: int) -> bool:
    """Submit tasks from ``source`` until ``size`` are in flight; False if the pool is broken."""
    while source and len(in_flight) < size:
        i = source.popleft()
        try:
            in_flight[pool.submit(fn, args[i])] = i
        except BrokenProcessPool:
            source.appendleft(i)
            return False
    return True


def _exit_cause(processes: list[object]) -> str:
    """`` (killed by SIGKILL ...)``: how a dead worker ended, as far as the pool's processes tell.

    The other workers of a broken pool end too — stopped by the pool (SIGTERM) or exiting cleanly
    (status 0) — so those codes say nothing about the death; a signal is preferred over a status."""
    codes = [code for proc in processes
             if (code := getattr(proc, "exitcode", None)) is not None and code not in (0, -signal.SIGTERM)]
    for code in sorted(codes):  # signals (negative) first
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = ", as the out-of-memory killer does" if -code == signal.SIGKILL else ""
            return f" (killed by {name}{hint})"
        return f" (exit status {code})"
    return ""


def _worker_args() -> tuple[int | None, bool]:
    """What a new worker needs to die with this process: the pid its parent must have (when this
    process starts the workers itself) and whether PDEATHSIG is safe (module docstring)."""
    direct = multiprocessing.get_start_method(allow_none=False) in ("fork", "spawn")
    return (os.getpid() if direct else None), threading.current_thread() is threading.main_thread()


def _start_worker(driver: int | None, pdeathsig: bool) -> None:
    """Initializer of every worker: leave Ctrl-C to the driver, which stops the workers (they would
    otherwise fail their task); end quietly on SIGTERM (a forked worker inherits the driver's
    handler, which would print a traceback); die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if pdeathsig and sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watch thread alone
            pass
    parent = os.getppid()
    if driver is not None and parent != driver:
        os._exit(1)  # the driver died before the request above took effect
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="servsim-orphan-watch",
                     daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_S)
    os._exit(1)
