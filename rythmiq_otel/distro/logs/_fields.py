"""Turn one stdlib ``LogRecord`` into the spec's record: the one dict both log outputs are rendered from.

The spec's logger API (§1.6) passes fields through ``extra=`` (``stage``, ``job_id``, ..., and a nested
``extra`` object). This module reads them off the record once, maps Python's level names onto the spec's
four (WARNING -> WARN, CRITICAL -> ERROR) and formats the timestamp as UTC ISO 8601 with milliseconds and
``Z``. Any other ``extra=`` key is folded into the ``extra`` object rather than dropped.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from rythmiq_otel import vocab

__all__ = ["fields_from_record", "level_of", "utc_timestamp"]

# Attributes every stdlib LogRecord has; anything else on a record came from ``extra=``. Also left out:
# uvicorn's ``color_message``, its own message again with ANSI colour codes, for its colouring formatter.
_STANDARD_ATTRS = frozenset({
    *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
    "message", "asctime", "taskName", "color_message",
})
_TOP_LEVEL = frozenset(vocab.LOG_ATTRIBUTE_FIELDS)
_LEVELS = ((logging.ERROR, "ERROR"), (logging.WARNING, "WARN"), (logging.INFO, "INFO"))

# (second, "YYYY-MM-DDTHH:MM:SS") of the last timestamp; replaced whole so threads never see a torn pair.
_second_cache: list[tuple[int, str]] = [(-1, "")]


def level_of(levelno: int) -> str:
    """The spec's level name for a stdlib level number (custom levels round down to the nearest)."""
    for threshold, name in _LEVELS:
        if levelno >= threshold:
            return name
    return "DEBUG"


def utc_timestamp(created: float) -> str:
    """``2026-01-30T14:23:45.123Z`` for a ``time.time()`` value; the per-second prefix is cached."""
    seconds = int(created)
    cached = _second_cache[0]
    if cached[0] != seconds:
        cached = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
        _second_cache[0] = cached
    return f"{cached[1]}.{int((created - seconds) * 1000):03d}Z"


def fields_from_record(
    record: logging.LogRecord, service: str, *, message: str | None = None
) -> dict[str, Any]:
    """Build the spec record for ``record`` as emitted by a logger of ``service``.

    Keys: ``timestamp``, ``level``, ``service``, ``message``, then any of ``vocab.LOG_ATTRIBUTE_FIELDS``
    the call passed, ``event``, ``extra`` (only when non-empty) and ``exception`` (type, message,
    stacktrace) when the call carried ``exc_info``. ``message`` is the record's message formatted at the
    call, when the record is built later (its ``args`` may have changed since); by default it is formatted
    now.
    """
    fields: dict[str, Any] = {
        "timestamp": utc_timestamp(record.created),
        "level": level_of(record.levelno),
        "service": service,
        "message": record.getMessage() if message is None else message,
    }
    extra: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD_ATTRS or value is None:
            continue
        if key in _TOP_LEVEL:
            fields[key] = value
        elif key == "extra":
            if isinstance(value, dict):
                extra.update(value)
            else:
                extra["value"] = value
        elif key == vocab.EVENT_FIELD:
            fields[key] = str(value)
        else:
            extra[key] = value
    if extra:
        fields["extra"] = extra
    if record.exc_info and record.exc_info[1] is not None:
        exc_type, exc, tb = record.exc_info
        fields["exception"] = {
            "type": exc_type.__qualname__ if exc_type else type(exc).__qualname__,
            "message": _exception_text(exc),
            "stacktrace": "".join(traceback.format_exception(exc_type, exc, tb)),
        }
    return fields


def _exception_text(exc: BaseException) -> str:
    """``str(exc)``, or the placeholder the stdlib prints when that raises: the record is kept."""
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"
