"""The direct span encoder's bytes decode to exactly what upstream's ``encode_spans`` builds."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from rythmiq_otel.distro.setup._otlp_spans import _direct, encode_spans_request
from tests.distro.setup.test_otlp_logs import _scalar, _text, _value


def _spans(rng: random.Random, resource: Resource, count: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    limits = SpanLimits(
        max_span_attributes=rng.choice([128, 3]),
        max_events=rng.choice([128, 1]),
        max_links=rng.choice([128, 1]),
    )
    provider = TracerProvider(resource=resource, span_limits=limits, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracers = [provider.get_tracer("rythmiq_otel"), provider.get_tracer("other", "1.2", "s://x")]
    for _ in range(count):
        shaped = rng.random() < 0.6  # the distro's shape: scalar attributes, no events or links
        value = _scalar if shaped else _value
        parent: Any = None
        if rng.random() < 0.5:
            remote = SpanContext(
                rng.randrange(1, 2**128),
                rng.randrange(0, 2**64),
                rng.random() < 0.5,
                TraceFlags(rng.choice([0, 1])),
                TraceState([("vendor", "v1"), ("k", _text(rng).strip() or "x")][: rng.randrange(3)])
                if rng.random() < 0.5
                else None,
            )
            parent = trace.set_span_in_context(NonRecordingSpan(remote))
        links = (
            []
            if shaped or rng.random() < 0.5
            else [
                Link(
                    SpanContext(rng.randrange(1, 2**128), rng.randrange(1, 2**64), rng.random() < 0.5),
                    {"k": value(rng)},
                )
                for _ in range(rng.randrange(1, 3))
            ]
        )
        span = rng.choice(tracers).start_span(
            _text(rng) if rng.random() < 0.2 else f"stage {rng.randrange(7)}",
            context=parent,
            kind=rng.choice(list(SpanKind)),
            links=links,
            attributes={(_text(rng) or "k") + str(i): value(rng) for i in range(rng.randrange(0, 8))},
            start_time=rng.choice([None, rng.randrange(1, 2**63)]),
        )
        if not shaped and rng.random() < 0.5:
            span.add_event(_text(rng), {"e": value(rng)})
        status = rng.choice(
            [
                None,
                Status(StatusCode.OK),
                Status(StatusCode.ERROR, _text(rng) if rng.random() < 0.2 else "OCR failed"),
                Status(StatusCode.ERROR),
            ]
        )
        if status is not None:
            span.set_status(status)
        span.end(end_time=rng.choice([None, rng.randrange(1, 2**63)]))
    provider.shutdown()
    return list(memory.get_finished_spans())


@pytest.mark.parametrize("seed", range(60))
def test_generated_spans_decode_to_what_upstream_encodes(seed: int) -> None:
    rng = random.Random(seed)
    plain = Resource({"service.name": "worker", "process.pid": 7}, "https://schema/1")
    spans = _spans(rng, plain, rng.randrange(0, 25)) + _spans(rng, Resource({"service.name": "api"}), 5)
    rng.shuffle(spans)
    try:
        expected = encode_spans(spans)
    except ValueError as error:  # upstream refuses what it cannot encode; so must we, the same way
        with pytest.raises(type(error), match=re.escape(str(error))):
            encode_spans_request(spans)
        return
    assert ExportTraceServiceRequest.FromString(encode_spans_request(spans)) == expected


def _utf8(*texts: Any) -> bool:
    return all(type(text) is not str or not re.search("[\ud800-\udfff]", text) for text in texts)


def test_the_distros_spans_take_the_direct_path() -> None:
    spans = _spans(random.Random(1), Resource({"service.name": "worker"}), 40)
    shaped = [
        span
        for span in spans
        if not span.events
        and not span.links
        and _utf8(span.name, span.status.description, *span.attributes, *span.attributes.values())
        and all(type(v) in (str, bool, int, float) for v in span.attributes.values())
        and all(type(v) is not int or -(2**63) <= v < 2**63 for v in span.attributes.values())
    ]
    assert len(shaped) >= 10
    assert all(_direct(span) is not None for span in shaped)


def test_cached_pieces_never_stand_in_for_an_equal_but_different_value() -> None:
    """The same attribute key with values equal across types, names, kinds and statuses that repeat with
    small differences, over several batches: each decodes to upstream's."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "worker"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("rythmiq_otel")
    values: list[Any] = [True, 1, 1.0, "1", False, 0, 0.0, -0.0, "", float("nan"), 2**63 - 1, "日本語", b"1"]
    statuses = [None, Status(StatusCode.OK), Status(StatusCode.ERROR, "1"), Status(StatusCode.ERROR, "")]
    for index, value in enumerate(values * 2):
        span = tracer.start_span(
            ["stage ocr", "stage 1", ""][index % 3], kind=list(SpanKind)[index % 5], attributes={"k": value}
        )
        if statuses[index % 4] is not None:
            span.set_status(statuses[index % 4])
        span.end()
    spans = list(memory.get_finished_spans())
    for start in range(0, len(spans), 4):
        batch = spans[start : start + 4]
        assert ExportTraceServiceRequest.FromString(encode_spans_request(batch)) == encode_spans(batch)
