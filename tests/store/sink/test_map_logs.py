"""Log records → ``logs`` rows: every field in its column, and every kind of bad input repaired or rejected
with a counted reason while the rest of the batch still maps."""

from __future__ import annotations

import functools
import json
import random
import time
import uuid
from typing import Any

import pytest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from rythmiq_otel import pii
from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._map_logs import _log_row, _LogRows, log_rows
from rythmiq_otel.store.sink._origin import item_rows
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._rows import LogRow
from rythmiq_otel.store.sink._values import MAX_DEPTH, MAX_MESSAGE_CHARS, MAX_VALUE_CHARS
from rythmiq_otel.store.sink._wire_attributes import MAX_REMEMBERED, LogsWire, WireAttributes, as_wire
from tests.store.sink import otlp_builders as otlp

JOB = "550e8400-e29b-41d4-a716-446655440000"
TRACE = bytes.fromhex("7c9e6679742540de944be07fc1f90ae7")


def _map(*records: LogRecord, **kwargs: Any) -> tuple[list[LogRow], MapContext]:
    ctx = MapContext(scrubber=PiiLayer())
    return list(log_rows(otlp.logs_request(records, **kwargs), ctx)), ctx


def test_spec_fields_land_in_their_columns_and_extra_folds_back() -> None:
    stamp = 1_780_000_000_123_456_789
    record = otlp.log_record(
        "OCR stage completed", level="INFO", time_ns=stamp, trace_id=TRACE, span_id=b"\x00\x01" * 4,
        attributes={
            "stage": "ocr", "job_id": JOB, "user_id_hash": "a3f2b8c1d4e5f6a7", "latency_ms": 1847,
            "cpu_seconds": 2.341, "http_status": 201, "http_method": "POST", "http_path": "/jobs",
            "event.name": "stage.completed", "extra.ocr_confidence": 0.87,
            "extra.processing_path": "standard", "code.function": "run",
        },
    )
    [row], ctx = _map(record, service="worker")
    assert row.timestamp.isoformat() == "2026-05-28T20:26:40.123456+00:00"
    assert (row.level, row.severity_number, row.service, row.stage) == ("INFO", 9, "worker", "ocr")
    assert str(row.job_id) == JOB
    assert str(row.correlation_id) == "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # from the trace id
    assert (row.latency_ms, row.cpu_seconds, row.http_status) == (1847.0, 2.341, 201)
    assert (row.http_method, row.http_path, row.user_id_hash) == ("POST", "/jobs", "a3f2b8c1d4e5f6a7")
    assert row.message == "OCR stage completed"
    assert row.event_name == "stage.completed"
    assert json.loads(row.extra) == {"ocr_confidence": 0.87, "processing_path": "standard"}
    assert json.loads(row.attributes) == {"code.function": "run"}
    assert (row.trace_id, row.span_id) == (TRACE.hex(), "0001000100010001")
    assert json.loads(row.resource)["rythmiq.service"] == "worker"
    assert row.scope_name == "tests"
    assert not ctx.repairs


def test_error_stage_is_normalised_to_the_canonical_stage_name() -> None:
    [row], _ = _map(otlp.log_record("x", level="ERROR", attributes={"error_stage": "FETCH", "stage": "OCR"}))
    assert (row.error_stage, row.stage, row.level) == ("ingestion", "ocr", "ERROR")


def test_level_comes_from_the_severity_number_when_the_text_is_not_a_spec_level() -> None:
    record = otlp.log_record("x")
    record.severity_text = "Warning!"
    record.severity_number = 14
    [row], _ = _map(record)
    assert row.level == "WARN"


def test_explicit_correlation_id_attribute_wins_over_the_trace_id() -> None:
    cid = str(uuid.uuid4())
    [row], _ = _map(otlp.log_record("x", trace_id=TRACE, attributes={"correlation_id": cid}))
    assert str(row.correlation_id) == cid


