"""The Camber payload carries the trace context: inject/extract round trips and every bad-input fallback."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import baggage, trace
from opentelemetry.context import attach, detach
from opentelemetry.sdk.trace import TracerProvider

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import (
    UuidTraceIdGenerator,
    baggage_context,
    correlation_id_from_trace_id,
    current_correlation_id,
)
from rythmiq_otel.distro.context._payload import MAX_BAGGAGE_LENGTH, extract, inject

OLD_ID = "550e8400-e29b-41d4-a716-446655440000"


@pytest.fixture
def tracer():
    return TracerProvider(id_generator=UuidTraceIdGenerator()).get_tracer("test")


def _continue(tracer, payload):
    """Start a span under ``extract(payload)``; return (correlation id, baggage) seen inside it."""
    token = attach(extract(payload))
    try:
        with tracer.start_as_current_span("job"):
            return current_correlation_id(), baggage.get_all()
    finally:
        detach(token)


def test_inject_adds_w3c_context_and_keeps_the_plain_correlation_id(tracer) -> None:
    original = {"job_id": OLD_ID, "storage_path": "s"}
    with tracer.start_as_current_span("api"), baggage_context(job_id=OLD_ID, user_id_hash="abc"):
        payload = inject(original)
        expected_id = current_correlation_id()
    assert original == {"job_id": OLD_ID, "storage_path": "s"}
    assert payload["correlation_id"] == expected_id
    assert payload["traceparent"].split("-")[1] == expected_id.replace("-", "")
    assert "job_id=" in payload["baggage"]
    assert "user_id_hash=abc" in payload["baggage"]


def test_extract_continues_the_same_trace_after_a_json_round_trip(tracer) -> None:
    with tracer.start_as_current_span("api"), baggage_context(job_id=OLD_ID, user_id_hash="abc"):
        payload = json.loads(json.dumps(inject({"job_id": OLD_ID})))
        api_id = current_correlation_id()
    correlation_id, bag = _continue(tracer, payload)
    assert correlation_id == api_id
    assert bag[vocab.BAGGAGE_JOB_ID] == OLD_ID
    assert bag[vocab.BAGGAGE_USER_ID_HASH] == "abc"
    assert bag[vocab.BAGGAGE_CORRELATION_ID] == api_id


def test_extract_of_an_old_payload_uses_its_plain_correlation_id(tracer, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        correlation_id, bag = _continue(tracer, {"job_id": OLD_ID, "correlation_id": OLD_ID})
    assert correlation_id == OLD_ID
    assert bag[vocab.BAGGAGE_CORRELATION_ID] == OLD_ID
    assert "no trace context" in caplog.text


def test_extract_with_a_garbage_traceparent_falls_back_to_the_plain_id(tracer, caplog) -> None:
    payload = {"traceparent": "00-garbage-\u0000-01", "correlation_id": OLD_ID}
    with caplog.at_level(logging.WARNING):
        correlation_id, _ = _continue(tracer, payload)
    assert correlation_id == OLD_ID
    assert "traceparent is invalid" in caplog.text
    assert "garbage" not in caplog.text


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"correlation_id": "not-a-uuid"},
        {"correlation_id": 12345, "traceparent": ["x"]},
        {"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"},
    ],
)
def test_extract_without_usable_context_starts_a_fresh_uuid4_trace(tracer, caplog, payload) -> None:
    with caplog.at_level(logging.WARNING):
        first, bag = _continue(tracer, payload)
        second, _ = _continue(tracer, payload)
    assert first is not None and first != second
    assert vocab.BAGGAGE_CORRELATION_ID not in bag
    assert caplog.records and all(r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize("payload", [None, "a string", ["list"], 42])
def test_extract_of_a_non_object_warns_and_never_raises(tracer, caplog, payload) -> None:
    with caplog.at_level(logging.WARNING):
        correlation_id, _ = _continue(tracer, payload)
    assert correlation_id is not None
    assert "not a JSON object" in caplog.text


def test_oversize_baggage_is_dropped_but_the_trace_continues(tracer, caplog) -> None:
    with tracer.start_as_current_span("api"):
        payload = inject({})
        api_id = current_correlation_id()
    payload["baggage"] = "k=" + "v" * (MAX_BAGGAGE_LENGTH + 1)
    with caplog.at_level(logging.WARNING):
        correlation_id, bag = _continue(tracer, payload)
    assert correlation_id == api_id
    assert "k" not in bag
    assert "baggage" in caplog.text


def test_traceparent_wins_over_a_disagreeing_plain_correlation_id(tracer, caplog) -> None:
    with tracer.start_as_current_span("api"):
        payload = inject({})
        api_id = current_correlation_id()
    payload["correlation_id"] = OLD_ID
    with caplog.at_level(logging.WARNING):
        correlation_id, _ = _continue(tracer, payload)
    assert correlation_id == api_id
    assert "disagrees" in caplog.text


def test_inject_outside_a_trace_returns_an_unchanged_copy() -> None:
    assert not trace.get_current_span().get_span_context().is_valid
    payload = {"job_id": OLD_ID, "correlation_id": OLD_ID}
    assert inject(payload) == payload
    assert inject(payload) is not payload


def test_correlation_id_matches_traceparent_in_an_injected_payload(tracer) -> None:
    with tracer.start_as_current_span("api") as span:
        payload = inject({})
    assert payload["correlation_id"] == correlation_id_from_trace_id(span.get_span_context().trace_id)
