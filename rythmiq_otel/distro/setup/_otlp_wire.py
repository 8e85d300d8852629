"""Protobuf wire primitives for the direct OTLP encoders (``_otlp_logs``, ``_otlp_spans``).

Why hand-written: upstream's encoders build a protobuf object per record, per attribute and per value, and
that costs more than the telemetry call itself (docs/distro.md, "Where the CPU goes"). These helpers write
the same messages as bytes. Only the common shapes are written here -- string, bool, int64 and float
values -- and the callers hand every other record to upstream's own encoder, so a decoded request always
equals upstream's (the encoders' tests check it over generated batches).

The envelope (``ExportLogsServiceRequest``/``ExportTraceServiceRequest`` -> resource -> scope -> items) is
upstream's messages with the item bytes appended: protobuf lets a message's fields come in any order and
a repeated field be appended to. Records are grouped by resource and scope as upstream groups them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_resource,
)

__all__ = ["FIXED32", "FIXED64", "delimited", "key_value", "request_bytes", "varint"]

FIXED64 = struct.Struct("<Q").pack
FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack
_INT64 = range(-(2**63), 2**63)
# KeyValue bytes of (key, string value) pairs seen lately: records repeat them (job id, stage, event).
# Cleared when full rather than evicted one by one; strings only, so equal keys always mean equal bytes
# (a float key would not: 0.0 == -0.0).
_PAIR_CACHE_SIZE = 4096
_pairs: dict[tuple[str, str], bytes] = {}


def varint(value: int) -> bytes:
    """A non-negative integer as a protobuf varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def delimited(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    return tag + varint(len(payload)) + payload


def _any_value(value: Any) -> bytes | None:
    """``AnyValue`` bytes of a str, bool, int64 or float; ``None`` for anything else."""
    kind = type(value)
    if kind is str:
        return delimited(b"\x0a", value.encode())
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + varint(value & 0xFFFFFFFFFFFFFFFF) if value in _INT64 else None
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    return None


def key_value(key: Any, value: Any) -> bytes | None:
    """One ``KeyValue`` message, or ``None`` when upstream must encode the record it belongs to.

    Raises ``UnicodeEncodeError`` for text with a lone surrogate (upstream drops such an attribute with a
    log line, or fails the record): callers fall back to upstream for the whole record.
    """
    if type(key) is not str:
        return None
    if type(value) is str:
        cached = _pairs.get((key, value))
        if cached is not None:
            return cached
    encoded = _any_value(value)
    if encoded is None:
        return None
    message = delimited(b"\x0a", key.encode()) + delimited(b"\x12", encoded)
    if type(value) is str:
        if len(_pairs) >= _PAIR_CACHE_SIZE:
            _pairs.clear()
        _pairs[(key, value)] = message
    return message


def _entry(item: Any, direct: Callable[[Any], bytes | None], upstream: Callable[[Any], Any]) -> bytes:
    """The scope message's field-2 entry for one item: ``direct`` bytes, else upstream's message."""
    try:
        encoded = direct(item)
    except UnicodeEncodeError:  # a lone surrogate: upstream drops that attribute (or fails) its own way
        encoded = None
    if encoded is None:
        encoded = upstream(item).SerializeToString()
    return delimited(b"\x12", encoded)


def request_bytes(
    items: Sequence[Any],
    direct: Callable[[Any], bytes | None],
    upstream: Callable[[Any], Any],
    messages: tuple[Callable[..., Any], Callable[..., Any]],
) -> bytes:
    """The export request for ``items`` (each with ``resource`` and ``instrumentation_scope``).

    ``direct(item)`` is the item's message bytes or ``None`` (then ``upstream(item)``, upstream's own
    message, is serialised); ``messages`` are the signal's ``Resource*`` and ``Scope*`` protobuf classes
    (fields 1-3 alike for logs and spans).
    """
    resource_message, scope_message = messages
    groups: dict[Any, dict[Any, list[bytes]]] = {}
    for item in items:
        scopes = groups.setdefault(item.resource, {})
        scopes.setdefault(item.instrumentation_scope or None, []).append(_entry(item, direct, upstream))
    request = []
    for resource, scopes in groups.items():
        parts = [
            resource_message(
                resource=_encode_resource(resource), schema_url=resource.schema_url
            ).SerializeToString()
        ]
        for scope, entries in scopes.items():
            envelope = scope_message(
                scope=_encode_instrumentation_scope(scope), schema_url=scope.schema_url if scope else None
            ).SerializeToString()
            parts.append(delimited(b"\x12", envelope + b"".join(entries)))
        request.append(delimited(b"\x0a", b"".join(parts)))
    return b"".join(request)
