"""Emit one §1.2 event: a log call whose record carries the event name and the §1.1 fields.

The api middleware, the worker contexts and the webhook context all log the same way: a message, a
``vocab.EVENT_*`` name the sink keys its tables on, the schema's top-level fields, and an ``extra`` object.
Doing it in one place keeps the record shape identical across the three services.
"""

from __future__ import annotations

import logging
from typing import Any

from rythmiq_otel import vocab

__all__ = ["emit"]


def emit(
    logger: logging.Logger,
    level: int,
    message: str,
    *,
    event: str,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Log ``message`` as ``event`` with the given §1.1 ``fields`` (``None`` values are left out)."""
    record_fields: dict[str, Any] = {key: value for key, value in fields.items() if value is not None}
    record_fields[vocab.EVENT_FIELD] = event
    if extra:
        record_fields["extra"] = {key: value for key, value in extra.items() if value is not None}
    logger.log(level, message, extra=record_fields)
