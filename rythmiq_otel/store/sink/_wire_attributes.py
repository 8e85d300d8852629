"""Item attributes (log records, spans, metric data points) decoded and scrubbed once per distinct attribute
per request (the hot loop).

The items of one request repeat most of their attributes item after item (``job_id``, ``stage``,
``event.name``, the ``extra.*`` of one job; a span's route; a metric series' labels), and walking
``KeyValue``/``AnyValue`` objects of the protobuf runtime was the largest cost of the sink (about 8 µs of a
log record's 18). So requests are read through twin schemas (``_twin``) in which each item's attributes
are the ``KeyValue`` bytes as encoded: an attribute seen before in the request is one dict lookup on those
bytes; only a new one is decoded (``_values.attribute``, with its repairs) and goes through the PII layer.

What is remembered keeps the results exact: a pair is remembered only when it decoded with no repair, its
value is a scalar (``str``/``int``/``float``/``bool``: no row can share a mutable value) and the PII layer
judged it -- it was not hidden behind a later pair with the same key -- and returned its item's new
attributes unchanged with no redaction. The PII layer judges each top-level pair on its own
(``pii.Scrubber`` does), so a pair clean in one item is clean in every item judged the same way (a CLIENT
span's attributes are judged apart, ``client_span``); an item whose pairs are all remembered skips the
layer, which would find nothing.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ._context import MapContext
from ._twin import twin_class, twin_pool
from ._values import Repairs, attribute

_PREFIX = "rythmiq_wire."
#: ``KeyValue.key`` (field 1, length-delimited) and ``KeyValue.value`` as 9 bytes holding only
#: ``AnyValue.double_value`` (field 4, 64-bit): the fixed bytes around a short key with a double.
_KEY_TAG = 0x0A
_DOUBLE_VALUE = b"\x12\x09\x21"
_DOUBLE = struct.Struct("<d")
_SCALARS = frozenset({str, int, float, bool})
#: Distinct pairs remembered per request. Real requests repeat a few hundred; a request whose every
#: attribute is distinct would otherwise keep all of them (about 300 MB for a 12 MiB body).
MAX_REMEMBERED = 4096


def _wire_class(request: type[Message], *items: type[Message]) -> type[Message]:
    """``request`` with the ``attributes`` of ``items`` as ``repeated bytes`` (encoded KeyValues)."""
    names = frozenset(item.DESCRIPTOR.full_name for item in items)

    def attributes_as_bytes(message: str, field: descriptor_pb2.FieldDescriptorProto) -> bool:
        return message in names and field.name == "attributes"

    pool = twin_pool(request.DESCRIPTOR.file, _PREFIX, attributes_as_bytes)
    return twin_class(pool, _PREFIX, request.DESCRIPTOR.full_name)


LogsWire = _wire_class(ExportLogsServiceRequest, LogRecord)
TracesWire = _wire_class(ExportTraceServiceRequest, Span)
MetricsWire = _wire_class(
    ExportMetricsServiceRequest, metrics_pb2.NumberDataPoint, metrics_pb2.HistogramDataPoint,
    metrics_pb2.ExponentialHistogramDataPoint, metrics_pb2.SummaryDataPoint,
)


def as_wire(request: Message, wire: type[Message]) -> Message:
    """The request seen through its twin ``wire``; an item's encoding is unchanged, so are its dedup keys."""
    if isinstance(request, wire):
        return request
    return wire.FromString(request.SerializeToString())


class WireAttributes:
    """Turns one item's encoded attributes into the scrubbed attribute dict; one instance per request (and
    per PII judgement: ``client_span``)."""

    def __init__(self, ctx: MapContext, *, client_span: bool = False) -> None:
        self._ctx = ctx
        self._client_span = client_span
        self._known: dict[bytes, tuple[str, Any]] = {}
        self._trial: Counter[str] = Counter()
        self._repairs = Repairs()

    def __call__(self, encoded: Iterable[bytes]) -> dict[str, Any]:
        """The item's attributes (a repeated key keeps its last value), after the PII layer."""
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
        scrubber, client_span = self._ctx.scrubber, self._client_span
        if scrubber.attributes(fresh, "attributes", trial, client_span=client_span) is not fresh or trial:
            trial.clear()
            return scrubber.attributes(attrs, "attributes", self._ctx.redactions, client_span=client_span)
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
    share. ``raw`` comes from a body the runtime parsed, so its strings are valid UTF-8."""
    if raw[-11:-8] == _DOUBLE_VALUE and raw[0] == _KEY_TAG and raw[1] == len(raw) - 13 < 0x80:
        # A short key, then a value holding a double and nothing else: the numbers that differ record
        # after record (durations, CPU seconds), taken without building protobuf objects.
        key = raw[2:-11].decode()
        (value,) = _DOUBLE.unpack_from(raw, len(raw) - 8)
        if "\x00" not in key and math.isfinite(value):
            return key, value, True
    key, value = attribute(KeyValue.FromString(raw), repairs)
    return key, value, not repairs and type(value) in _SCALARS
