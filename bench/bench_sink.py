"""Benchmark of the sink: OTLP/HTTP protobuf batches in, rows committed in Postgres out.

Measures, in one run on one machine:

0. the wire format's own cost: a bare ``ExportLogsServiceRequest.FromString`` of the same bodies (upb, in C)
   in ``--workers`` processes -- the floor under any decoder written against the generated classes;
1. decode-only ceiling: protobuf parse + the Python walk (``build_batch``, PII layer included) in
   ``--workers`` processes, no HTTP, no Postgres;
2. COPY-only ceiling: pre-built ``LogRow`` batches written by ``CopyWriter`` from ``--clients`` threads into
   ``logs`` with all its indexes, no HTTP, no decoding;
3. end to end: ``rythmiq-otel sink --workers W`` as a real process, ``--clients`` concurrent HTTP clients
   posting protobuf batches of ``--batch`` log records (about 10 attributes each); throughput is rows
   found committed in ``logs`` divided by the wall time until the last 200 came back. The CPU seconds
   of the sink's processes, the Postgres server's processes and the clients are read from /proc before
   and after, so the run also reports CPU per record -- the number that does not depend on what else
   the (shared) machine is doing;
4. the same end to end for spans and metric points (with their CPU per span / point).

Postgres is ``DATABASE_URL`` when set, else an embedded server in a temporary directory (default
settings, fsync on). Run::

    .venv/bin/python bench/bench_sink.py --batches 200 --batch 512 --clients 4 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402

from rythmiq_otel.store import database_url_for, load_settings, migrate  # noqa: E402
from rythmiq_otel.store.sink._context import MapContext  # noqa: E402
from rythmiq_otel.store.sink._decode import decode  # noqa: E402
from rythmiq_otel.store.sink._pii_layer import PiiLayer  # noqa: E402
from rythmiq_otel.store.sink._pipeline import build_batch  # noqa: E402
from rythmiq_otel.store.sink._rows import Batch  # noqa: E402
from rythmiq_otel.store.sink._writer import CopyWriter  # noqa: E402
from tests.store.sink import otlp_builders as otlp  # noqa: E402


def log_bodies(batches: int, size: int) -> list[bytes]:
    """Distinct protobuf log batches: a worker's stage logs, ~10 attributes per record."""
    base = time.time_ns() - 3600 * 10**9
    bodies = []
    for b in range(batches):
        job, trace = str(uuid.uuid4()), uuid.uuid4().bytes
        records = [
            otlp.log_record(
                "Stage completed", time_ns=base + (b * size + i) * 1000, trace_id=trace, span_id=b"\x01" * 8,
                attributes={
                    "job_id": job, "correlation_id": str(uuid.UUID(bytes=trace)), "stage": "ocr",
                    "cpu_seconds": 0.5 + i / 1000, "latency_ms": 12.5, "user_id_hash": "a3f2b8c1d4e5f6a7",
                    "event.name": "stage.completed", "extra.processing_path": "standard",
                    "extra.ocr_confidence": 0.87, "extra.execution_temperature": "warm",
                },
            )
            for i in range(size)
        ]
        bodies.append(otlp.logs_request(records).SerializeToString())
    return bodies


def span_bodies(batches: int, size: int) -> list[bytes]:
    base = time.time_ns() - 3600 * 10**9
    out = []
    for b in range(batches):
        trace = uuid.uuid4().bytes
        attrs = {"job_id": str(uuid.uuid4()), "stage": "ocr", "http.method": "POST", "http.status_code": 200}
        spans = [otlp.span(f"stage {i % 7}", trace_id=trace, span_id=(b * size + i + 1).to_bytes(8, "big"),
                           start_ns=base + i * 1000, attributes=attrs)
                 for i in range(size)]
        out.append(otlp.spans_request(spans).SerializeToString())
    return out


def metric_bodies(batches: int, size: int) -> list[bytes]:
    base = time.time_ns() - 3600 * 10**9
    out = []
    for b in range(batches):
        points = [(base, base + (b * size + i + 1) * 1000, float(i), {"status": "success",
                                                                   "processing_path": "fast"})
                  for i in range(size)]
        out.append(otlp.metrics_request([otlp.sum_metric("rythmiq_jobs_total", points)]).SerializeToString())
    return out


def _decoded(body: bytes, layer: PiiLayer) -> Batch:
    """One body through the sink's own decode and mapping (``_pipeline.process`` without the write)."""
    ctx = MapContext(scrubber=layer)
    request, _ = decode("logs", body, "protobuf", ctx.repairs, wire=True)
    return build_batch("logs", request, ctx)


