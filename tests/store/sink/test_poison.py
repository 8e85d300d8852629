"""Poison records: one value Postgres cannot take must never cost the good records beside it.

Generated hostile values for every column of every table go through the real pipeline into a real
Postgres; every item is either stored or counted as rejected, then maintenance (rollups, archive,
retention, partitions, view refresh) and every §5 query run over what was stored. Below that, the
writer's safety net: rows Postgres refuses anyway are isolated by splitting the batch.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from rythmiq_otel import vocab
from rythmiq_otel.store import run_maintenance
from rythmiq_otel.store.sink import CopyWriter
from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._decode import Signal
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._pipeline import build_batch, process, write_isolating
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.sink_helpers import AUTH, sink_process
from tests.store.spec_queries import PARAMETERLESS, TIMELINE

SEED = 20261206
_NUMBERS: tuple[Any, ...] = (
    0, -1, 1, 13, 2**31, 2**63 - 1, -(2**63), 1e12, 1e30, 1e99, 1e100, 1.5e100, 1e308, -1e308,
    float("nan"), float("inf"), float("-inf"), 5e-324, -0.0, True,
)


def _incompressible(rng: random.Random, chars: int) -> str:
    """Random CJK text: 3 bytes a character and no repetition for pglz to squeeze into an index entry."""
    return "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(chars))


def _hostile_text(rng: random.Random) -> str:
    return rng.choice([
        "", "\x00", "a\x00b", "\x1b]0;pwned\x07\x1b[2J", "😀" * 3000, "1e400", "NaN", "-1", "9" * 40,
        str(uuid.UUID(int=rng.getrandbits(128))), "fast", "cold", "ocr", "OCR",
        _incompressible(rng, rng.choice([900, 3000, 6000])),
    ])


def _hostile(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(6 if depth < 3 else 3)
    if kind == 0:
        return _hostile_text(rng)
    if kind in (1, 2):
        return rng.choice(_NUMBERS)
    if kind == 3:
        return [_hostile(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 4:
        return {_hostile_text(rng)[:50]: _hostile(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.randbytes(rng.randint(0, 40))


def _log_records(rng: random.Random, now: int) -> list[Any]:
    """Records hostile in every §1.1 field, ``extra`` (every cpu_metrics column) and the event name,
    with valid job ids half of the time so the job tables are derived from them too."""
    events = [vocab.EVENT_JOB_CREATED, vocab.EVENT_JOB_STARTED, vocab.EVENT_METRICS_SUMMARY,
              vocab.EVENT_JOB_COMPLETED, vocab.EVENT_JOB_FAILED, vocab.EVENT_WEBHOOK_PROCESSED]
    extra_keys = [*vocab.CPU_METRICS_COLUMNS, "status", "quality_score", "processing_path"]
    records = []
    for i in range(240):
        attributes: dict[str, Any] = {field: _hostile(rng) for field in vocab.LOG_ATTRIBUTE_FIELDS
                                      if rng.random() < 0.6}
        attributes.update({f"extra.{key}": _hostile(rng) for key in extra_keys if rng.random() < 0.6})
        if rng.random() < 0.5:
            attributes["job_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        if rng.random() < 0.7:
            attributes[vocab.EVENT_NAME_ATTR] = rng.choice([*events, _hostile(rng)])
        record = otlp.log_record(_hostile(rng), level=rng.choice(["INFO", "ERROR"]), time_ns=now - i * 10**9,
                                 attributes=attributes)
        if rng.random() < 0.2:
            record.event_name = _hostile_text(rng)
        records.append(record)
    return records


def _spans(rng: random.Random, now: int) -> list[Any]:
    spans = []
    for i in range(60):
        span = otlp.span(_hostile_text(rng), trace_id=rng.randbytes(16), span_id=rng.randbytes(8),
                         start_ns=now - i * 10**9, kind=rng.randrange(0, 9),
                         attributes={_hostile_text(rng)[:40]: _hostile(rng) for _ in range(3)}
                         | {"job_id": _hostile(rng)}, error=rng.random() < 0.5)
        span.status.message = _hostile_text(rng)
        event = span.events.add(time_unix_nano=now, name=_hostile_text(rng))
        event.attributes.extend(otlp.key_values({"k": _hostile(rng)}))
        spans.append(span)
    return spans


def _metrics(rng: random.Random, now: int) -> list[Metric]:
    """Gauges, sums, explicit and exponential histograms and summaries with hostile names, attributes,
    values, bounds and counts -- and delta counts whose rollup sum leaves bigint."""
    metrics = []
    for i in range(40):
        name = rng.choice(["ok_metric", _hostile_text(rng)])
        attrs = {"a": _hostile(rng)} if rng.random() < 0.5 else {}
        stamp = now - i * 10**9
        metric = Metric(name=name)
        shape = i % 5
        if shape == 0:
            point = metric.gauge.data_points.add(time_unix_nano=stamp, as_double=float(rng.choice(_NUMBERS)))
        elif shape == 1:
            metric.sum.aggregation_temporality = rng.choice([1, 2, 7])
            point = metric.sum.data_points.add(start_time_unix_nano=stamp - 10**9, time_unix_nano=stamp,
                                               as_int=rng.choice([0, 2**63 - 1, -(2**63)]))
        elif shape == 2:
            metric.histogram.aggregation_temporality = rng.choice([1, 2])
            bounds = rng.choice([[1.0, 2.0], [2.0, 1.0], [float("nan")], [1e308, float("inf")],
                                 [float(b) for b in range(400)]])
            buckets = len(bounds) + rng.choice([1, 1, 0])
            counts = [rng.choice([0, 1, 2**62, 2**64 - 1]) for _ in range(buckets)]
            point = metric.histogram.data_points.add(
                start_time_unix_nano=stamp - 10**9, time_unix_nano=stamp, explicit_bounds=bounds,
                bucket_counts=counts, count=sum(counts) % 2**64 if rng.random() < 0.8 else 7,
                sum=rng.choice([1.0, float("nan"), 1e308]), min=rng.choice([0.0, float("-inf")]),
                max=rng.choice([1.0, float("inf")]))
        elif shape == 3:
            metric.exponential_histogram.aggregation_temporality = 1
            point = metric.exponential_histogram.data_points.add(
                start_time_unix_nano=stamp - 10**9, time_unix_nano=stamp,
                scale=rng.choice([-20, -3, 0, 3, 20]), zero_count=1, sum=rng.choice([1.0, float("nan")]))
            point.positive.offset = rng.choice([-2000, 0, 300, 2000])
            point.positive.bucket_counts.extend([1] * rng.choice([2, 200, 2000]))
            point.count = 1 + sum(point.positive.bucket_counts)
        else:
            point = metric.summary.data_points.add(time_unix_nano=stamp, count=rng.choice([1, 2**63]),
                                                   sum=rng.choice([1.0, float("nan"), -1e308]))
        point.attributes.extend(otlp.key_values(attrs))
        metrics.append(metric)
    # Valid points, each storable; their delta counts add up past 2**63 - 1 in one rollup bucket.
    for i in range(4):
        metrics.append(otlp.histogram_metric("huge_delta_counts", start_ns=now - 2 * 10**9 - i,
                                             time_ns=now - 10**9 - i, bounds=[1.0], counts=[2**62, 1],
                                             total=1.0))
    return metrics


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_hostile_values_in_every_column_are_stored_or_rejected_and_maintenance_and_queries_survive(
    database_url: str,
) -> None:
    rng = random.Random(SEED)
    now = time.time_ns() - 5 * 10**9
    service = _incompressible(rng, 3000)
    requests: list[tuple[Signal, Any, str]] = [
        ("logs", otlp.logs_request(_log_records(rng, now), resource={"rythmiq.service": service}), "logs"),
        ("logs", otlp.logs_request(_log_records(rng, now)), "logs"),
        ("traces", otlp.spans_request(_spans(rng, now), service=service), "spans"),
        ("metrics", otlp.metrics_request(_metrics(rng, now)), "metric_points"),
        ("metrics", otlp.metrics_request(_metrics(rng, now), service=service), "metric_points"),
    ]
    writer = CopyWriter(database_url, pool_size=1)
    accepted = {"logs": 0, "spans": 0, "metric_points": 0}
    try:
        for signal, request, table in requests:
            outcome = process(signal, request.SerializeToString(), fmt="protobuf", content_encoding=None,
                              max_body_bytes=1 << 26, scrubber=PiiLayer(), writer=writer)
            accepted[table] += outcome.accepted
            assert outcome.accepted > 0 and outcome.rejected < outcome.accepted + outcome.rejected
    finally:
        writer.close()

    with psycopg.connect(database_url, autocommit=True) as conn:
        assert {table: _count(conn, table) for table in accepted} == accepted
        assert _count(conn, "cpu_metrics") > 0 and _count(conn, "error_events") > 0
        assert _count(conn, "job_runs") > 0
        for _ in range(2):  # the second pass re-reads the first one's rollups, archive and views
            steps = run_maintenance(conn)
            assert any(step.step == "views refreshed" for step in steps)
        assert _count(conn, "metric_rollups") > 0
        counts = conn.execute("SELECT max(count), max(bucket_counts[1]) FROM metric_rollups "
                              "WHERE metric_name = 'huge_delta_counts'").fetchone()
        assert counts == (2**63 - 1, 2**63 - 1)  # saturated, not "bigint out of range"
        for name, query in PARAMETERLESS.items():
            rows = conn.execute(query).fetchall()
            for row in rows:
                for value in row:
                    assert not (isinstance(value, float) and math.isinf(value)), (name, row)
        (correlation,) = conn.execute("SELECT correlation_id FROM logs WHERE correlation_id IS NOT NULL "
                                      "LIMIT 1").fetchone() or (None,)
        assert conn.execute(TIMELINE, (correlation,)).fetchall()
        conn.execute("SELECT * FROM cpu_metrics_hourly").fetchall()
        conn.execute("SELECT histogram_quantile(0.5, bucket_bounds, bucket_counts) FROM metric_rollups "
                     "WHERE kind = 'histogram'").fetchall()


@pytest.fixture
def sink(database_url: str) -> Iterator[str]:
    with sink_process(database_url) as url:
        yield url


def _poisoned_logs(now: int) -> bytes:
    rng = random.Random(SEED)
    good = [otlp.log_record(f"good {i}", time_ns=now - i, attributes={"n": i}) for i in range(300)]
    job_ids = [str(uuid.uuid4()) for _ in range(3)]
    summary = {vocab.EVENT_NAME_ATTR: vocab.EVENT_METRICS_SUMMARY}
    poison = [
        otlp.log_record("long error code", level="ERROR",
                        attributes={"error_code": _incompressible(rng, 3000), "job_id": job_ids[0]}),
        otlp.log_record("long event name", attributes={vocab.EVENT_NAME_ATTR: _incompressible(rng, 3000)}),
        otlp.log_record("long path", attributes={**summary, "job_id": job_ids[1],
                                                 "extra.processing_path": _incompressible(rng, 3000),
                                                 "extra.page_count": 1e12,
                                                 "extra.input_file_size_bytes": 1e30,
                                                 "extra.total_cpu_seconds": 1e308}),
        otlp.log_record("another huge cpu", attributes={**summary, "job_id": job_ids[2],
                                                        "extra.total_cpu_seconds": 1e308}),
    ]
    nul_event = otlp.log_record("nul in event_name")
    nul_event.event_name = "job.\x00created"
    return otlp.logs_request([*good, *poison, nul_event]).SerializeToString()


@pytest.mark.slow
def test_a_poisoned_batch_is_stored_whole_and_maintenance_keeps_running(sink: str, database_url: str) -> None:
    response = httpx.post(f"{sink}/v1/logs", content=_poisoned_logs(time.time_ns() - 10**9),
                          headers={**AUTH, "Content-Type": "application/x-protobuf"}, timeout=30)
    assert response.status_code == 200, response.text
    assert not ExportLogsServiceResponse.FromString(response.content).partial_success.rejected_log_records
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert _count(conn, "logs") == 305
        nul_repaired = conn.execute("SELECT count(*) FROM logs WHERE event_name = 'job.\ufffdcreated'")
        assert nul_repaired.fetchone() == (1,)
        assert conn.execute("SELECT count(*), sum(total_cpu_seconds), max(page_count), "
                            "max(input_file_size_bytes) FROM cpu_metrics").fetchone() == (2, 0.0, None, None)
        run_maintenance(conn)
        assert conn.execute("SELECT used_hours FROM get_monthly_cpu_usage()").fetchone() == (0.0,)
    scrape = httpx.get(f"{sink}/metrics", headers=AUTH, timeout=10).text
    assert "rythmiq_cpu_hours_current_month 0" in scrape
    for reason, times in (("key_truncated", 4), ("invalid_total_cpu_seconds", 2), ("invalid_page_count", 1),
                          ("invalid_input_file_size_bytes", 1), ("nul_byte", 1)):
        # key_truncated: error_code, event name, processing_path for cpu_metrics and for job_runs
        assert f'rythmiq_sink_repairs_total{{reason="{reason}"}} {times}\n' in scrape


def _logs_batch(records: list[Any]) -> Any:
    return build_batch("logs", otlp.logs_request(records), MapContext(scrubber=PiiLayer()))


def test_rows_postgres_refuses_are_isolated_and_the_rest_stored(database_url: str) -> None:
    """The safety net below the mappers' bounds: a row the mapper let through but Postgres refuses."""
    rng = random.Random(SEED)
    batch = _logs_batch([otlp.log_record(f"r{i}", attributes={"n": i}) for i in range(50)])
    bad = batch.logs[17]._replace(error_code=_incompressible(rng, 3000))  # past the mapper: no cut
    batch.logs[17] = bad
    ctx = MapContext(scrubber=PiiLayer())
    writer = CopyWriter(database_url, pool_size=1)
    try:
        assert write_isolating(writer, "logs", batch, ctx) == 1
    finally:
        writer.close()
    assert ctx.rejected["logs"] == 1 and ctx.repairs["refused_by_postgres"] == 1
    assert "Postgres refused one of the logs items (ProgramLimitExceeded" in ctx.first_error
    with psycopg.connect(database_url) as conn:
        assert _count(conn, "logs") == 49


def test_a_record_whose_derived_row_is_refused_is_stored_without_it(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:  # a constraint only this test has
        conn.execute("ALTER TABLE cpu_metrics ADD CONSTRAINT refuse_13 CHECK (page_count <> 13)")
    records = [otlp.log_record(f"summary {pages}", attributes={
        vocab.EVENT_NAME_ATTR: vocab.EVENT_METRICS_SUMMARY, "job_id": str(uuid.uuid4()),
        "extra.page_count": pages}) for pages in (12, 13, 14)]
    ctx = MapContext(scrubber=PiiLayer())
    writer = CopyWriter(database_url, pool_size=1)
    try:
        assert write_isolating(writer, "logs", _logs_batch(records), ctx) == 0
    finally:
        writer.close()
    assert ctx.repairs["derived_row_refused"] == 1 and not ctx.rejected
    with psycopg.connect(database_url) as conn:
        assert _count(conn, "logs") == 3
        assert conn.execute("SELECT array_agg(page_count ORDER BY page_count) FROM cpu_metrics").fetchone() \
            == ([12, 14],)
