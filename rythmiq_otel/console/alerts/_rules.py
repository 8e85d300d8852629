"""The alert rules: what each one measures in Postgres, and how a measurement becomes a state.

Each rule is one read-only query over the tables as the sink fills them (job_runs, cpu_metrics,
metric_points through ``metric_increments``) with the evaluation time ``at`` as a parameter, so a rule
judges the same data the same way whoever runs it and tests can evaluate at any moment. A measurement is
judged the same way for every rule (``judge``): fewer observations than the minimum sample is
``insufficient_data``; above the threshold (strictly) is ``firing``; above the warning level is
``warning``; anything else is ``ok``. The statistics behind cpu_spike and quality_shift are explained in
docs/alerts.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import psycopg
from psycopg import sql

from rythmiq_otel import vocab

from ._settings import AlertSettings, RuleConfig, format_duration

State = Literal["ok", "warning", "firing", "insufficient_data", "off"]

#: 1.4826 x MAD estimates the standard deviation of normally distributed data (robust to the spikes).
MAD_TO_SIGMA: Final = 1.4826
#: The spread used by cpu_spike is at least this share of the median: a perfectly steady baseline (MAD 0)
#: must not make a 1 % rise an anomaly.
MIN_RELATIVE_SPREAD: Final = 0.1
#: Added to every bucket count before PSI's proportions, so an empty bucket does not divide by zero.
PSI_SMOOTHING: Final = 0.5


@dataclass(frozen=True)
class Measurement:
    """What a rule's query found: the value (``None`` when nothing was observed), the number of
    observations behind it, the threshold when the rule computes its own, and a sentence of detail."""

    value: float | None
    sample: int
    detail: str
    threshold: float | None = None


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict at one evaluation: what ``alerts check`` prints, the state table stores and a
    notification carries."""

    rule: str
    title: str
    state: State
    value: float | None
    threshold: float | None
    warning: float | None
    unit: str
    window: str
    sample: int
    min_sample: int
    sample_unit: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return asdict(self)

    def summary(self) -> str:
        """One line for people: ``Error rate 4.1 % > 2 % over the last 1h (73 finished jobs)``."""
        if self.state == "off":
            return f"{self.title}: turned off"
        sample = f"{self.sample} {self.sample_unit}"
        if self.state == "insufficient_data":
            return (f"{self.title}: not enough data over {self.window_text}"
                    f" ({sample}, needs {self.min_sample})")
        level = self.threshold if self.state == "firing" or self.warning is None else self.warning
        sign = ">" if self.state in ("firing", "warning") else "<="
        limit = f" {sign} {fmt(level, self.unit)}" if level is not None else ""
        return f"{self.title} {fmt(self.value, self.unit)}{limit} over {self.window_text} ({sample})"

    @property
    def window_text(self) -> str:
        """``the last 1h`` or ``this month``."""
        return "this month" if self.window == "month" else f"the last {self.window}"


def fmt(value: float | None, unit: str) -> str:
    """A value with its unit, rounded for reading (``4.1 %``, ``31.2 s``, ``0.183``)."""
    if value is None:
        return "-"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text} {unit}".strip()


@dataclass(frozen=True)
class RuleSpec:
    """What is fixed about a rule: its title, units, and the query that measures it."""

    title: str
    unit: str
    sample_unit: str
    measure: Callable[[psycopg.Connection, RuleConfig, datetime, AlertSettings], Measurement]


