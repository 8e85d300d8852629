from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LogRecordLimits, ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from rythmiq_otel.distro.setup import _otlp_logs, _otlp_wire
from rythmiq_otel.distro.setup._otlp_logs import _direct, encode_logs_request
from rythmiq_otel.distro.setup._resource import HashedOnceResource

_TEXT = [
    "",
    "a",
    "Stage completed",
    "héllo wörld",
    "日本語",
    "emoji 🎉",
    "x" * 300,
    "nul\x00byte",
    "surrogate \udcff",
]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0xD7FF)]))
            for _ in range(rng.randrange(0, 40))
        )
    return rng.choice(_TEXT)


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.random() < 0.5
    if kind == 1:
        return rng.choice(
            [0, 1, -1, 127, 128, 2**31, -(2**31), 2**63 - 1, -(2**63), rng.randrange(-(10**12), 10**12)]
        )
    if kind == 2:
        return rng.choice([0.0, -0.0, 0.08, -1.5e300, 5e-324, math.inf, -math.inf, rng.random()])
    return _text(rng)


def _value(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return [_scalar(rng) for _ in range(rng.randrange(4))]
    if kind == 1:
        return {_text(rng): _scalar(rng) for _ in range(rng.randrange(3))}
    if kind == 2:
        return _text(rng).encode(errors="replace")
    if kind == 3:
        return rng.choice([2**63, -(2**63) - 1, 2**80])  # outside int64: upstream's path decides
    return _scalar(rng)


def _record(rng: random.Random, resources: list[Resource], scopes: list[Any]) -> ReadableLogRecord:
    # Half of the records have the distro's shape (the direct path), half anything the Logs API accepts.
    shaped = rng.random() < 0.5
    body: Any = (
        _text(rng) if shaped or rng.random() < 0.5 else rng.choice([None, _value(rng), 42, {"k": [1]}])
    )
    value = _scalar if shaped else _value
    attributes = {(_text(rng) or "k") + str(i): value(rng) for i in range(rng.randrange(0, 12))}
    record = LogRecord(
        timestamp=rng.choice([None, 0, rng.randrange(2**63)]),
        observed_timestamp=rng.choice([0, rng.randrange(2**63)]),
        trace_id=rng.choice([0, rng.randrange(1, 2**128)]),
        span_id=rng.choice([0, rng.randrange(1, 2**64)]),
        trace_flags=TraceFlags(rng.choice([0, 1])),
        severity_text=rng.choice([None, "", "INFO", "WARN", _text(rng)]),
        severity_number=rng.choice([None, *SeverityNumber]),
        body=body,
        attributes=attributes,
        event_name=rng.choice([None, "", "job.started", _text(rng)]),
    )
    limits = LogRecordLimits(max_attributes=rng.choice([None, 128, 3]))
    return ReadableLogRecord(record, rng.choice(resources), rng.choice(scopes), limits)


def _decoded(data: bytes) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest.FromString(data)


@pytest.mark.parametrize("seed", range(40))
def test_generated_batches_decode_to_what_upstream_encodes(seed: int) -> None:
    rng = random.Random(seed)
    plain = Resource({"service.name": "worker", "host.name": "h", "process.pid": 7}, "https://schema/1")
    resources = [plain, HashedOnceResource(plain), Resource({"service.name": "api", "list": ("a", "b")})]
    scopes = [None, InstrumentationScope("rythmiq_otel"), InstrumentationScope("other", "1.0", "s://x")]
    batch = [_record(rng, resources, scopes) for _ in range(rng.randrange(0, 60))]
    try:
        expected = encode_logs(batch)
    except (
        ValueError
    ) as error:  # upstream refuses a body it cannot encode (int64 range, surrogate); so must we
        with pytest.raises(type(error), match=re.escape(str(error))):
            encode_logs_request(batch)
        return
    assert _decoded(encode_logs_request(batch)) == expected
    assert _decoded(encode_logs_request(batch)).SerializeToString(
        deterministic=True
    ) == expected.SerializeToString(deterministic=True)


def test_the_distros_own_records_take_the_direct_path_and_match() -> None:
    """The shape the bridge emits (string body, scalar attributes) is encoded without upstream's objects."""
    record = LogRecord(
        timestamp=1_764_000_000_123_000_000,
        observed_timestamp=1_764_000_000_124_000_000,
        trace_id=0x550E8400E29B41D4A716446655440000,
        span_id=0x1234567890ABCDEF,
        trace_flags=TraceFlags(1),
        severity_text="INFO",
        severity_number=SeverityNumber.INFO,
        body="Stage completed",
        attributes={
            "stage": "ocr",
            "job_id": "550e8400-e29b-41d4-a716-446655440000",
            "cpu_seconds": 0.08,
            "http_status": 200,
            "event.name": "stage.completed",
            "extra.flag": True,
        },
        event_name="stage.completed",
    )
    readable = ReadableLogRecord(
        record, Resource({"service.name": "worker"}), InstrumentationScope("rythmiq_otel")
    )

    assert _direct(readable) is not None
    for _ in range(2):  # the second time through the (key, string) cache
        assert _decoded(encode_logs_request([readable, readable])) == encode_logs([readable, readable])


# Values whose equality does not decide their bytes, or which a cache keyed on equality could confuse.
_LOOKALIKES: list[Any] = [
    True, 1, 1.0, "1", False, 0, 0.0, -0.0, "", math.nan, 2**63, -(2**63) - 1, 2**63 - 1, b"1", None,
    ["1"], {"1": 1}, "héllo", "日本語", "surrogate \udcff",
]


def _lookalike_record(value: Any, **fields: Any) -> ReadableLogRecord:
    record = LogRecord(
        timestamp=fields.get("timestamp", 1_764_000_000_000_000_000),
        observed_timestamp=1_764_000_000_000_000_001,
        trace_id=fields.get("trace_id", 7),
        span_id=1,
        trace_flags=fields.get("trace_flags", TraceFlags(1)),
        severity_text=fields.get("severity_text", "INFO"),
        severity_number=fields.get("severity_number", SeverityNumber.INFO),
        body=fields.get("body", "same body"),
        attributes={"k": value, "stage": "ocr"},
        event_name=fields.get("event_name", "stage.completed"),
    )
    scope = InstrumentationScope("rythmiq_otel")
    return ReadableLogRecord(record, Resource({"service.name": "worker"}), scope)


@pytest.mark.parametrize("order", range(6))
def test_cached_pieces_never_stand_in_for_an_equal_but_different_value(order: int) -> None:
    """One key, values that compare equal across types (True == 1 == 1.0, 0.0 == -0.0), in every order and
    across batches, with the header and body caches varied alongside: each decodes to upstream's."""
    values = list(_LOOKALIKES)
    random.Random(order).shuffle(values)
    variants = [
        {},
        {"trace_flags": TraceFlags(0)},
        {"trace_flags": 1},
        {"severity_number": SeverityNumber.WARN, "severity_text": "WARN"},
        {"event_name": None, "severity_text": None},
        {"body": ""},
        {"body": "日本語 body"},
        {"timestamp": 0, "trace_id": 0},
    ]
    for start in range(0, len(values), 5):  # several batches: the caches outlive one
        batch = [
            _lookalike_record(value, **variants[(start + i) % len(variants)])
            for i, value in enumerate(values[start : start + 5])
        ]
        assert _decoded(encode_logs_request(batch)) == encode_logs(batch)


@pytest.mark.parametrize(
    "fields",
    [{"timestamp": -1}, {"timestamp": 2**64}, {"trace_id": 2**128}, {"trace_id": -5}],
)
def test_a_field_out_of_range_is_refused_as_upstream_refuses_it(fields: dict[str, Any]) -> None:
    batch = [_lookalike_record("v"), _lookalike_record("v", **fields)]
    with pytest.raises(Exception) as upstream:  # whatever upstream raises, so must we
        encode_logs(batch)
    with pytest.raises(type(upstream.value), match=re.escape(str(upstream.value))):
        encode_logs_request(batch)


def test_a_full_cache_is_cleared_and_keeps_encoding_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_otlp_wire, "CACHE_SIZE", 3)
    batch = [_lookalike_record(f"value {i}", body=f"body {i % 4}") for i in range(20)]
    for _ in range(2):
        assert _decoded(encode_logs_request(batch)) == encode_logs(batch)
    assert len(_otlp_logs._pairs) <= 3 and len(_otlp_logs._bodies) <= 3


def test_resources_and_scopes_that_compare_equal_keep_their_own_bytes_across_batches() -> None:
    """The envelope cache goes by identity: ``Resource({"a": True}) == Resource({"a": 1})``."""
    scopes = [InstrumentationScope("s", "1"), InstrumentationScope("s", "1", None, {"k": 1})]
    for resource in (Resource({"a": True}), Resource({"a": 1}), Resource({"a": 1.0}), Resource({"a": True})):
        for scope in scopes:
            record = LogRecord(body="b", attributes={"k": "v"})
            batch = [ReadableLogRecord(record, resource, scope) for _ in range(2)]
            assert _decoded(encode_logs_request(batch)) == encode_logs(batch)
