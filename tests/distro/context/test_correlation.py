"""Correlation id == trace id: conversions, the UUIDv4-shaped generator, ingress rules, baggage."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry import baggage
from opentelemetry.sdk.trace import TracerProvider

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import (
    UuidTraceIdGenerator,
    baggage_context,
    correlation_id_from_trace_id,
    current_correlation_id,
    new_trace_id,
    pending_trace_id,
    resolve_ingress,
    trace_id_from_correlation_id,
)

CALLER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TRACEPARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACEPARENT_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def tracer():
    return TracerProvider(id_generator=UuidTraceIdGenerator()).get_tracer("test")


def test_correlation_id_is_the_trace_id_spelled_as_a_uuid() -> None:
    trace_id = int(TRACEPARENT_TRACE, 16)
    assert correlation_id_from_trace_id(trace_id) == "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    assert trace_id_from_correlation_id(correlation_id_from_trace_id(trace_id)) == trace_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "{7c9e6679-7425-40de-944b-e07fc1f90ae7}",
        "7c9e6679742540de944be07fc1f90ae7",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7\n",
        "7c9e6679-7425-40de-944b-e07fc1f90aeZ",
    ],
)
def test_invalid_correlation_ids_convert_to_none(value: str) -> None:
    assert trace_id_from_correlation_id(value) is None


def test_new_trace_ids_are_uuid_version_4_with_rfc_variant() -> None:
    for _ in range(500):
        parsed = uuid.UUID(int=new_trace_id())
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_root_spans_get_uuid4_trace_ids_and_current_correlation_id_follows(tracer) -> None:
    assert current_correlation_id() is None
    with tracer.start_as_current_span("root") as span:
        trace_id = span.get_span_context().trace_id
        assert uuid.UUID(int=trace_id).version == 4
        assert current_correlation_id() == correlation_id_from_trace_id(trace_id)


def test_pending_trace_id_is_used_once_by_the_next_root_span(tracer) -> None:
    wanted = trace_id_from_correlation_id(CALLER_ID)
    with pending_trace_id(wanted):
        with tracer.start_as_current_span("request"):
            assert current_correlation_id() == CALLER_ID
            with tracer.start_as_current_span("child"):
                assert current_correlation_id() == CALLER_ID
        with tracer.start_as_current_span("another root") as other:
            assert other.get_span_context().trace_id != wanted


def test_valid_traceparent_wins_over_the_correlation_header() -> None:
    ingress = resolve_ingress({"traceparent": TRACEPARENT, "x-correlation-id": CALLER_ID})
    assert ingress.source == "traceparent"
    assert ingress.trace_id == int(TRACEPARENT_TRACE, 16)
    assert ingress.rejected_header is None


def test_valid_correlation_header_becomes_the_trace_id_unchanged() -> None:
    ingress = resolve_ingress({"x-correlation-id": CALLER_ID.upper()})
    assert ingress.source == "header"
    assert ingress.correlation_id == CALLER_ID


def test_invalid_traceparent_falls_back_to_the_correlation_header() -> None:
    ingress = resolve_ingress({"traceparent": "00-zzzz-01", "x-correlation-id": CALLER_ID})
    assert (ingress.source, ingress.correlation_id) == ("header", CALLER_ID)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("hello", "not a UUID"),
        ("7c9e6679-7425-40de-944b-e07fc1f90ae7" * 3, "longer than a UUID"),
        ("7c9e6679-7425-40de-944b-e07f\x1b[31m", "contains control characters"),
    ],
)
def test_invalid_correlation_header_is_rejected_with_a_reason_and_a_new_trace(value, reason) -> None:
    ingress = resolve_ingress({"x-correlation-id": value})
    assert ingress.source == "generated"
    assert ingress.rejected_header == reason
    assert uuid.UUID(ingress.correlation_id).version == 4


def test_no_headers_means_a_new_uuid4_trace() -> None:
    first, second = resolve_ingress({}), resolve_ingress({})
    assert first.source == second.source == "generated"
    assert first.trace_id != second.trace_id


def test_baggage_context_sets_the_ids_for_the_block_only() -> None:
    with baggage_context(correlation_id=CALLER_ID, job_id="j", user_id_hash="h"):
        assert baggage.get_all() == {
            vocab.BAGGAGE_CORRELATION_ID: CALLER_ID,
            vocab.BAGGAGE_JOB_ID: "j",
            vocab.BAGGAGE_USER_ID_HASH: "h",
        }
    assert baggage.get_all() == {}


def test_outside_a_span_the_correlation_id_falls_back_to_a_valid_baggage_id(tracer) -> None:
    with baggage_context(correlation_id=CALLER_ID.upper()):
        assert current_correlation_id() == CALLER_ID
        with tracer.start_as_current_span("root") as span:
            assert current_correlation_id() == correlation_id_from_trace_id(span.get_span_context().trace_id)
    with baggage_context(correlation_id="forged"):
        assert current_correlation_id() is None
