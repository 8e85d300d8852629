"""Spans → ``spans`` rows and metric data points → ``metric_points`` rows, including the bad cases."""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

import pytest
from google.protobuf import json_format

from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._decode import Format, decode
from rythmiq_otel.store.sink._map_metrics import metric_point_rows
from rythmiq_otel.store.sink._map_spans import span_rows
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._values import Repairs, hex_to_uuid_text
from tests.store.sink import otlp_builders as otlp
from tests.store.sink.job_events import new_job

TRACE = bytes.fromhex("7c9e6679742540de944be07fc1f90ae7")


def _ctx() -> MapContext:
    return MapContext(scrubber=PiiLayer())


def test_span_fields_land_in_their_columns() -> None:
    job = new_job()
    start = time.time_ns()
    request = otlp.spans_request([otlp.span(
        "POST /jobs", trace_id=TRACE, span_id=b"\x01" * 8, parent=b"\x02" * 8, start_ns=start,
        duration_ns=145 * 10**6, attributes={"job_id": job.job_id, "http.status_code": 201}, error=True,
    )], service="api")
    ctx = _ctx()
    [row] = span_rows(request, ctx)
    assert (row.trace_id, row.span_id, row.parent_span_id) == (TRACE.hex(), "01" * 8, "02" * 8)
    assert (row.name, row.kind) == ("POST /jobs", "server")
    assert (row.status_code, row.status_message) == ("error", "boom")
    assert row.duration_ms == 145.0 and row.service == "api" and row.scope_name == "tests"
    assert str(row.correlation_id) == "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert str(row.job_id) == job.job_id
    assert json.loads(row.attributes)["http.status_code"] == 201
    assert not ctx.repairs


def test_pii_in_span_link_attributes_is_redacted_like_event_attributes() -> None:
    span = otlp.span("linked", trace_id=TRACE, span_id=b"\x01" * 8)
    link = span.links.add(trace_id=TRACE, span_id=b"\x02" * 8)
    link.attributes.extend(otlp.key_values({"email": "jane@example.com"}))
    ctx = _ctx()
    [row] = span_rows(otlp.spans_request([span]), ctx)
    [stored] = json.loads(row.links)
    assert "jane" not in row.links and stored["attributes"]["email"].startswith("[REDACTED:")
    assert ctx.redactions == {"link.email:email": 1}


def test_spans_without_usable_ids_or_start_are_rejected_and_the_rest_kept() -> None:
    request = otlp.spans_request([
        otlp.span("bad trace", trace_id=b"\x01" * 3, span_id=b"\x01" * 8),
        otlp.span("zero start", trace_id=TRACE, span_id=b"\x02" * 8, start_ns=0),
        otlp.span("good", trace_id=TRACE, span_id=b"\x03" * 8),
    ])
    ctx = _ctx()
    rows = list(span_rows(request, ctx))
    assert [r.name for r in rows] == ["good"]
    assert ctx.rejected["spans"] == 2
    assert ctx.repairs["span_without_valid_ids"] == 1 and ctx.repairs["span_without_valid_time"] == 1


def test_sums_keep_value_temporality_and_monotonicity() -> None:
    now = time.time_ns()
    request = otlp.metrics_request([otlp.sum_metric(
        "rythmiq_jobs_total", [(now - 10**9, now, 5.0, {"status": "success", "processing_path": "fast"})],
        temporality=2,
    )])
    [row] = metric_point_rows(request, _ctx())
    assert (row.metric_name, row.kind, row.temporality, row.is_monotonic) == (
        "rythmiq_jobs_total", "sum", "cumulative", True)
    assert row.value == 5.0 and json.loads(row.attributes) == {"status": "success", "processing_path": "fast"}
    assert row.start_time is not None and row.service == "worker"


def test_histograms_keep_bounds_counts_sum_min_max() -> None:
    now = time.time_ns()
    request = otlp.metrics_request([otlp.histogram_metric(
        "rythmiq_job_cpu_seconds", start_ns=now - 10**9, time_ns=now, bounds=[0.1, 0.25, 0.5],
        counts=[1, 2, 3, 4], total=7.5, attributes={"stage": "ocr"})])
    [row] = metric_point_rows(request, _ctx())
    assert (row.kind, row.temporality, row.count, row.sum, row.min, row.max) == (
        "histogram", "delta", 10, 7.5, 0.1, 9.0)
    assert (row.bucket_bounds, row.bucket_counts) == ([0.1, 0.25, 0.5], [1, 2, 3, 4])


