"""``--backfill-days D``: D days of history sent through the sink's OTLP endpoint before the live system runs.

So the first look at the dashboards shows trends, not one lonely minute. The records are what the example
services emit for a job (``examples._pipeline`` under the distro), time-stamped in the past and drawn from
``examples._history_shape``: the api's ``job.created`` and request metrics, the worker's lifecycle events,
stage events, metrics summary and §3.1 job metrics, the webhook's ``webhook.processed``, and the spans of
the three services. They go in as OTLP/HTTP protobuf built straight from ``opentelemetry-proto`` messages
(the SDK would stamp them with the current time, and is far slower at this volume), through the same sink
as the live traffic, so ``job_runs``, ``cpu_metrics`` and ``error_events`` are derived exactly as they are
from live telemetry. Left out for volume: the api's status-poll and output requests are in the request
metrics but have no log lines.

Before sending, the day partitions of ``logs``, ``spans`` and ``metric_points`` are created (past days
would otherwise wait in the DEFAULT partitions until maintenance moves them); afterwards the metric rollups
of the whole range are computed and one maintenance pass refreshes the materialized views, so the
dashboards' first read is complete.
"""

from __future__ import annotations

import bisect
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from examples import _history_shape as shape
from rythmiq_otel import vocab
from rythmiq_otel.store import run_maintenance

__all__ = ["BackfillError", "BackfillResult", "backfill", "history_end"]

JOBS_PER_REQUEST = 200
POINTS_PER_REQUEST = 5000
# The history's metrics are exported as a service with OTEL_METRIC_EXPORT_INTERVAL=300000 would (the
# live services use the default 60 s): at launch volume a minute holds about one job, so a 60 s interval
# makes nearly one point per sample, and those points are most of the history's rows and of the rollup
# work. Five-minute points leave every hourly and daily number the same.
EXPORT_INTERVAL_SECONDS = 300
# The latest day's jobs also carry the worker's per-stage log lines, spans and CPU histogram
# (rythmiq_job_cpu_seconds, half of all metric points at this volume); older ones only the lifecycle
# events, spans and metrics the dashboards read -- each job's per-stage CPU is still in its metrics summary
# (cpu_metrics) -- which keeps a month of history fast to send and to roll up.
DETAIL_SECONDS = 86400
SENDERS = 4
MAX_ATTEMPTS = 10
_NS = 1_000_000_000
_SEVERITY = {"INFO": 9, "WARN": 13, "ERROR": 17}
_SCOPE = "rythmiq_otel"
_DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA


class BackfillError(Exception):
    """The sink refused the history (one sentence: what and why)."""


@dataclass(frozen=True)
class BackfillResult:
    """What was sent: jobs and OTLP records by signal, and how long it took."""

    jobs: int
    log_records: int
    spans: int
    metric_points: int
    seconds: float


