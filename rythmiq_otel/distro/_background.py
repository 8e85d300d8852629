"""The in-process half's one background thread: callers queue captured work, this thread does it, in order.

Why: building, conforming, PII-scrubbing and rendering a log record, writing its line and building its OTel
record cost several times what the log call itself costs, and a metric record through the SDK's
aggregation costs as much as a small log call (bench/RESULTS.md, Distro). The calling thread captures only
what must be read at call time (``logs._handler``, ``metrics._catalog``) and queues it here with the
function that finishes the job; one thread runs the jobs first in first out, so lines come out in the
order they were logged.

Guarantees:

* Order: whoever runs jobs (this thread, a flushing caller, a caller that found the queue full) takes them
  off the queue and runs them under one lock, a batch of at most ``BATCH_JOBS`` per hold (so a flushing
  caller waits at most one batch), so jobs run in queue order.
* Writes are batched: a job hands its output to ``write`` rather than to the stream, and the texts a batch
  wrote go out at its end, in order, one ``write`` and one ``flush`` per stream -- before the lock is
  released, so before ``flush()``, a fork or the thread's next wait. Why: a flush is a system call that
  releases the GIL, and per line that made the calling thread and this one trade the GIL once a record
  (docs/distro.md, "Where the CPU goes"). A text waits at most one batch (``BATCH_JOBS`` jobs or
  ``BATCH_BYTES`` of text); a WARN or ERROR line (``urgent``) goes out at once with those before it, and
  so do the texts before a job that is about to block (``write_pending``).
* Wake-ups: a caller wakes the thread only when it is idle (it looks at the queue after saying so, the
  caller at ``_idle`` after queueing: one of them sees the other), and the woken thread lets jobs gather
  for ``GATHER_S`` first, unless a caller queues an ``urgent`` job (a WARN or ERROR record) or flushes.
  So a job waits at most ``GATHER_S`` plus the jobs ahead of it; ``flush()`` never waits for the window.
* The service's threads come first: after a batch that left jobs queued (more came while it ran), the
  thread sleeps ``YIELD_S`` before the next, which hands the GIL to a thread that waits for it (a batch
  holds it for up to about a millisecond at 32 records, and a write's release rarely hands it over).
  With ``YIELD_BELOW`` jobs waiting it stops sleeping and catches up: a thread that logs without pause
  would otherwise leave it a batch per switch interval (5 ms) and soon run the whole queue itself.
  ``flush()`` runs the queue on the caller and never sleeps.
* Nothing accepted is dropped: with ``MAX_QUEUE`` jobs waiting, the caller drains the queue and runs its
  own job itself -- slower, never lossy -- and ``synchronous`` counts how often that happened.
* ``flush()`` returns once every job queued before it has run and its writes are flushed, and runs no
  job queued after it (a thread that never stops logging cannot keep it running). It runs at
  ``shutdown()``, at interpreter exit (``logging.shutdown`` flushes every handler, ``RythmiqHandler.flush``
  flushes this) and before ``fork``; a forked child starts with an empty queue and a thread of its own on
  its first job.
* A job submitted while a job runs on the same thread (the PII guard's report, logged while a record is
  scrubbed) runs at once, inline, as it did before this thread existed -- queued, it could wait on the
  very drain that submits it.
* Each job function reports its own errors (``RythmiqHandler.handleError``, a logged exception). Should
  one raise anyway, ``threading.excepthook`` prints it once and a new thread runs the jobs still queued:
  no later job is lost.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

__all__ = ["BACKGROUND", "BATCH_BYTES", "BATCH_JOBS", "GATHER_S", "MAX_QUEUE", "YIELD_BELOW", "YIELD_S",
           "Background"]

Payload = TypeVar("Payload")
Job = tuple[Callable[[Any], None], Any]

# Jobs waiting before callers run their own: about a second of a very busy service's logging, a few MB of
# captured records at most.
MAX_QUEUE = 8192
# Jobs per lock hold, and so per batch of writes: about a millisecond of log records on an idle core; the
# write and flush per batch cost below a microsecond a line from 16 up (bench/bench_log_phases.py).
BATCH_JOBS = 32
# Text held for one batch before it is written anyway (a few records with long stack traces).
BATCH_BYTES = 64 * 1024
# How long the woken thread lets jobs gather before it runs them, unless an urgent one (a WARN or ERROR
# line) arrives: each wake-up of an idle thread costs tens of µs of CPU on its own (scheduler, cold caches;
# docs/distro.md, "Where the CPU goes"), so a service logging every few hundred µs pays it once for several
# records rather than once a record. It is also how late an INFO line can be, at most, on an idle machine.
GATHER_S = 0.002
# How long the thread sleeps after a batch that left jobs queued, so that a thread that logs gets the
# GIL (the service's own work comes first). Releasing the GIL for the batch's write does not hand it
# over: the waiting thread wakes more slowly than the write returns, this thread takes the GIL back, and
# CPython forces a switch only after its switch interval (5 ms). Any sleep outlasts that wake-up (the
# kernel's timer slack makes this one 50-70 µs on Linux); the least is asked for. A flushing caller
# never waits for it. Measured in docs/distro.md, "Where the CPU goes".
YIELD_S = 1e-6
# ...but only while fewer jobs than this wait: a backlog this deep (about 25 ms of log records) means the
# thread is falling behind a thread that logs without pause, and it catches up, GIL and all, rather than
# let the queue reach ``MAX_QUEUE`` (where the caller runs the whole queue itself, one call taking about
# 0.2 s). A job loop in bench/bench_distro.py never queues more than about 500.
YIELD_BELOW = 1024


class _ThreadState(threading.local):
    """Per thread: whether it is running jobs right now (then a job it submits runs inline), and the
    writes of the batch it is running: ``(stream, text, on_error, about)``, ``None`` outside a batch."""

    busy = False
    pending: list[tuple[TextIO, str, Callable[[Any], object], Any]] | None = None
    pending_size = 0


class Background:
    """Runs every submitted ``process(payload)``, in submission order, on a daemon thread started lazily."""

    def __init__(self, *, max_queue: int = MAX_QUEUE, gather_s: float = GATHER_S) -> None:
        self._max_queue = max_queue
        self._gather_s = gather_s
        self.synchronous = 0
        self._start_fresh()

    def _start_fresh(self) -> None:
        """Empty queue, new locks, no thread: at construction and in a forked child."""
        self._queue: deque[Job] = deque()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        # Set by the thread just before it looks at the queue a last time and waits: a caller that queues
        # a job wakes it only then, not once a record (it checks after appending, so no wake-up is lost).
        self._idle = False
        # Set by a caller that queued an urgent job: the thread runs the queue without gathering first.
        self._urgent = False
        self._state = _ThreadState()
        self._thread: threading.Thread | None = None

    def submit(self, process: Callable[[Payload], None], payload: Payload, *, urgent: bool = False) -> None:
        """Queue ``process(payload)``; run it here when this thread is busy, the queue full, or no thread.

        ``urgent``: run it without waiting for the gathering window (``GATHER_S``).
        """
        queue = self._queue
        if self._state.busy:
            process(payload)
        elif len(queue) < self._max_queue and (self._thread is not None or self._start()):
            queue.append((process, payload))
            if urgent:
                self._urgent = True
                self._wake.set()
            elif self._idle:
                self._wake.set()
        else:
            self._drain_then((process, payload))

    def write(
        self, stream: TextIO, text: str, on_error: Callable[[Payload], object], about: Payload, *,
        urgent: bool = False,
    ) -> None:
        """Write ``text`` to ``stream`` and flush it, at the end of the running batch (at once outside one).

        ``on_error(about)`` runs, inside the ``except``, should writing or flushing raise; ``urgent`` writes
        it now, with every text of the batch before it.
        """
        state = self._state
        pending = state.pending
        if pending is None:
            _write_out([(stream, text, on_error, about)])
            return
        pending.append((stream, text, on_error, about))
        state.pending_size += len(text)
        if urgent or state.pending_size >= BATCH_BYTES:
            _write_pending(state)

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

    def write_pending(self) -> None:
        """Write the running batch's texts now: for a job about to block (``_backpressure`` waiting for
        room in an export queue), so the lines before it do not wait with it."""
        _write_pending(self._state)

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
                    # Over the bound by one while the lock is held: runs in queue order, counted.
                    self.synchronous += 1
                    self._queue.append(job)
                # Only the jobs queued so far (they are the first ones: only a lock holder takes any), so a
                # thread that never stops logging cannot keep a flush -- at exit, before fork -- running.
                self._drain(yielding=False, limit=len(self._queue))
                # Called from inside a job (a flush or a fork there): its batch's texts so far, even when
                # no job was left to run (a no-op outside a batch).
                _write_pending(state)
            finally:
                state.busy = was_busy

    def _drain(self, *, yielding: bool, limit: int | None = None) -> None:
        """Run the queue (at most ``limit`` jobs), a batch per lock hold; ``yielding`` (the thread's own
        drain): sleep ``YIELD_S`` after a batch that left jobs queued (more came while it ran, or it was
        full), fewer than ``YIELD_BELOW``."""
        queue = self._queue
        state = self._state
        left = sys.maxsize if limit is None else limit
        while queue and left > 0:
            # A batch per lock hold, so a flushing caller never waits behind a long burst.
            with self._lock:
                outer = state.pending
                if outer is None:
                    state.pending = []
                try:
                    for _ in range(min(BATCH_JOBS, left)):
                        try:
                            process, payload = queue.popleft()
                        except IndexError:
                            break
                        left -= 1
                        process(payload)
                finally:
                    # Written whole, even by a batch inside a batch (a job that flushed): all came before.
                    _write_pending(state)
                    if outer is None:
                        state.pending = None
            if yielding and 0 < len(queue) < YIELD_BELOW:  # more came: the service's threads go first
                time.sleep(YIELD_S)

    def _run(self) -> None:
        self._state.busy = True
        wake, queue = self._wake, self._queue
        try:
            while True:
                self._drain(yielding=True)
                self._idle = True
                if not queue:  # the last look, after ``_idle``: a job queued since then wakes the thread
                    wake.wait()
                    self._idle = False  # from here on callers queue without waking it...
                    wake.clear()
                    if self._gather_s and not self._urgent:
                        wake.wait(self._gather_s)  # ...and an urgent job ends the gathering at once
                        wake.clear()
                self._idle = self._urgent = False
        finally:
            # Only a bug in a job function gets here (``threading.excepthook`` prints it once): a new
            # thread runs what is still queued (a caller may have queued it without waking this one).
            self._thread = None
            if queue:
                self._start()


def _write_pending(state: _ThreadState) -> None:
    """Write the batch's texts so far (``state.pending`` emptied, kept open)."""
    pending = state.pending
    if pending:
        state.pending, state.pending_size = [], 0
        _write_out(pending)


def _write_out(texts: list[tuple[TextIO, str, Callable[[Any], object], Any]]) -> None:
    """One ``write`` and one ``flush`` per run of texts bound for the same stream, in order.

    A failing stream is reported once per run, by the ``on_error`` of its first text (the stdlib
    handler prints one traceback per failure; a closed stdout fails every line alike).
    """
    for _, group in itertools.groupby(texts, key=lambda text: id(text[0])):  # streams by identity
        run = list(group)
        stream, first, on_error, about = run[0]
        try:
            stream.write(first if len(run) == 1 else "".join(text for _, text, _, _ in run))
            stream.flush()
        except Exception:
            on_error(about)


BACKGROUND = Background()
# Flushed before ``fork`` and fresh in the child (a thread does not survive fork): registered here, on
# import, because logging works without ``configure()`` (which installs the providers' fork hooks).
os.register_at_fork(
    before=BACKGROUND.before_fork,
    after_in_parent=BACKGROUND.after_fork_in_parent,
    after_in_child=BACKGROUND.after_fork_in_child,
)
