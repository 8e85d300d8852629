"""The per-request mapping context: the PII layer, the time horizon, and the tallies of what was changed.

Mappers stay pure functions of (request, context): they do no I/O and report every repair, rejection and
redaction here, so the receiver can answer partial_success and the health metrics can count reasons.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._values import FUTURE_SLACK_NS, Repairs


class Scrubber(Protocol):
    """The third PII layer as the mappers see it: returns cleaned copies and records redactions."""

    def attributes(
        self, attrs: dict[str, Any], where: str, redactions: Counter[str], *, client_span: bool = False
    ) -> dict[str, Any]:
        """Return ``attrs`` with blocked keys and detected values redacted (``client_span``: a CLIENT
        span's, whose server address is kept)."""
        ...

    def text(self, text: str, where: str, redactions: Counter[str]) -> str:
        """Return ``text`` with detected values (emails, IPs, paths) redacted."""
        ...

    def data(self, value: Any, where: str, redactions: Counter[str]) -> Any:
        """Return ``value`` (any JSON-like shape, ``bytes`` included) with PII redacted."""
        ...


@dataclass
class MapContext:
    """What one request's mapping needs and what it reports.

    Attributes:
        scrubber: the PII layer applied to every attribute map and message before a row is built.
        horizon_ns: the latest acceptable event time (now + 1 day); later timestamps are invalid.
        repairs: values repaired or items rejected, by reason.
        redactions: PII hits by key path (never by value).
        rejected: items dropped, by signal (``logs``/``spans``/``metrics``), for partial_success.
        first_error: the first rejection reason, for partial_success.error_message.
    """

    scrubber: Scrubber
    horizon_ns: int = field(default_factory=lambda: time.time_ns() + FUTURE_SLACK_NS)
    repairs: Repairs = field(default_factory=Repairs)
    redactions: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    first_error: str = ""

    def reject(self, signal: str, reason: str, message: str) -> None:
        """Drop one item of ``signal``, counting ``reason`` and remembering the first message."""
        self.rejected[signal] += 1
        self.repairs[reason] += 1
        if not self.first_error:
            self.first_error = message