def _parse_share(bodies: list[bytes]) -> tuple[int, float]:
    """The wire format alone: parse each body with the generated class, touch nothing."""
    rows = 0
    started = time.process_time()
    for body in bodies:
        request = ExportLogsServiceRequest.FromString(body)
        rows += sum(len(scope.log_records) for resource in request.resource_logs
                    for scope in resource.scope_logs)
    return rows, time.process_time() - started


def _decode_share(bodies: list[bytes]) -> tuple[int, float]:
    layer = PiiLayer()
    rows = 0
    started = time.process_time()
    for body in bodies:
        rows += len(_decoded(body, layer))
    return rows, time.process_time() - started


@dataclass(frozen=True)
class Measure:
    """Throughput (wall clock) and CPU spent per record (all processes involved)."""

    per_second: float
    cpu_us: float


def decode_ceiling(pool: Any, bodies: list[bytes], workers: int, share: Any = _decode_share) -> Measure:
    shares = [bodies[i::workers] for i in range(workers)]
    started = time.perf_counter()
    results = pool.map(share, shares)
    elapsed = time.perf_counter() - started
    rows = sum(r for r, _ in results)
    return Measure(rows / elapsed, sum(c for _, c in results) / rows * 1e6)


def copy_ceiling(url: str, batches: list[Batch], clients: int, postgres_pid: int | None) -> Measure:
    writer = CopyWriter(url, pool_size=clients)
    writer.open()
    roots = [postgres_pid] if postgres_pid else []
    try:
        cpu_before = time.process_time() + tree_cpu_seconds(roots)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(writer.write, batches))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() + tree_cpu_seconds(roots) - cpu_before
    finally:
        writer.close()
    rows = sum(len(b.logs) for b in batches)
    return Measure(rows / elapsed, cpu / rows * 1e6)


