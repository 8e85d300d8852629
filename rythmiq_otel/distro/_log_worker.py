"""The log pipeline's one background thread: callers queue a captured record, this thread does the rest.

Why: building, conforming, PII-scrubbing and rendering the spec record, writing the line and building the
OTel record cost several times what the log call itself costs (bench/RESULTS.md, Distro). The calling
thread captures only what must be read at call time (``_log_handler``) and queues it here; the work runs
on one thread, first in first out, so lines come out in the order they were logged.

Guarantees:

* Order: whoever processes a job (this thread, a flushing caller, a caller that found the queue full)
  takes it off the queue and processes it under one lock, so jobs are processed in queue order.
* Nothing accepted is dropped: with ``MAX_QUEUE`` jobs waiting, the caller drains the queue and processes
  its own job itself -- slower, never lossy -- and ``synchronous`` counts how often that happened.
* ``flush()`` returns once everything queued before it has been processed. It runs at ``shutdown()``, at
  interpreter exit (``logging.shutdown`` flushes every handler) and before ``fork``; a forked child starts
  with an empty queue and a thread of its own on its first record.
* A record logged while a job is being processed on the same thread (the PII guard's report) is processed
  at once, inline, as it was before this thread existed -- queued, it could wait on the very drain that
  logs it.
* The job callable reports its own errors (``RythmiqHandler.handleError``); one job failing never stops
  the thread.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MAX_QUEUE", "LogWorker"]

Job = TypeVar("Job")

# Jobs waiting before callers process their own records: about a second of a very busy service's logging,
# a few MB of captured records at most.
MAX_QUEUE = 8192


class _ThreadState(threading.local):
    """Per thread: whether it is processing jobs right now (then a new record is processed inline)."""

    busy = False


class LogWorker(Generic[Job]):
    """Runs ``process`` on every submitted job, in submission order, on a daemon thread started lazily."""

    def __init__(self, process: Callable[[Job], None], *, max_queue: int = MAX_QUEUE) -> None:
        self._process = process
        self._max_queue = max_queue
        self.synchronous = 0
        self._start_fresh()

    def _start_fresh(self) -> None:
        """Empty queue, new locks, no thread: at construction and in a forked child."""
        self._queue: deque[Job] = deque()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._state = _ThreadState()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        """Queue ``job``; process it right here when this thread is busy, the queue full, or no thread."""
        queue = self._queue
        if self._state.busy:
            self._process(job)
        elif len(queue) < self._max_queue and (self._thread is not None or self._start()):
            queue.append(job)
            if not self._wake.is_set():
                self._wake.set()
        else:
            self._drain_then(job)

    def flush(self) -> None:
        """Process every job queued so far, on the calling thread if the worker has not got to it yet."""
        self._drain_then(None)

    def after_fork_in_child(self) -> None:
        """Forget the parent's thread and queue (flushed before the fork; the parent writes anything left)."""
        self._start_fresh()

    def _start(self) -> bool:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="rythmiq-otel-log", daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    # Interpreter shutting down (3.12+ refuses new threads then): process on the caller.
                    return False
                self._thread = thread
        return True

    def _drain_then(self, job: Job | None) -> None:
        with self._lock:
            state = self._state
            was_busy, state.busy = state.busy, True
            try:
                if job is not None:
                    self.synchronous += 1
                self._drain()
                if job is not None:
                    self._process(job)
            finally:
                state.busy = was_busy

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            # One job per lock hold, so a flushing caller never waits behind a long burst.
            with self._lock:
                try:
                    job = queue.popleft()
                except IndexError:
                    return
                self._process(job)

    def _run(self) -> None:
        self._state.busy = True
        wake = self._wake
        try:
            while True:
                wake.wait()
                # Cleared before draining: a job queued after the drain's last look sets it again.
                wake.clear()
                self._drain()
        finally:
            # Only a bug in ``process`` gets here (``threading.excepthook`` prints it once); the next record
            # starts a new thread, and nothing queued is lost meanwhile.
            self._thread = None


def register_fork_hooks(worker: LogWorker[Job]) -> None:
    """Flush ``worker`` before ``fork`` and give the child a fresh one (a thread does not survive fork)."""
    os.register_at_fork(before=worker.flush, after_in_child=worker.after_fork_in_child)
