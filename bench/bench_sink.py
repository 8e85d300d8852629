"""Benchmark of the sink: OTLP/HTTP protobuf batches in, rows committed in Postgres out.

Measures, in one run on one machine:

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
4. the same end to end for spans and metric points.

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
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402

from rythmiq_otel.store import database_url_for, migrate  # noqa: E402
from rythmiq_otel.store.sink._context import MapContext  # noqa: E402
from rythmiq_otel.store.sink._pii_layer import PiiLayer  # noqa: E402
from rythmiq_otel.store.sink._pipeline import build_batch  # noqa: E402
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


def _decode_share(bodies: list[bytes]) -> int:
    layer = PiiLayer()
    rows = 0
    for body in bodies:
        request = ExportLogsServiceRequest.FromString(body)
        rows += len(build_batch("logs", request, MapContext(scrubber=layer)))
    return rows


def decode_ceiling(bodies: list[bytes], workers: int) -> float:
    shares = [bodies[i::workers] for i in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_decode_share, [shares[0][:2]] * workers)  # warm up imports
        started = time.perf_counter()
        rows = sum(pool.map(_decode_share, shares))
        return rows / (time.perf_counter() - started)


def copy_ceiling(url: str, bodies: list[bytes], clients: int) -> float:
    layer = PiiLayer()
    batches = [build_batch("logs", ExportLogsServiceRequest.FromString(b), MapContext(scrubber=layer))
               for b in bodies]
    for batch in batches:  # COPY-only: just the logs rows
        batch.error_events, batch.cpu_metrics, batch.job_updates = [], [], []
    writer = CopyWriter(url, pool_size=clients)
    writer.open()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(writer.write, batches))
        elapsed = time.perf_counter() - started
    finally:
        writer.close()
    return sum(len(b.logs) for b in batches) / elapsed


@contextmanager
def sink_process(url: str, workers: int) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "DATABASE_URL": url, "RYTHMIQ_SINK_TOKEN": "bench-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rythmiq_otel", "sink", "--port", "0", "--workers", str(workers),
         "--max-inflight", "4", "--maintenance-interval", "0"],
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
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def truncate(url: str, *tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(tables)}")


@contextmanager
def postgres() -> Iterator[tuple[str, int | None]]:
    from rythmiq_otel.store import _embedded

    external = os.environ.get("DATABASE_URL")
    root = None
    pid = None
    if external:
        admin = external
    else:
        root = Path(tempfile.mkdtemp(prefix="rythmiq-bench-"))
        server = _embedded.start(root / "postgres")
        admin, pid = server.url(), server.pid
    name = f"rythmiq_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    url = database_url_for(admin, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
        yield url, pid
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
        if root is not None:
            _embedded.stop(root / "postgres")
            shutil.rmtree(root, ignore_errors=True)


def _phase(label: str, action: Callable[[], float]) -> float:
    value = action()
    print(f"{label:<44} {value:>10,.0f} /s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"# {args.batches} batches x {args.batch} records, {args.clients} clients, "
          f"{args.workers} sink workers, {os.cpu_count()} cores", flush=True)
    logs = log_bodies(args.batches, args.batch)
    total = args.batches * args.batch
    with postgres() as (url, postgres_pid):
        decode = _phase(f"decode-only ceiling ({args.workers} processes)",
                        lambda: decode_ceiling(logs, args.workers))
        copy = _phase(f"COPY-only ceiling ({args.clients} connections)",
                      lambda: copy_ceiling(url, logs, args.clients))
        truncate(url, "logs")
        with sink_process(url, args.workers) as (base, sink_pid):
            meter = CpuMeter(sink_pid, postgres_pid)
            before = meter.sample()
            elapsed = post_all(base, "/v1/logs", logs, args.clients)
            after = meter.sample()
            stored = count(url, "logs")
            assert stored == total, f"{stored} rows in logs, expected {total}"
            e2e = _phase("end to end: log records committed", lambda: stored / elapsed)
            cpu = CpuMeter.per_record_us(before, after, total)
            spent = sum(cpu.values())
            print(f"  CPU per log record: {spent:.1f} us (sink {cpu['sink']:.1f}, "
                  f"postgres {cpu['postgres']:.1f}, clients {cpu['client']:.1f})"
                  f" -> {2e6 / spent:,.0f}/s if 2 cores were ours alone", flush=True)
            spans = span_bodies(args.batches // 2, args.batch)
            elapsed = post_all(base, "/v1/traces", spans, args.clients)
            _phase("end to end: spans committed", lambda: count(url, "spans") / elapsed)
            points = metric_bodies(args.batches // 2, args.batch)
            elapsed = post_all(base, "/v1/metrics", points, args.clients)
            _phase("end to end: metric points committed", lambda: count(url, "metric_points") / elapsed)
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    lower = min(decode, copy)
    print(f"end-to-end logs = {e2e / lower:.0%} of the lower ceiling ({lower:,.0f}/s); "
          f"target >= 40,000/s and >= 60 %")


if __name__ == "__main__":
    main()
