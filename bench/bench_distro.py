"""Benchmark of the in-process half: calling-thread cost per job and per log call.

Measures, side by side in one process and one run (rounds interleaved so machine noise hits all alike):

1. Per job, on the spec's job shape (1 job span + 7 stage spans, 20 log calls of which 7 are DEBUG
   "stage started" lines that are off at the default level, 12 metric records):
   (a) no instrumentation: no-op tracer, a logger with a ``NullHandler``, no metrics;
   (b) the naive upstream composition: SDK providers with batch processors and OTLP/HTTP exporters, the
       stock ``opentelemetry.sdk._logs.LoggingHandler`` plus a ``StreamHandler`` with the spec's §1.6
       JSON formatter, instruments created by hand;
   (c) ours: the providers ``configure()`` builds (baggage span processor, PII-scrubbing span exporter,
       Views, UUID trace ids) and the rythmiq handler (one record, JSON line + OTel record, PII guard on),
       metrics through ``instruments().record`` with bounded labels.
2. Per log call: the spec's plain JSON-only stdlib call (§1.6 formatter on a StreamHandler) against ours
   (JSON line + OTel record), both inside a span, with the same fields.

Both (b) and (c) export over OTLP/HTTP to a local discard server in a child process (its CPU is the
collector's in production, not the service's, so it stays out of the measured process); JSON lines go to
``/dev/null``. Times are medians of per-job (per-call) wall time on the calling thread, with exports -- and
ours' background thread -- flushed between small chunks outside the timed region (see ``time_jobs``); the
process CPU per job (per call), background and export work included, is reported next to it. With
``--parked``, (c) is timed a second time with the background thread kept out of the timed jobs (their
work runs at the flush): the calling thread's own cost, with no wait for the GIL. Run::

    .venv/bin/python bench/bench_distro.py --jobs 400 --rounds 5 --batches 20
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler  # noqa: E402
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

from rythmiq_otel import vocab  # noqa: E402
from rythmiq_otel.distro._background import BACKGROUND  # noqa: E402
from rythmiq_otel.distro.logs._handler import RythmiqHandler, flush_logs  # noqa: E402
from rythmiq_otel.distro.logs._otel_record import BRIDGE  # noqa: E402
from rythmiq_otel.distro.metrics._catalog import Instruments  # noqa: E402
from rythmiq_otel.distro.setup import _settings  # noqa: E402
from rythmiq_otel.distro.setup._providers import build_providers  # noqa: E402

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
Record = Callable[..., None]


class _Discard(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that answers 200 to everything and keeps nothing."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


def serve_discard() -> None:
    """Serve ``_Discard`` on an ephemeral port until killed; the first stdout line is the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def discard_endpoint() -> Iterator[str]:
    """The URL of a ``_Discard`` server running in a child process, stopped on exit."""
    child = subprocess.Popen([sys.executable, __file__, "--serve-discard"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield f"http://127.0.0.1:{int(child.stdout.readline())}"
    finally:
        child.kill()
        child.wait()


class SpecJsonFormatter(logging.Formatter):
    """The spec's §1.6 ``StructuredFormatter``, as the spec writes it: the JSON-only baseline."""

    FIELDS = ("stage", "job_id", "correlation_id", "user_id_hash", "latency_ms", "cpu_seconds", "error_code",
              "error_stage", "http_method", "http_path", "http_status", "extra")

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


def run_job(tracer: trace.Tracer, log: logging.Logger, record: Record) -> None:
    """The spec's job shape: 1 + 7 spans, 20 log calls (7 DEBUG), 12 metric records."""
    with tracer.start_as_current_span("job"):
        log.info("Job processing started", extra={"event": vocab.EVENT_JOB_STARTED, "job_id": JOB_ID,
                                                  "extra": {"execution_temperature": "warm"}})
        log.warning("Cold start detected", extra={"event": vocab.EVENT_COLD_START, "job_id": JOB_ID})
        record(vocab.METRIC_COLD_STARTS, 1)
        for stage in vocab.WORKER_STAGES:
            with tracer.start_as_current_span(f"stage {stage}"):
                log.debug("Stage started", extra={"event": vocab.EVENT_STAGE_STARTED, "stage": stage})
                log.info("Stage completed", extra={"event": vocab.EVENT_STAGE_COMPLETED, "stage": stage,
                                                   "job_id": JOB_ID, "cpu_seconds": 0.08, "latency_ms": 90.5})
                record(vocab.METRIC_JOB_CPU, 0.08, processing_path="standard", stage=stage)
        record(vocab.METRIC_QUALITY_SCORE, 0.72, processing_path="standard")
        record(vocab.METRIC_OCR_CONFIDENCE, 0.87, processing_path="standard")
        log.info("Job completed successfully", extra={
            "event": vocab.EVENT_JOB_COMPLETED, "job_id": JOB_ID, "latency_ms": 3657, "cpu_seconds": 3.456,
            "extra": {"processing_path": "standard", "quality_score": 0.72, "ocr_confidence": 0.87}})
        record(vocab.METRIC_JOBS_TOTAL, 1, status="success", processing_path="standard")
        record(vocab.METRIC_JOB_LATENCY, 3.657, processing_path="standard", execution_temp="warm")
        log.info("Final metrics summary", extra={"event": vocab.EVENT_METRICS_SUMMARY, "job_id": JOB_ID,
                                                 "extra": {"total_cpu_seconds": 3.456, "page_count": 2}})
        log.info("Output packaged", extra={"job_id": JOB_ID, "extra": {"size_bytes": 12345}})


def _isolated_logger(name: str, *handlers: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = list(handlers)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


@dataclass
class Variant:
    """One way of instrumenting the job: what it logs, traces and records through, and how to flush it."""

    label: str
    tracer: trace.Tracer
    log: logging.Logger
    record: Record
    flush: Callable[[], None] = lambda: None
    stop: Callable[[], None] = lambda: None
    # Held around each round of jobs: ``--parked`` holds the background thread's lock there.
    hold: Callable[[], AbstractContextManager[Any]] = nullcontext


def setup_none() -> Variant:
    """(a) no instrumentation."""
    log = _isolated_logger("bench.none", logging.NullHandler())
    return Variant("(a) no instrumentation", trace.NoOpTracer(), log, lambda *a, **k: None)


def _providers_flush(*providers: Any, first: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """Flush ``first`` (ours: the background thread, which feeds the providers), then each provider."""

    def flush() -> None:
        first()
        for provider in providers:
            provider.force_flush()

    return flush


def setup_naive(endpoint: str, out: Any) -> Variant:
    """(b) the upstream composition a user would write from the docs."""
    resource = Resource.create({"service.name": "naive-worker"})
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"))
    )
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    meter = meter_provider.get_meter("naive")
    counters = {vocab.METRIC_JOBS_TOTAL, vocab.METRIC_COLD_STARTS}
    instruments = {
        name: meter.create_counter(name) if name in counters else meter.create_histogram(name)
        for name in vocab.METRIC_LABELS
    }

    def record(name: str, value: float, **labels: Any) -> None:
        instrument = instruments[name]
        if name in counters:
            instrument.add(value, labels)
        else:
            instrument.record(value, labels)

    stream = logging.StreamHandler(out)
    stream.setFormatter(SpecJsonFormatter("worker"))
    log = _isolated_logger("bench.naive", LoggingHandler(logger_provider=logger_provider), stream)
    providers = (tracer_provider, logger_provider, meter_provider)
    return Variant(
        "(b) naive upstream composition", tracer_provider.get_tracer("naive"), log, record,
        _providers_flush(*providers), lambda: [provider.shutdown() for provider in providers],
    )


def setup_ours(endpoint: str) -> Variant:
    """(c) rythmiq-otel: the providers configure() builds, our handler, bounded-label instruments."""
    settings = _settings.load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "RYTHMIQ_SERVICE": "worker"})
    _settings.set_current(settings)
    providers = build_providers(settings)
    assert providers.logger is not None and providers.meter is not None
    BRIDGE.bind(providers.logger.get_logger("rythmiq_otel"))
    log = _isolated_logger("bench.ours", RythmiqHandler("worker"))
    instruments = Instruments(providers.meter.get_meter("rythmiq_otel"))
    return Variant(
        "(c) rythmiq-otel", providers.tracer.get_tracer("ours"), log, instruments.record,
        _providers_flush(providers.tracer, providers.logger, providers.meter, first=flush_logs),
        lambda: providers.shutdown(settings.shutdown_timeout_s),
    )


def time_jobs(variant: Variant, jobs: int, chunk: int = 20) -> tuple[list[float], float]:
    """Per-job wall ms on the calling thread, and process CPU ms per job including the export work.

    Exports are flushed between chunks of ``chunk`` jobs (fewer records than one export batch), outside
    the timed region, so the per-job times are the calling thread's own cost, not waits for the GIL while
    a background exporter encodes; the CPU figure puts the export work back in.
    """
    times = []
    cpu_start = time.process_time()
    for _ in range(0, jobs, chunk):
        for _ in range(chunk):
            start = time.perf_counter()
            run_job(variant.tracer, variant.log, variant.record)
            times.append((time.perf_counter() - start) * 1000)
        variant.flush()
    return times, (time.process_time() - cpu_start) * 1000 / len(times)


def time_calls(
    variant: Variant, log: logging.Logger, batches: int, *, gc_paused: bool = False, calls: int = 200
) -> tuple[list[float], list[float]]:
    """Per-call wall µs of ``log.info`` inside a span, in batches of ``calls``, flushed between batches.

    Also the process CPU µs per call of each batch with its flush: the work the calling thread handed to
    background threads (ours: the line and the OTel record; both: the export) put back in.

    ``gc_paused`` keeps the cyclic garbage collector out of the timed loop (a full collection runs between
    batches instead), to show how much of a variant's cost is collector pauses: records waiting in an
    export queue survive into older generations and make later collections scan the whole heap.
    """
    extra = {"event": vocab.EVENT_STAGE_COMPLETED, "stage": "ocr", "job_id": JOB_ID, "cpu_seconds": 0.08,
             "extra": {"ocr_confidence": 0.87}}
    times, cpu = [], []
    with variant.tracer.start_as_current_span("calls"):
        for _ in range(batches):
            if gc_paused:
                gc.disable()
            cpu_start = time.process_time()
            start = time.perf_counter()
            for _ in range(calls):
                log.info("Stage completed", extra=extra)
            times.append((time.perf_counter() - start) * 1e6 / calls)
            gc.enable()
            variant.flush()
            cpu.append((time.process_time() - cpu_start) * 1e6 / calls)
            if gc_paused:
                gc.collect()
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="jobs per variant per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (a, b, c, a, b, c, ...)")
    parser.add_argument("--batches", type=int, default=20, help="batches of 200 log calls per round")
    parser.add_argument("--parked", action="store_true",
                        help="also time (c) with the background thread parked: the calling thread's floor")
    parser.add_argument("--serve-discard", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_discard:
        serve_discard()
        return
    if args.rounds * args.batches < 2:
        parser.error("--rounds times --batches must be 2 or more: the p10 column needs two batches of calls")
    with discard_endpoint() as endpoint:
        run(args, endpoint)


def run(args: argparse.Namespace, endpoint: str) -> None:
    """Time every variant against ``endpoint`` and print the report."""
    sys.stdout = devnull = open(os.devnull, "w")  # noqa: SIM115 -- both variants' JSON lines go here

    variants = {"none": setup_none(), "naive": setup_naive(endpoint, devnull), "ours": setup_ours(endpoint)}
    if args.parked:
        # (c) again with the background thread kept out of the timed jobs: its jobs queue and the flush
        # between chunks runs them here, untimed. What the calling thread costs by itself, without waiting
        # for the GIL while the thread runs a batch: the floor of (c)'s calling-thread column.
        variants["parked"] = replace(
            variants["ours"], label="(c) rythmiq-otel, background thread parked (its jobs at the flush)",
            stop=lambda: None, hold=lambda: BACKGROUND._lock,
        )
    for variant in variants.values():  # warm-up: imports, first exports, caches
        time_jobs(variant, 40)
    job_times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, variant in variants.items():
            with variant.hold():
                times, cpu_ms = time_jobs(variant, args.jobs)
            job_times[name] += times
            cpu[name].append(cpu_ms)

    json_only = _isolated_logger("bench.json_only", logging.StreamHandler(devnull))
    json_only.handlers[0].setFormatter(SpecJsonFormatter("worker"))
    ours = variants["ours"]
    call_times: dict[str, list[float]] = {"json_only": [], "ours": [], "json_only_nogc": [], "ours_nogc": []}
    call_cpu: dict[str, list[float]] = {name: [] for name in call_times}
    # Alternate batch by batch so noise hits both alike; GC-paused phase second, so its forced collections
    # do not tidy the heap for the first phase.
    for _ in range(args.rounds * args.batches):
        for name, log in (("json_only", json_only), ("ours", ours.log)):
            times, cpu_us = time_calls(ours, log, 1)
            call_times[name] += times
            call_cpu[name] += cpu_us
    for _ in range(args.rounds * args.batches):
        for name, log in (("json_only_nogc", json_only), ("ours_nogc", ours.log)):
            times, cpu_us = time_calls(ours, log, 1, gc_paused=True)
            call_times[name] += times
            call_cpu[name] += cpu_us

    for variant in variants.values():
        variant.stop()
    sys.stdout = sys.__stdout__
    report(variants, job_times, cpu, call_times, call_cpu)


def report(
    variants: dict[str, Variant],
    job_times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    call_times: dict[str, list[float]],
    call_cpu: dict[str, list[float]],
) -> None:
    """Print the results as the Markdown that goes into bench/RESULTS.md."""
    median = {name: statistics.median(times) for name, times in job_times.items()}
    call = {name: statistics.median(times) for name, times in call_times.items()}
    calls = len(call_times["ours"]) * 200
    print(f"jobs per variant: {len(job_times['none'])}; log calls per variant: {calls}")
    print()
    print("| per job | median ms (calling thread) | p90 ms | vs (b) | CPU ms incl. export |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, variant in variants.items():
        p90 = statistics.quantiles(job_times[name], n=10)[-1]
        print(f"| {variant.label} | {median[name]:.3f} | {p90:.3f} | {median[name] / median['naive']:.0%} "
              f"| {statistics.median(cpu[name]):.3f} |")
    added_naive = median["naive"] - median["none"]
    added_ours = median["ours"] - median["none"]
    print()
    print(f"Added over (a): naive {added_naive:.3f} ms/job, ours {added_ours:.3f} ms/job "
          f"({added_ours / added_naive:.0%} of the naive composition's added cost).")
    print()
    print("| per log call (inside a span) | median µs | ratio | p10 µs | p10 ratio "
          "| CPU µs incl. background | CPU ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    low = {name: statistics.quantiles(times, n=10)[0] for name, times in call_times.items()}
    cpu_call = {name: statistics.median(values) for name, values in call_cpu.items()}
    for suffix, note in (("", ""), ("_nogc", ", GC paused in the timed loop")):
        base, base_low = call["json_only" + suffix], low["json_only" + suffix]
        base_cpu = cpu_call["json_only" + suffix]
        print(f"| spec §1.6 JSON-only stdlib call{note} | {base:.2f} | 1.00x | {base_low:.2f} | 1.00x "
              f"| {base_cpu:.2f} | 1.00x |")
        ours, ours_low, ours_cpu = call["ours" + suffix], low["ours" + suffix], cpu_call["ours" + suffix]
        print(f"| rythmiq-otel: JSON line + OTel record{note} | {ours:.2f} | {ours / base:.2f}x "
              f"| {ours_low:.2f} | {ours_low / base_low:.2f}x "
              f"| {ours_cpu:.2f} | {ours_cpu / base_cpu:.2f}x |")


if __name__ == "__main__":
    main()
