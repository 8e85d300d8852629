"""Turning an OTLP/HTTP request body into the protobuf request message: encoding, size, format.

Protobuf bodies are parsed with the generated classes (upb, in C) and walked directly by the mappers; no
``MessageToDict`` on the hot path. JSON bodies follow the OTLP/HTTP JSON rules (trace and span ids are hex
strings, not base64; int64 may be strings; unknown fields are ignored). A JSON body whose items are
individually malformed is parsed item by item so the good ones still land and the bad ones are counted.
Invalid UTF-8 is replaced by U+FFFD and counted, in JSON bodies and -- through ``_lenient`` -- in protobuf
string fields; values nested past the runtime's depth limit are cut (``_lenient``), so one bad record does
not cost the whole batch.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ._lenient import parse_repairing, refused_but_repairable
from ._values import Repairs
from ._wire_attributes import LogsWire, MetricsWire, TracesWire

Signal = Literal["logs", "traces", "metrics"]
Format = Literal["protobuf", "json"]
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@dataclass(frozen=True)
class _SignalTypes:
    request: type[Message]
    response: type[Message]
    resource_field: str
    scope_field: str
    items_field: str
    rejected_field: str
    wire: type[Message] | None = None  # the twin the mapper walks (``_wire_attributes``)


SIGNALS: dict[str, _SignalTypes] = {
    "logs": _SignalTypes(ExportLogsServiceRequest, ExportLogsServiceResponse,
                         "resource_logs", "scope_logs", "log_records", "rejected_log_records", LogsWire),
    "traces": _SignalTypes(ExportTraceServiceRequest, ExportTraceServiceResponse,
                           "resource_spans", "scope_spans", "spans", "rejected_spans", TracesWire),
    "metrics": _SignalTypes(ExportMetricsServiceRequest, ExportMetricsServiceResponse,
                            "resource_metrics", "scope_metrics", "metrics", "rejected_data_points",
                            MetricsWire),
}
_GZIP_MAGIC = b"\x1f\x8b"
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class BadRequest(Exception):
    """The body cannot be decoded (400); the message is one sentence for the client."""


class TooLarge(Exception):
    """The body, inflated, is over the configured limit (413)."""


class UnsupportedMediaType(Exception):
    """The content type or encoding is not one OTLP/HTTP defines (415)."""


def body_format(content_type: str | None) -> Format:
    """The body format named by a Content-Type header (parameters such as charset are ignored)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        return "protobuf"
    if media == JSON:
        return "json"
    raise UnsupportedMediaType(
        f"Content-Type {content_type!r} is not supported; send {PROTOBUF} or {JSON}"
    )


def inflate(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding: gzip`` (or deflate) without ever holding more than ``max_bytes``.

    A gzip body may be several members one after the other (RFC 1952; ``cat a.gz b.gz``): every member is
    inflated, as ``gzip -d`` does. Anything after the data that is not another member is refused, not
    silently ignored.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > max_bytes:
            raise TooLarge(f"request body of {len(body)} bytes is over the limit of {max_bytes} bytes")
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedMediaType(f"Content-Encoding {content_encoding!r} is not supported; use gzip")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(rest, max_bytes + 1 - size)
        except zlib.error as err:
            raise BadRequest(f"body is not valid {encoding} data ({err})") from None
        size += len(part)
        if size > max_bytes:
            raise TooLarge(f"inflated request body is over the limit of {max_bytes} bytes")
        if not inflater.eof:
            raise BadRequest(f"{encoding} body is truncated")
        parts.append(part)
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)
        if encoding != "gzip" or not rest.startswith(_GZIP_MAGIC):
            raise BadRequest(f"{len(rest)} bytes of trailing data after the {encoding} body")


def decode(
    signal: Signal, body: bytes, fmt: Format, repairs: Repairs, *, wire: bool = False
) -> tuple[Message, int]:
    """Parse a body into the signal's export request; returns (request, items that could not be parsed).

    With ``wire``, a protobuf body the runtime accepts as it is comes back as the twin its mapper walks
    (``_wire_attributes``: item attributes as encoded bytes), parsed from the same bytes; the real parse
    before it is what validates them. The mapper turns any other request into its twin itself, so
    ``wire`` only saves a re-encoding.

    Raises:
        BadRequest: the body as a whole is not a request of this signal.
    """
    types = SIGNALS[signal]
    if fmt == "protobuf":
        try:
            request = types.request.FromString(body)
            return (types.wire.FromString(body) if wire and types.wire is not None else request), 0
        except DecodeError as err:
            if not refused_but_repairable(err):
                raise BadRequest(f"body is not a protobuf {types.request.__name__} ({err})") from None
        try:
            return parse_repairing(types.request, body, repairs), 0
        except DecodeError as err:
            raise BadRequest(f"body is not a protobuf {types.request.__name__} ({err})") from None
    return _decode_json(types, body, repairs)


