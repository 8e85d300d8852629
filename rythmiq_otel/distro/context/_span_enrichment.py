"""Copy correlation_id, job_id and user_id_hash from W3C baggage onto every span as it starts.

So a span found in the store by itself still says which job and request it belongs to. These ids go on
spans and log records only -- never on metric attributes, where they would explode cardinality.
``correlation_id`` is the span's own trace id as a UUID (DESIGN: correlation id == trace id).
"""

from __future__ import annotations

from opentelemetry import baggage
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import spellings

__all__ = ["BaggageSpanProcessor"]

_COPIED = (vocab.BAGGAGE_JOB_ID, vocab.BAGGAGE_USER_ID_HASH)


class BaggageSpanProcessor(SpanProcessor):
    """Sets ``correlation_id`` and the baggage's ``job_id`` / ``user_id_hash`` as span attributes."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = {vocab.BAGGAGE_CORRELATION_ID: spellings(span.context.trace_id)[1]}
        entries = baggage.get_all(parent_context)
        if entries:
            for key in _COPIED:
                value = entries.get(key)
                if value:
                    attributes[key] = str(value)
        span.set_attributes(attributes)  # one lock round trip instead of one per attribute
