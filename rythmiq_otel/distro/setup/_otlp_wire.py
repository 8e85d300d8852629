"""Protobuf wire primitives for the direct OTLP encoders (``_otlp_logs``, ``_otlp_spans``).

Why hand-written: upstream's encoders build a protobuf object per record, per attribute and per value, and
that costs more than the telemetry call itself (docs/distro.md, "Where the CPU goes"). These helpers write
the same messages as bytes. Only the common shapes are written here -- string, bool, int64 and float
values -- and the callers hand every other record to upstream's own encoder, so a decoded request always
equals upstream's (the encoders' tests check it over generated batches).

Why the caches: a job's records repeat most of their bytes (the event name, the stage, the job id, the
severity, the span names), so each repeated piece is written once and reused as bytes. Every cache is
keyed by exactly what decides its bytes, and bounded by being cleared when full (``bounded_put``).

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

__all__ = [
    "CACHE_SIZE",
    "FIXED32",
    "FIXED64",
    "attribute_fields",
    "bounded_put",
    "delimited",
    "request_bytes",
    "varint",
]

FIXED64 = struct.Struct("<Q").pack
FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack
# Entries a cache holds before it is cleared (a few hundred bytes each).
CACHE_SIZE = 4096
# What a direct encoder may raise for a value upstream treats its own way (a lone surrogate, an integer
# out of a fixed field's range, an unhashable severity text): the record then goes to upstream's encoder,
# which encodes, drops or refuses it.
_FALL_BACK = (UnicodeEncodeError, OverflowError, struct.error, TypeError)
# (message class, id(resource or scope)) -> (that object, its envelope bytes); see ``_envelope``.
_ENVELOPES_SIZE = 64
_envelopes: dict[tuple[Any, int], tuple[Any, bytes]] = {}
# The value types looked up in a pair cache (hashable, and their bytes follow from equality and type).
_CACHED = frozenset((str, bool, int, float))


def varint(value: int) -> bytes:
    """A non-negative integer as a protobuf varint."""
    if value < 0x80:
        return bytes((value,))
    if value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def delimited(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    size = len(payload)
    if size < 0x80:
        return tag + bytes((size,)) + payload
    return tag + varint(size) + payload


def bounded_put(cache: dict[Any, bytes], key: Any, value: bytes) -> bytes:
    """Store ``value`` under ``key``, clearing ``cache`` first when it is full; returns ``value``."""
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def _any_value(value: Any) -> bytes | None:
    """``AnyValue`` bytes of a str, bool, int64 or float; ``None`` for anything else."""
    kind = type(value)
    if kind is str:
        return delimited(b"\x0a", value.encode())
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + varint(value & 0xFFFFFFFFFFFFFFFF) if -(2**63) <= value < 2**63 else None
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    return None


def attribute_fields(parts: list[bytes], cache: dict[Any, bytes], tag: bytes, attributes: Any) -> bool:
    """Append one repeated ``KeyValue`` field (``tag``, length, message) per attribute to ``parts``; false
    when a value is not of the common shape (then upstream must encode the record they belong to).

    ``cache`` maps ``(key, type(value), value)`` to a field's bytes (the type too, as ``True == 1 ==
    1.0``); zero floats are not cached (``0.0 == -0.0``, their bytes differ). Raises
    ``UnicodeEncodeError`` for text with a lone surrogate (upstream drops such an attribute with a log
    line, or fails the record): callers fall back to upstream for the whole record.
    """
    for key, value in attributes.items():
        kind = type(value)
        field = cache.get((key, kind, value)) if kind in _CACHED else None
        if field is None:
            if type(key) is not str:
                return False
            encoded = _any_value(value)
            if encoded is None:
                return False
            field = delimited(tag, delimited(b"\x0a", key.encode()) + delimited(b"\x12", encoded))
            if kind is not float or value:
                bounded_put(cache, (key, kind, value), field)
        parts.append(field)
    return True


def request_bytes(
    items: Sequence[Any],
    direct: Callable[[Any], bytes | None],
    upstream: Callable[[Any], Any],
    messages: tuple[Callable[..., Any], Callable[..., Any]],
) -> bytes:
    """The export request for ``items`` (each with ``resource`` and ``instrumentation_scope``).

    ``direct(item)`` is the item's scope entry (field 2 of the scope message, tag and length included)
    or ``None`` (then ``upstream(item)``, upstream's own message, is serialised); ``messages`` are the
    signal's ``Resource*`` and ``Scope*`` protobuf classes (fields 1-3 alike for logs and spans).
    """
    resource_message, scope_message = messages
    groups: dict[Any, dict[Any, list[bytes]]] = {}
    last_resource = last_scope = entries = None
    for item in items:
        resource, scope = item.resource, item.instrumentation_scope
        if resource is not last_resource or scope is not last_scope:  # a batch is mostly one group
            last_resource, last_scope = resource, scope
            entries = groups.setdefault(resource, {}).setdefault(scope or None, [])
        try:
            entry = direct(item)
        except _FALL_BACK:
            entry = None
        if entry is None:
            entry = delimited(b"\x12", upstream(item).SerializeToString())
        entries.append(entry)  # type: ignore[union-attr]
    request = []
    for resource, scopes in groups.items():
        parts = [_envelope(resource_message, resource)]
        for scope, scope_entries in scopes.items():
            parts.append(delimited(b"\x12", _envelope(scope_message, scope) + b"".join(scope_entries)))
        request.append(delimited(b"\x0a", b"".join(parts)))
    return b"".join(request)


def _envelope(message: Callable[..., Any], item: Any) -> bytes:
    """``message`` (a signal's ``Resource*`` or ``Scope*`` class) with ``item`` (a resource, a scope or
    ``None``) and its schema URL, serialised: upstream's own encoding, cached per item.

    Cached by the item's identity, not its equality (``Resource({"a": True}) == Resource({"a": 1})``); the
    entry holds the item, so its id is not reused while cached. Resources and scopes are immutable, and a
    process has a handful: the resource's 18 detected attributes are encoded once, not once a request.
    """
    key = (message, id(item))
    cached = _envelopes.get(key)
    if cached is not None and cached[0] is item:
        return cached[1]
    if "resource" in message.DESCRIPTOR.fields_by_name:
        encoded = message(resource=_encode_resource(item), schema_url=item.schema_url).SerializeToString()
    else:
        encoded = message(
            scope=_encode_instrumentation_scope(item), schema_url=item.schema_url if item else None
        ).SerializeToString()
    if len(_envelopes) >= _ENVELOPES_SIZE:
        _envelopes.clear()
    _envelopes[key] = (item, encoded)
    return encoded
