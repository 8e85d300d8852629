"""A log record's attributes, decoded and scrubbed once per distinct attribute per request (the hot loop).

The records of one request repeat most of their attributes record after record (``job_id``, ``stage``,
``event.name``, the ``extra.*`` of one job), and walking ``KeyValue``/``AnyValue`` objects of the protobuf
runtime was the largest cost of the sink (about 8 µs of a record's 18). So the logs request is read through
a twin schema (``_twin``) in which each record's attributes are the ``KeyValue`` bytes as encoded: an
attribute seen before in the request is one dict lookup on those bytes; only a new one is decoded
(``_values.attribute``, with its repairs) and goes through the PII layer.

What is remembered keeps the results exact: a pair is remembered only when it decoded with no repair, its
value is a scalar (``str``/``int``/``float``/``bool``: no row can share a mutable value) and the PII layer
returned its record's attributes unchanged with no redaction. The PII layer judges each top-level pair on
its own (``pii.Scrubber`` does), so a pair clean in one record is clean in every record; a record whose
pairs are all remembered skips the layer, which would find nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from ._context import MapContext
from ._twin import twin_class, twin_pool
from ._values import Repairs, attribute

_PREFIX = "rythmiq_wire."
_LOG_RECORD = LogRecord.DESCRIPTOR.full_name
_SCALARS = frozenset({str, int, float, bool})
#: Distinct pairs remembered per request. Real requests repeat a few hundred; a request whose every
#: attribute is distinct would otherwise keep all of them (about 300 MB for a 12 MiB body).
MAX_REMEMBERED = 4096


def _attributes_as_bytes(message: str, field: descriptor_pb2.FieldDescriptorProto) -> bool:
    return message == _LOG_RECORD and field.name == "attributes"


#: ``ExportLogsServiceRequest`` with ``LogRecord.attributes`` as ``repeated bytes`` (encoded KeyValues).
LogsWire: type[Message] = twin_class(
    twin_pool(ExportLogsServiceRequest.DESCRIPTOR.file, _PREFIX, _attributes_as_bytes),
    _PREFIX, ExportLogsServiceRequest.DESCRIPTOR.full_name,
)


def logs_wire(request: Message) -> Message:
    """The logs request seen through the twin; a record's encoding is unchanged, so are its dedup keys."""
    if isinstance(request, LogsWire):
        return request
    return LogsWire.FromString(request.SerializeToString())


class LogAttributes:
    """Turns one record's encoded attributes into the scrubbed attribute dict; one instance per request."""

    def __init__(self, ctx: MapContext) -> None:
        self._ctx = ctx
        self._known: dict[bytes, tuple[str, Any]] = {}
        self._trial: Counter[str] = Counter()
        self._repairs = Repairs()

    def __call__(self, encoded: Iterable[bytes]) -> dict[str, Any]:
        """The record's attributes (a repeated key keeps its last value), after the PII layer."""
        known = self._known
        attrs: dict[str, Any] = {}
        new: list[tuple[bytes, str, Any, bool]] | None = None
        for raw in encoded:
            pair = known.get(raw)
            if pair is None:
                key, value, rememberable = self._decode(raw)
                attrs[key] = value
                if new is None:
                    new = []
                new.append((raw, key, value, rememberable))
            else:
                attrs[pair[0]] = pair[1]
        if new is None:
            return attrs
        # Only the new pairs can hold PII (the others were judged clean); judge them alone, and on a hit
        # scrub the whole map as it would have been anyway, so keys, order and counts are as without this.
        fresh = {key: value for _, key, value, _ in new if attrs[key] is value}
        trial = self._trial
        if self._ctx.scrubber.attributes(fresh, "attributes", trial) is not fresh or trial:
            trial.clear()
            ctx = self._ctx
            return ctx.scrubber.attributes(attrs, "attributes", ctx.redactions)
        for raw, key, value, rememberable in new:  # only the judged ones: not a value a repeated key hid
            if rememberable and attrs[key] is value and len(known) < MAX_REMEMBERED:
                known[raw] = (key, value)
        return attrs

    def _decode(self, raw: bytes) -> tuple[str, Any, bool]:
        repairs = self._repairs
        key, value, rememberable = decode_pair(raw, repairs)
        if repairs:
            self._ctx.repairs.update(repairs)
            repairs.clear()
        return key, value, rememberable


def decode_pair(raw: bytes, repairs: Repairs) -> tuple[str, Any, bool]:
    """One encoded ``KeyValue`` as (key, value, whether the pair may be remembered): not when a repair was
    counted in ``repairs``, so each occurrence counts it again, nor for containers, which rows must not
    share."""
    key, value = attribute(KeyValue.FromString(raw), repairs)
    return key, value, not repairs and type(value) in _SCALARS
