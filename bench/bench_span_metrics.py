"""Span starts, metric records and a metric export: ours beside the straightforward upstream way, one thread.

Side by side in one process, rounds interleaved, every figure the calling thread's CPU time
(``time.thread_time``; the background thread is kept from starting, so ``BACKGROUND.flush()`` runs the
metric jobs on this thread and they are counted):

1. Span start + end, the spec job's 1 + 7 spans, inside W3C baggage holding ``job_id`` and ``user_id_hash``
   (``--no-baggage``: without), each provider with a ``BatchSpanProcessor`` to a discarding exporter,
   flushed outside the timing:
   (a) the SDK alone: upstream ``ParentBased(ALWAYS_ON)``, no ids on the spans -- the floor;
   (b) the straightforward enrichment: a processor calling ``span.set_attributes`` with the three ids in
       ``on_start``, upstream ``ParentBased`` (what rythmiq-otel did before issue 13);
   (c) ours: ``BaggageSpanProcessor`` and ``OneLookupParentBased``.
2. Metric records, the spec job's 12, on a provider with our Views and exemplars off (our default):
   (a) the SDK's ``add`` / ``record`` with the label dict ready, as the naive composition records;
   (b) ours: ``Instruments.record`` (capture and queue) plus the background job (bounding, SDK).
3. One metric export of 20 jobs' points (12 points) to a discarding exporter: (a) bare, (b) through
   ``ScrubbingMetricExporter``.

Run::

    .venv/bin/python bench/bench_span_metrics.py --rounds 21
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry import baggage, context, trace
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExporter, MetricExportResult
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler

from rythmiq_otel import vocab
from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro._pii import ScrubbingMetricExporter
from rythmiq_otel.distro.context._correlation import UuidTraceIdGenerator, correlation_id_from_trace_id
from rythmiq_otel.distro.context._span_enrichment import BaggageSpanProcessor
from rythmiq_otel.distro.metrics._catalog import Instruments, bound_labels, views
from rythmiq_otel.distro.setup._sampling import OneLookupParentBased

JOBS = 125  # per round: 1,000 spans, 1,500 metric records
EXPORTS = 50


class _DiscardSpans(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _DiscardMetrics(MetricExporter):
    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""


class _SetAttributes(SpanProcessor):
    """The straightforward enrichment: the three ids through the SDK's public setter in ``on_start``."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        attributes = {vocab.BAGGAGE_CORRELATION_ID: correlation_id_from_trace_id(span.context.trace_id)}
        entries = baggage.get_all(parent_context)
        for key in (vocab.BAGGAGE_JOB_ID, vocab.BAGGAGE_USER_ID_HASH):
            if entries.get(key):
                attributes[key] = str(entries[key])
        span.set_attributes(attributes)


def _tracer(sampler: Sampler, enrichment: SpanProcessor | None) -> tuple[trace.Tracer, TracerProvider]:
    provider = TracerProvider(sampler=sampler, id_generator=UuidTraceIdGenerator(), shutdown_on_exit=False)
    if enrichment is not None:
        provider.add_span_processor(enrichment)
    provider.add_span_processor(BatchSpanProcessor(_DiscardSpans(), max_queue_size=1 << 16))
    return provider.get_tracer("bench"), provider


def _spans(tracer: trace.Tracer) -> None:
    for _ in range(JOBS):
        with tracer.start_as_current_span("job"):
            for stage in vocab.WORKER_STAGES:
                with tracer.start_as_current_span(f"stage {stage}"):
                    pass


def _job_records(record: Callable[..., None]) -> None:
    record(vocab.METRIC_COLD_STARTS, 1)
    for stage in vocab.WORKER_STAGES:
        record(vocab.METRIC_JOB_CPU, 0.08, processing_path="standard", stage=stage)
    record(vocab.METRIC_QUALITY_SCORE, 0.72, processing_path="standard")
    record(vocab.METRIC_OCR_CONFIDENCE, 0.87, processing_path="standard")
    record(vocab.METRIC_JOBS_TOTAL, 1, status="success", processing_path="standard")
    record(vocab.METRIC_JOB_LATENCY, 3.657, processing_path="standard", execution_temp="warm")


def _meter_provider(*readers: Any) -> MeterProvider:
    return MeterProvider(metric_readers=list(readers) or [InMemoryMetricReader()], views=views(),
                         exemplar_filter=AlwaysOffExemplarFilter(), shutdown_on_exit=False)


