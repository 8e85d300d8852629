"""One request through the sink: inflate → decode → map (with the PII layer) → derive → write.

This is the synchronous, CPU-bound part of a request; the receiver runs it off the event loop. It returns
only after the writer committed, so whoever calls it may acknowledge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._context import MapContext, Scrubber
from ._decode import Format, Signal, decode, inflate
from ._map_jobs import cpu_metrics_rows, error_event_rows, job_updates
from ._map_logs import log_rows
from ._map_metrics import metric_point_rows
from ._map_spans import span_rows
from ._rows import Batch
from ._writer import Writer

_REJECTED_SIGNAL = {"logs": "logs", "traces": "spans", "metrics": "metrics"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one request, for the response (partial_success) and the health metrics."""

    signal: Signal
    accepted: int
    rejected: int
    error_message: str
    ctx: MapContext
    write_seconds: float


def build_batch(signal: Signal, request: Any, ctx: MapContext) -> Batch:
    """Map a decoded export request to every row it produces (pure)."""
    batch = Batch()
    if signal == "logs":
        batch.logs = list(log_rows(request, ctx))
        derived = [row for row in batch.logs if row.event_name is not None or row.level == "ERROR"]
        if derived:
            batch.error_events = list(error_event_rows(derived, ctx.repairs))
            batch.cpu_metrics = list(cpu_metrics_rows(derived, ctx.repairs))
            batch.job_updates = list(job_updates(derived))
    elif signal == "traces":
        batch.spans = list(span_rows(request, ctx))
    else:
        batch.metric_points = list(metric_point_rows(request, ctx))
    return batch


def process(
    signal: Signal, body: bytes, *, fmt: Format, content_encoding: str | None, max_body_bytes: int,
    scrubber: Scrubber, writer: Writer, clock: Callable[[], float] = time.perf_counter,
) -> Outcome:
    """Run one request to commit.

    Raises:
        BadRequest, TooLarge, UnsupportedMediaType: the body is unusable (nothing was written).
        WriterUnavailable: Postgres could not take the rows (nothing was written; the client retries).
    """
    ctx = MapContext(scrubber=scrubber)
    data = inflate(body, content_encoding, max_body_bytes)
    request, unparsable = decode(signal, data, fmt, ctx.repairs)
    if unparsable:
        ctx.rejected[_REJECTED_SIGNAL[signal]] += unparsable
        ctx.repairs["malformed_item"] += unparsable
        ctx.first_error = f"{unparsable} item(s) of the JSON body are malformed"
    batch = build_batch(signal, request, ctx)
    started = clock()
    if len(batch):
        writer.write(batch)
    return Outcome(
        signal=signal,
        accepted=len(batch),
        rejected=ctx.rejected[_REJECTED_SIGNAL[signal]],
        error_message=ctx.first_error,
        ctx=ctx,
        write_seconds=clock() - started,
    )


