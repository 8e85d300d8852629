"""Copy correlation_id, job_id and user_id_hash from W3C baggage onto every span as it starts.

So a span found in the store by itself still says which job and request it belongs to. These ids go on
spans and log records only -- never on metric attributes, where they would explode cardinality.
``correlation_id`` is the span's own trace id as a UUID (DESIGN: correlation id == trace id).

Cost: this runs for every span, and through the SDK's ``Span.set_attributes`` it was a third of what
starting a span costs (the span's lock, then the SDK re-validating three strings it cannot know are clean:
bench/RESULTS.md, Issue 13). The three values are built once per (trace, baggage ids) and, while the span
is still private to ``on_start`` (the tracer has not returned it to anyone), written straight into its
attribute map -- exactly what ``set_attributes`` would store, so exporters, the sink and the processors
that see the span at ``on_start`` / ``on_end`` find the same attributes. Whenever the SDK would do more
than store them (a value-length or attribute-count limit in force, an SDK span of another shape), the
public ``set_attributes`` runs instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import baggage
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import spellings

__all__ = ["BaggageSpanProcessor"]

_Key = tuple[int, object, object]


class BaggageSpanProcessor(SpanProcessor):
    """Sets ``correlation_id`` and the baggage's ``job_id`` / ``user_id_hash`` as span attributes."""

    def __init__(self) -> None:
        # ((trace_id, job_id, user_id_hash), the attributes they make) of the last span started; replaced
        # whole, so threads never read a torn entry (at worst they rebuild it). The dict is never mutated.
        self._last: tuple[_Key, dict[str, str]] = ((0, None, None), {})

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        entries = baggage.get_all(parent_context)
        get = entries.get
        key = (span.context.trace_id, get(vocab.BAGGAGE_JOB_ID), get(vocab.BAGGAGE_USER_ID_HASH))
        last = self._last
        # The types too: ``True == 1 == 1.0`` but they are spelled "True", "1", "1.0" (W3C baggage read
        # off the wire is text; ``set_baggage`` takes any object).
        if last[0] != key or type(last[0][1]) is not type(key[1]) or type(last[0][2]) is not type(key[2]):
            last = self._last = (key, _attributes(key))
        _set_new_span_attributes(span, last[1])


def _attributes(key: _Key) -> dict[str, str]:
    """The attributes for ``(trace_id, job_id, user_id_hash)``: empty baggage values are left out."""
    trace_id, job_id, user_id_hash = key
    attributes = {vocab.BAGGAGE_CORRELATION_ID: spellings(trace_id)[1]}
    if job_id:
        attributes[vocab.BAGGAGE_JOB_ID] = str(job_id)
    if user_id_hash:
        attributes[vocab.BAGGAGE_USER_ID_HASH] = str(user_id_hash)
    return attributes


def _set_new_span_attributes(span: Span, attributes: Mapping[str, str]) -> None:
    """``span.set_attributes(attributes)`` for a span inside ``on_start``, without the SDK's overhead.

    ``attributes`` are non-empty string keys with string values, which the SDK stores unchanged unless a
    value-length limit could cut one or the attribute-count limit could evict one; then, and for any span
    that is not the SDK's usual shape, the SDK call does it. A key already set (an attribute passed to
    ``start_span``) moves to the end with the new value, as the SDK's own map does it.
    """
    bounded = getattr(span, "_attributes", None)
    stored = getattr(bounded, "_dict", None)  # the SDK map's own storage; see the module docstring
    if (
        type(bounded) is not BoundedAttributes
        or type(stored) is not dict
        or bounded.max_value_len is not None
        or (bounded.maxlen is not None and len(stored) + len(attributes) > bounded.maxlen)
    ):
        span.set_attributes(attributes)
        return
    if stored:
        for key in attributes:
            stored.pop(key, None)
    stored.update(attributes)
