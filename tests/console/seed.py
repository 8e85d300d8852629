"""Seeded store data for the dashboard tests, kept in Python too so the tests can compute every number the
dashboards show independently (plain Python over these lists, not SQL).

Jobs spread over the last ``days`` days (never within ten minutes of a 24 h / 7 d boundary, so the range
a test computes and the one the server resolves a moment later agree), each with its job_runs row, a
cpu_metrics row when the worker ran it (completed and failed), an error_event when it failed, and one
log line + one span from each of api, worker and webhook. API metrics are hourly delta points.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from rythmiq_otel import vocab
from tests.seeded_job import SeededJob as Job

_BOUNDARIES = (timedelta(hours=24), timedelta(days=7), timedelta(days=30))
# The first jobs: (hours ago, status, path, temperature). Every panel of the shortest range then has rows
# whatever the hour the seed is made at (the random part's daily shape depends on it: at some hours the
# last 24 h held no failed or no cold job, and a panel was empty).
_RECENT = (
    (1.5, "failed", "standard", "cold"), (3, "completed", "fast", "warm"),
    (5, "completed", "standard", "cold"), (7, "failed", "fast", "warm"), (9, "completed", "standard", "warm"),
    (11, "pending", "standard", "warm"), (13, "processing", "fast", "warm"),
)
_MARGIN = timedelta(minutes=10)


@dataclass
class ApiPoint:
    at: datetime
    method: str
    path: str
    status: str
    requests: int
    latency_counts: list[int] = field(default_factory=list)


@dataclass
class Seed:
    now: datetime
    jobs: list[Job]
    api: list[ApiPoint]

    def since(self, span: timedelta) -> list[Job]:
        return [j for j in self.jobs if self.now - span <= j.created_at < self.now]

    def in_month(self, start: datetime, end: datetime) -> list[Job]:
        return [j for j in self.jobs if start <= j.created_at < end]


def _offset(rng: random.Random, now: datetime, days: int) -> timedelta:
    """How long before ``now`` a job was created: busier in the UTC day than at night."""
    while True:
        offset = timedelta(seconds=rng.uniform(60, days * 86400))
        hour = (now - offset).hour
        busy = 0.35 + 0.65 * math.sin(math.pi * max(0, hour - 5) / 18) if 5 <= hour <= 23 else 0.25
        if rng.random() <= busy and all(abs(offset - b) > _MARGIN for b in _BOUNDARIES):
            return offset


def make_seed(now: datetime | None = None, *, jobs: int = 400, days: int = 12, seed: int = 7) -> Seed:
    """The data, not yet stored (``store`` writes it)."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    made = []
    for index in range(jobs):
        status = rng.choices(["completed", "failed", "pending", "processing"], [88, 8, 3, 1])[0]
        path = rng.choices(["standard", "fast"], [76, 24])[0]
        temperature = rng.choices(["warm", "cold"], [90, 10])[0]
        offset = _offset(rng, now, days)
        if index < len(_RECENT):
            hours, status, path, temperature = _RECENT[index]
            offset = timedelta(hours=hours)
        cpu = (0.8 if path == "standard" else 0.3) * rng.uniform(0.5, 1.5)
        cpu += 0.6 if temperature == "cold" else 0
        made.append(Job(
            job_id=uuid.UUID(int=rng.getrandbits(128)),
            correlation_id=uuid.UUID(int=rng.getrandbits(128)),
            created_at=now - offset,
            status=status,
            path=path,
            temperature=temperature,
            cpu_seconds=round(cpu, 4),
            wall_seconds=round(rng.lognormvariate(1.0, 0.6), 3),
            quality=round(rng.betavariate(5, 2), 3),
            ocr=round(rng.betavariate(8, 2), 3),
            error_code=rng.choice(vocab.ERROR_CODES[:4]) if status == "failed" else None,
        ))
    api = []
    for hours_ago in range(1, 30):
        at = (now - timedelta(hours=hours_ago)).replace(minute=30, second=0, microsecond=0)
        for method, path, status, n in (("POST", "/jobs", "202", 40), ("GET", "/jobs/{job_id}", "200", 90),
                                        ("POST", "/jobs", "500", hours_ago % 5)):
            counts = [rng.randint(0, n) for _ in range(len(vocab.API_LATENCY_BUCKETS) + 1)]
            api.append(ApiPoint(at, method, path, status, n, counts))
    return Seed(now, made, api)