def test_same_record_maps_to_the_same_dedup_key_and_any_change_gives_a_new_one() -> None:
    stamp = time.time_ns()
    first, _ = _map(otlp.log_record("a", time_ns=stamp, attributes={"k": 1}))
    again, _ = _map(otlp.log_record("a", time_ns=stamp, attributes={"k": 1}))
    other_attr, _ = _map(otlp.log_record("a", time_ns=stamp, attributes={"k": 2}))
    other_service, _ = _map(otlp.log_record("a", time_ns=stamp, attributes={"k": 1}), service="api")
    keys = {first[0].dedup_key, other_attr[0].dedup_key, other_service[0].dedup_key}
    assert first[0].dedup_key == again[0].dedup_key
    assert len(keys) == 3


def test_nul_bytes_are_replaced_and_counted() -> None:
    [row], ctx = _map(otlp.log_record("a\x00b", attributes={"k\x00": "v\x00", "extra.note": "x\x00"}))
    assert "\x00" not in row.message + row.attributes + row.extra
    assert row.message == "a\ufffdb"
    assert ctx.repairs["nul_byte"] == 4


def test_huge_values_are_truncated_and_counted() -> None:
    [row], ctx = _map(otlp.log_record("y" * (MAX_MESSAGE_CHARS + 1), attributes={
        "blob": "x" * (MAX_VALUE_CHARS + 1), "fits": "z" * MAX_VALUE_CHARS}))
    assert len(row.message) <= MAX_MESSAGE_CHARS
    assert len(json.loads(row.attributes)["blob"]) <= MAX_VALUE_CHARS  # cut, then judged by the PII layer
    assert ctx.repairs["value_truncated"] == 2


def test_deep_nesting_is_cut_at_the_depth_limit_and_counted() -> None:
    nested: object = "leaf"
    for _ in range(MAX_DEPTH + 5):
        nested = {"a": nested}
    [row], ctx = _map(otlp.log_record("m", attributes={"deep": nested}))
    text = row.attributes
    assert "[TRUNCATED:depth]" in text and "leaf" not in text
    assert ctx.repairs["nesting_too_deep"] == 1


def test_ids_of_the_wrong_length_are_dropped_and_counted() -> None:
    [row], ctx = _map(otlp.log_record("m", trace_id=b"\x01" * 5, span_id=b"\x02" * 9))
    assert (row.trace_id, row.span_id, row.correlation_id) == (None, None, None)
    assert (ctx.repairs["invalid_trace_id"], ctx.repairs["invalid_span_id"]) == (1, 1)


def test_malformed_typed_fields_become_null_and_are_counted() -> None:
    [row], ctx = _map(otlp.log_record("m", attributes={
        "job_id": "not-a-uuid", "latency_ms": "fast", "http_status": 10**12, "cpu_seconds": [1, 2]}))
    assert (row.job_id, row.latency_ms, row.http_status, row.cpu_seconds) == (None, None, None, None)
    assert set(ctx.repairs) == {"invalid_job_id", "invalid_latency_ms", "invalid_http_status",
                                "invalid_cpu_seconds"}


def test_zero_time_falls_back_to_observed_time_and_both_zero_rejects_only_that_record() -> None:
    observed = time.time_ns()
    far_future = observed + 10 * 365 * 86_400 * 10**9
    rows, ctx = _map(
        otlp.log_record("no time", time_ns=0, observed_ns=observed),
        otlp.log_record("nothing", time_ns=0, observed_ns=0),
        otlp.log_record("future", time_ns=far_future, observed_ns=far_future),
        otlp.log_record("fine"),
    )
    assert [r.message for r in rows] == ["no time", "fine"]
    assert rows[0].timestamp.timestamp() == observed // 1000 / 1e6
    assert ctx.rejected["logs"] == 2
    assert ctx.repairs["log_time_from_observed"] == 1
    assert "time_unix_nano=0" in ctx.first_error


def test_pii_is_redacted_and_counted_by_key_path_never_by_value() -> None:
    [row], ctx = _map(otlp.log_record(
        "mail from jane@example.com", attributes={"extra.email": "jane@example.com", "client_ip": "10.1.2.3"},
    ))
    stored = row.message + row.extra + row.attributes
    assert "jane@example.com" not in stored and "10.1.2.3" not in stored
    assert "[REDACTED:" in row.message
    assert all("jane" not in key and "10.1" not in key for key in ctx.redactions)
    assert {key.split(":")[0] for key in ctx.redactions} >= {"attributes.extra.email", "attributes.client_ip"}


