"""Mapping OTLP spans to ``spans`` rows: a pure function, no I/O.

A span's identity is its (trace_id, span_id) and its start time (the partition column), which is also the
table's unique key, so a redelivered span conflicts and is dropped. A span without a valid trace id, span
id or start time cannot be stored or deduplicated and is rejected (counted, reported in partial_success).
``correlation_id`` is the trace id as a UUID (the project's rule); ``job_id`` comes from the span's
``job_id`` attribute when the service set it (baggage).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from rythmiq_otel import vocab

from ._context import MapContext
from ._origin import Origin, dumps, item_rows
from ._rows import SpanRow
from ._values import (
    as_uuid,
    attributes_dict,
    clean_text,
    from_unix_nano,
    hex_to_uuid_text,
    span_id_hex,
    trace_id_hex,
    valid_time_ns,
)
from ._wire_attributes import TracesWire, WireAttributes, as_wire

_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = ("unset", "ok", "error")


def span_rows(request: Any, ctx: MapContext) -> Iterator[SpanRow]:
    """Yield one ``SpanRow`` per acceptable span of an ``ExportTraceServiceRequest``."""
    # A CLIENT span's attributes are judged apart (its server address is kept), so remembered apart.
    attributes = (WireAttributes(ctx), WireAttributes(ctx, client_span=True))
    return item_rows(as_wire(request, TracesWire).resource_spans, "scope_spans", "spans", ctx,
                     functools.partial(_span_row, attributes=attributes))


def _span_row(
    span: Any, ctx: MapContext, origin: Origin, *, attributes: tuple[WireAttributes, WireAttributes]
) -> SpanRow | None:
    repairs = ctx.repairs
    trace_id = trace_id_hex(span.trace_id, repairs)
    span_id = span_id_hex(span.span_id, repairs)
    if trace_id is None or span_id is None:
        ctx.reject("spans", "span_without_valid_ids",
                   f"span {span.name[:80]!r} has no valid trace_id (16 bytes) and span_id (8 bytes)")
        return None
    start_ns, end_ns = span.start_time_unix_nano, span.end_time_unix_nano
    if not valid_time_ns(start_ns, ctx.horizon_ns):
        ctx.reject("spans", "span_without_valid_time",
                   f"span {span.name[:80]!r} has start_time_unix_nano={start_ns} missing or out of range")
        return None
    if end_ns < start_ns or end_ns > ctx.horizon_ns:
        repairs["span_end_before_start"] += 1
        end_ns = start_ns
    kind = _KINDS[span.kind] if 0 <= span.kind < len(_KINDS) else "unspecified"
    attrs = attributes[kind == "client"](span.attributes)
    events = [
        {"time": from_unix_nano(event.time_unix_nano).isoformat() if event.time_unix_nano else None,
         "name": ctx.scrubber.text(clean_text(event.name, repairs), "event.name", ctx.redactions),
         "attributes": ctx.scrubber.attributes(attributes_dict(event.attributes, repairs), "event",
                                               ctx.redactions)}
        for event in span.events
    ]
    links = [
        {"trace_id": trace_id_hex(link.trace_id, repairs), "span_id": span_id_hex(link.span_id, repairs),
         "attributes": ctx.scrubber.attributes(attributes_dict(link.attributes, repairs), "link",
                                               ctx.redactions)}
        for link in span.links
    ]
    status_message = clean_text(span.status.message, repairs)
    if status_message:
        status_message = ctx.scrubber.text(status_message, "status", ctx.redactions)
    return SpanRow(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=span_id_hex(span.parent_span_id, repairs),
        name=ctx.scrubber.text(clean_text(span.name, repairs), "span.name", ctx.redactions),
        kind=kind,
        start_time=from_unix_nano(start_ns),
        end_time=from_unix_nano(end_ns),
        duration_ms=(end_ns - start_ns) / 1e6,
        status_code=_STATUS[span.status.code] if 0 <= span.status.code < len(_STATUS) else "unset",
        status_message=status_message or None,
        attributes=dumps(attrs),
        events=dumps(events),
        links=dumps(links),
        resource=origin.resource_json,
        service=origin.service,
        scope_name=origin.scope_name,
        correlation_id=hex_to_uuid_text(trace_id),
        job_id=as_uuid(attrs.get(vocab.BAGGAGE_JOB_ID), repairs, "invalid_job_id"),
    )
