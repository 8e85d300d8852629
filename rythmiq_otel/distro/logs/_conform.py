"""Keep every JSON line valid against the §1.1 schema whatever a caller passed.

The schema types some fields (``job_id`` and ``correlation_id`` are UUIDs, ``stage`` an enum,
``http_status`` an integer, ``latency_ms`` / ``cpu_seconds`` numbers). A value that does not fit is not
dropped: it moves into ``extra`` under the same key, so nothing is lost and the line still validates.
Stage spellings the spec uses elsewhere (``OCR``, ``upload``) are mapped to the canonical one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rythmiq_otel import vocab

__all__ = ["conform"]

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MISFIT = object()


# Canonical UUID strings seen lately (a job's id and its trace's correlation id are on every line of it):
# a set lookup instead of a regex match. Cleared whole when full, so it never grows past a bound.
_CANONICAL_SEEN: set[str] = set()
_SEEN_MAX = 4096


def _uuid(value: Any) -> Any:
    if type(value) is str:
        if value in _CANONICAL_SEEN:
            return value
        if _UUID_RE.fullmatch(value):
            if len(_CANONICAL_SEEN) >= _SEEN_MAX:
                _CANONICAL_SEEN.clear()
            _CANONICAL_SEEN.add(value)
            return value
    text = str(value).lower()
    return text if _UUID_RE.fullmatch(text) else _MISFIT


_CANONICAL_STAGES = frozenset(vocab.STAGES)


def _stage(value: Any) -> Any:
    if value in _CANONICAL_STAGES:
        return value
    return (vocab.canonical_stage(value) or _MISFIT) if isinstance(value, str) else _MISFIT


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else _MISFIT


def _integer(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else _MISFIT


def _string(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "stage": _stage,
    "job_id": _uuid,
    "correlation_id": _uuid,
    "user_id_hash": _string,
    "latency_ms": _number,
    "cpu_seconds": _number,
    "error_code": _string,
    "error_stage": _string,
    "http_method": _string,
    "http_path": _string,
    "http_status": _integer,
}


def conform(fields: dict[str, Any]) -> dict[str, Any]:
    """Coerce the typed fields present in ``fields``; move the ones that cannot fit into ``extra``."""
    for key, check in _CHECKS.items():
        if key in fields:
            value = fields[key]
            fitted = check(value)
            if fitted is _MISFIT:
                del fields[key]
                fields.setdefault("extra", {})[key] = value
            elif fitted is not value:
                fields[key] = fitted
    return fields
