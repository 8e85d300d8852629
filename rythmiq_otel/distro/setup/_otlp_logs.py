"""OTLP protobuf bytes for a batch of log records, written directly instead of through ``pb2`` objects.

Why: upstream's ``encode_logs`` builds a ``LogRecord`` message, a ``KeyValue`` and an ``AnyValue`` object
per attribute for every record, then serialises them: about 24 µs of CPU a record here, more than the
JSON-only log call costs in total (docs/distro.md, "Where the CPU goes"). The records this distro emits
have a fixed shape (a string body, scalar attributes), which encodes in a few µs straight to the wire,
most of it from bytes cached for what repeats (``_otlp_wire``): the severity and event name, the body,
the attribute pairs.

Equivalence is the contract: the bytes, decoded, equal what upstream's ``encode_logs`` produces for the
same batch (``tests/distro/setup/test_otlp_logs.py`` over generated records). Only the records of the
common shape take the direct path; any other record (a structured body, a sequence or mapping attribute,
an integer outside int64, a subclassed value, text with a lone surrogate) is encoded by upstream's own
``_encode_log``. The envelope is ``_otlp_wire.request_bytes``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import _encode_log
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs
from opentelemetry.sdk._logs import ReadableLogRecord

from rythmiq_otel.distro.setup._otlp_wire import (
    FIXED32,
    FIXED64,
    attribute_fields,
    bounded_put,
    delimited,
    request_bytes,
    varint,
)

__all__ = ["encode_logs_request"]

# Both timestamps in one call: field 1 (fixed64), field 11 (fixed64).
_TIMES = struct.Struct("<BQBQ").pack
# (key, type, value) -> the attribute field (6); body text -> the body field (5);
# (id(severity number), severity text, event name, flags) -> those fields (2, 3, 12, 8): by the enum
# member's id, as its ``__hash__`` is Python code; a member lives as long as its class, so its id is never
# another object's (``_head`` caches only exact members).
_pairs: dict[Any, bytes] = {}
_bodies: dict[str, bytes] = {}
_heads: dict[Any, bytes] = {}


def _head(severity_number: Any, severity_text: Any, event_name: Any, flags: Any) -> bytes | None:
    """The severity, event name and flags fields (cached), or ``None`` for a type upstream must judge."""
    if (
        type(severity_number) is not SeverityNumber
        or (severity_text is not None and type(severity_text) is not str)
        or (event_name is not None and type(event_name) is not str)
        or not isinstance(flags, int)
    ):
        return None
    parts = []
    if severity_number.value:
        parts += (b"\x10", varint(severity_number.value))
    if severity_text:
        parts.append(delimited(b"\x1a", severity_text.encode()))
    if event_name:
        parts.append(delimited(b"\x62", event_name.encode()))
    if int(flags):
        parts += (b"\x45", FIXED32(int(flags)))
    return bounded_put(_heads, (id(severity_number), severity_text, event_name, flags), b"".join(parts))


def _direct(readable: ReadableLogRecord) -> bytes | None:
    """The record's scope entry (a ``LogRecord`` field), or ``None`` when it is not of the common shape."""
    record = readable.log_record
    body, timestamp, observed = record.body, record.timestamp, record.observed_timestamp
    if type(body) is not str or type(timestamp) is not int or type(observed) is not int:
        return None
    severity_number, severity_text, event_name, flags = (
        record.severity_number,
        record.severity_text,
        record.event_name,
        record.trace_flags,
    )
    head = _heads.get((id(severity_number), severity_text, event_name, flags))
    if head is None:
        head = _head(severity_number, severity_text, event_name, flags)
        if head is None:
            return None
    text = _bodies.get(body)
    if text is None:
        text = bounded_put(_bodies, body, delimited(b"\x2a", delimited(b"\x0a", body.encode())))
    parts = [head, text]
    if timestamp and observed:
        parts.append(_TIMES(0x09, timestamp, 0x59, observed))
    elif timestamp:
        parts += (b"\x09", FIXED64(timestamp))
    elif observed:
        parts += (b"\x59", FIXED64(observed))
    attributes = record.attributes
    if attributes is not None:
        if not attribute_fields(parts, _pairs, b"\x32", attributes):
            return None
        dropped = readable.dropped_attributes
        if dropped:
            parts += (b"\x38", varint(dropped))
    trace_id, span_id = record.trace_id, record.span_id
    if type(trace_id) is not int or type(span_id) is not int:
        return None
    if trace_id:
        parts += (b"\x4a\x10", trace_id.to_bytes(16, "big"))
    if span_id:
        parts += (b"\x52\x08", span_id.to_bytes(8, "big"))
    return delimited(b"\x12", b"".join(parts))


def encode_logs_request(batch: Sequence[ReadableLogRecord]) -> bytes:
    """The serialised ``ExportLogsServiceRequest`` for ``batch``, grouped as upstream groups it."""
    return request_bytes(batch, _direct, _encode_log, (ResourceLogs, ScopeLogs))