def _sdk_recorder() -> Callable[..., None]:
    """(a): the SDK instruments, labels bounded beforehand (a naive service passes its dict as it is)."""
    meter = _meter_provider().get_meter("bench")
    counters = {vocab.METRIC_JOBS_TOTAL, vocab.METRIC_COLD_STARTS}
    methods = {
        name: meter.create_counter(name).add if name in counters else meter.create_histogram(name).record
        for name in vocab.METRIC_LABELS
    }
    ready: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, str]] = {}

    def bound_once(name: str, value: float, **labels: Any) -> None:
        ready[name, tuple(labels.items())] = bound_labels(name, labels)

    def record(name: str, value: float, **labels: Any) -> None:
        methods[name](value, ready[name, tuple(labels.items())])

    _job_records(bound_once)
    return record


def _metric_batch() -> Any:
    reader = InMemoryMetricReader()
    instruments = Instruments(_meter_provider(reader).get_meter("rythmiq_otel"))
    for _ in range(20):
        _job_records(instruments.record)
    BACKGROUND.flush()
    return reader.get_metrics_data()


def _timed(run: Callable[[], None], per: int) -> float:
    start = time.thread_time()
    run()
    return (time.thread_time() - start) * 1e6 / per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--no-baggage", action="store_true", help="start the spans outside any baggage")
    args = parser.parse_args()
    if not args.no_baggage:
        ids = baggage.set_baggage(vocab.BAGGAGE_JOB_ID, "550e8400-e29b-41d4-a716-446655440000")
        context.attach(baggage.set_baggage(vocab.BAGGAGE_USER_ID_HASH, "a3f2b8c1d4e5f6a7", ids))
    BACKGROUND._thread = threading.current_thread()  # "running": jobs queue, flush() runs them here

    tracers = {
        "(a) SDK alone, no ids": _tracer(ParentBased(ALWAYS_ON), None),
        "(b) set_attributes in on_start": _tracer(ParentBased(ALWAYS_ON), _SetAttributes()),
        "(c) ours": _tracer(OneLookupParentBased(ALWAYS_ON), BaggageSpanProcessor()),
    }
    sdk_record = _sdk_recorder()
    instruments = Instruments(_meter_provider().get_meter("rythmiq_otel"))

    def ours_records() -> None:
        for _ in range(JOBS):
            _job_records(instruments.record)
        BACKGROUND.flush()

    recorders = {"(a) SDK add/record, labels ready": lambda: [_job_records(sdk_record) for _ in range(JOBS)],
                 "(b) ours: Instruments.record + background job": ours_records}
    batch = _metric_batch()
    exporters = {"(a) bare exporter": _DiscardMetrics(),
                 "(b) ScrubbingMetricExporter": ScrubbingMetricExporter(_DiscardMetrics())}

    spans: dict[str, list[float]] = {name: [] for name in tracers}
    records: dict[str, list[float]] = {name: [] for name in recorders}
    exports: dict[str, list[float]] = {name: [] for name in exporters}
    for round_number in range(args.rounds + 1):  # round 0 warms up and is not counted
        for name, (tracer, provider) in tracers.items():
            took = _timed(lambda tracer=tracer: _spans(tracer), JOBS * 8)
            provider.force_flush()
            spans[name] += [took] if round_number else []
        for name, run in recorders.items():
            took = _timed(run, JOBS * 12)
            records[name] += [took] if round_number else []
        for name, exporter in exporters.items():
            took = _timed(lambda exporter=exporter: [exporter.export(batch) for _ in range(EXPORTS)], EXPORTS)
            exports[name] += [took] if round_number else []
    BACKGROUND._thread = None

    print(f"{args.rounds} rounds, thread CPU, medians; baggage: {'no' if args.no_baggage else 'yes'}\n")
    _table("span start + end", "µs a span", spans)
    _table("metric record", "µs a record", records)
    _table("metric export of 12 points", "µs an export", exports)


def _table(title: str, unit: str, results: dict[str, list[float]]) -> None:
    medians = {name: statistics.median(values) for name, values in results.items()}
    first, last = next(iter(medians.values())), list(medians.values())[-1]
    print(f"| {title} | {unit} | vs first | over first |\n| --- | ---: | ---: | ---: |")
    for name, median in medians.items():
        print(f"| {name} | {median:.2f} | {median / first:.2f}x | {median - first:+.2f} |")
    if len(medians) == 3:
        second = list(medians.values())[1]
        print(f"\n(c) / (b): {last / second:.2f}; added over (a): (b) {second - first:.2f}, "
              f"(c) {last - first:.2f}")
    print()


if __name__ == "__main__":
    main()