def _one(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> tuple[Any, ...]:
    row = conn.execute(query, params).fetchone()
    assert row is not None  # aggregates always return a row
    return tuple(row)


def _percent(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _error_rate(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    failed, finished = _one(conn, """
        SELECT count(*) FILTER (WHERE status = 'failed'), count(*)
        FROM job_runs
        WHERE status IN ('completed', 'failed')
          AND completed_at > %(at)s - %(window)s AND completed_at <= %(at)s
    """, {"at": at, "window": rule.window})
    return Measurement(_percent(failed, finished), finished, f"{failed} of {finished} finished jobs failed")


def _p95_latency(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    p95, jobs = _one(conn, """
        SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY m.total_wall_seconds), count(m.total_wall_seconds)
        FROM cpu_metrics m
        WHERE m.created_at > %(at)s - %(window)s AND m.created_at <= %(at)s
          AND NOT EXISTS (SELECT 1 FROM job_runs j WHERE j.job_id = m.job_id AND j.status = 'failed')
    """, {"at": at, "window": rule.window})
    return Measurement(p95, jobs, f"P95 of total_wall_seconds over {jobs} completed jobs")


def _cpu_burn(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    hours, jobs = _one(conn, """
        SELECT coalesce(sum(total_cpu_seconds), 0) / 3600.0, count(*)
        FROM cpu_metrics
        WHERE created_at > %(at)s - %(window)s AND created_at <= %(at)s
    """, {"at": at, "window": rule.window})
    return Measurement(hours, jobs, f"{hours:.3g} CPU hours over {jobs} jobs")


def _cpu_projection(
    conn: psycopg.Connection, rule: RuleConfig, at: datetime, settings: AlertSettings
) -> Measurement:
    # The projection of get_monthly_cpu_usage() (used x month length / time elapsed), with the month of
    # `at` in UTC; tests hold the two to the same number.
    used, jobs, projected, elapsed_hours, budget = _one(conn, """
        WITH month AS (
            SELECT date_trunc('month', %(at)s::timestamptz, 'UTC') AS start_at,
                   date_trunc('month', %(at)s::timestamptz, 'UTC') + interval '1 month' AS end_at
        ), used AS (
            SELECT coalesce(sum(c.total_cpu_seconds), 0) / 3600.0 AS hours, count(*) AS jobs
            FROM cpu_metrics c, month
            WHERE c.created_at >= month.start_at AND c.created_at <= %(at)s
        )
        SELECT used.hours, used.jobs,
               used.hours * extract(epoch FROM month.end_at - month.start_at)
                   / greatest(extract(epoch FROM %(at)s - month.start_at), 1),
               extract(epoch FROM %(at)s - month.start_at) / 3600.0,
               coalesce(%(budget)s::float8,
                        (SELECT value::float8 FROM rythmiq_config WHERE key = 'cpu_budget_hours'), 200)
        FROM month, used
    """, {"at": at, "budget": settings.cpu_budget_hours})
    # No CPU row at all this month is no data (is the worker's summary reaching the sink?), not zero use.
    return Measurement(projected if jobs else None, int(elapsed_hours),
                       f"{used:.3g} CPU hours used by {jobs} jobs so far, budget {budget:g} h",
                       threshold=budget)


def _cold_starts(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    cold, jobs = _one(conn, """
        SELECT count(*) FILTER (WHERE execution_temperature = 'cold'),
               count(*) FILTER (WHERE execution_temperature IN ('cold', 'warm'))
        FROM cpu_metrics
        WHERE created_at > %(at)s - %(window)s AND created_at <= %(at)s
    """, {"at": at, "window": rule.window})
    return Measurement(_percent(cold, jobs), jobs, f"{cold} of {jobs} jobs started cold")


def _cpu_spike(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    assert rule.baseline is not None and rule.threshold is not None and rule.floor is not None
    days = rule.baseline.days
    rows = conn.execute("""
        WITH ends AS (
            SELECT d, %(at)s::timestamptz - d * interval '1 day' AS hi FROM generate_series(0, %(days)s) d
        )
        SELECT ends.d, coalesce(sum(c.total_cpu_seconds), 0) / 3600.0
        FROM ends LEFT JOIN cpu_metrics c ON c.created_at > ends.hi - %(window)s AND c.created_at <= ends.hi
        GROUP BY ends.d ORDER BY ends.d
    """, {"at": at, "days": days, "window": rule.window}).fetchall()
    (earliest,) = _one(conn, "SELECT min(created_at) FROM cpu_metrics", {})
    current, baseline = rows[0][1], [hours for _, hours in rows[1:]]
    # A baseline day counts once the store already had data when that day's window began: before that,
    # its zero is "not collected yet", not "idle".
    covered = 0 if earliest is None else sum(
        1 for d in range(1, days + 1) if at - timedelta(days=d) - rule.window >= earliest
    )
    median = statistics.median(baseline)
    mad = statistics.median(abs(hours - median) for hours in baseline)
    spread = max(MAD_TO_SIGMA * mad, MIN_RELATIVE_SPREAD * median)
    threshold = max(median + rule.threshold * spread, rule.floor)
    return Measurement(
        current, covered,
        f"baseline median {median:.3g} CPU h, robust sigma {spread:.3g} over the same "
        f"{format_duration(rule.window)} of the previous {days} days; floor {rule.floor:g} CPU h",
        threshold=threshold,
    )


def psi(current: list[int], baseline: list[int]) -> float:
    """Population stability index of two histograms over the same buckets (docs/alerts.md)."""
    n_cur, n_base = sum(current), sum(baseline)
    k = len(current)
    total = 0.0
    for cur, base in zip(current, baseline, strict=True):
        p = (cur + PSI_SMOOTHING) / (n_cur + PSI_SMOOTHING * k)
        q = (base + PSI_SMOOTHING) / (n_base + PSI_SMOOTHING * k)
        total += (p - q) * math.log(p / q)
    return total


def _bucket_case(column: str, bounds: list[float]) -> sql.Composable:
    """``CASE WHEN col <= b0 THEN 0 WHEN col <= b1 THEN 1 ... ELSE n END``: the index of the §3.2 bucket
    (upper bounds inclusive, like a Prometheus ``le``) a value falls in."""
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} <= {} THEN {}").format(sql.Identifier(column), sql.Literal(bound), sql.Literal(i))
        for i, bound in enumerate(bounds)
    )
    return sql.SQL("CASE {} ELSE {} END").format(whens, sql.Literal(len(bounds)))


def _quality_shift(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    assert rule.baseline is not None
    bounds = [float(b) for b in vocab.SCORE_BUCKETS]
    rows = conn.execute(sql.SQL("""
        SELECT created_at > %(at)s - %(window)s AS current, {bucket} AS bucket, count(*)
        FROM cpu_metrics
        WHERE quality_score IS NOT NULL
          AND created_at > %(at)s - %(window)s - %(baseline)s AND created_at <= %(at)s
        GROUP BY 1, 2
    """).format(bucket=_bucket_case("quality_score", bounds)),
        {"at": at, "window": rule.window, "baseline": rule.baseline}).fetchall()
    current, baseline = [0] * (len(bounds) + 1), [0] * (len(bounds) + 1)
    for is_current, bucket, count in rows:
        (current if is_current else baseline)[bucket] += count
    sample = min(sum(current), sum(baseline))
    value = psi(current, baseline) if sum(current) and sum(baseline) else None
    return Measurement(value, sample, f"{sum(current)} jobs in the window against {sum(baseline)} in the "
                       f"previous {format_duration(rule.baseline)}, §3.2 quality buckets")


def _api_5xx(conn: psycopg.Connection, rule: RuleConfig, at: datetime, _: AlertSettings) -> Measurement:
    errors, requests = _one(conn, """
        SELECT coalesce(sum(value) FILTER (WHERE attributes->>'status' LIKE '5%%'), 0),
               coalesce(sum(value), 0)
        FROM metric_increments(%(at)s::timestamptz - %(window)s, %(at)s::timestamptz)
        WHERE metric_name = %(metric)s
    """, {"at": at, "window": rule.window, "metric": vocab.METRIC_API_REQUESTS})
    return Measurement(_percent(errors, requests), round(requests),
                       f"{errors:.0f} of {requests:.0f} API requests answered 5xx")


RULES: Final[dict[str, RuleSpec]] = {
    "error_rate": RuleSpec("Error rate", "%", "finished jobs", _error_rate),
    "p95_latency": RuleSpec("P95 job latency", "s", "jobs", _p95_latency),
    "cpu_burn": RuleSpec("CPU burn", "CPU h", "jobs", _cpu_burn),
    "cpu_projection": RuleSpec("Projected month-end CPU", "CPU h", "hours of the month", _cpu_projection),
    "cold_starts": RuleSpec("Cold starts", "%", "jobs", _cold_starts),
    "cpu_spike": RuleSpec("CPU spike", "CPU h", "days of history", _cpu_spike),
    "quality_shift": RuleSpec("Quality score shift (PSI)", "", "jobs", _quality_shift),
    "api_5xx": RuleSpec("API 5xx", "%", "requests", _api_5xx),
}


def judge(rule: RuleConfig, measured: Measurement) -> State:
    """The state of a measurement under ``rule``'s levels (the same for every rule)."""
    threshold = measured.threshold if measured.threshold is not None else rule.threshold
    if measured.value is None or measured.sample < rule.min_sample:
        return "insufficient_data"
    if threshold is not None and measured.value > threshold:
        return "firing"
    if rule.warning is not None and measured.value > rule.warning:
        return "warning"
    return "ok"


def evaluate_rule(
    conn: psycopg.Connection, rule: RuleConfig, at: datetime, settings: AlertSettings
) -> RuleResult:
    """Measure and judge one rule (``off`` without a query when it is turned off)."""
    spec = RULES[rule.name]
    window = "month" if rule.name == "cpu_projection" else format_duration(rule.window)
    if not rule.enabled:
        return RuleResult(rule.name, spec.title, "off", None, rule.threshold, rule.warning, spec.unit, window,
                          0, rule.min_sample, spec.sample_unit, "turned off in RYTHMIQ_ALERTS_DISABLED")
    measured = spec.measure(conn, rule, at, settings)
    if measured.value is not None and not math.isfinite(measured.value):
        # NaN or infinity in a stored column: no verdict can be drawn from it, and JSON cannot carry it.
        measured = replace(measured, value=None, detail=f"{measured.detail}; the stored values are not all "
                           "finite numbers")
    threshold = measured.threshold if measured.threshold is not None else rule.threshold
    return RuleResult(rule.name, spec.title, judge(rule, measured), measured.value, threshold, rule.warning,
                      spec.unit, window, measured.sample, rule.min_sample, spec.sample_unit, measured.detail)
