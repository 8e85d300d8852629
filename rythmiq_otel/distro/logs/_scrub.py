"""The call site of the PII guard (§1.4) in the log pipeline: scrub the record before either output.

The rules and the walker live in ``rythmiq_otel.pii`` (shared with the sink); reporting a hit (metric,
key-name-only event) lives in ``rythmiq_otel.distro._pii``. This module decides whether the guard is on
(``RYTHMIQ_PII_GUARD``), wires the two in, and hands the walker only the fields a caller could have put
text into. The rest cannot carry PII by construction, and skipping them halves the walk: ``timestamp``,
``level`` and ``service`` are ours; ``trace_id``, ``span_id`` and ``correlation_id`` are hex spellings of
integers; ``job_id`` and a caller's ``correlation_id`` only stay top-level when ``_conform`` found
them to be UUIDs (anything else was moved into ``extra``, which is scrubbed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rythmiq_otel.distro._pii import current_scrubber, report
from rythmiq_otel.distro.setup import _settings
from rythmiq_otel.pii import STRICT_PROSE_WORDS, Redaction, marker

__all__ = ["scrub", "scrub_arguments"]

_SAFE_KEYS = ("timestamp", "level", "service", "trace_id", "span_id", "correlation_id", "job_id")
_SAFE_BY_CONSTRUCTION = frozenset(_SAFE_KEYS)


def scrub(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with PII redacted (a new dict when something matched), as is when the guard is off."""
    if not _settings.current().pii_guard:
        return fields
    open_text = fields.copy()  # then the safe keys popped: half the cost of a filtering comprehension
    for key in _SAFE_KEYS:
        open_text.pop(key, None)
    scrubbed, redactions = current_scrubber().scrub_fields(open_text)
    if redactions:
        report(redactions)
    if scrubbed is open_text:
        return fields
    # Rebuilt rather than updated: the walker may have renamed a key (a key that is itself PII).
    return {**{k: v for k, v in fields.items() if k in _SAFE_BY_CONSTRUCTION}, **scrubbed}


def scrub_arguments(fields: dict[str, Any], record: logging.LogRecord) -> dict[str, Any]:
    """Judge the ``%s`` arguments of ``record`` as data, more strictly than its template (``scrub`` saw
    only the formatted message): an argument of ``STRICT_PROSE_WORDS`` words or more is document text.

    Only arguments long enough for that judgement are looked at, so a record without them costs one
    pass over its arguments. On a hit the message is formatted again from the scrubbed arguments.
    """
    args = record.args
    if not args or not _settings.current().pii_guard:
        return fields
    items = list(args.items()) if isinstance(args, Mapping) else list(enumerate(args))
    if not any(type(value) is str and value.count(" ") >= STRICT_PROSE_WORDS - 1 for _, value in items):
        return fields
    scrubber = current_scrubber()
    found: list[Redaction] = []
    scrubbed = {}
    for name, value in items:
        scrubbed[name] = value
        if type(value) is str:
            scrubbed[name], hits = scrubber.scrub_text(value, path=f"args[{name}]", strict=True)
            found += hits
    if not found:
        return fields
    try:
        message = str(record.msg) % (scrubbed if isinstance(args, Mapping) else tuple(scrubbed.values()))
    except (TypeError, ValueError):  # the template needs what a marker is not (%d): drop the whole message
        message = marker(found[0].rule)
    message, hits = scrubber.scrub_text(message)
    report(found + hits)
    return {**fields, "message": message}
