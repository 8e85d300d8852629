"""The third PII layer: the shared ``rythmiq_otel.pii`` rules applied to everything before a row is built.

The SDK and the collector already scrub; this layer catches what a service without the SDK (or an older
one) sends -- in every place a row takes text from: attributes of every kind, log bodies (text, or
structured: walked like attributes, ``bytes`` anywhere are file contents), and the names a sender chooses
(span, span event, scope and metric names, a log's ``event_name``). Hits are counted by
``<where>.<key path>:<rule>`` -- never by value, and a key that is not a plain identifier appears as
``pii.KEY_PLACEHOLDER`` -- so the health metrics and the sink's own log can say where PII arrived from
without repeating it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rythmiq_otel import pii


class PiiLayer:
    """Adapts a ``pii.Scrubber`` to the mappers' ``Scrubber`` protocol (``_context.Scrubber``)."""

    def __init__(self, scrubber: pii.Scrubber = pii.DEFAULT_SCRUBBER) -> None:
        self._scrubber = scrubber

    @classmethod
    def for_extra(cls, mode: str, declared_keys: str) -> PiiLayer:
        """The layer for ``RYTHMIQ_PII_EXTRA`` ``mode`` and the comma-separated ``declared_keys``."""
        if mode == "blocklist" and not declared_keys:
            return cls()
        keys = [key.strip() for key in declared_keys.split(",") if key.strip()]
        return cls(pii.Scrubber(extra_mode=mode, declared_extra_keys=keys))

    def attributes(
        self, attrs: dict[str, Any], where: str, redactions: Counter[str], *, client_span: bool = False
    ) -> dict[str, Any]:
        """Scrub an attribute map; unchanged maps come back as the same object (no copy). ``client_span``:
        the attributes of a CLIENT span, whose server address is ours, not a user's."""
        if not attrs:
            return attrs
        clean, hits = self._scrubber.scrub_attributes(attrs, client_span=client_span)
        for hit in hits:
            redactions[f"{where}.{hit.path}:{hit.rule}"] += 1
        return clean

    def text(self, text: str, where: str, redactions: Counter[str]) -> str:
        """Scrub free text (a log body, a span status message, a name)."""
        if not text:
            return text
        clean, hits = self._scrubber.scrub_text(text, path=where)
        for hit in hits:
            redactions[f"{hit.path}:{hit.rule}"] += 1
        return clean

    def data(self, value: Any, where: str, redactions: Counter[str]) -> Any:
        """Scrub a value of any shape (a structured log body); ``bytes`` become a marker."""
        clean, hits = self._scrubber.scrub_data(value, path=where)
        for hit in hits:
            redactions[f"{hit.path}:{hit.rule}"] += 1
        return clean
