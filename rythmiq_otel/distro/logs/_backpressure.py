"""Backpressure before the SDK's log batch queue: wait for room instead of dropping, count what is dropped.

The SDK's batch processor drops a record when its queue is full and says so in one plain-text line ("Queue
full, dropping Log."). A burst (50 threads logging at once) fills a 2048-record queue faster than one
exporter drains it, so records were lost at the default settings. Records reach the queue from the distro's
one background thread (``_background``), so waiting there is safe: the background queue fills meanwhile,
and callers that find it full run their own record -- the pressure reaches the threads that log, and
nothing is lost.

Waiting is bounded: when the queue stays full for ``MAX_WAIT_S`` (an exporter stuck on an endpoint that is
down), the gate stops waiting and drops records at once until the queue has room again -- a stalled export
path must never stall the service. Every dropped record is counted in ``rythmiq_log_records_dropped_total``
and reported in one WARN JSON line with the count when the queue has room again (and at most once a
minute while it stays full, and at shutdown).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from opentelemetry import metrics

from rythmiq_otel.distro._background import BACKGROUND

__all__ = ["DROPPED_METRIC", "GATE", "MAX_WAIT_S", "QueueGate"]

DROPPED_METRIC = "rythmiq_log_records_dropped_total"
# How long one record may wait for room: many exports' worth of a healthy endpoint, short enough that a
# dead one costs the service one pause, not one per record.
MAX_WAIT_S = 5.0
_POLL_S = 0.001
_REPORT_EVERY_S = 60.0
_log = logging.getLogger("rythmiq_otel.distro")


class QueueGate:
    """Admits a record into an SDK ``BatchProcessor`` once it has room; counts and reports what it drops."""

    def __init__(self, *, max_wait_s: float = MAX_WAIT_S) -> None:
        self._max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._stalled = False
        self._unreported = 0
        self._first_unreported = 0.0
        self._counter: Any = None
        self._reporting = False
        self._queue_size = 0

    def admit(self, batch: Any) -> bool:
        """True when ``batch`` (an SDK ``BatchProcessor``) has room for one more record, waiting if needed."""
        queue, limit = batch._queue, batch._max_queue_size
        self._queue_size = limit
        if len(queue) < limit:
            self._stalled = False
            if self._unreported:
                self.report()
            return True
        batch._worker_awaken.set()  # export now, not at the next scheduled delay
        if not self._stalled:
            BACKGROUND.write_pending()  # the lines before this record do not wait with it
            deadline = time.monotonic() + self._max_wait_s
            while len(queue) >= limit and time.monotonic() < deadline:
                time.sleep(_POLL_S)
            if len(queue) < limit:
                return True
            self._stalled = True
        self._dropped()
        return False

    def _dropped(self) -> None:
        with self._lock:
            if not self._unreported:
                self._first_unreported = time.monotonic()
            self._unreported += 1
        if self._counter is None:
            self._counter = metrics.get_meter("rythmiq_otel").create_counter(
                DROPPED_METRIC, unit="1", description="Log records dropped because the export queue was full"
            )
        self._counter.add(1, {"reason": "queue_full"})
        if time.monotonic() - self._first_unreported >= _REPORT_EVERY_S:
            self.report()

    def report(self) -> None:
        """One WARN JSON line with the records dropped since the last report (none: nothing is logged)."""
        with self._lock:
            count, self._unreported = self._unreported, 0
            if not count or self._reporting:
                self._unreported += count
                return
            self._reporting = True
        try:
            _log.warning(
                # Under PROSE_WORDS words, so the PII guard does not take it for document text.
                "Dropped %d OTel log records: the export queue stayed full (OTEL_BLRP_MAX_QUEUE_SIZE=%d).",
                count, self._queue_size, extra={"extra": {"dropped_log_records": count}},
            )
        finally:
            self._reporting = False


GATE = QueueGate()
