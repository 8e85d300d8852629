"""Benchmark of the demo's history backfill: ``--days`` days at ``--jobs-per-day`` through a real sink.

``examples._backfill.backfill`` against ``rythmiq-otel sink`` as a real process (``--workers``) on a fresh,
migrated database (``DATABASE_URL`` when set, else an embedded server in a temporary directory), timed
end to end: partitions, generating and sending the OTLP protobuf, the sink's writes, the rollups and the
maintenance pass. Besides the wall time it reports the CPU seconds of this process (generating, sending),
of the sink's processes and of the Postgres server's, read from /proc before and after: the number that
does not depend on what else the shared machine is doing. Side by side, the baseline is the same
history seeded straight into the tables with set-based SQL (``tests.seed_store``), the fastest way to
the same rows without OTLP. Run::

    .venv/bin/python bench/bench_backfill.py --days 30 --jobs-per-day 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_sink import CpuMeter, postgres, sink_process  # noqa: E402

from examples._backfill import backfill  # noqa: E402
from tests.seed_store import seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--jobs-per-day", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="sink processes (rythmiq-otel up runs 1)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)

    with postgres() as (url, postgres_pid), sink_process(url, args.workers, 4) as (sink, sink_pid):
        meter = CpuMeter(sink_pid, postgres_pid)
        before, began = meter.sample(), time.perf_counter()
        result = backfill(sink, "bench-token", url, days=args.days, jobs_per_day=args.jobs_per_day,
                          progress=lambda line: print(f"  {line}", flush=True))
        wall, after = time.perf_counter() - began, meter.sample()
        cpu = {name: after[name] - before[name] for name in before}
        print(f"backfill (OTLP through the sink): {result.jobs:,} jobs, {result.log_records:,} log records, "
              f"{result.spans:,} spans, {result.metric_points:,} metric points in {wall:.1f} s wall; "
              "CPU s: "
              + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
              + f" (total {sum(cpu.values()):.1f}); load average after: {os.getloadavg()[0]:.1f}", flush=True)

    with postgres() as (url, postgres_pid), psycopg.connect(url, autocommit=True) as conn:
        meter = CpuMeter(os.getpid(), postgres_pid)
        before, began = meter.sample(), time.perf_counter()
        summary = seed(conn, days=args.days, jobs_per_day=args.jobs_per_day)
        wall, after = time.perf_counter() - began, meter.sample()
        cpu = {name: after[name] - before[name] for name in ("postgres", "client")}
        print(f"baseline (set-based SQL seed): {summary.jobs:,} jobs in {wall:.1f} s wall; CPU s: postgres "
              f"{cpu['postgres']:.1f}, client {cpu['client']:.1f}", flush=True)


if __name__ == "__main__":
    main()