def count_items(signal: Signal, request: Message) -> int:
    """Log records, spans or metric data points in a decoded request (upb: lengths, no Python objects)."""
    types = SIGNALS[signal]
    total = 0
    for resource in getattr(request, types.resource_field):
        for scope in getattr(resource, types.scope_field):
            items = getattr(scope, types.items_field)
            if signal != "metrics":
                total += len(items)
                continue
            for metric in items:
                kind = metric.WhichOneof("data")
                total += len(getattr(metric, kind).data_points) if kind else 1
    return total


def _decode_json(types: _SignalTypes, body: bytes, repairs: Repairs) -> tuple[Message, int]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        repairs["invalid_utf8"] += 1
        text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise BadRequest(f"body is not JSON ({err})") from None
    if not isinstance(document, dict):
        raise BadRequest(f"body must be a JSON object, got {type(document).__name__}")
    _hex_ids_to_base64(document, repairs)
    request = types.request()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
        return request, 0
    except (json_format.ParseError, ValueError, TypeError, RecursionError):
        request.Clear()
    return request, _parse_item_by_item(types, document, request)


def _parse_item_by_item(types: _SignalTypes, document: dict[str, Any], request: Message) -> int:
    """Parse each log record / span / metric on its own; return how many could not be parsed."""
    failed = 0
    resources = _get(document, types.resource_field)
    if not isinstance(resources, list):
        raise BadRequest(f"{types.resource_field!r} must be a JSON array")
    for resource_doc in resources:
        target = getattr(request, types.resource_field).add()
        if not isinstance(resource_doc, dict) or not _parse_into(
            {k: v for k, v in resource_doc.items() if k not in _names(types.scope_field)}, target
        ):
            raise BadRequest(f"an item of {types.resource_field!r} is malformed")
        for scope_doc in _get(resource_doc, types.scope_field) or []:
            scope = getattr(target, types.scope_field).add()
            if not isinstance(scope_doc, dict) or not _parse_into(
                {k: v for k, v in scope_doc.items() if k not in _names(types.items_field)}, scope
            ):
                raise BadRequest(f"an item of {types.scope_field!r} is malformed")
            items = getattr(scope, types.items_field)
            for item_doc in _get(scope_doc, types.items_field) or []:
                item = items.add()
                if not isinstance(item_doc, dict) or not _parse_into(item_doc, item):
                    del items[-1]
                    failed += 1
    return failed


def _names(field: str) -> tuple[str, str]:
    head, *rest = field.split("_")
    return field, head + "".join(part.title() for part in rest)


def _get(document: dict[str, Any], field: str) -> Any:
    snake, camel = _names(field)
    return document.get(camel, document.get(snake))


def _parse_into(document: dict[str, Any], message: Message) -> bool:
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError):
        return False
    return True


def _hex_ids_to_base64(node: Any, repairs: Repairs) -> None:
    """OTLP JSON spells ids in hex; protobuf's JSON mapping expects base64 for bytes fields."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key in _ID_KEYS and isinstance(value, str):
                    try:
                        current[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                    except ValueError:
                        repairs["invalid_hex_id"] += 1
                        current[key] = ""
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(current, list):
            stack.extend(item for item in current if isinstance(item, dict | list))


def response_body(signal: Signal, fmt: Format, rejected: int, error_message: str) -> tuple[bytes, str]:
    """The export response in the request's format, with partial_success when items were rejected."""
    types = SIGNALS[signal]
    response = types.response()
    if rejected or error_message:
        setattr(response.partial_success, types.rejected_field, rejected)
        response.partial_success.error_message = error_message
    if fmt == "protobuf":
        return response.SerializeToString(), PROTOBUF
    return json_format.MessageToJson(response, indent=None).encode(), JSON
