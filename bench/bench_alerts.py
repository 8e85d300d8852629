"""Benchmark of the alerts and the §7.5 report over a store at production volume.

Seeds ``--days`` days at ``--jobs-per-day`` jobs (``tests.seed_store``: job_runs, cpu_metrics,
error_events, the §3.1 metric points and rollups; the latest ``--trace-jobs`` jobs also get their logs
and spans, which the report's trace and PII questions read), then times, ``--rounds`` times each:

- baseline: the spec's own §5.2 error-rate and P95 queries (``jobs`` -> ``job_runs``), the hand-written SQL
  an operator would otherwise run for two of the rules;
- ``evaluate``: all eight rules in one snapshot (what ``alerts check`` does);
- ``record``: the same plus the state, incident and outbox writes (what ``up`` does every minute);
- ``build_report``: the seven §7.5 questions (what ``report`` does), and each question on its own.

Postgres is ``DATABASE_URL`` when set, else an embedded server in a temporary directory. Run::

    .venv/bin/python bench/bench_alerts.py --days 8 --jobs-per-day 10000 --trace-jobs 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_sink import postgres  # noqa: E402
from rythmiq_otel.console._report import build_report  # noqa: E402
from rythmiq_otel.console.alerts import evaluate, load_alert_settings, record  # noqa: E402
from tests.seed_store import seed  # noqa: E402

SPEC_QUERIES = (
    # §5.2 "Error rate (24h)" and "P95 latency (from cpu_metrics)", verbatim but for jobs -> job_runs.
    "SELECT COUNT(*) FILTER (WHERE status = 'failed') * 100.0 / COUNT(*) FROM job_runs"
    " WHERE created_at > now() - interval '24 hours'",
    "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY total_wall_seconds) FROM cpu_metrics"
    " WHERE created_at > now() - interval '24 hours'",
)


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` runs of ``action`` (after one untimed warm-up run)."""
    action()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def row(label: str, times: list[float], baseline: float | None) -> str:
    median = statistics.median(times)
    ratio = f"{median / baseline:8.1f}x" if baseline else " " * 9
    return f"| {label:<52} | {median * 1000:9.1f} | {max(times) * 1000:9.1f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=8)
    parser.add_argument("--jobs-per-day", type=int, default=10_000)
    parser.add_argument("--trace-jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 1 or args.days <= 0:
        parser.error("--rounds must be at least 1 and --days positive")
    settings = load_alert_settings({})
    with postgres() as (url, _), psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        summary = seed(conn, days=args.days, jobs_per_day=args.jobs_per_day, trace_jobs=args.trace_jobs)
        print(f"seeded in {time.perf_counter() - started:.0f} s: {summary}", flush=True)
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("job_runs", "cpu_metrics", "error_events", "metric_points", "logs", "spans")}
        print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()), flush=True)
        load = os.getloadavg()[0]

        def spec_queries() -> None:
            for query in SPEC_QUERIES:
                conn.execute(query).fetchall()

        baseline = timed(spec_queries, args.rounds)
        base = statistics.median(baseline)
        lines = [row("(a) spec §5.2 error rate + P95 queries", baseline, base),
                 row("(b) evaluate: all 8 rules (alerts check)", timed(lambda: evaluate(conn, settings),
                                                                        args.rounds), base),
                 row("(c) record: 8 rules + state writes (up, per minute)",
                     timed(lambda: record(conn, settings), args.rounds), base)]
        reports = [build_report(conn) for _ in range(args.rounds)]
        lines.append(row("(d) report: the seven §7.5 questions", [r.seconds for r in reports], base))
        for number in range(7):
            question = reports[0].answers[number]
            lines.append(row(f"    {question.number}. {question.question[:38]}",
                             [r.answers[number].seconds for r in reports], base))
        print(f"\nload average at start {load:.2f}, {args.rounds} rounds\n")
        print("| step | median ms | max ms | vs (a) |\n| --- | ---: | ---: | ---: |")
        for line in lines:
            print(line)
        verdicts = " ".join(f"{a.number}:{'PASS' if a.passed else 'FAIL'}" for a in reports[-1].answers)
        print(f"\nreport verdicts: {verdicts}")


if __name__ == "__main__":
    main()
