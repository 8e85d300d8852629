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
