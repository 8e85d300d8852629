"""Turning OTLP wire values into storable Python values, repairing what Postgres would refuse.

Every repair or rejection is counted by reason in a `Repairs` tally, so bad input is visible in the
sink's health metrics (and in partial_success) instead of silently changing data or taking a batch down:

- NUL characters: Postgres ``text`` and ``jsonb`` reject U+0000; it is replaced by U+FFFD.
- huge values: strings are cut at ``MAX_VALUE_CHARS`` (messages at ``MAX_MESSAGE_CHARS``); text that lands
  in an indexed column at ``MAX_KEY_CHARS`` (a B-tree entry holds about 2.7 kB, and one value over it
  fails the whole COPY).
- numbers out of range: integers outside the column's type, floats beyond ``MAX_MAGNITUDE`` (so that no
  sum in a view, rollup or ``get_monthly_cpu_usage()`` can overflow a double) are not stored.
- deep nesting: arrays/maps deeper than ``MAX_DEPTH`` are replaced by a marker string.
- ids of the wrong length: trace ids must be 16 bytes, span ids 8; others are dropped (stored as NULL).
- timestamps of 0 or outside [2000-01-01, now + 1 day]: the caller falls back or rejects the item.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

MAX_VALUE_CHARS = 16_384
MAX_MESSAGE_CHARS = 65_536
MAX_DEPTH = 8
#: Longest text stored in an indexed column (error_code, event_name, stage, metric_name, service, ...):
#: 256 characters are at most 1 KiB of UTF-8, well inside a B-tree entry even beside a second text column.
MAX_KEY_CHARS = 256
#: Largest magnitude of a stored float. Sums over up to 10**200 rows of such values stay finite, so no
#: aggregate of the store (views, rollups, get_monthly_cpu_usage) can fail with "value out of range".
MAX_MAGNITUDE = 1e100
INT4_BITS = 32
INT8_BITS = 64
MIN_TIME_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z
FUTURE_SLACK_NS = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Repairs(Counter[str]):
    """Counts of repaired values and rejected items, keyed by a short reason (``nul_byte``)."""


def clean_text(text: str, repairs: Repairs, limit: int = MAX_VALUE_CHARS) -> str:
    """Return ``text`` without NUL characters and at most ``limit`` characters long."""
    if "\x00" in text:
        repairs["nul_byte"] += 1
        text = text.replace("\x00", "\ufffd")
    if len(text) > limit:
        repairs["value_truncated"] += 1
        text = text[:limit]
    return text


def key_text(text: str, repairs: Repairs) -> str:
    """``clean_text`` for a column under a B-tree index: at most ``MAX_KEY_CHARS`` characters."""
    if len(text) > MAX_KEY_CHARS:
        repairs["key_truncated"] += 1
        text = text[:MAX_KEY_CHARS]
    return clean_text(text, repairs)


def storable_float(number: float) -> bool:
    """Whether a float may be stored: finite and within ``MAX_MAGNITUDE``."""
    return -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE


def any_value(value: Any, repairs: Repairs, depth: int = 0) -> Any:
    """Convert an ``AnyValue`` message to JSON-compatible Python, except bytes, which stay ``bytes``: the
    PII layer replaces them (file contents), and ``_origin.dumps`` would write any left as base64."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return clean_text(value.string_value, repairs)
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        if not math.isfinite(number):
            repairs["non_finite_number"] += 1
            return str(number)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind is None:
        return None
    if depth >= MAX_DEPTH:
        repairs["nesting_too_deep"] += 1
        return "[TRUNCATED:depth]"
    if kind == "array_value":
        return [any_value(item, repairs, depth + 1) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {
            clean_text(kv.key, repairs): any_value(kv.value, repairs, depth + 1)
            for kv in value.kvlist_value.values
        }
    data = value.bytes_value
    if len(data) > MAX_VALUE_CHARS:
        repairs["value_truncated"] += 1
        data = data[:MAX_VALUE_CHARS]
    return data


def attributes_dict(attributes: Any, repairs: Repairs) -> dict[str, Any]:
    """Convert a repeated ``KeyValue`` field to a dict (a repeated key keeps its last value)."""
    out: dict[str, Any] = {}
    for kv in attributes:
        key, value = attribute(kv, repairs)
        out[key] = value
    return out


def attribute(kv: Any, repairs: Repairs) -> tuple[str, Any]:
    """One ``KeyValue`` as (key, value), repaired like any value.

    The hot loop of the sink: short clean strings and plain scalars, the common case, are taken without the
    general ``any_value`` walk.
    """
    key = kv.key
    if "\x00" in key or len(key) > MAX_VALUE_CHARS:
        key = clean_text(key, repairs)
    value = kv.value
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        return key, clean_text(text, repairs) if "\x00" in text or len(text) > MAX_VALUE_CHARS else text
    if kind in {"int_value", "bool_value"}:
        return key, getattr(value, kind)
    if kind == "double_value" and math.isfinite(number := value.double_value):
        return key, number
    return key, any_value(value, repairs)


def trace_id_hex(raw: bytes, repairs: Repairs) -> str | None:
    """Return the 32-hex-digit trace id, or ``None`` for an absent, all-zero or wrong-length id."""
    if len(raw) == 16:
        return None if raw == _ZERO_TRACE else raw.hex()
    if raw:
        repairs["invalid_trace_id"] += 1
    return None


def span_id_hex(raw: bytes, repairs: Repairs) -> str | None:
    """Return the 16-hex-digit span id, or ``None`` for an absent, all-zero or wrong-length id."""
    if len(raw) == 8:
        return None if raw == _ZERO_SPAN else raw.hex()
    if raw:
        repairs["invalid_span_id"] += 1
    return None


def as_uuid(value: Any, repairs: Repairs, reason: str) -> str | None:
    """Canonical UUID text of an attribute (any spelling ``uuid.UUID`` accepts); count ``reason`` if none."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 36 and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(UUID(str(value)))
    except ValueError:
        repairs[reason] += 1
        return None


def hex_to_uuid_text(hex32: str) -> str:
    """A trace id as a correlation id: ``7c9e...0ae7`` → ``7c9e6679-7425-40de-944b-e07fc1f90ae7``."""
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def as_float(value: Any, repairs: Repairs, reason: str) -> float | None:
    """Coerce a numeric attribute (numbers or numeric strings); count ``reason`` otherwise."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        repairs[reason] += 1
        return None
    if not -MAX_MAGNITUDE <= number <= MAX_MAGNITUDE:  # storable_float, inline: a per-record hot path
        repairs[reason] += 1
        return None
    return number


def as_int(value: Any, repairs: Repairs, reason: str, bits: int = INT4_BITS) -> int | None:
    """Coerce an integer attribute (a whole float too) within a signed ``bits`` column (Postgres ``int4``
    or ``int8``); count ``reason`` otherwise."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        repairs[reason] += 1
        return None
    limit = 2 ** (bits - 1)
    if not -limit <= number < limit:
        repairs[reason] += 1
        return None
    return number


def valid_time_ns(ns: int, horizon_ns: int) -> bool:
    """Whether ``ns`` is a plausible event time: after 2000-01-01 and before ``horizon_ns``."""
    return MIN_TIME_NS <= ns <= horizon_ns


def from_unix_nano(ns: int) -> datetime:
    """Exact conversion to an aware UTC datetime (microsecond precision, as Postgres stores); integer
    multiplication of a one-microsecond ``timedelta``, a third cheaper than building one from keywords."""
    return _EPOCH + _MICROSECOND * (ns // 1000)
