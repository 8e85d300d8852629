"""Fill a record's ids from the current context: trace/span id, correlation_id, and baggage ids.

``correlation_id`` is the current trace id spelled as a UUID (DESIGN "Correlation ID is the trace id"), so
inside a span it always comes from the trace; outside one, the value the call passed or the baggage's.
``job_id`` and ``user_id_hash`` come from W3C baggage when the call did not pass them.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import baggage, trace

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import spellings

__all__ = ["add_context"]

_BAGGAGE_FIELDS = vocab.BAGGAGE_KEYS


def add_context(fields: dict[str, Any]) -> dict[str, Any]:
    """Add ``trace_id``, ``span_id``, ``correlation_id``, ``job_id``, ``user_id_hash`` where known."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        trace_hex, correlation_id = spellings(span_context.trace_id)
        fields["trace_id"] = trace_hex
        fields["span_id"] = format(span_context.span_id, "016x")
        fields[vocab.BAGGAGE_CORRELATION_ID] = correlation_id
    if any(key not in fields for key in _BAGGAGE_FIELDS):
        entries = baggage.get_all()
        if entries:
            for key in _BAGGAGE_FIELDS:
                value = entries.get(key)
                if value and key not in fields:
                    fields[key] = str(value)
    return fields
