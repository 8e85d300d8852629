"""The in-process half's one background thread: callers queue captured work, this thread does it, in order.

Why: building, conforming, PII-scrubbing and rendering a log record, writing its line and building its OTel
record cost several times what the log call itself costs, and a metric record through the SDK's
aggregation costs as much as a small log call (bench/RESULTS.md, Distro). The calling thread captures only
what must be read at call time (``logs._handler``, ``metrics._catalog``) and queues it here with the
function that finishes the job; one thread runs the jobs first in first out, so lines come out in the
order they were logged.

Guarantees:

* Order: whoever runs a job (this thread, a flushing caller, a caller that found the queue full) takes it
  off the queue and runs it under one lock, so jobs run in queue order.
* Nothing accepted is dropped: with ``MAX_QUEUE`` jobs waiting, the caller drains the queue and runs its
  own job itself -- slower, never lossy -- and ``synchronous`` counts how often that happened.
* ``flush()`` returns once every job queued before it has run. It runs at ``shutdown()``, at interpreter
  exit (``logging.shutdown`` flushes every handler, ``RythmiqHandler.flush`` flushes this) and before
  ``fork``; a forked child starts with an empty queue and a thread of its own on its first job.
* A job submitted while a job runs on the same thread (the PII guard's report, logged while a record is
  scrubbed) runs at once, inline, as it did before this thread existed -- queued, it could wait on the
  very drain that submits it.
* Each job function reports its own errors (``RythmiqHandler.handleError``, a logged exception). Should
  one raise anyway, ``threading.excepthook`` prints it once and the next job starts a new thread: no
  later job is lost.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["BACKGROUND", "MAX_QUEUE", "Background"]

Payload = TypeVar("Payload")
Job = tuple[Callable[[Any], None], Any]

# Jobs waiting before callers run their own: about a second of a very busy service's logging, a few MB of
# captured records at most.
MAX_QUEUE = 8192


class _ThreadState(threading.local):
    """Per thread: whether it is running jobs right now (then a job it submits runs inline)."""

    busy = False


class Background:
    """Runs every submitted ``process(payload)``, in submission order, on a daemon thread started lazily."""

    def __init__(self, *, max_queue: int = MAX_QUEUE) -> None:
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

    def submit(self, process: Callable[[Payload], None], payload: Payload) -> None:
        """Queue ``process(payload)``; run it here when this thread is busy, the queue full, or no thread."""
        queue = self._queue
        if self._state.busy:
            process(payload)
        elif len(queue) < self._max_queue and (self._thread is not None or self._start()):
            queue.append((process, payload))
            if not self._wake.is_set():
                self._wake.set()
        else:
            self._drain_then((process, payload))

    def flush(self) -> None:
        """Run every job queued so far, on the calling thread if the thread has not got to it yet."""
        self._drain_then(None)

    def before_fork(self) -> None:
        """Run every queued job and hold the lock through the fork: the child gets no half-written line."""
        self._lock.acquire()
        self.flush()

    def after_fork_in_parent(self) -> None:
        """Let the thread go on (``before_fork`` held the lock)."""
        self._lock.release()

    def after_fork_in_child(self) -> None:
        """A new queue, lock and thread: the parent's thread does not exist here, and its queue was empty."""
        self._start_fresh()

    def _start(self) -> bool:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="rythmiq-otel-background", daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    # Interpreter shutting down (3.12+ refuses new threads then): run on the caller.
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
                    job[0](job[1])
            finally:
                state.busy = was_busy

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            # One job per lock hold, so a flushing caller never waits behind a long burst.
            with self._lock:
                try:
                    process, payload = queue.popleft()
                except IndexError:
                    return
                process(payload)

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
            # Only a bug in a job function gets here (``threading.excepthook`` prints it once); the next
            # job starts a new thread, and nothing queued is lost meanwhile.
            self._thread = None


BACKGROUND = Background()
# Flushed before ``fork`` and fresh in the child (a thread does not survive fork): registered here, on
# import, because logging works without ``configure()`` (which installs the providers' fork hooks).
os.register_at_fork(
    before=BACKGROUND.before_fork,
    after_in_parent=BACKGROUND.after_fork_in_parent,
    after_in_child=BACKGROUND.after_fork_in_child,
)