def _kv(key: str, value: Any) -> KeyValue:
    """One attribute as an OTLP key-value (str, bool, int or float)."""
    kv = KeyValue(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = str(value)
    return kv


def _add(target: Any, attributes: Mapping[str, Any]) -> None:
    """Append ``attributes`` (``None`` values left out) to a repeated KeyValue field, in place."""
    for key, value in attributes.items():
        if value is not None:
            target.append(_kv(key, value))


def _resource(service: str) -> dict[str, str]:
    return {"service.name": f"rythmiq-{service}", vocab.RESOURCE_SERVICE_ATTR: service,
            "rythmiq.history": "backfill"}


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


class _Ids:
    """A job's id, its trace id and the trace id's UUID spelling (the correlation id)."""

    def __init__(self, rng: random.Random) -> None:
        self.job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.trace_id = rng.randbytes(16)
        self.correlation_id = str(uuid.UUID(bytes=self.trace_id))


class _Batch:
    """One logs request and one traces request for a batch of jobs, built in place.

    Records are copied from per-event templates holding the attributes every such record shares (event
    name, message, level, stage, path...), then given their own times, ids and values: protobuf messages
    are slow to build attribute by attribute from Python, and most of a record is the same every time.
    """

    def __init__(self, templates: dict[tuple[Any, ...], Any]) -> None:
        self.templates = templates
        self.logs_request = ExportLogsServiceRequest()
        self.traces_request = ExportTraceServiceRequest()
        self.log_scopes: dict[str, Any] = {}
        self.span_scopes: dict[str, Any] = {}
        self.log_records = self.spans = 0

    def _scope(self, scopes: dict[str, Any], container: Any, service: str, field: str) -> Any:
        scope = scopes.get(service)
        if scope is None:
            resource = container.add()
            _add(resource.resource.attributes, _resource(service))
            scope = scopes[service] = getattr(resource, field).add()
            scope.scope.name = _SCOPE
        return scope

    def _template(self, kind: type, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        template = self.templates.get((kind, *key))
        if template is None:
            template = self.templates[(kind, *key)] = build()
        return template

    def log(self, service: str, job: _Ids, at: float, event: str, message: str, *, span: bytes,
            level: str = "INFO", fixed: Mapping[str, Any] | None = None, **values: Any) -> None:
        """A log record; ``fixed`` attributes are shared by many records (templated), ``values`` are not.
        ``extra`` keys of either go in as ``extra.<key>`` attributes."""
        fixed = _flatten(fixed or {})

        def build() -> LogRecord:
            record = LogRecord(severity_number=_SEVERITY[level], severity_text=level)
            record.body.string_value = message
            _add(record.attributes, {vocab.EVENT_NAME_ATTR: event, **fixed})
            return record

        template = self._template(LogRecord, (event, level, message, *sorted(fixed.items())), build)
        scope = self._scope(self.log_scopes, self.logs_request.resource_logs, service, "scope_logs")
        record = scope.log_records.add()
        record.CopyFrom(template)
        record.time_unix_nano = record.observed_time_unix_nano = _ns(at)
        record.trace_id, record.span_id = job.trace_id, span
        _add(record.attributes, {"job_id": job.job_id, "correlation_id": job.correlation_id,
                                 **_flatten(values)})
        self.log_records += 1

    def span(self, service: str, job: _Ids, name: str, *, span: bytes, parent: bytes, kind: int,
             start: float, end: float, error: str | None = None, **fixed: Any) -> None:
        def build() -> Span:
            record = Span(name=name, kind=kind)
            _add(record.attributes, fixed)
            if error:
                record.status.code = Status.STATUS_CODE_ERROR
                record.status.message = error
            return record

        template = self._template(Span, (name, kind, error, *sorted(fixed.items())), build)
        scope = self._scope(self.span_scopes, self.traces_request.resource_spans, service, "scope_spans")
        record = scope.spans.add()
        record.CopyFrom(template)
        record.trace_id, record.span_id, record.parent_span_id = job.trace_id, span, parent
        record.start_time_unix_nano, record.end_time_unix_nano = _ns(start), _ns(end)
        record.attributes.append(_kv("job_id", job.job_id))
        self.spans += 1


def _flatten(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` becomes ``extra.<key>`` attributes, as the distro writes them."""
    extra = attributes.get("extra") or {}
    flat = {k: v for k, v in attributes.items() if k != "extra"}
    flat.update({vocab.EXTRA_PREFIX + k: v for k, v in extra.items()})
    return flat


class _Samples:
    """The day's metric samples, by (service, metric, export interval, labels): what the SDK aggregates
    between two exports."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str, int, tuple[tuple[str, str], ...]], list[float]] = defaultdict(list)

    def measure(self, service: str, metric: str, at: float, value: float = 1.0, **labels: str) -> None:
        self.values[service, metric, int(at // EXPORT_INTERVAL_SECONDS), tuple(labels.items())].append(value)


def _emit_job(batch: _Batch, samples: _Samples, job: shape.DrawnJob, rng: random.Random, *,
              detail: bool) -> None:
    """Everything the three services emit for ``job``: logs, spans and metric samples. Without ``detail``
    the worker's per-stage log lines, spans and CPU histogram are left out (the CPU is in the summary)."""
    ids = _Ids(rng)
    api_span, worker_span, hook_span = rng.randbytes(8), rng.randbytes(8), rng.randbytes(8)
    post_seconds = rng.lognormvariate(-3.4, 0.4)
    post_end = job.created_at + post_seconds
    batch.span("api", ids, "POST /jobs", span=api_span, parent=b"", kind=Span.SPAN_KIND_SERVER,
               start=job.created_at, end=post_end,
               **{"http.route": "/jobs", "http.response.status_code": 201})
    batch.log("api", ids, job.created_at, vocab.EVENT_JOB_CREATED, "Job created", span=api_span)
    batch.log("api", ids, post_end, vocab.EVENT_REQUEST_COMPLETED, "Request completed", span=api_span,
              fixed={"http_method": "POST", "http_path": "/jobs", "http_status": 201},
              latency_ms=round(post_seconds * 1000, 3))
    _emit_requests(samples, job, post_seconds, rng)

    path, temperature, code = job.processing_path, job.execution_temperature, job.error_code
    batch.span("worker", ids, "job", span=worker_span, parent=api_span, kind=Span.SPAN_KIND_CONSUMER,
               start=job.started_at, end=job.completed_at, error=code,
               **{"rythmiq.execution_temperature": temperature})
    if temperature == "cold":
        batch.log("worker", ids, job.started_at, vocab.EVENT_COLD_START, "Cold start detected", level="WARN",
                  span=worker_span, fixed={"extra": {"execution_temperature": "cold"}})
        samples.measure("worker", vocab.METRIC_COLD_STARTS, job.started_at)
    batch.log("worker", ids, job.started_at, vocab.EVENT_JOB_STARTED, "Job processing started",
              span=worker_span, fixed={"extra": {"execution_temperature": temperature}})
    at, step = job.started_at, (job.completed_at - job.started_at) / len(job.stages_run)
    for stage in job.stages_run:
        at += step
        if detail:
            cpu = round(job.stage_cpu_seconds[stage], 6)
            samples.measure("worker", vocab.METRIC_JOB_CPU, at, cpu, processing_path=path or vocab.OTHER,
                            stage=stage)
            stage_span = rng.randbytes(8)
            failed_here = stage == job.error_stage
            batch.span("worker", ids, f"stage {stage}", span=stage_span, parent=worker_span,
                       kind=Span.SPAN_KIND_INTERNAL, start=at - step, end=at,
                       error=code if failed_here else None, **{"rythmiq.stage": stage})
            if not failed_here:
                batch.log("worker", ids, at, vocab.EVENT_STAGE_COMPLETED, "Stage completed", span=stage_span,
                          fixed={"stage": stage, "extra": {"processing_path": path}}, cpu_seconds=cpu,
                          latency_ms=round(step * 1000, 3))

    done = job.completed_at
    durations = {"cpu_seconds": round(job.total_cpu_seconds, 6),
                 "latency_ms": round(job.wall_seconds * 1000, 3)}
    outcome = {"processing_path": path, "execution_temperature": temperature}
    if code is not None:
        batch.log("worker", ids, done, vocab.EVENT_JOB_FAILED, "Job processing failed", level="ERROR",
                  span=worker_span, fixed={"stage": job.error_stage, "error_code": code,
                                           "error_stage": job.error_stage, "extra": outcome},
                  **durations, extra={"quality_score": job.quality_score})
        samples.measure("worker", vocab.METRIC_ERRORS_TOTAL, done, error_code=code,
                        stage=job.error_stage or "")
    else:
        batch.log("worker", ids, done, vocab.EVENT_JOB_COMPLETED, "Job completed successfully",
                  span=worker_span, fixed={"extra": outcome}, **durations,
                  extra={"quality_score": job.quality_score, "ocr_confidence": job.ocr_confidence})
    summary = {"total_cpu_seconds": round(job.total_cpu_seconds, 6),
               "total_wall_seconds": round(job.wall_seconds, 6),
               **{vocab.STAGE_CPU_COLUMN[s]: round(c, 6) for s, c in job.stage_cpu_seconds.items()},
               "input_file_size_bytes": job.input_file_size_bytes,
               "output_file_size_bytes": None if code else 300 + 120 * job.page_count,
               "quality_score": job.quality_score, "ocr_confidence": job.ocr_confidence,
               "page_count": job.page_count}
    batch.log("worker", ids, done, vocab.EVENT_METRICS_SUMMARY, "Job metrics summary", span=worker_span,
              fixed={"extra": {**outcome, "enhancement_skipped": None if path is None else path == "fast"}},
              **durations, extra=summary)
    label_path = path or vocab.OTHER
    samples.measure("worker", vocab.METRIC_JOBS_TOTAL, done, status="failed" if code else "success",
                    processing_path=label_path)
    samples.measure("worker", vocab.METRIC_JOB_LATENCY, done, job.wall_seconds, processing_path=label_path,
                    execution_temp=temperature)
    if job.quality_score is not None:
        samples.measure("worker", vocab.METRIC_QUALITY_SCORE, done, job.quality_score,
                        processing_path=label_path)
    if job.ocr_confidence is not None:
        samples.measure("worker", vocab.METRIC_OCR_CONFIDENCE, done, job.ocr_confidence,
                        processing_path=label_path)

    hook = done + 0.05
    batch.span("webhook", ids, "POST /webhooks/camber", span=hook_span, parent=worker_span,
               kind=Span.SPAN_KIND_SERVER, start=hook, end=hook + 0.009,
               **{"http.route": "/webhooks/camber", "http.response.status_code": 200})
    batch.log("webhook", ids, hook, vocab.EVENT_WEBHOOK_PROCESSED, "Webhook processed", span=hook_span,
              fixed={"stage": "delivery", "error_code": code,
                     "extra": {"status": "failed" if code else "completed"}})


def _emit_requests(samples: _Samples, job: shape.DrawnJob, create_seconds: float, rng: random.Random) -> None:
    """The api's and the webhook's request metrics for ``job`` (POST, status polls, output, webhook)."""
    requests = [("api", "create", job.created_at, create_seconds)]
    requests += [("api", "status", job.created_at + (1 + 4 * rng.random()) * k, None)
                 for k in range(1, 2 + int(rng.random() * 3))]
    if job.error_code is None:
        requests.append(("api", "output", job.completed_at + 0.5 + 3 * rng.random(), None))
    requests.append(("webhook", "webhook", job.completed_at + 0.05, None))
    for service, route, at, seconds in requests:
        method, path, median = shape.API_ROUTES[route]
        u = rng.random()
        status = ("401" if u < shape.API_UNAUTHORIZED_SHARE
                  else "500" if u < shape.API_UNAUTHORIZED_SHARE + shape.API_SERVER_ERROR_SHARE
                  else "201" if route == "create" else "200")
        latency = seconds if seconds is not None else median * rng.lognormvariate(0, 0.5)
        samples.measure(service, vocab.METRIC_API_REQUESTS, at, method=method, path=path, status=status)
        samples.measure(service, vocab.METRIC_API_LATENCY, at, latency, method=method, path=path)


_COUNTERS = {vocab.METRIC_JOBS_TOTAL, vocab.METRIC_ERRORS_TOTAL, vocab.METRIC_COLD_STARTS,
             vocab.METRIC_API_REQUESTS}


def _metrics_requests(samples: _Samples) -> Iterator[tuple[ExportMetricsServiceRequest, int]]:
    """One delta point per series per export interval, as the SDK exports them, in requests of at most
    ``POINTS_PER_REQUEST`` points (the sink caps a request's points); each with its point count."""
    ordered = sorted(samples.values.items(), key=lambda item: (item[0][2], item[0]))
    label_sets: dict[tuple[tuple[str, str], ...], list[KeyValue]] = {}
    for first in range(0, len(ordered), POINTS_PER_REQUEST):
        chunk = ordered[first:first + POINTS_PER_REQUEST]
        request = ExportMetricsServiceRequest()
        scopes: dict[str, Any] = {}
        metrics: dict[tuple[str, str], Metric] = {}
        for (service, name, interval, labels), values in chunk:
            metric = metrics.get((service, name))
            if metric is None:
                scope = scopes.get(service)
                if scope is None:
                    resource = request.resource_metrics.add()
                    _add(resource.resource.attributes, _resource(service))
                    scope = scopes[service] = resource.scope_metrics.add()
                    scope.scope.name = _SCOPE
                metric = metrics[service, name] = scope.metrics.add(name=name)
            point = _point(metric, name, interval, values)
            if labels not in label_sets:
                label_sets[labels] = [_kv(key, value) for key, value in labels]
            point.attributes.extend(label_sets[labels])
        yield request, len(chunk)


def _point(metric: Metric, name: str, interval: int, values: list[float]) -> Any:
    """The delta point of ``values`` (a counter's increments or a histogram's samples) over one export
    interval (numbered since the epoch)."""
    start, end = interval * EXPORT_INTERVAL_SECONDS * _NS, (interval + 1) * EXPORT_INTERVAL_SECONDS * _NS
    if name in _COUNTERS:
        metric.sum.aggregation_temporality = _DELTA
        metric.sum.is_monotonic = True
        return metric.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=end,
                                          as_double=float(len(values)))
    bounds = vocab.METRIC_BUCKETS[name]
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect.bisect_left(bounds, value)] += 1
    metric.histogram.aggregation_temporality = _DELTA
    return metric.histogram.data_points.add(
        start_time_unix_nano=start, time_unix_nano=end, count=len(values), sum=sum(values), min=min(values),
        max=max(values), explicit_bounds=bounds, bucket_counts=counts)


def _days(
    start: float, end: float, jobs_per_day: float, rng: random.Random
) -> Iterator[list[shape.DrawnJob]]:
    """The history's jobs, one UTC day at a time (jobs still running at ``end`` are left to the live run)."""
    day: list[shape.DrawnJob] = []
    current = None
    for hour, count, incident in shape.hourly_counts(start, end, jobs_per_day, rng):
        if current is not None and int(hour // 86400) != current and day:
            yield day
            day = []
        current = int(hour // 86400)
        for created in sorted(hour + 3600 * rng.random() for _ in range(count)):
            if start <= created:
                job = shape.draw_job(rng, created, incident=incident)
                if job.completed_at + 1 < end:
                    day.append(job)
    if day:
        yield day


class _Sender:
    """Posts protobuf bodies to the sink from a few threads, retrying what the sink says to retry."""

    def __init__(self, sink_url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=sink_url,
            timeout=60,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-protobuf"},
        )
        self.pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="backfill")
        self.pending: list[Any] = []

    def send(self, path: str, body: bytes) -> None:
        self.pending.append(self.pool.submit(self._post, path, body))
        if len(self.pending) >= 4 * SENDERS:
            self.drain()

    def drain(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def _post(self, path: str, body: bytes) -> None:
        """POST until the sink takes it: 429/503 wait for Retry-After, a dropped connection (a kept-alive
        one the server closed) is tried again; the sink deduplicates, so a resent batch adds nothing."""
        problem = ""
        for _ in range(MAX_ATTEMPTS):
            try:
                response = self.client.post(path, content=body)
            except httpx.TransportError as err:
                problem = f"unreachable ({err})"
                time.sleep(0.5)
                continue
            if response.status_code == 200:
                return
            if response.status_code not in (429, 503):
                raise BackfillError(f"the sink refused the history on {path}: HTTP {response.status_code} "
                                    f"{response.text.strip()[:200]}")
            problem = f"busy (HTTP {response.status_code})"
            time.sleep(float(response.headers.get("Retry-After", "1")))
        raise BackfillError(f"the sink at {self.client.base_url} stayed {problem} on {path} "
                            f"after {MAX_ATTEMPTS} attempts")

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self.pool.shutdown(wait=True)
            self.client.close()


def _prepare(database_url: str, days: float) -> None:
    """Create the day partitions the history lands in (a day older than a table's retention is skipped:
    maintenance would drop it anyway)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            SELECT ensure_daily_partitions(r.table_name::regclass,
                                           least(%s, extract(day FROM r.keep))::integer)
            FROM retention_policy r WHERE r.table_name IN ('logs', 'spans', 'metric_points')""",
            [int(days) + 1],
        )


def _finish(database_url: str, start: datetime, end: datetime) -> None:
    """Roll up the history's metric points and run one maintenance pass (views refreshed)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT rollup_metrics(%s, %s)", [start, end])
        run_maintenance(conn)


def history_end(database_url: str, days: float) -> datetime | None:
    """Where a history of ``days`` days up to now should end: now in an empty store, the earliest job when
    the store already has later ones (a second ``make run`` fills only the days before), ``None`` when the
    store already goes back that far."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT min(created_at), now() FROM job_runs").fetchone()
    earliest, now = row if row else (None, datetime.now(UTC))
    if earliest is None:
        return now
    return earliest if earliest > now - timedelta(days=days) + timedelta(hours=1) else None


def backfill(
    sink_url: str,
    token: str,
    database_url: str,
    *,
    days: float,
    jobs_per_day: float,
    end: datetime | None = None,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BackfillResult:
    """Send the history from ``days`` days ago to ``end`` (default now) at about ``jobs_per_day`` jobs a day.

    Raises:
        BackfillError: the sink refused a batch or is unreachable (one sentence).
        psycopg.Error: the store could not be prepared or maintained.
    """
    began = time.perf_counter()
    start_at = time.time() - days * 86400
    end_at = (end or datetime.now(UTC)).timestamp()
    rng = random.Random(seed)
    _prepare(database_url, days)
    sender = _Sender(sink_url, token)
    jobs = records = spans = points = 0
    templates: dict[tuple[Any, ...], Any] = {}
    detail_from = end_at - DETAIL_SECONDS
    try:
        for number, day in enumerate(_days(start_at, end_at, jobs_per_day, rng), 1):
            samples = _Samples()
            for offset in range(0, len(day), JOBS_PER_REQUEST):
                batch = _Batch(templates)
                for job in day[offset:offset + JOBS_PER_REQUEST]:
                    _emit_job(batch, samples, job, rng, detail=job.created_at >= detail_from)
                sender.send("/v1/logs", batch.logs_request.SerializeToString())
                sender.send("/v1/traces", batch.traces_request.SerializeToString())
                records, spans = records + batch.log_records, spans + batch.spans
            for metrics, count in _metrics_requests(samples):
                sender.send("/v1/metrics", metrics.SerializeToString())
                points += count
            jobs += len(day)
            if progress is not None:
                stamp = datetime.fromtimestamp(day[0].created_at, UTC)
                progress(f"{stamp:%Y-%m-%d}  {jobs:,} jobs so far  ({number} of ~{int(days) + 1} days, "
                         f"{time.perf_counter() - began:.0f} s)")
        sender.drain()
    finally:
        sender.close()
    if progress is not None:
        progress(f"rolling up the metrics and refreshing the views ({time.perf_counter() - began:.0f} s)")
    _finish(database_url, datetime.fromtimestamp(start_at, UTC), datetime.fromtimestamp(end_at, UTC))
    return BackfillResult(jobs, records, spans, points, time.perf_counter() - began)
