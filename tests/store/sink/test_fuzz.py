"""Bad input never takes the sink down: seeded random corruption of real requests.

Two layers: mutated *bytes* (bit flips, truncation, splices) must give either a clean ``BadRequest`` or a
normal outcome; mutated *values* (control characters, NULs, odd numbers, ids of any length, timestamps
anywhere in uint64) must map to rows that Postgres accepts in one COPY, with the rest of the batch intact.
"""

from __future__ import annotations

import random
import time

import psycopg
import pytest
from google.protobuf import json_format

from rythmiq_otel.store.sink import CopyWriter, MemoryWriter
from rythmiq_otel.store.sink._decode import SIGNALS, BadRequest, Format, Signal
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._pipeline import process
from tests.store.sink import otlp_builders as otlp

SEED = 20260130


def _valid_bodies() -> dict[Signal, bytes]:
    now = time.time_ns()
    trace = b"\x01" * 16
    return {
        "logs": otlp.logs_request([
            otlp.log_record(f"r{i}", attributes={"job_id": "x", "n": i, "extra.k": [i]}) for i in range(5)
        ]).SerializeToString(),
        "traces": otlp.spans_request([otlp.span(f"s{i}", trace_id=trace, span_id=bytes([i + 1]) * 8)
                                      for i in range(5)]).SerializeToString(),
        "metrics": otlp.metrics_request([
            otlp.sum_metric("c", [(now - 5, now, 1.0, {"a": "b"})]),
            otlp.histogram_metric("h", start_ns=now - 5, time_ns=now, bounds=[1.0], counts=[1, 2], total=3.0),
        ]).SerializeToString(),
    }


def _mutate(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randrange(len(data)) if data else 0
        if choice < 0.5 and data:
            data[position] ^= 1 << rng.randrange(8)
        elif choice < 0.7:
            del data[position:position + rng.randint(1, 8)]
        else:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data)


@pytest.mark.parametrize("fmt", ["protobuf", "json"])
def test_mutated_bodies_are_a_clean_400_or_stored_never_a_crash(fmt: Format) -> None:
    rng = random.Random(SEED)
    writer = MemoryWriter()
    outcomes = {"400": 0, "stored": 0}
    for signal, encoded in _valid_bodies().items():
        body = encoded
        if fmt == "json":
            body = json_format.MessageToJson(SIGNALS[signal].request.FromString(encoded)).encode()
        for _ in range(300):
            try:
                process(signal, _mutate(rng, body), fmt=fmt, content_encoding=None,
                        max_body_bytes=1 << 20, scrubber=PiiLayer(), writer=writer)
                outcomes["stored"] += 1
            except BadRequest:
                outcomes["400"] += 1
    assert outcomes["400"] > 0 and outcomes["stored"] > 0


def _wild_string(rng: random.Random) -> str:
    alphabet = ["\x00", "\t", "\n", "\\", "\"", "'", "\u2028", "\ufffd", "é", "😀", "a", ",", "{", "}", "%s"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def _wild_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(7 if depth < 12 else 4)
    if kind == 0:
        return _wild_string(rng)
    if kind == 1:
        return rng.choice([0, -1, 2**63 - 1, -(2**63), 2**31])
    if kind == 2:
        return rng.choice([0.0, -0.0, 1e308, float("nan"), float("inf"), 5e-324])
    if kind == 3:
        return rng.random() < 0.5
    if kind == 4:
        return [_wild_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == 5:
        return {_wild_string(rng): _wild_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 10)))


def test_records_with_wild_values_all_land_in_postgres_or_are_counted(database_url: str) -> None:
    rng = random.Random(SEED)
    now = time.time_ns()
    keys = ["job_id", "correlation_id", "latency_ms", "cpu_seconds", "http_status", "stage", "error_stage",
            "error_code", "event.name", "extra.a", "extra.a.b", "user_id_hash", "x", "service"]
    records = []
    for i in range(300):
        stamp = rng.choice([now - i, 0, 1, 2**64 - 1, now + 10**18])
        records.append(otlp.log_record(
            _wild_value(rng), level=rng.choice(["INFO", "ERROR", "FATAL", "??"]), time_ns=stamp,
            observed_ns=rng.choice([now - i, 0, 2**64 - 1]),
            trace_id=bytes(rng.randrange(256) for _ in range(rng.choice([0, 3, 16, 16, 17]))),
            span_id=bytes(rng.randrange(256) for _ in range(rng.choice([0, 8, 8, 9]))),
            attributes={rng.choice(keys): _wild_value(rng) for _ in range(rng.randint(0, 6))},
        ))
    body = otlp.logs_request(records, resource={"rythmiq.service": _wild_string(rng)}).SerializeToString()
    writer = CopyWriter(database_url, pool_size=1)
    try:
        outcome = process("logs", body, fmt="protobuf", content_encoding=None, max_body_bytes=1 << 24,
                          scrubber=PiiLayer(), writer=writer)
    finally:
        writer.close()
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM logs").fetchone()
    assert outcome.accepted + outcome.rejected == 300
    assert stored == (outcome.accepted,) and outcome.accepted > 100
