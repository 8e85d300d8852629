"""Repairing protobuf bodies whose string fields hold invalid UTF-8, instead of refusing the whole batch.

The protobuf runtime refuses a message with invalid UTF-8 in a ``string`` field, but Go senders (the
collector reading a binary file, for one) do not validate it, so one bad byte would make the whole request
a 400 and the collector would drop every record in it. On that error only, the body is parsed again with
a twin of the OTLP schema in which every ``string`` is ``bytes`` (the wire format is identical), every
such field is decoded with U+FFFD for the bad bytes (counted as ``invalid_utf8``), and the repaired
message is re-encoded and parsed with the real classes. The hot path never comes here.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, FileDescriptor
from google.protobuf.message import DecodeError, Message

from ._values import Repairs

_PREFIX = "rythmiq_lenient."


def _lenient_files(root: FileDescriptor) -> list[descriptor_pb2.FileDescriptorProto]:
    """``root`` and its dependencies, in dependency order, with strings turned into bytes."""
    ordered: list[FileDescriptor] = []

    def visit(file: FileDescriptor) -> None:
        for dependency in file.dependencies:
            visit(dependency)
        if file not in ordered:
            ordered.append(file)

    visit(root)
    protos = []
    for file in ordered:
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        proto.name = _PREFIX + proto.name
        proto.package = _PREFIX + proto.package
        proto.dependency[:] = [_PREFIX + name for name in proto.dependency]
        proto.ClearField("service")  # only messages are needed
        stack = list(proto.message_type)
        while stack:
            message = stack.pop()
            stack.extend(message.nested_type)
            for field in message.field:
                if field.type == FieldDescriptor.TYPE_STRING:
                    field.type = FieldDescriptor.TYPE_BYTES
                if field.type_name.startswith("."):
                    field.type_name = "." + _PREFIX + field.type_name[1:]
        protos.append(proto)
    return protos


@functools.cache
def _lenient_class(request_type: type[Message]) -> type[Message]:
    pool = descriptor_pool.DescriptorPool()
    for proto in _lenient_files(request_type.DESCRIPTOR.file):
        pool.Add(proto)
    descriptor = pool.FindMessageTypeByName(_PREFIX + request_type.DESCRIPTOR.full_name)
    return message_factory.GetMessageClass(descriptor)


def _string_fields(descriptor: Any) -> frozenset[str]:
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


def _repair(message: Message, strings: frozenset[str], repairs: Repairs) -> None:
    for field, value in message.ListFields():
        if field.message_type is not None:
            for child in (value if field.is_repeated else [value]):
                _repair(child, strings, repairs)
        elif field.full_name.removeprefix(_PREFIX) in strings:
            values = list(value) if field.is_repeated else [value]
            fixed = []
            for raw in values:
                try:
                    raw.decode("utf-8")
                    fixed.append(raw)
                except UnicodeDecodeError:
                    repairs["invalid_utf8"] += 1
                    fixed.append(raw.decode("utf-8", errors="replace").encode("utf-8"))
            if field.is_repeated:
                getattr(message, field.name)[:] = fixed
            else:
                setattr(message, field.name, fixed[0])


def parse_repairing_utf8(request_type: type[Message], body: bytes, repairs: Repairs) -> Message:
    """Parse ``body`` as ``request_type``, replacing invalid UTF-8 in string fields (counted).

    Raises:
        DecodeError: the body is malformed for another reason.
    """
    lenient = _lenient_class(request_type).FromString(body)
    _repair(lenient, _string_fields(request_type.DESCRIPTOR), repairs)
    try:
        return request_type.FromString(lenient.SerializeToString())
    except DecodeError:
        raise DecodeError("body is malformed beyond invalid UTF-8") from None
