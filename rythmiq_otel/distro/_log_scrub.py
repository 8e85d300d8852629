"""The call site of the PII guard (§1.4) in the log pipeline: scrub the record before either output.

The rules and the walker live in ``rythmiq_otel.pii`` (shared with the sink); reporting a hit (metric,
key-name-only event) lives in ``rythmiq_otel.distro._pii``. This module only decides whether the guard is
on (``RYTHMIQ_PII_GUARD``) and wires the two in, resolving them once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from rythmiq_otel.distro import _settings

__all__ = ["scrub"]

_Scrubber = Callable[[dict[str, Any]], dict[str, Any]]
_resolved: list[_Scrubber] = []


def _load() -> _Scrubber:
    """Bind the PII layer's scrubber and reporter; until that layer is installed, pass records through."""
    try:
        pii = importlib.import_module("rythmiq_otel.pii")
        reporter = importlib.import_module("rythmiq_otel.distro._pii")
    except ModuleNotFoundError:
        return _unchanged
    scrub_fields = pii.DEFAULT_SCRUBBER.scrub_fields
    report = reporter.report

    def guarded(fields: dict[str, Any]) -> dict[str, Any]:
        scrubbed, redactions = scrub_fields(fields)
        if redactions:
            report(redactions)
        return scrubbed

    return guarded


def _unchanged(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


def scrub(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with PII redacted (a new dict when something matched), as is when the guard is off."""
    if not _settings.current().pii_guard:
        return fields
    if not _resolved:
        _resolved.append(_load())
    return _resolved[0](fields)
