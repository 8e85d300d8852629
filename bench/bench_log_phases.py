"""Where a log call's CPU goes: each phase of ours on one thread, beside the JSON-only call and the floors.

The background thread is kept from starting, so its jobs queue and ``flush_logs()`` runs them on the
calling thread; every figure is that thread's CPU time (``time.thread_time``), so the machine's load
changes the figures less than wall time would, and the phases add up to the per-call total that
``bench_distro.py`` reports as process CPU. Per round: 512 spec §1.6 JSON-only calls, 512 of ours (the
call: capture and queue), the queued jobs (spec record, PII guard, JSON line, OTel record), the log
exporter's flush (encode + HTTP to an in-process discard server), then the floors for the same 512 OTel
records (kept from the first warm-up round): upstream's ``encode_logs`` + serialise, ours
(``_otlp_logs``), and one ``Resource`` hash. Run::

    .venv/bin/python bench/bench_log_phases.py --rounds 12
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_distro import JOB_ID, SpecJsonFormatter, _Discard, _isolated_logger  # noqa: E402
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs  # noqa: E402
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402

from rythmiq_otel import vocab  # noqa: E402
from rythmiq_otel.distro._background import BACKGROUND  # noqa: E402
from rythmiq_otel.distro.logs._handler import RythmiqHandler, flush_logs  # noqa: E402
from rythmiq_otel.distro.logs._otel_record import BRIDGE  # noqa: E402
from rythmiq_otel.distro.setup import _settings  # noqa: E402
from rythmiq_otel.distro.setup._otlp_logs import encode_logs_request  # noqa: E402
from rythmiq_otel.distro.setup._providers import build_providers  # noqa: E402

CALLS = 512


class _Keep(LogRecordProcessor):
    """Keeps the records of the warm-up rounds (only), so the floors encode exactly the records ours emits."""

    def __init__(self) -> None:
        self.batch: list[ReadableLogRecord] = []
        self.keeping = True

    def on_emit(self, log_record: Any) -> None:
        if self.keeping:
            self.batch.append(ReadableLogRecord(log_record.log_record, log_record.resource,
                                                log_record.instrumentation_scope, log_record.limits))

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing buffered."""
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="rounds of 512 calls (the first two warm up)")
    parser.add_argument("--encoder", choices=("direct", "upstream"), default="direct",
                        help="RYTHMIQ_OTLP_ENCODER for our exporters")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout = devnull = open(os.devnull, "w")  # noqa: SIM115 -- both variants' JSON lines go here
    settings = _settings.load_settings({
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
        "RYTHMIQ_SERVICE": "worker", "RYTHMIQ_OTLP_ENCODER": args.encoder,
        # Only the timed flush exports (one request of 512): a batch processor thread woken by a full
        # batch would take the export -- and its CPU -- off the thread this measures.
        "OTEL_BLRP_SCHEDULE_DELAY": "600000", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": str(2 * CALLS),
    })
    _settings.set_current(settings)
    providers = build_providers(settings)
    assert providers.logger is not None
    keep = _Keep()
    providers.logger.add_log_record_processor(keep)
    BRIDGE.bind(providers.logger.get_logger("rythmiq_otel"))
    ours = _isolated_logger("bench.phases.ours", RythmiqHandler("worker"))
    json_only = _isolated_logger("bench.phases.json_only", logging.StreamHandler(devnull))
    json_only.handlers[0].setFormatter(SpecJsonFormatter("worker"))
    BACKGROUND._thread = threading.current_thread()  # "running": jobs queue, flush_logs runs them here
    extra = {"event": vocab.EVENT_STAGE_COMPLETED, "stage": "ocr", "job_id": JOB_ID, "cpu_seconds": 0.08,
             "extra": {"ocr_confidence": 0.87}}
    phases: dict[str, list[float]] = {name: [] for name in (
        "JSON-only call (spec §1.6)", "ours: the call (capture, queue)", "ours: background job",
        "ours: export (encode + HTTP)", "floor: upstream encode_logs + serialise",
        "floor: direct encoder", "Resource.__hash__, plain resource (upstream encoders: once a record)")}
    plain = Resource(providers.logger.resource.attributes, providers.logger.resource.schema_url)
    with providers.tracer.get_tracer("bench").start_as_current_span("calls"):
        for round_number in range(args.rounds):
            marks = _one_round(json_only, ours, providers.logger.force_flush, keep, plain=plain, extra=extra)
            if round_number >= 2:  # the first two rounds warm up
                for index, values in enumerate(phases.values()):
                    values.append((marks[index + 1] - marks[index]) * 1e6 / CALLS)
    BACKGROUND._thread = None
    providers.shutdown(settings.shutdown_timeout_s)
    server.shutdown()
    sys.stdout = sys.__stdout__
    _report(args.encoder, args.rounds, phases)


def _one_round(
    json_only: logging.Logger, ours: logging.Logger, flush_export: Callable[[], bool], keep: _Keep, *,
    plain: Resource, extra: dict[str, Any],
) -> list[float]:
    """Thread CPU time before and after each phase (see the module docstring)."""
    marks = [time.thread_time()]
    for _ in range(CALLS):
        json_only.info("Stage completed", extra=extra)
    marks.append(time.thread_time())
    for _ in range(CALLS):
        ours.info("Stage completed", extra=extra)
    marks.append(time.thread_time())
    flush_logs()
    marks.append(time.thread_time())
    flush_export()
    marks.append(time.thread_time())
    keep.keeping = False
    batch = keep.batch[-CALLS:]
    encode_logs(batch).SerializeToString()
    marks.append(time.thread_time())
    encode_logs_request(batch)
    marks.append(time.thread_time())
    for _ in range(CALLS):
        hash(plain)
    marks.append(time.thread_time())
    return marks


def _report(encoder: str, rounds: int, phases: dict[str, list[float]]) -> None:
    """The Markdown table that goes into bench/RESULTS.md."""
    names = list(phases)
    print(f"encoder {encoder}; {rounds - 2} rounds of {CALLS} calls; load {os.getloadavg()[0]:.1f}")
    print()
    print("| phase (thread CPU) | median µs per record | vs JSON-only call |")
    print("| --- | ---: | ---: |")
    base = statistics.median(phases[names[0]])
    total = 0.0
    for name in names:
        value = statistics.median(phases[name])
        total += value if name.startswith("ours") else 0.0
        print(f"| {name} | {value:.2f} | {value / base:.2f}x |")
    print(f"| **ours in total** | **{total:.2f}** | **{total / base:.2f}x** |")


if __name__ == "__main__":
    main()