def test_exponential_histograms_are_converted_to_explicit_buckets() -> None:
    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

    now = time.time_ns()
    metric = Metric(name="exp")
    metric.exponential_histogram.aggregation_temporality = 1
    point = metric.exponential_histogram.data_points.add(
        time_unix_nano=now, count=6, sum=10.0, scale=0, zero_count=1)
    point.positive.offset = 1
    point.positive.bucket_counts.extend([2, 3])
    ctx = _ctx()
    [row] = metric_point_rows(otlp.metrics_request([metric]), ctx)
    # scale 0: base 2; bucket i covers (2**(1+i), 2**(2+i)]
    assert (row.bucket_bounds, row.bucket_counts) == ([2.0, 4.0], [1, 2, 3])
    assert ctx.repairs["exponential_histogram_converted"] == 1


def test_bad_points_are_rejected_and_counted_and_the_rest_kept() -> None:
    now = time.time_ns()
    request = otlp.metrics_request([
        otlp.sum_metric("m", [(0, 0, 1.0, {}), (0, now, float("nan"), {}), (0, now, 2.0, {})]),
        otlp.histogram_metric("h", start_ns=0, time_ns=now, bounds=[1.0], counts=[1, 2, 3], total=1.0),
    ])
    ctx = _ctx()
    rows = list(metric_point_rows(request, ctx))
    assert [r.value for r in rows] == [2.0]
    assert ctx.rejected["metrics"] == 3
    assert {"point_without_valid_time", "non_finite_value", "histogram_bucket_mismatch"} <= set(ctx.repairs)


def test_the_same_point_under_another_metric_name_has_another_dedup_key() -> None:
    now = time.time_ns()
    point = (now - 1, now, 1.0, {})
    rows = list(metric_point_rows(otlp.metrics_request(
        [otlp.sum_metric("a", [point]), otlp.sum_metric("b", [point])]), _ctx()))
    assert rows[0].dedup_key != rows[1].dedup_key


def test_counts_beyond_bigint_and_overflowing_exponential_scales_are_rejected() -> None:
    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

    now = time.time_ns()
    huge = otlp.histogram_metric("h", start_ns=0, time_ns=now, bounds=[1.0], counts=[2**63, 1], total=1.0)
    wild = Metric(name="exp")
    wild.exponential_histogram.aggregation_temporality = 1
    point = wild.exponential_histogram.data_points.add(time_unix_nano=now, count=1, scale=-11)
    point.positive.offset = 1
    point.positive.bucket_counts.extend([1, 1])
    ctx = _ctx()
    assert list(metric_point_rows(otlp.metrics_request([huge, wild]), ctx)) == []
    assert ctx.rejected["metrics"] == 2
    assert ctx.repairs["count_out_of_range"] == 1 and ctx.repairs["exponential_scale_out_of_range"] == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"explicit_bounds": [1.0, float("nan")]}, "histogram_invalid_bounds"),
    ({"explicit_bounds": [1.0, float("inf")]}, "histogram_invalid_bounds"),
    ({"explicit_bounds": [2.0, 1.0]}, "histogram_invalid_bounds"),
    ({"explicit_bounds": [1.0, 1.0]}, "histogram_invalid_bounds"),
    ({"explicit_bounds": [1.0, 1e101]}, "histogram_invalid_bounds"),
    ({"sum": float("nan")}, "non_finite_value"),
    ({"min": float("-inf")}, "non_finite_value"),
    ({"max": 1e300}, "value_out_of_range"),
    ({"count": 7}, "histogram_count_mismatch"),
    ({"bucket_counts": [1] * 1025, "explicit_bounds": [float(b) for b in range(1024)], "count": 1025},
     "too_many_buckets"),
])
def test_histograms_are_validated_like_other_points(change: dict[str, object], reason: str) -> None:
    now = time.time_ns()
    good = otlp.histogram_metric("h", start_ns=now - 1, time_ns=now, bounds=[1.0, 2.0], counts=[1, 2, 3],
                                 total=6.0)
    bad = otlp.histogram_metric("h", start_ns=now - 2, time_ns=now, bounds=[1.0, 2.0], counts=[1, 2, 3],
                                total=6.0)
    point = bad.histogram.data_points[0]
    for field, value in change.items():
        if isinstance(value, list):
            getattr(point, field)[:] = value
        else:
            setattr(point, field, value)
    ctx = _ctx()
    rows = list(metric_point_rows(otlp.metrics_request([good, bad]), ctx))
    assert len(rows) == 1 and rows[0].bucket_bounds == [1.0, 2.0]
    assert ctx.rejected["metrics"] == 1 and ctx.repairs[reason] == 1, ctx.repairs


