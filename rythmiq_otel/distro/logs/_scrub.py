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

from typing import Any

from rythmiq_otel.distro._pii import report
from rythmiq_otel.distro.setup import _settings
from rythmiq_otel.pii import DEFAULT_SCRUBBER

__all__ = ["scrub"]

_SAFE_BY_CONSTRUCTION = frozenset(
    {"timestamp", "level", "service", "trace_id", "span_id", "correlation_id", "job_id"}
)
_scrub_fields = DEFAULT_SCRUBBER.scrub_fields


def scrub(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with PII redacted (a new dict when something matched), as is when the guard is off."""
    if not _settings.current().pii_guard:
        return fields
    open_text = {key: value for key, value in fields.items() if key not in _SAFE_BY_CONSTRUCTION}
    scrubbed, redactions = _scrub_fields(open_text)
    if redactions:
        report(redactions)
    if scrubbed is open_text:
        return fields
    # Rebuilt rather than updated: the walker may have renamed a key (a key that is itself PII).
    return {**{k: v for k, v in fields.items() if k in _SAFE_BY_CONSTRUCTION}, **scrubbed}