def test_structured_body_is_stored_as_json_text() -> None:
    [row], _ = _map(otlp.log_record({"msg": "hi", "n": [1, 2]}))
    assert json.loads(row.message) == {"msg": "hi", "n": [1, 2]}


def test_service_falls_back_to_service_name_without_the_rythmiq_prefix() -> None:
    request = otlp.logs_request([otlp.log_record("x")])
    resource = request.resource_logs[0].resource
    del resource.attributes[:]
    resource.attributes.extend(otlp.key_values({"service.name": "rythmiq-webhook"}))
    [row] = log_rows(request, MapContext(scrubber=PiiLayer()))
    other = otlp.logs_request([otlp.log_record("x")],
                              resource={"rythmiq.service": "", "service.name": "billing"})
    [row_other] = log_rows(other, MapContext(scrubber=PiiLayer()))
    assert (row.service, row_other.service) == ("webhook", "billing")


def _mixed_records(seed: int, count: int) -> list[LogRecord]:
    """Mostly the common shape (clean values that repeat), and in some records every kind of value each
    path has to get right: (clean values, hostile values) per attribute."""
    rng = random.Random(seed)
    now = time.time_ns()
    values: dict[str, tuple[list[Any], list[Any]]] = {
        "job_id": ([JOB, str(uuid.UUID(int=7))], [JOB.upper(), "not-a-uuid", 12]),
        "correlation_id": ([str(uuid.UUID(bytes=TRACE))], ["x"]),
        "stage": (["ocr", "OCR", "FETCH", ""], ["s" * 300, "a\x00b"]),
        "error_stage": (["ocr", "Enhancement"], ["e" * 300]),
        "latency_ms": ([12.5, "7", True, 3, -0.0], ["fast", 1e200, -(2**63), "nan", "1e101"]),
        "cpu_seconds": ([0.25, 0.5, rng.random()], [float("nan")]),
        "http_status": ([200, "404"], [2**40, "x", 2**31, -(2**31) - 1, 2**63 - 1]),
        "error_code": (["OCR_TIMEOUT"], ["e" * 300, "e\x00"]),
        "user_id_hash": (["a3f2b8c1d4e5f6a7", 5], []),
        "http_path": (["/jobs"], ["/users/bob@example.com"]),
        "event.name": (["stage.completed", "job.started"], ["", 5, "n" * 300, "job\x00started",
                                                            "mail bob@example.com"]),
        "extra.processing_path": (["standard"], ["p" * 300]),
        "extra.page_count": ([3, 4.5, rng.randint(0, 99)], []),
        "extra.a.b": ([1], ["deep"]),
        "extra.email": ([], ["bob@example.com"]),
        "user.email": ([], ["alice@example.com"]),
        "service": ([], ["api", 3]),
        "note": (["plain", rng.random()], ["call 555-123-4567", "v" * (MAX_VALUE_CHARS + 5)]),
        "tags": ([], [["a", "b"], {"k": "v"}, b"\x00\x01"]),
        "flag": ([True, False, 0], []),
        # Edges of every wire type, keys that differ only in case or are empty, and doubles the decoder
        # reads itself (``decode_pair``): each must map alike on both paths.
        "Stage": (["OCR"], []),
        "": (["empty key"], []),
        "big": ([2**63 - 1, -(2**63), -0.0, 5e-324, 1.7976931348623157e308], [float("inf"), float("-inf")]),
        "é.ключ": (["ünïcode ✓"], []),
    }
    messages = (["Stage completed", "Job started", ""],
                ["mail bob@example.com", "nul\x00here", "m" * (MAX_MESSAGE_CHARS + 3), {"structured": [1]},
                 b"bytes"])

    def pick(choices: tuple[list[Any], list[Any]]) -> Any:
        clean, hostile = choices
        return rng.choice(hostile if not clean or (hostile and rng.random() < 0.04) else clean)

    records = []
    for i in range(count):
        keys = [key for key in rng.sample(sorted(values), rng.randint(0, 9))
                if values[key][0] or rng.random() < 0.1]
        attributes = {key: pick(values[key]) for key in keys}
        record = otlp.log_record(
            pick(messages), level=rng.choice(["INFO", "ERROR", "FATAL", "warning", "??"]),
            time_ns=pick(([now - i], [0, now + 10**18])),
            observed_ns=pick(([now - i, now - i - 1], [0])),
            attributes=attributes,
            trace_id=pick(([TRACE, b"", bytes(16)], [b"\x01" * 5])),
            span_id=pick(([b"\x02" * 8, b"", bytes(8)], [b"\x03" * 9])),
        )
        if rng.random() < 0.3:
            record.event_name = pick((["job.created", ""], ["e\x00", "x" * 300, "bob@example.com"]))
        if keys and rng.random() < 0.03:  # a repeated key: the last value wins
            record.attributes.extend(otlp.key_values({keys[0]: pick(values[keys[0]])}))
        records.append(record)
    return records


