"""Every span carries correlation_id (its trace id as a UUID) and the baggage's job_id / user_id_hash."""

from __future__ import annotations

from opentelemetry import baggage, context
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

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


def _with_baggage(**ids: str) -> context.Context:
    ctx = context.get_current()
    for key, value in ids.items():
        ctx = baggage.set_baggage(key, value, ctx)
    return ctx


def test_each_span_gets_its_own_trace_and_baggage_ids_not_the_previous_spans() -> None:
    """The attributes are built once per (trace, baggage ids) and reused: a change in either rebuilds them."""
    tracer = _tracer().get_tracer("t")
    spans = []
    for user in ("aa", "bb"):  # a new trace each time
        with tracer.start_as_current_span("root") as root:
            for job_id in (JOB_ID, "other-job", "", JOB_ID):  # same trace, baggage changing under it
                ids = {vocab.BAGGAGE_JOB_ID: job_id, vocab.BAGGAGE_USER_ID_HASH: user}
                token = context.attach(_with_baggage(**ids))
                try:
                    with tracer.start_as_current_span("child") as child:
                        spans.append((child, job_id, user))
                finally:
                    context.detach(token)
        spans.append((root, "", ""))
    for span, job_id, user in spans:
        trace_id = span.get_span_context().trace_id
        expected = {vocab.BAGGAGE_CORRELATION_ID: correlation_id_from_trace_id(trace_id)}
        expected.update({key: value for key, value in ((vocab.BAGGAGE_JOB_ID, job_id),
                                                        (vocab.BAGGAGE_USER_ID_HASH, user)) if value})
        assert dict(span.attributes) == expected
    assert len({span.get_span_context().trace_id for span, _, _ in spans}) == 2


def test_an_attribute_given_at_start_is_overwritten_and_moved_last_as_set_attributes_would() -> None:
    tracer = _tracer().get_tracer("t")
    token = context.attach(_with_baggage(**{vocab.BAGGAGE_JOB_ID: JOB_ID}))
    try:
        with tracer.start_as_current_span("s", attributes={vocab.BAGGAGE_JOB_ID: "mine", "a": 1}) as span:
            pass
    finally:
        context.detach(token)
    assert list(span.attributes.items()) == [
        ("a", 1),
        (vocab.BAGGAGE_CORRELATION_ID, correlation_id_from_trace_id(span.get_span_context().trace_id)),
        (vocab.BAGGAGE_JOB_ID, JOB_ID),
    ]


def test_span_limits_in_force_are_applied_exactly_as_the_sdk_applies_them() -> None:
    """A value-length or attribute-count limit makes the processor go through the SDK's own setter."""
    for limits in (SpanLimits(max_attribute_length=8), SpanLimits(max_span_attributes=2)):
        provider = TracerProvider(span_limits=limits)
        provider.add_span_processor(BaggageSpanProcessor())
        reference = TracerProvider(span_limits=limits)
        token = context.attach(
            _with_baggage(**{vocab.BAGGAGE_JOB_ID: JOB_ID, vocab.BAGGAGE_USER_ID_HASH: "a3f2b8c1d4e5f6a7"})
        )
        try:
            with provider.get_tracer("t").start_as_current_span("s", attributes={"first": "x"}) as span:
                pass
            with reference.get_tracer("t").start_as_current_span("s", attributes={"first": "x"}) as expected:
                expected.set_attributes({
                    vocab.BAGGAGE_CORRELATION_ID: correlation_id_from_trace_id(
                        span.get_span_context().trace_id
                    ),
                    vocab.BAGGAGE_JOB_ID: JOB_ID,
                    vocab.BAGGAGE_USER_ID_HASH: "a3f2b8c1d4e5f6a7",
                })
        finally:
            context.detach(token)
        assert dict(span.attributes) == dict(expected.attributes)
        assert span.dropped_attributes == expected.dropped_attributes


def test_a_baggage_value_equal_to_the_last_one_but_of_another_type_is_spelled_as_itself() -> None:
    """``True == 1``: the attributes remembered for job_id ``1`` are not job_id ``True``'s."""
    tracer = _tracer().get_tracer("t")
    seen = []
    with tracer.start_as_current_span("root"):
        for value in (1, True, 1.0):
            token = context.attach(baggage.set_baggage(vocab.BAGGAGE_JOB_ID, value))
            try:
                with tracer.start_as_current_span("stage") as span:
                    seen.append(span.attributes[vocab.BAGGAGE_JOB_ID])
            finally:
                context.detach(token)
    assert seen == ["1", "True", "1.0"]
