"""The third PII layer: the shared ``rythmiq_otel.pii`` rules applied to everything before a row is built.

The SDK and the collector already scrub; this layer catches what a service without the SDK (or an older
one) sends. Hits are counted by ``<where>.<key path>:<rule>`` -- never by value -- so the health metrics
and the sink's own log can say where PII arrived from without repeating it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rythmiq_otel import pii


class PiiLayer:
    """Adapts a ``pii.Scrubber`` to the mappers' ``Scrubber`` protocol (``_context.Scrubber``)."""

    def __init__(self, scrubber: pii.Scrubber = pii.DEFAULT_SCRUBBER) -> None:
        self._scrubber = scrubber

    def attributes(self, attrs: dict[str, Any], where: str, redactions: Counter[str]) -> dict[str, Any]:
        """Scrub an attribute map; unchanged maps come back as the same object (no copy)."""
        if not attrs:
            return attrs
        clean, hits = self._scrubber.scrub_attributes(attrs)
        for hit in hits:
            redactions[f"{where}.{hit.path}:{hit.rule}"] += 1
        return clean

    def text(self, text: str, where: str, redactions: Counter[str]) -> str:
        """Scrub free text (a log body, a span status message)."""
        if not text:
            return text
        clean, hits = self._scrubber.scrub_text(text, path=where)
        for hit in hits:
            redactions[f"{hit.path}:{hit.rule}"] += 1
        return clean
