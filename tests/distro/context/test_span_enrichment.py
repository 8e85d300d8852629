"""Every span carries correlation_id (its trace id as a UUID) and the baggage's job_id / user_id_hash."""

from __future__ import annotations

from opentelemetry import baggage, context
from opentelemetry.sdk.trace import TracerProvider

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import correlation_id_from_trace_id
from rythmiq_otel.distro.context._span_enrichment import BaggageSpanProcessor

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"


def _tracer() -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(BaggageSpanProcessor())
    return provider


def test_baggage_ids_and_the_correlation_id_land_on_every_span() -> None:
    tracer = _tracer().get_tracer("t")
    ctx = baggage.set_baggage(vocab.BAGGAGE_JOB_ID, JOB_ID)
    ctx = baggage.set_baggage(vocab.BAGGAGE_USER_ID_HASH, "a3f2b8c1d4e5f6a7", ctx)
    token = context.attach(ctx)
    try:
        with tracer.start_as_current_span("job") as job, tracer.start_as_current_span("stage") as stage:
            pass
    finally:
        context.detach(token)
    for span in (job, stage):
        assert span.attributes == {
            vocab.BAGGAGE_CORRELATION_ID: correlation_id_from_trace_id(span.get_span_context().trace_id),
            vocab.BAGGAGE_JOB_ID: JOB_ID,
            vocab.BAGGAGE_USER_ID_HASH: "a3f2b8c1d4e5f6a7",
        }


def test_without_baggage_a_span_still_gets_its_correlation_id_and_nothing_else() -> None:
    with _tracer().get_tracer("t").start_as_current_span("alone") as span:
        pass
    assert dict(span.attributes) == {
        vocab.BAGGAGE_CORRELATION_ID: correlation_id_from_trace_id(span.get_span_context().trace_id)
    }
