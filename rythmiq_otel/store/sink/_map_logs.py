"""Mapping OTLP log records to ``logs`` rows (docs/contracts.md §1 → §2): a pure function, no I/O.

Each §1.1 field travels as an attribute of the same name (``vocab.LOG_ATTRIBUTE_FIELDS``) and lands in its
column; ``extra.*`` attributes fold back into the ``extra`` object; ``event.name`` becomes ``event_name``;
everything else stays in ``attributes``. The service comes from the resource (``rythmiq.service``).

Dedup key: a hash of the resource, the scope and the record's own protobuf encoding. A retried request
carries byte-identical records, so it maps to the same keys and ``ON CONFLICT DO NOTHING`` drops it; two
records that differ in any field (time, body, any attribute, trace context) get different keys.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from rythmiq_otel import vocab

from ._context import MapContext
from ._log_attributes import LogAttributes, logs_wire
from ._origin import Origin, dedup_key, dumps, item_rows
from ._rows import LogRow
from ._values import (
    MAX_KEY_CHARS,
    MAX_MESSAGE_CHARS,
    Repairs,
    any_value,
    as_float,
    as_int,
    as_uuid,
    clean_text,
    from_unix_nano,
    hex_to_uuid_text,
    key_text,
    span_id_hex,
    trace_id_hex,
    valid_time_ns,
)

_LEVEL_BY_TEXT = {
    "TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "FATAL": "ERROR", "CRITICAL": "ERROR",
}
_NUMBER_BY_LEVEL = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}
_COLUMN_FIELDS = frozenset(vocab.LOG_ATTRIBUTE_FIELDS)
_PREFIX_LEN = len(vocab.EXTRA_PREFIX)


def level_from(severity_text: str, severity_number: int) -> str:
    """The spec's level (DEBUG/INFO/WARN/ERROR) from OTLP severity: text if it names one, else the number."""
    level = _LEVEL_BY_TEXT.get(severity_text.upper())
    if level:
        return level
    if severity_number >= 17:
        return "ERROR"
    if severity_number >= 13:
        return "WARN"
    if 1 <= severity_number < 9:
        return "DEBUG"
    return "INFO"


def log_rows(request: Any, ctx: MapContext) -> Iterator[LogRow]:
    """Yield one ``LogRow`` per acceptable record of an ``ExportLogsServiceRequest``."""
    return item_rows(logs_wire(request).resource_logs, "scope_logs", "log_records", ctx,
                     functools.partial(_log_row, attributes=LogAttributes(ctx)))


def _log_row(record: Any, ctx: MapContext, origin: Origin, *, attributes: LogAttributes) -> LogRow | None:
    repairs = ctx.repairs
    time_ns = record.time_unix_nano
    observed_ns = record.observed_time_unix_nano
    observed_ok = valid_time_ns(observed_ns, ctx.horizon_ns)
    if not valid_time_ns(time_ns, ctx.horizon_ns):
        if not observed_ok:
            ctx.reject("logs", "log_without_valid_time",
                       f"log record time_unix_nano={time_ns} and observed_time_unix_nano={observed_ns} "
                       "are both missing or out of range")
            return None
        repairs["log_time_from_observed"] += 1
        time_ns = observed_ns

    attrs = attributes(record.attributes)
    body = record.body
    if body.WhichOneof("value") == "string_value":
        message = clean_text(body.string_value, repairs, MAX_MESSAGE_CHARS)
        message = ctx.scrubber.text(message, "body", ctx.redactions)
    else:  # structured: walked like attributes (bytes in it are file contents), then written as JSON
        message = (
            dumps(ctx.scrubber.data(any_value(body, repairs), "body", ctx.redactions))
            if record.HasField("body") else ""
        )
        if len(message) > MAX_MESSAGE_CHARS:
            repairs["value_truncated"] += 1
            message = message[:MAX_MESSAGE_CHARS]

    columns: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in _COLUMN_FIELDS:
            columns[key] = value
        elif key.startswith(vocab.EXTRA_PREFIX):
            path = key[_PREFIX_LEN:]
            if "." in path:
                _fold(extra, path, value)
            else:
                extra[path] = value
        else:
            rest[key] = value
    event_name = _key(rest.pop(vocab.EVENT_NAME_ATTR, None) or record.event_name or None, repairs)
    if event_name:
        event_name = ctx.scrubber.text(event_name, "event_name", ctx.redactions)
    service = origin.service
    if service is None and isinstance(rest.get("service"), str):
        service = rest.pop("service")

    trace_id = trace_id_hex(record.trace_id, repairs)
    correlation_id = as_uuid(columns.get("correlation_id"), repairs, "invalid_correlation_id")
    if correlation_id is None and trace_id is not None:
        correlation_id = hex_to_uuid_text(trace_id)
    level = level_from(record.severity_text, record.severity_number)
    timestamp = from_unix_nano(time_ns)
    if not observed_ok:
        observed = None
    else:
        observed = timestamp if observed_ns == time_ns else from_unix_nano(observed_ns)
    return LogRow(
        timestamp=timestamp,
        observed_timestamp=observed,
        level=level,
        severity_number=record.severity_number or _NUMBER_BY_LEVEL[level],
        service=service,
        stage=_stage(columns.get("stage"), repairs),
        job_id=as_uuid(columns.get("job_id"), repairs, "invalid_job_id"),
        correlation_id=correlation_id,
        user_id_hash=_text(columns.get("user_id_hash")),
        latency_ms=as_float(columns.get("latency_ms"), repairs, "invalid_latency_ms"),
        cpu_seconds=as_float(columns.get("cpu_seconds"), repairs, "invalid_cpu_seconds"),
        error_code=_key(columns.get("error_code"), repairs),
        error_stage=_stage(columns.get("error_stage"), repairs),
        http_method=_text(columns.get("http_method")),
        http_path=_text(columns.get("http_path")),
        http_status=as_int(columns.get("http_status"), repairs, "invalid_http_status"),
        message=message,
        extra=dumps(extra),
        event_name=event_name,
        trace_id=trace_id,
        span_id=span_id_hex(record.span_id, repairs),
        attributes=dumps(rest),
        resource=origin.resource_json,
        scope_name=origin.scope_name,
        dedup_key=dedup_key(origin.identity, record),
    )


def _fold(target: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at the dotted ``path`` ("a.b" → {"a": {"b": value}}), keeping earlier leaves."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {} if child is None else {"": child}
        target = child
    target[leaf] = value


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return dumps(value)


def _key(value: Any, repairs: Repairs) -> str | None:
    """Text for an indexed column (error_code, event_name, stages): non-strings as JSON, NULs replaced
    (``record.event_name`` arrives unrepaired), at most ``MAX_KEY_CHARS`` long."""
    if value is None or (isinstance(value, str) and len(value) <= MAX_KEY_CHARS and "\x00" not in value):
        return value  # the common cases, without a call
    text = _text(value)
    return None if text is None else key_text(text, repairs)


def _stage(value: Any, repairs: Repairs) -> str | None:
    """Canonical stage name for known spellings (``OCR`` → ``ocr``); other text is kept as sent."""
    if value is None:
        return None
    return _canonical_stage(_key(value, repairs) or "")


@functools.lru_cache(maxsize=256)
def _canonical_stage(text: str) -> str:
    return vocab.canonical_stage(text) or text