@contextmanager
def sink_process(url: str, workers: int, inflight: int) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "DATABASE_URL": url, "RYTHMIQ_SINK_TOKEN": "bench-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rythmiq_otel", "sink", "--port", "0", "--workers", str(workers),
         "--max-inflight", str(inflight), "--maintenance-interval", "0"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        if not match:
            raise RuntimeError(f"sink did not start: {line}{proc.stderr.read()}")
        base = match.group(0)
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def post_all(base: str, path: str, bodies: list[bytes], clients: int) -> float:
    headers = {"Content-Type": "application/x-protobuf", "Authorization": "Bearer bench-token"}
    local = threading.local()

    def post(body: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        while True:
            response = client.post(f"{base}{path}", content=body, headers=headers)
            if response.status_code == 200:
                return
            if response.status_code not in (429, 503):
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
            time.sleep(float(response.headers.get("retry-after", "1")))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))
    return time.perf_counter() - started


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(roots: list[int]) -> float:
    """user+system CPU seconds of ``roots`` and all their descendants (from /proc; Linux only)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    selected = {pid for pid in roots if pid in ticks}
    grew = True
    while grew:
        children = {pid for pid, ppid in parent.items() if ppid in selected} - selected
        selected |= children
        grew = bool(children)
    return sum(ticks[pid] for pid in selected) / _TICK


class CpuMeter:
    """CPU seconds spent by the sink tree, the Postgres tree and this (client) process over a phase."""

    def __init__(self, sink_pid: int, postgres_pid: int | None) -> None:
        self.roots = {"sink": [sink_pid], "postgres": [postgres_pid] if postgres_pid else []}

    def sample(self) -> dict[str, float]:
        out = {name: tree_cpu_seconds(pids) for name, pids in self.roots.items()}
        out["client"] = time.process_time()
        return out

    @staticmethod
    def per_record_us(before: dict[str, float], after: dict[str, float], records: int) -> dict[str, float]:
        return {name: (after[name] - before[name]) / records * 1e6 for name in before}


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def truncate(url: str, *tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))


@contextmanager
def postgres() -> Iterator[tuple[str, int | None]]:
    from rythmiq_otel.store import _embedded

    external = load_settings().database_url
    root = None
    pid = None
    name = f"rythmiq_bench_{uuid.uuid4().hex[:8]}"
    try:
        if external is not None:
            admin = external
        else:
            root = Path(tempfile.mkdtemp(prefix="rythmiq-bench-"))
            server = _embedded.start(root / "postgres")
            admin, pid = server.url(), server.pid
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = database_url_for(admin, name)
            with psycopg.connect(url, autocommit=True) as conn:
                migrate(conn)
            yield url, pid
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        if root is not None:
            _embedded.stop(root / "postgres")
            shutil.rmtree(root, ignore_errors=True)


def _line(label: str, measure: Measure) -> None:
    print(f"  {label:<34} {measure.per_second:>9,.0f} /s   {measure.cpu_us:5.1f} us CPU per record",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three log phases (medians)")
    parser.add_argument("--max-inflight", type=int, default=4, help="the sink's --max-inflight (per process)")
    args = parser.parse_args()
    print(f"# {args.batches} batches x {args.batch} log records, {args.clients} clients, "
          f"{args.workers} sink workers (max inflight {args.max_inflight}), {os.cpu_count()} cores, "
          f"{args.rounds} rounds", flush=True)
    logs = log_bodies(args.batches, args.batch)
    total = args.batches * args.batch
    layer = PiiLayer()
    batches = [_decoded(b, layer) for b in logs]
    for batch in batches:  # COPY-only: just the logs rows
        batch.error_events, batch.cpu_metrics, batch.job_updates = [], [], []
    results: dict[str, list[Measure]] = {"parse": [], "decode": [], "copy": [], "e2e": []}
    with postgres() as (url, postgres_pid), \
            multiprocessing.get_context("spawn").Pool(args.workers) as decoders, \
            sink_process(url, args.workers, args.max_inflight) as (base, sink_pid):
        decoders.map(_decode_share, [logs[:2]] * args.workers)  # warm up imports
        meter = CpuMeter(sink_pid, postgres_pid)
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number} (load average {os.getloadavg()[0]:.1f})", flush=True)
            results["parse"].append(decode_ceiling(decoders, logs, args.workers, _parse_share))
            _line("protobuf parse only (wire format)", results["parse"][-1])
            results["decode"].append(decode_ceiling(decoders, logs, args.workers))
            _line(f"decode-only ceiling ({args.workers} processes)", results["decode"][-1])
            truncate(url, "logs")
            results["copy"].append(copy_ceiling(url, batches, args.clients, postgres_pid))
            _line(f"COPY-only ceiling ({args.clients} connections)", results["copy"][-1])
            truncate(url, "logs", "job_runs")
            before = meter.sample()
            elapsed = post_all(base, "/v1/logs", logs, args.clients)
            after = meter.sample()
            stored = count(url, "logs")
            assert stored == total, f"{stored} rows in logs, expected {total}"
            cpu = CpuMeter.per_record_us(before, after, total)
            results["e2e"].append(Measure(stored / elapsed, sum(cpu.values())))
            _line("end to end: log records committed", results["e2e"][-1])
            print(f"    (sink {cpu['sink']:.1f} + postgres {cpu['postgres']:.1f} + "
                  f"clients {cpu['client']:.1f} us CPU per record)", flush=True)
        for label, path, table, bodies in (
            ("spans", "/v1/traces", "spans", span_bodies(args.batches // 2, args.batch)),
            ("metric points", "/v1/metrics", "metric_points", metric_bodies(args.batches // 2, args.batch)),
        ):
            before = meter.sample()
            elapsed = post_all(base, path, bodies, args.clients)
            after = meter.sample()
            stored = count(url, table)
            cpu = CpuMeter.per_record_us(before, after, stored)
            _line(f"end to end: {label} committed", Measure(stored / elapsed, sum(cpu.values())))
            print(f"    (sink {cpu['sink']:.1f} + postgres {cpu['postgres']:.1f} + "
                  f"clients {cpu['client']:.1f} us CPU per item)", flush=True)
    median = {
        name: Measure(statistics.median(m.per_second for m in ms), statistics.median(m.cpu_us for m in ms))
        for name, ms in results.items()
    }
    lower = min(median["decode"].per_second, median["copy"].per_second)
    print("medians:")
    for name, label in (("parse", "protobuf parse only"), ("decode", "decode-only"), ("copy", "COPY-only"),
                        ("e2e", "end to end")):
        _line(label, median[name])
    cores = os.cpu_count() or 1
    print(f"end to end = {median['e2e'].per_second / lower:.0%} of the lower ceiling ({lower:,.0f}/s); "
          f"CPU-bound estimate with {cores} idle cores: {cores * 1e6 / median['e2e'].cpu_us:,.0f}/s "
          f"(target >= 40,000/s and >= 60 %)")


if __name__ == "__main__":
    main()
