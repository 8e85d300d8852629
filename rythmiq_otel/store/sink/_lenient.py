"""Repairing protobuf bodies the runtime refuses -- invalid UTF-8, nesting past its depth limit -- instead
of refusing the whole batch.

The protobuf runtime refuses a message with invalid UTF-8 in a ``string`` field, or with ``AnyValue``s
nested deeper than its recursion limit (100). Go senders (the collector reading a binary file, or parsing
a deeply nested JSON log) check neither, so one bad record would make the whole request a 400 and the
collector would drop every record in it. On those errors only, the body is parsed again with a twin of
the OTLP schema in which every ``string`` is ``bytes`` and ``AnyValue``'s array/kvlist are opaque ``bytes``
(the wire format is identical, and the parse no longer recurses into values). Then each string is decoded
with U+FFFD for bad bytes (``invalid_utf8``), each nested value is opened one level at a time and replaced
by a marker below ``MAX_DEPTH`` (``nesting_too_deep``), and the repaired message is re-encoded and parsed
with the real classes. The hot path never comes here.
"""

from __future__ import annotations

import functools

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.common.v1 import common_pb2

from ._twin import twin_class, twin_pool
from ._values import MAX_DEPTH, Repairs

_PREFIX = "rythmiq_lenient."
_ANY_VALUE = common_pb2.AnyValue.DESCRIPTOR.full_name
_NESTED = {"array_value": common_pb2.ArrayValue, "kvlist_value": common_pb2.KeyValueList}
_DEPTH_MARKER = b"[TRUNCATED:depth]"


def refused_but_repairable(error: DecodeError) -> bool:
    """Whether the runtime refused a body for a reason ``parse_repairing`` can fix."""
    return "UTF-8" in str(error) or "MaxDepth" in str(error)


def _repairable_as_bytes(message: str, field: descriptor_pb2.FieldDescriptorProto) -> bool:
    """Strings, and ``AnyValue``'s nested array/kvlist, are ``bytes`` in the lenient twin."""
    return field.type == FieldDescriptor.TYPE_STRING or (message == _ANY_VALUE and field.name in _NESTED)


@functools.cache
def _lenient_pool(request_type: type[Message]) -> descriptor_pool.DescriptorPool:
    return twin_pool(request_type.DESCRIPTOR.file, _PREFIX, _repairable_as_bytes)


def _lenient_class(request_type: type[Message], full_name: str) -> type[Message]:
    return twin_class(_lenient_pool(request_type), _PREFIX, full_name)


@functools.cache
def _string_fields(descriptor: Descriptor) -> frozenset[str]:
    """Names (without the lenient prefix) of the fields that are ``string`` in the real schema."""
    names = set()
    stack, seen = [descriptor], set()
    while stack:
        current = stack.pop()
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if field.type == FieldDescriptor.TYPE_STRING:
                names.add(field.full_name)
            if field.message_type is not None:
                stack.append(field.message_type)
    return frozenset(names)


class _Repairer:
    """Walks one lenient message, fixing strings and opening nested values level by level."""

    def __init__(self, request_type: type[Message], repairs: Repairs) -> None:
        self._request_type = request_type
        self._strings = _string_fields(request_type.DESCRIPTOR)
        self._repairs = repairs

    def message(self, message: Message, depth: int) -> None:
        is_any_value = message.DESCRIPTOR.full_name == _PREFIX + _ANY_VALUE
        for field, value in message.ListFields():
            if is_any_value and field.name in _NESTED:
                self._nested(message, field.name, value, depth)
            elif field.message_type is not None:
                for child in (value if field.is_repeated else [value]):
                    self.message(child, depth)
            elif field.full_name.removeprefix(_PREFIX) in self._strings:
                if field.is_repeated:
                    getattr(message, field.name)[:] = [self._text(raw) for raw in value]
                else:
                    setattr(message, field.name, self._text(value))

    def _nested(self, any_value: Message, name: str, raw: bytes, depth: int) -> None:
        if depth >= MAX_DEPTH:
            self._repairs["nesting_too_deep"] += 1
            any_value.string_value = _DEPTH_MARKER  # bytes in the twin; clears the oneof
            return
        nested = _lenient_class(self._request_type, _NESTED[name].DESCRIPTOR.full_name).FromString(raw)
        self.message(nested, depth + 1)
        setattr(any_value, name, nested.SerializeToString())

    def _text(self, raw: bytes) -> bytes:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            self._repairs["invalid_utf8"] += 1
            return raw.decode("utf-8", errors="replace").encode("utf-8")
        return raw


def parse_repairing(request_type: type[Message], body: bytes, repairs: Repairs) -> Message:
    """Parse ``body`` as ``request_type``, repairing invalid UTF-8 and over-deep values (counted).

    Raises:
        DecodeError: the body is malformed for another reason.
    """
    lenient = _lenient_class(request_type, request_type.DESCRIPTOR.full_name).FromString(body)
    _Repairer(request_type, repairs).message(lenient, 0)
    try:
        return request_type.FromString(lenient.SerializeToString())
    except DecodeError:
        raise DecodeError("body is malformed beyond invalid UTF-8 and nesting") from None