def store(conn: psycopg.Connection, seed: Seed) -> None:
    """Write ``seed`` into a migrated database."""
    ran = [j for j in seed.jobs if j.ran]
    services = ("api", "worker", "webhook")
    steps = [(j, step, service) for j in seed.jobs for step, service in enumerate(services)]
    bounds = [float(b) for b in vocab.API_LATENCY_BUCKETS]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO job_runs (job_id, correlation_id, status, processing_path,"
            " execution_temperature, created_at, completed_at, error_code)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(j.job_id, j.correlation_id, j.status, j.path, j.temperature, j.created_at,
              j.created_at + timedelta(seconds=j.wall_seconds) if j.ran else None, j.error_code)
             for j in seed.jobs])
        cur.executemany(
            "INSERT INTO cpu_metrics (job_id, correlation_id, execution_temperature, processing_path,"
            " total_cpu_seconds, total_wall_seconds, quality_score, ocr_confidence, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(j.job_id, j.correlation_id, j.temperature, j.path, j.cpu_seconds, j.wall_seconds, j.quality,
              j.ocr, j.created_at) for j in ran])
        cur.executemany(
            "INSERT INTO error_events (job_id, error_code, error_stage, processing_path, created_at,"
            " correlation_id) VALUES (%s, %s, 'ocr', %s, %s, %s)",
            [(j.job_id, j.error_code, j.path, j.created_at, j.correlation_id) for j in ran if j.error_code])
        cur.executemany(
            "INSERT INTO logs (\"timestamp\", level, service, job_id, correlation_id, message, event_name,"
            " dedup_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(j.created_at + timedelta(milliseconds=300 * step),
              "ERROR" if service == "worker" and j.error_code else "INFO", service, j.job_id,
              j.correlation_id, f"{service} handled the job", f"{service}.seeded", uuid.uuid4())
             for j, step, service in steps])
        cur.executemany(
            "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, duration_ms,"
            " status_code, service, correlation_id, job_id)"
            " VALUES (%s, %s, %s, 'SERVER', %s, %s, 250, 'OK', %s, %s, %s)",
            [(j.correlation_id.hex, f"{step:016x}", f"{service} span",
              j.created_at + timedelta(milliseconds=300 * step),
              j.created_at + timedelta(milliseconds=300 * step + 250), service, j.correlation_id, j.job_id)
             for j, step, service in steps])
        cur.executemany(
            "INSERT INTO metric_points (\"time\", metric_name, kind, temporality, is_monotonic, service,"
            " attributes, value, dedup_key) VALUES (%s, %s, 'sum', 'delta', true, 'api', %s, %s, %s)",
            [(p.at, vocab.METRIC_API_REQUESTS,
              Jsonb({"method": p.method, "path": p.path, "status": p.status}), p.requests, uuid.uuid4())
             for p in seed.api])
        cur.executemany(
            "INSERT INTO metric_points (\"time\", metric_name, kind, temporality, service, attributes,"
            " count, sum, bucket_bounds, bucket_counts, dedup_key)"
            " VALUES (%s, %s, 'histogram', 'delta', 'api', %s, %s, %s, %s, %s, %s)",
            [(p.at, vocab.METRIC_API_LATENCY, Jsonb({"method": p.method, "path": p.path}),
              sum(p.latency_counts), 0.1 * sum(p.latency_counts), bounds, p.latency_counts, uuid.uuid4())
             for p in seed.api])


def percentile_cont(values: list[float], q: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