def test_exponential_and_summary_points_are_validated_too() -> None:
    from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

    now = time.time_ns()
    exp = Metric(name="exp")
    exp.exponential_histogram.aggregation_temporality = 1
    point = exp.exponential_histogram.data_points.add(time_unix_nano=now, count=9, scale=0, zero_count=1)
    point.positive.bucket_counts.extend([1, 1])  # adds up to 3, not 9
    summary = Metric(name="s")
    summary.summary.data_points.add(time_unix_nano=now, count=1, sum=float("nan"))
    ctx = _ctx()
    assert list(metric_point_rows(otlp.metrics_request([exp, summary]), ctx)) == []
    assert ctx.repairs["histogram_count_mismatch"] == 1 and ctx.repairs["non_finite_value"] == 1


# Attribute values clean and hostile, some only PII outside a CLIENT span (a server address).
_ATTRIBUTE_POOL: dict[str, list[Any]] = {
    "job_id": ["550e8400-e29b-41d4-a716-446655440000", "nope"],
    "http.route": ["/jobs", "/users/bob@example.com"],
    "server.address": ["10.1.2.3", "api.internal"],
    "net.peer.name": ["10.1.2.3"],
    "user.email": ["jane@example.com"],
    "note": ["plain", "call 555-123-4567", "nul\x00here", 0.5, float("nan"), 2**63 - 1, -(2**63)],
    "tags": [["a", 1], {"k": "v"}, b"\x00\x01"],
    "Note": ["plain"],
    "": ["empty key"],
}


def _random_attributes(rng: random.Random) -> list[tuple[str, Any]]:
    keys = rng.sample(sorted(_ATTRIBUTE_POOL), rng.randint(0, 5))
    pairs = [(key, rng.choice(_ATTRIBUTE_POOL[key])) for key in keys]
    if pairs and rng.random() < 0.1:  # a repeated key: the last value wins
        pairs.append((pairs[0][0], rng.choice(_ATTRIBUTE_POOL[pairs[0][0]])))
    return pairs


def _with_pairs(target: Any, pairs: list[tuple[str, Any]]) -> None:
    for key, value in pairs:
        target.attributes.extend(otlp.key_values({key: value}))


def _tallies(ctx: MapContext) -> tuple[object, ...]:
    return ctx.repairs, ctx.redactions, ctx.rejected


@pytest.mark.parametrize("seed", range(4))
def test_attributes_remembered_across_a_request_change_no_span_and_no_point(seed: int) -> None:
    """Spans and points mapped in one request (each distinct attribute decoded and judged once, CLIENT
    spans apart) equal the same items mapped one request each, rows and tallies alike."""
    rng = random.Random(seed)
    now = time.time_ns()
    spans, points = [], []
    for index in range(300):
        span = otlp.span("s", trace_id=TRACE, span_id=index.to_bytes(8, "big"), kind=rng.choice([2, 3]),
                         start_ns=now - index)
        _with_pairs(span, _random_attributes(rng))
        spans.append(span)
        metric = otlp.sum_metric("rythmiq_things_total", [(now - 10**9, now - index, 1.0, {})])
        _with_pairs(metric.sum.data_points[0], _random_attributes(rng))
        points.append(metric)
    for mapper, request_of, items in ((span_rows, otlp.spans_request, spans),
                                      (metric_point_rows, otlp.metrics_request, points)):
        together_ctx = _ctx()
        together = list(mapper(request_of(items), together_ctx))
        alone_ctx = MapContext(scrubber=PiiLayer(), horizon_ns=together_ctx.horizon_ns)
        alone = [row for item in items for row in mapper(request_of([item]), alone_ctx)]
        assert together == alone
        assert _tallies(together_ctx) == _tallies(alone_ctx)
        assert together_ctx.redactions and together_ctx.repairs


@pytest.mark.parametrize("fmt", ["protobuf", "json"])
def test_a_point_keeps_the_dedup_key_it_had_before_attributes_were_read_as_bytes(fmt: Format) -> None:
    """The key is the MD5 of resource, scope, metric name and the point's encoding, each as the real
    classes encode them (what ``metric_points`` rows already stored carry), whichever way the body came."""
    now = time.time_ns()
    request = otlp.metrics_request([otlp.sum_metric("rythmiq_jobs_total", [
        (now - 10**9, now, 1.0, {"status": "failed", "n": 3, "f": 0.5, "list": ["a", 1]}),
    ])])
    body = request.SerializeToString() if fmt == "protobuf" else json_format.MessageToJson(request).encode()
    decoded, _ = decode("metrics", body, fmt, Repairs(), wire=True)
    [row] = metric_point_rows(decoded, _ctx())
    resource, scope = request.resource_metrics[0], request.resource_metrics[0].scope_metrics[0]
    metric = scope.metrics[0]
    identity = (resource.resource.SerializeToString() + b"\x00" + scope.scope.SerializeToString() + b"\x00"
                + metric.name.encode() + b"\x00" + metric.sum.data_points[0].SerializeToString())
    assert row.dedup_key == hex_to_uuid_text(hashlib.md5(identity, usedforsecurity=False).hexdigest())