@pytest.mark.parametrize("mode", pii.EXTRA_MODES)
def test_the_fast_path_gives_the_rows_and_counts_of_the_general_path(mode: str) -> None:
    """Every record through ``_LogRows`` (which remembers attributes, messages and names across the
    request and sends anything unusual to the general path) equals the same record through the general
    path alone, rows and every tally alike, in both ``extra`` modes of the PII layer."""
    rejected = 0
    for seed in range(8):
        request = otlp.logs_request(_mixed_records(seed, 600), resource={"host.name": "w1"})
        fast_ctx = MapContext(scrubber=PiiLayer(pii.Scrubber(extra_mode=mode)))
        fast = list(log_rows(request, fast_ctx))
        general_ctx = MapContext(scrubber=PiiLayer(pii.Scrubber(extra_mode=mode)),
                                 horizon_ns=fast_ctx.horizon_ns)
        general = list(item_rows(
            as_wire(request, LogsWire).resource_logs, "scope_logs", "log_records", general_ctx,
            functools.partial(_log_row, attributes=WireAttributes(general_ctx)),
        ))
        assert fast == general
        assert (fast_ctx.repairs, fast_ctx.redactions, fast_ctx.rejected, fast_ctx.first_error) == (
            general_ctx.repairs, general_ctx.redactions, general_ctx.rejected, general_ctx.first_error)
        assert fast_ctx.redactions and fast_ctx.repairs
        rejected += fast_ctx.rejected["logs"]
    assert rejected


def test_a_value_hidden_behind_a_repeated_key_is_still_judged_when_it_comes_alone() -> None:
    first = otlp.log_record("m", attributes={"note": "bob@example.com"})
    first.attributes.extend(otlp.key_values({"note": "clean"}))
    rows, ctx = _map(first, otlp.log_record("m", attributes={"note": "bob@example.com"}))
    assert [json.loads(row.attributes)["note"] for row in rows] == ["clean", "[REDACTED:email]"]
    assert ctx.redactions == {"attributes.note:email": 1}


def test_what_the_fast_path_remembers_stays_bounded_whatever_the_request_holds() -> None:
    """A request whose records all differ (severity texts, bodies, event names, attributes) keeps at most
    ``MAX_REMEMBERED`` of each, like the attribute cache."""
    count = MAX_REMEMBERED + 50
    records = []
    for index in range(count):
        record = otlp.log_record(f"m{index}", attributes={"n": index})
        record.severity_text, record.event_name = f"level {index}", f"event.n{index}"
        records.append(record)
    ctx = MapContext(scrubber=PiiLayer())
    fast = _LogRows(ctx)
    rows = list(item_rows(as_wire(otlp.logs_request(records), LogsWire).resource_logs, "scope_logs",
                          "log_records", ctx, fast))
    assert len(rows) == count
    remembered = (fast._prepared, fast._messages, fast._names, fast._levels)
    assert [len(cache) for cache in remembered] == [MAX_REMEMBERED] * 4
