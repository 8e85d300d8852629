"""Mapping OTLP log records to ``logs`` rows (docs/contracts.md §1 → §2): a pure function, no I/O.

Each §1.1 field travels as an attribute of the same name (``vocab.LOG_ATTRIBUTE_FIELDS``) and lands in its
column; ``extra.*`` attributes fold back into the ``extra`` object; ``event.name`` becomes ``event_name``;
everything else stays in ``attributes``. The service comes from the resource (``rythmiq.service``).

Most records take a fast path (``_LogRows``): each distinct attribute of a request is decoded, judged by
the PII layer, sorted into its column, ``extra`` or ``attributes`` and written as a JSON fragment once, so a
record is a few lookups and joins. A record with anything unusual -- a repair, a redaction, a repeated
key, a nested ``extra`` path, a structured body, a bad time or id -- goes through the general path
(``_log_row``) instead, which handles (and counts) every case; both give the same row.

Dedup key: a hash of the resource, the scope and the record's own protobuf encoding. A retried request
carries byte-identical records, so it maps to the same keys and ``ON CONFLICT DO NOTHING`` drops it; two
records that differ in any field (time, body, any attribute, trace context) get different keys.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from rythmiq_otel import vocab

from ._context import MapContext
from ._origin import Origin, dedup_key, dumps, item_rows
from ._rows import LogRow
from ._values import (
    MAX_KEY_CHARS,
    MAX_MESSAGE_CHARS,
    MIN_TIME_NS,
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
from ._wire_attributes import MAX_REMEMBERED, LogsWire, WireAttributes, as_wire, decode_pair

_LEVEL_BY_TEXT = {
    "TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "FATAL": "ERROR", "CRITICAL": "ERROR",
}
_NUMBER_BY_LEVEL = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}
_COLUMN_FIELDS = frozenset(vocab.LOG_ATTRIBUTE_FIELDS)
_PREFIX_LEN = len(vocab.EXTRA_PREFIX)
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


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
    wire = as_wire(request, LogsWire)
    return item_rows(wire.resource_logs, "scope_logs", "log_records", ctx, _LogRows(ctx))


#: A prepared attribute: (key, (column, stored value) | None, ``extra`` JSON fragment | None, ``attributes``
#: JSON fragment | None). The event name counts as a column here (``_EVENT``).
_Prepared = tuple[str, tuple[str, Any] | None, str | None, str | None]
_EVENT = vocab.EVENT_NAME_ATTR
_KEY_OF, _COLUMN_OF, _EXTRA_OF, _REST_OF = (itemgetter(i) for i in range(4))


class _LogRows:
    """The fast path of one request's records; anything it does not take goes to ``_log_row``.

    Everything remembered here is what the general path would compute for the same input, and only what
    it computes with no repair and no redaction (those are counted per occurrence, so such a record
    always takes the general path): a prepared attribute per distinct encoded ``KeyValue`` (judged by
    the PII layer on its own, as ``WireAttributes`` does), the scrubbed message per distinct body text,
    the scrubbed event name per distinct ``LogRecord.event_name``, the level per severity.
    """

    def __init__(self, ctx: MapContext) -> None:
        self._ctx = ctx
        self._general = functools.partial(_log_row, attributes=WireAttributes(ctx))
        self._prepared: dict[bytes, _Prepared] = {}
        self._messages: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._levels: dict[tuple[str, int], tuple[str, int]] = {}
        self._repairs = Repairs()
        self._trial: Counter[str] = Counter()

    def __call__(self, record: Any, ctx: MapContext, origin: Origin) -> LogRow | None:
        time_ns = record.time_unix_nano
        horizon = ctx.horizon_ns
        body = record.body
        trace_raw = record.trace_id
        span_raw = record.span_id
        if (not MIN_TIME_NS <= time_ns <= horizon or body.WhichOneof("value") != "string_value"
                or len(trace_raw) not in (0, 16) or len(span_raw) not in (0, 8)):
            return self._general(record, ctx, origin)
        raws = record.attributes
        entries = list(map(self._prepared.get, raws))
        if None in entries and not self._learn(raws, entries):
            return self._general(record, ctx, origin)
        if len(set(map(_KEY_OF, entries))) != len(entries):
            return self._general(record, ctx, origin)  # a repeated key: the last value wins there
        message = self._messages.get(text := body.string_value)
        if message is None and (message := self._remember(self._messages, text, _clean_message)) is None:
            return self._general(record, ctx, origin)
        columns = dict(filter(None, map(_COLUMN_OF, entries)))
        event_name = columns.get(_EVENT)
        if event_name is None and (name := record.event_name):
            event_name = self._names.get(name)
            if event_name is None and (event_name := self._remember(self._names, name, _clean_name)) is None:
                return self._general(record, ctx, origin)
        severity = (record.severity_text, record.severity_number)
        level = self._levels.get(severity)
        if level is None:
            text = level_from(*severity)
            level = (text, severity[1] or _NUMBER_BY_LEVEL[text])
            if len(self._levels) < MAX_REMEMBERED:  # severity_text is free text: bounded like the rest
                self._levels[severity] = level
        trace_id = trace_raw.hex() if trace_raw and trace_raw != _ZERO_TRACE else None
        timestamp = from_unix_nano(time_ns)
        observed_ns = record.observed_time_unix_nano
        if not MIN_TIME_NS <= observed_ns <= horizon:
            observed = None
        else:
            observed = timestamp if observed_ns == time_ns else from_unix_nano(observed_ns)
        get = columns.get
        return LogRow(
            timestamp, observed, level[0], level[1], origin.service, get("stage"), get("job_id"),
            get("correlation_id") or (trace_id and hex_to_uuid_text(trace_id)), get("user_id_hash"),
            get("latency_ms"), get("cpu_seconds"), get("error_code"), get("error_stage"), get("http_method"),
            get("http_path"), get("http_status"), message,
            "{" + ",".join(filter(None, map(_EXTRA_OF, entries))) + "}", event_name, trace_id,
            span_raw.hex() if span_raw and span_raw != _ZERO_SPAN else None,
            "{" + ",".join(filter(None, map(_REST_OF, entries))) + "}", origin.resource_json,
            origin.scope_name, dedup_key(origin.identity, record),
        )

    def _learn(self, raws: Any, entries: list[_Prepared | None]) -> bool:
        """Prepare the record's attributes not seen before (in place); False sends the record to the
        general path: a repair, a container, a repeated new key, a PII hit, or an attribute only the general
        path handles."""
        repairs = self._repairs
        fresh: dict[str, Any] = {}
        new: list[tuple[int, bytes, str, Any]] = []
        index = -1
        for _ in range(entries.count(None)):  # usually one or two of ten: found by list.index, in C
            index = entries.index(None, index + 1)
            raw = raws[index]
            key, value, rememberable = decode_pair(raw, repairs)
            if not rememberable or key in fresh:
                repairs.clear()
                return False
            fresh[key] = value
            new.append((index, raw, key, value))
        trial = self._trial
        if self._ctx.scrubber.attributes(fresh, "attributes", trial) is not fresh or trial:
            trial.clear()
            return False
        prepared = self._prepared
        for index, raw, key, value in new:
            entry = self._prepare(key, value)
            if entry is None:
                return False
            entries[index] = entry
            if len(prepared) < MAX_REMEMBERED:
                prepared[raw] = entry
        return True

    def _prepare(self, key: str, value: Any) -> _Prepared | None:
        """Where a clean scalar attribute lands, as ``_log_row`` would put it; None if it has to be seen
        there (a repair in its column, a nested ``extra`` path, a ``service`` that may name the service)."""
        if key in _COERCE:
            stored = _COERCE[key](value, self._repairs)
            if self._repairs:
                self._repairs.clear()
                return None
            return key, (key, stored), None, None
        if key == _EVENT:
            name = isinstance(value, str) and value and self._remember(self._names, value, _clean_name)
            return (key, (key, name), None, None) if name else None
        if key.startswith(vocab.EXTRA_PREFIX):
            path = key[_PREFIX_LEN:]
            return None if "." in path else (key, None, dumps({path: value})[1:-1], None)
        return None if key == "service" else (key, None, None, dumps({key: value})[1:-1])

    def _remember(
        self, cache: dict[str, str], text: str, clean: Callable[[str, MapContext, Repairs, Counter[str]], str]
    ) -> str | None:
        """``clean(text)`` if it repairs and redacts nothing (remembered), else None."""
        result = clean(text, self._ctx, self._repairs, self._trial)
        if self._repairs or self._trial:
            self._repairs.clear()
            self._trial.clear()
            return None
        if len(cache) < MAX_REMEMBERED:
            cache[text] = result
        return result


def _clean_message(text: str, ctx: MapContext, repairs: Repairs, redactions: Counter[str]) -> str:
    return ctx.scrubber.text(clean_text(text, repairs, MAX_MESSAGE_CHARS), "body", redactions)


def _clean_name(text: str, ctx: MapContext, repairs: Repairs, redactions: Counter[str]) -> str:
    name = _key(text, repairs)
    return ctx.scrubber.text(name, "event_name", redactions) if name else name


def _log_row(record: Any, ctx: MapContext, origin: Origin, *, attributes: WireAttributes) -> LogRow | None:
    """The general path: every record can take it, whatever it holds."""
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
        message = _clean_message(body.string_value, ctx, repairs, ctx.redactions)
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
            columns[key] = _COERCE[key](value, repairs)
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
    correlation_id = columns.get("correlation_id")
    if correlation_id is None and trace_id is not None:
        correlation_id = hex_to_uuid_text(trace_id)
    level = level_from(record.severity_text, record.severity_number)
    timestamp = from_unix_nano(time_ns)
    if not observed_ok:
        observed = None
    else:
        observed = timestamp if observed_ns == time_ns else from_unix_nano(observed_ns)
    get = columns.get
    return LogRow(
        timestamp=timestamp,
        observed_timestamp=observed,
        level=level,
        severity_number=record.severity_number or _NUMBER_BY_LEVEL[level],
        service=service,
        stage=get("stage"),
        job_id=get("job_id"),
        correlation_id=correlation_id,
        user_id_hash=get("user_id_hash"),
        latency_ms=get("latency_ms"),
        cpu_seconds=get("cpu_seconds"),
        error_code=get("error_code"),
        error_stage=get("error_stage"),
        http_method=get("http_method"),
        http_path=get("http_path"),
        http_status=get("http_status"),
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


#: How each §1.1 attribute becomes its column's value (counting what it cannot take in ``Repairs``).
_COERCE: dict[str, Callable[[Any, Repairs], Any]] = {
    "stage": _stage,
    "job_id": lambda value, repairs: as_uuid(value, repairs, "invalid_job_id"),
    "correlation_id": lambda value, repairs: as_uuid(value, repairs, "invalid_correlation_id"),
    "user_id_hash": lambda value, _: _text(value),
    "latency_ms": lambda value, repairs: as_float(value, repairs, "invalid_latency_ms"),
    "cpu_seconds": lambda value, repairs: as_float(value, repairs, "invalid_cpu_seconds"),
    "error_code": _key,
    "error_stage": _stage,
    "http_method": lambda value, _: _text(value),
    "http_path": lambda value, _: _text(value),
    "http_status": lambda value, repairs: as_int(value, repairs, "invalid_http_status"),
}
assert set(_COERCE) == _COLUMN_FIELDS
