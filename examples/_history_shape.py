"""What a day of Rythmiq One looks like in numbers: the one description both history generators follow.

``examples._backfill`` (the demo's ``--backfill-days``, OTLP through the sink) and ``tests.seed_store``
(set-based SQL for tests and the dashboard benchmark) draw from these distributions, so a dashboard shows
the same shape whichever of them filled it. The numbers follow the spec's mock-ups: about 24 % of documents
take the fast path (§5.4), average CPU about 0.68 s per document with standard 0.82 s, fast 0.31 s and cold
starts well above warm (§5.3), an error rate under the 1 % target with OCR_FAILURE the most common code
(§3.2, §5.4), quality and OCR confidence spread over the §3.2 buckets with medians near 0.72 and 0.8.

Distributions are piecewise-linear inverse CDFs, ``(u, value)`` knots with ``u`` from 0 to 1: a uniform
draw ``u`` maps to the value by linear interpolation, which is both easy to state in SQL and exact about
the share of each bucket (the share below a knot's value is its ``u``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from examples._pipeline import FAILING_STAGE, FAST_PATH_QUALITY
from rythmiq_otel import vocab

Knots = tuple[tuple[float, float], ...]

# Quality score: 9 % under 0.5, 52 % under 0.75, 76 % under the fast-path threshold 0.85 (so 24 % fast).
QUALITY_KNOTS: Final[Knots] = ((0.0, 0.15), (0.09, 0.5), (0.52, 0.75), (0.76, FAST_PATH_QUALITY),
                               (0.98, 0.95), (1.0, 1.0))
# OCR confidence: 4.5 % under 0.5, 70 % under 0.85. Drawn with a uniform that leans on the quality draw
# (``correlated_uniform``): good scans read better.
OCR_KNOTS: Final[Knots] = ((0.0, 0.2), (0.045, 0.5), (0.12, 0.65), (0.25, 0.75), (0.70, 0.85),
                           (0.95, 0.95), (1.0, 0.99))

# Execution: share of jobs that start a fresh worker, and the CPU it adds (loading models).
COLD_SHARE: Final = 0.03
COLD_EXTRA_CPU_SECONDS: Final = 0.6
COLD_EXTRA_WALL_SECONDS: Final = 2.5

# CPU seconds of a one-page document by path, times sqrt(pages) (about 1.33 on average, so the averages
# come out near the spec's 0.31 s fast and 0.82 s standard) and a lognormal spread of ``CPU_SPREAD``; and
# how a job's CPU divides over the worker stages (the fast path skips enhancement).
BASE_CPU_SECONDS: Final[dict[str, float]] = {"fast": 0.22, "standard": 0.6}
CPU_SPREAD: Final = 0.35
STAGE_CPU_SHARE: Final[dict[str, float]] = {
    "ingestion": 0.08, "quality": 0.10, "pre_ocr": 0.12, "enhancement": 0.25, "ocr": 0.35, "schema": 0.07,
    "packaging": 0.03,
}
# Wall seconds: queueing before the worker starts, then a fixed part, a per-page part and CPU-bound work.
QUEUE_SECONDS: Final = 0.8
WALL_BASE_SECONDS: Final = 0.6
WALL_PER_PAGE_SECONDS: Final = 0.4
WALL_PER_CPU_SECOND: Final = 2.2
# Pages: 1 + a geometric draw with this mean.
MEAN_EXTRA_PAGES: Final = 1.5

# Failures: the base rate per job, and how often an hour is an incident with ``INCIDENT_FACTOR`` times it.
ERROR_RATE: Final = 0.008
INCIDENT_EVERY_HOURS: Final = 97
INCIDENT_FACTOR: Final = 6.0
# Share of failures by code (sums to 1); each fails in its stage of ``examples._pipeline.FAILING_STAGE``.
ERROR_CODE_SHARE: Final[dict[str, float]] = {
    "OCR_FAILURE": 0.45, "CORRUPT_DATA": 0.13, "SCHEMA_INVALID": 0.09, "QUALITY_TOO_LOW": 0.10,
    "UNSUPPORTED_FORMAT": 0.08, "TIMEOUT": 0.07, "STORAGE_ERROR": 0.05, "INTERNAL_ERROR": 0.03,
}
ERROR_STAGE: Final[dict[str, str]] = {code: FAILING_STAGE[code] for code in ERROR_CODE_SHARE}

# The daily rhythm (UTC hour -> share of the day's jobs; European and American office hours overlap in
# the afternoon) and the week's (Monday..Sunday factors averaging 1, so a week holds 7 days' volume).
_HOURLY = (2, 1.5, 1.2, 1, 1, 1.2, 2, 3.5, 5.5, 7, 7.5, 7.5, 7, 7.5, 8, 8, 7.5, 6.5, 5, 4, 3.5, 3, 2.5, 2)
HOURLY_SHARE: Final[tuple[float, ...]] = tuple(w / sum(_HOURLY) for w in _HOURLY)
WEEKDAY_FACTOR: Final[tuple[float, ...]] = (1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75)

# The api's requests per job beyond the POST: status polls (1 to 3) and, for a completed job, the output.
# Some requests are refused (401) or fail (500); the webhook receives one POST per finished job.
API_UNAUTHORIZED_SHARE: Final = 0.004
API_SERVER_ERROR_SHARE: Final = 0.001
API_ROUTES: Final[dict[str, tuple[str, str, float]]] = {
    # name: (method, route template, median latency seconds)
    "create": ("POST", "/jobs", 0.035),
    "status": ("GET", "/jobs/{job_id}", 0.006),
    "output": ("GET", "/jobs/{job_id}/output", 0.012),
    "webhook": ("POST", "/webhooks/camber", 0.009),
}


def error_code_for(u: float) -> str:
    """The error code of a failure drawn with the uniform ``u`` (by ``ERROR_CODE_SHARE``)."""
    edge = 0.0
    for code, share in ERROR_CODE_SHARE.items():
        edge += share
        if u < edge:
            return code
    return next(reversed(ERROR_CODE_SHARE))


def interpolate(knots: Knots, u: float) -> float:
    """The value of the inverse CDF ``knots`` at ``u`` (0..1)."""
    for (u0, v0), (u1, v1) in itertools.pairwise(knots):
        if u <= u1:
            return v0 + (v1 - v0) * (u - u0) / (u1 - u0)
    return knots[-1][1]


def correlated_uniform(u: float, v: float) -> float:
    """A uniform draw that leans on ``u``: the mean of ``u`` and an independent ``v``, mapped back to a
    uniform through the CDF of the mean of two uniforms (a triangle)."""
    s = (u + v) / 2
    return 2 * s * s if s < 0.5 else 1 - 2 * (1 - s) ** 2


def incident_hour(hour_index: int) -> bool:
    """Whether the UTC hour numbered ``hour_index`` (hours since the epoch) is an incident hour."""
    return hour_index % INCIDENT_EVERY_HOURS == 0


def lognormal_factor(u1: float, u2: float, spread: float = CPU_SPREAD) -> float:
    """exp(spread * N(0, 1)) from two uniforms (Box-Muller), normalised to a mean of 1."""
    normal = math.sqrt(-2 * math.log(1 - u1)) * math.cos(2 * math.pi * u2)
    return math.exp(spread * normal - spread * spread / 2)



@dataclass(frozen=True)
class DrawnJob:
    """One job of the history, every value drawn (times are Unix seconds)."""

    created_at: float
    started_at: float
    completed_at: float
    execution_temperature: str
    processing_path: str | None
    quality_score: float | None
    ocr_confidence: float | None
    error_code: str | None
    error_stage: str | None
    page_count: int
    stage_cpu_seconds: dict[str, float]
    wall_seconds: float
    input_file_size_bytes: int

    @property
    def total_cpu_seconds(self) -> float:
        return sum(self.stage_cpu_seconds.values())

    @property
    def stages_run(self) -> tuple[str, ...]:
        """The stages the job entered (up to and including the failing one)."""
        if self.error_stage is None:
            return vocab.WORKER_STAGES
        return vocab.WORKER_STAGES[: vocab.WORKER_STAGES.index(self.error_stage) + 1]


def hourly_counts(start: float, end: float, jobs_per_day: float, rng: random.Random) -> Iterator[
        tuple[float, int, bool]]:
    """(hour start, jobs created in it, incident hour) for every UTC hour from ``start`` to ``end``."""
    hour = start - start % 3600
    while hour < end:
        stamp = datetime.fromtimestamp(hour, UTC)
        expected = jobs_per_day * HOURLY_SHARE[stamp.hour] * WEEKDAY_FACTOR[stamp.weekday()]
        yield hour, math.floor(expected + rng.random()), incident_hour(int(hour // 3600))
        hour += 3600


def draw_job(rng: random.Random, created_at: float, *, incident: bool) -> DrawnJob:
    """Draw one job created at ``created_at`` (the Python twin of ``tests.seed_store``'s SQL draws)."""
    u_quality = rng.random()
    quality = round(interpolate(QUALITY_KNOTS, u_quality), 3)
    ocr = round(interpolate(OCR_KNOTS, correlated_uniform(u_quality, rng.random())), 3)
    temperature = "cold" if rng.random() < COLD_SHARE else "warm"
    failed = rng.random() < ERROR_RATE * (INCIDENT_FACTOR if incident else 1)
    code = error_code_for(rng.random()) if failed else None
    stage = ERROR_STAGE[code] if code else None
    stage_index = vocab.WORKER_STAGES.index(stage) if stage else len(vocab.WORKER_STAGES)
    path_known = stage_index > vocab.WORKER_STAGES.index("quality")
    path = ("fast" if quality >= FAST_PATH_QUALITY else "standard") if path_known else None
    pages = 1 + math.floor(-math.log(1 - rng.random()) * MEAN_EXTRA_PAGES)
    spread = lognormal_factor(rng.random(), rng.random())
    scale = BASE_CPU_SECONDS[path or "standard"] * math.sqrt(pages) * spread
    shares = {name: 0.0 if path == "fast" and name == "enhancement" else share
              for name, share in STAGE_CPU_SHARE.items()}
    norm = sum(shares.values())
    cpu = {}
    for index, name in enumerate(vocab.WORKER_STAGES):
        if index > stage_index:
            cpu[name] = 0.0
            continue
        seconds = scale * shares[name] / norm * (0.5 if index == stage_index else 1)
        if index == 0 and temperature == "cold":
            seconds += COLD_EXTRA_CPU_SECONDS
        cpu[name] = seconds
    wall = (WALL_BASE_SECONDS + WALL_PER_PAGE_SECONDS * pages
            + WALL_PER_CPU_SECOND * sum(cpu.values()) * (0.7 + 0.6 * rng.random())
            + (COLD_EXTRA_WALL_SECONDS if temperature == "cold" else 0))
    if failed:
        wall *= (stage_index + 1) / len(vocab.WORKER_STAGES)
    started = created_at + QUEUE_SECONDS * -math.log(1 - rng.random())
    return DrawnJob(
        created_at=created_at, started_at=started, completed_at=started + wall,
        execution_temperature=temperature, processing_path=path,
        quality_score=quality if path_known else None,
        ocr_confidence=ocr if stage_index > vocab.WORKER_STAGES.index("ocr") else None,
        error_code=code, error_stage=stage, page_count=pages, stage_cpu_seconds=cpu, wall_seconds=wall,
        input_file_size_bytes=int(20000 + 180000 * pages * (0.5 + rng.random())),
    )
