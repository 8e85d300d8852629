"""One request through the sink: inflate → decode → map (with the PII layer) → derive → write.

This is the synchronous, CPU-bound part of a request; the receiver runs it off the event loop. It returns
only after the writer committed, so whoever calls it may acknowledge.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from ._context import MapContext, Scrubber
from ._decode import Format, Signal, TooLarge, count_items, decode, inflate
from ._map_jobs import cpu_metrics_rows, error_event_rows, job_updates
from ._map_logs import log_rows
from ._map_metrics import metric_point_rows
from ._map_spans import span_rows
from ._rows import Batch, LogRow
from ._values import Repairs
from ._writer import RowsRefused, Writer

_REJECTED_SIGNAL = {"logs": "logs", "traces": "spans", "metrics": "metrics"}
_ITEM_NAMES = {"logs": "log records", "traces": "spans", "metrics": "data points"}

#: A mapper: export request → rows of one table (``log_rows``, ``span_rows``, ``metric_point_rows``).
Mapper = Callable[[Any, MapContext], Iterable[Any]]
#: A deriver: log rows → rows of a table derived from them (pure; counts problems in ``Repairs``).
Deriver = Callable[[list[LogRow], Repairs], Iterable[Any]]

#: Which mapper fills which ``Batch`` field, per signal.
MAPPERS: Final[dict[str, tuple[str, Mapper]]] = {
    "logs": ("logs", log_rows),
    "traces": ("spans", span_rows),
    "metrics": ("metric_points", metric_point_rows),
}
#: The tables derived from log rows (docs/contracts.md §1): adding one is one line here.
LOG_DERIVERS: Final[tuple[tuple[str, Deriver], ...]] = (
    ("error_events", error_event_rows),
    ("cpu_metrics", cpu_metrics_rows),
    ("job_updates", job_updates),
)


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
    mapper = MAPPERS[signal][1]
    return _batch(signal, list(mapper(request, ctx)), ctx.repairs)


def _batch(signal: Signal, rows: list[Any], repairs: Repairs, *, derive: bool = True) -> Batch:
    """A batch of the signal's rows and, for logs, the rows derived from them."""
    batch = Batch()
    setattr(batch, MAPPERS[signal][0], rows)
    if signal == "logs" and derive:
        # Only events and ERROR records can derive anything; the rest need not be looked at again.
        candidates = [row for row in rows if row.event_name is not None or row.level == "ERROR"]
        if candidates:
            for derived_field, deriver in LOG_DERIVERS:
                setattr(batch, derived_field, list(deriver(candidates, repairs)))
    return batch


def write_isolating(writer: Writer, signal: Signal, batch: Batch, ctx: MapContext) -> int:
    """Write ``batch``; if Postgres refuses rows of it, store the rest and return how many were refused.

    A refusal is about the data, so retrying cannot help and answering 500/503 would lose (or block) the
    good rows beside it: the batch is split in halves until the refused items are alone (log2(n) extra
    transactions per bad item). A log record whose derived rows are refused is stored without them.
    """
    try:
        writer.write(batch)
        return 0
    except RowsRefused as refused:
        rows = getattr(batch, MAPPERS[signal][0])
        if len(rows) > 1:
            middle = len(rows) // 2
            return sum(write_isolating(writer, signal, _batch(signal, part, Repairs()), ctx)
                       for part in (rows[:middle], rows[middle:]))
        if len(batch) < batch.rows():
            lost = write_isolating(writer, signal, _batch(signal, rows, Repairs(), derive=False), ctx)
            if not lost:
                ctx.repairs["derived_row_refused"] += 1
            return lost
        ctx.reject(_REJECTED_SIGNAL[signal], "refused_by_postgres",
                   f"Postgres refused one of the {signal} items ({refused})")
        return 1


def process(
    signal: Signal, body: bytes, *, fmt: Format, content_encoding: str | None, max_body_bytes: int,
    scrubber: Scrubber, writer: Writer, max_items: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Outcome:
    """Run one request to commit.

    Raises:
        BadRequest, TooLarge, UnsupportedMediaType: the body is unusable or carries more than
            ``max_items`` items (nothing was written).
        WriterUnavailable: Postgres could not take the rows (nothing was written; the client retries).
        Rows Postgres refuses are isolated and reported like rejected items (``write_isolating``).
    """
    ctx = MapContext(scrubber=scrubber)
    data = inflate(body, content_encoding, max_body_bytes)
    request, unparsable = decode(signal, data, fmt, ctx.repairs, wire=True)
    if max_items is not None and (items := count_items(signal, request)) > max_items:
        raise TooLarge(f"request carries {items} {_ITEM_NAMES[signal]}, over the limit of {max_items}; "
                       "send smaller batches")
    if unparsable:
        ctx.rejected[_REJECTED_SIGNAL[signal]] += unparsable
        ctx.repairs["malformed_item"] += unparsable
        ctx.first_error = f"{unparsable} item(s) of the JSON body are malformed"
    batch = build_batch(signal, request, ctx)
    started = clock()
    refused = write_isolating(writer, signal, batch, ctx) if len(batch) else 0
    return Outcome(
        signal=signal,
        accepted=len(batch) - refused,
        rejected=ctx.rejected[_REJECTED_SIGNAL[signal]],
        error_message=ctx.first_error,
        ctx=ctx,
        write_seconds=clock() - started,
    )
