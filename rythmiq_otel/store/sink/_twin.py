"""Twin schemas: copies of the OTLP protobuf schema in which chosen fields are ``bytes``.

A ``string`` field and a message field have the same wire format as a ``bytes`` field, so a twin parses the
very same body but hands those fields over raw. ``_lenient`` uses that to repair what the runtime refuses
(strings with invalid UTF-8, values nested past its depth limit); ``_wire_attributes`` uses it to see each
item's attributes (log records, spans, data points) as the bytes that were sent, so an attribute repeated
across a request's items is decoded once instead of once per item.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor, FileDescriptor
from google.protobuf.message import Message

#: Whether a field (given the full name of its message) becomes ``bytes`` in the twin.
Retype = Callable[[str, descriptor_pb2.FieldDescriptorProto], bool]


def twin_pool(root: FileDescriptor, prefix: str, as_bytes: Retype) -> descriptor_pool.DescriptorPool:
    """A pool with ``root`` and its dependencies renamed under ``prefix``, the chosen fields as ``bytes``."""
    ordered: list[FileDescriptor] = []

    def visit(file: FileDescriptor) -> None:
        for dependency in file.dependencies:
            visit(dependency)
        if file not in ordered:
            ordered.append(file)

    visit(root)
    pool = descriptor_pool.DescriptorPool()
    for file in ordered:
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        proto.name = prefix + proto.name
        proto.package = prefix + proto.package
        proto.dependency[:] = [prefix + name for name in proto.dependency]
        proto.ClearField("service")  # only messages are needed
        stack = [(f"{file.package}.{m.name}", m) for m in proto.message_type]
        while stack:
            full_name, message = stack.pop()
            stack.extend((f"{full_name}.{m.name}", m) for m in message.nested_type)
            for field in message.field:
                if as_bytes(full_name, field):
                    field.type = FieldDescriptor.TYPE_BYTES
                    field.ClearField("type_name")
                elif field.type_name.startswith("."):
                    field.type_name = "." + prefix + field.type_name[1:]
        pool.Add(proto)
    return pool


def twin_class(pool: descriptor_pool.DescriptorPool, prefix: str, full_name: str) -> type[Message]:
    """The twin's class for the real message ``full_name``."""
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(prefix + full_name))
