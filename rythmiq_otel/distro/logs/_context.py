"""Fill a record's ids from the current context: trace/span id, correlation_id, and baggage ids.

``correlation_id`` is the current trace id spelled as a UUID (DESIGN "Correlation ID is the trace id"), so
inside a span it always comes from the trace; outside one, the value the call passed or the baggage's.
``job_id`` and ``user_id_hash`` come from W3C baggage when the call did not pass them.

What a context yields is computed once per context object and reused while records keep arriving in it:
an OpenTelemetry ``Context`` is immutable, and the records of one span (a job's stage, a request) are
captured in the very same object, so its span, ids and baggage need reading only once (about 4 µs a
record otherwise: docs/distro.md, "Where the CPU goes").
"""

from __future__ import annotations

from typing import Any

from opentelemetry import baggage, context, trace
from opentelemetry.trace import SpanContext

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import spellings

__all__ = ["ContextIds", "add_context", "context_ids"]

_BAGGAGE_FIELDS = vocab.BAGGAGE_KEYS

# (span context, fields that come from the trace and win, fields from baggage that fill in).
ContextIds = tuple[SpanContext, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]

# (context, its ids) of the last context read; replaced whole, so threads never read a torn pair.
_last: list[tuple[context.Context | None, ContextIds | None]] = [(None, None)]


def context_ids(ctx: context.Context) -> ContextIds:
    """The span context of ``ctx`` and the record fields its trace and baggage give, cached per context."""
    cached_ctx, ids = _last[0]
    if cached_ctx is ctx and ids is not None:
        return ids
    span_context = trace.get_current_span(ctx).get_span_context()
    from_trace: tuple[tuple[str, str], ...] = ()
    if span_context.is_valid:
        trace_hex, correlation_id = spellings(span_context.trace_id)
        from_trace = (
            ("trace_id", trace_hex),
            ("span_id", format(span_context.span_id, "016x")),
            (vocab.BAGGAGE_CORRELATION_ID, correlation_id),
        )
    entries = baggage.get_all(ctx)
    from_baggage = tuple((key, str(entries[key])) for key in _BAGGAGE_FIELDS if entries.get(key))
    ids = (span_context, from_trace, from_baggage)
    _last[0] = (ctx, ids)
    return ids


def add_context(fields: dict[str, Any]) -> dict[str, Any]:
    """Add ``trace_id``, ``span_id``, ``correlation_id``, ``job_id``, ``user_id_hash`` where known."""
    _, from_trace, from_baggage = context_ids(context.get_current())
    for key, value in from_trace:
        fields[key] = value
    for key, value in from_baggage:
        if key not in fields:
            fields[key] = value
    return fields
