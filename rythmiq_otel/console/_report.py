"""The spec's observability definition of done (§7.5), answered from the data: ``rythmiq-otel report``.

Seven questions, each answered by the queries an operator would run, with PASS or FAIL and the evidence:

1. a recent job traced across api, worker and webhook by its correlation_id (the ``trace`` command's own
   reader, ``rythmiq_otel.store._trace``);
2. CPU this month and 5. its end-of-month projection (``get_monthly_cpu_usage()``, as the cost dashboard);
3. the error rate trend over the last 24 hours, hourly;
4. the most common error codes (7 days, as the product dashboard), cross-checked against failed jobs;
6. a PII scan of what was stored in the last 24 hours: the shared ``rythmiq_otel.pii`` rules over every
   text and JSON column of the telemetry tables, reported as counts by table.column and rule, never values;
7. every dashboard's queries (``run_dashboard``), each timed against the spec's 5 seconds.

A question answers PASS when the data shows the capability works ("no CPU row this month" is a FAIL: the
question cannot be answered yet, whatever the reason). Each question runs in a read-only transaction of
its own, in UTC, so one failing query fails its question, not the report.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import sql

from rythmiq_otel.pii import DEFAULT_SCRUBBER
from rythmiq_otel.store._trace import timeline

from ._errors import first_line
from .dashboards import dashboard_names, run_dashboard

__all__ = ["Answer", "Report", "build_report", "render"]

#: §7.5: "Dashboards load in < 5 seconds".
DASHBOARD_LIMIT_SECONDS: Final = 5.0
#: The PII scan reads at most this many of the most recent rows per table (§7.5 says "log samples").
PII_SAMPLE_ROWS: Final = 10_000
#: The services a job passes through, in order (§2.3).
SERVICES: Final = ("api", "worker", "webhook")
#: Tables the PII scan does not read: configuration and the alerts' own records, not telemetry.
NOT_TELEMETRY: Final = frozenset({
    "schema_migrations", "rythmiq_config", "retention_policy",
    "alert_states", "alert_incidents", "alert_notifications",
})


@dataclass(frozen=True)
class Answer:
    """One §7.5 question: its verdict, a line saying why, and the data behind it."""

    number: int
    question: str
    passed: bool
    answer: str
    evidence: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"number": self.number, "question": self.question, "result": "PASS" if self.passed else "FAIL",
                "answer": self.answer, "seconds": round(self.seconds, 3), "evidence": self.evidence}


@dataclass(frozen=True)
class Report:
    """All seven answers, when they were computed, and how long it took."""

    at: datetime
    answers: tuple[Answer, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether every question passes."""
        return all(answer.passed for answer in self.answers)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"generated_at", "seconds", "passed", "answers": [...]}``."""
        return {"generated_at": self.at.isoformat(), "seconds": round(self.seconds, 3), "passed": self.passed,
                "answers": [answer.as_dict() for answer in self.answers]}


Verdict = tuple[bool, str, dict[str, Any]]


def _short(identifier: object) -> str:
    return str(identifier)[:8] + "…"


def _trace(conn: psycopg.Connection, now: datetime) -> Verdict:
    recent = conn.execute("""
        SELECT r.job_id, r.correlation_id, r.status, r.completed_at,
               ARRAY(SELECT DISTINCT l.service FROM logs l
                     WHERE l.correlation_id = r.correlation_id AND l.service IS NOT NULL
                     UNION
                     SELECT DISTINCT s.service FROM spans s
                     WHERE s.correlation_id = r.correlation_id AND s.service IS NOT NULL)
        FROM job_runs r
        WHERE r.status IN ('completed', 'failed') AND r.correlation_id IS NOT NULL
          AND r.completed_at > %(now)s - interval '24 hours' AND r.completed_at <= %(now)s
        ORDER BY r.completed_at DESC
        LIMIT 20
    """, {"now": now}).fetchall()
    if not recent:
        return False, "no job finished in the last 24 hours, so there is no job to trace", {}
    complete = next((row for row in recent if set(SERVICES) <= set(row[4])), None)
    if complete is None:
        job_id, correlation_id, _, _, services = recent[0]
        missing = [s for s in SERVICES if s not in services]
        return False, (
            f"none of the {len(recent)} most recent finished jobs has records from all of "
            f"{', '.join(SERVICES)}; the latest ({_short(job_id)}) lacks {', '.join(missing)}: is that "
            "service instrumented and exporting?"
        ), {"job_id": str(job_id), "correlation_id": str(correlation_id), "services": sorted(services),
            "jobs_checked": len(recent)}
    job_id, correlation_id, status, _, _ = complete
    entries = timeline(conn, str(correlation_id))
    order = list(dict.fromkeys(e.service for e in entries if e.service in SERVICES))
    logs = sum(1 for e in entries if e.kind == "log")
    first, last = entries[0].at, entries[-1].at
    return True, (
        f"job {_short(job_id)} ({status}) traced by its correlation_id: {logs} log records and "
        f"{len(entries) - logs} spans from {', '.join(order)}, over {(last - first).total_seconds():.2f} s "
        f"from {first:%H:%M:%S} UTC"
    ), {"job_id": str(job_id), "correlation_id": str(correlation_id), "status": status,
        "services_in_order": order, "log_records": logs, "spans": len(entries) - logs,
        "first": first.isoformat(), "last": last.isoformat(),
        "command": f"rythmiq-otel trace {correlation_id}"}


_MONTHLY = """
SELECT u.used_hours, u.projected_hours, u.budget_hours, u.percent_used, u.days_elapsed, u.days_in_month,
       (SELECT count(*) FROM cpu_metrics m WHERE m.created_at >= u.month_start) AS jobs
FROM get_monthly_cpu_usage() u
"""


def _monthly(conn: psycopg.Connection) -> dict[str, Any]:
    row = conn.execute(_MONTHLY).fetchone()
    assert row is not None
    keys = ("used_hours", "projected_hours", "budget_hours", "percent_used", "days_elapsed", "days_in_month",
            "jobs")
    return dict(zip(keys, row, strict=True))


def _cpu_month(conn: psycopg.Connection, now: datetime) -> Verdict:
    usage = _monthly(conn)
    if not usage["jobs"]:
        return False, ("no cpu_metrics row this month: is the worker's job.metrics_summary reaching the "
                       "sink?"), usage
    return True, (f"{usage['used_hours']:.4g} CPU hours used this month by {usage['jobs']} jobs, "
                  f"{usage['percent_used']:.3g} % of the {usage['budget_hours']:g} h budget"), usage


def _projection(conn: psycopg.Connection, now: datetime) -> Verdict:
    usage = _monthly(conn)
    if not usage["jobs"]:
        return False, "no CPU data this month to project from", usage
    over = usage["projected_hours"] > usage["budget_hours"]
    pace = "over" if over else "within"
    return True, (f"{usage['projected_hours']:.4g} CPU hours projected by month end, {pace} the "
                  f"{usage['budget_hours']:g} h budget (day {usage['days_elapsed']:.1f} of "
                  f"{usage['days_in_month']})"), {**usage, "over_budget": over}


def _error_trend(conn: psycopg.Connection, now: datetime) -> Verdict:
    hours = conn.execute("""
        WITH slots AS (
            SELECT generate_series(date_trunc('hour', %(now)s::timestamptz) - interval '23 hours',
                                   date_trunc('hour', %(now)s::timestamptz), interval '1 hour') AS hour
        )
        SELECT s.hour, count(r.job_id), count(r.job_id) FILTER (WHERE r.status = 'failed')
        FROM slots s
        LEFT JOIN job_runs r ON r.status IN ('completed', 'failed')
             AND r.completed_at >= s.hour AND r.completed_at < s.hour + interval '1 hour'
             AND r.completed_at <= %(now)s
        GROUP BY s.hour ORDER BY s.hour
    """, {"now": now}).fetchall()
    trend = [{"hour": hour.isoformat(), "finished": finished, "failed": failed,
              "error_rate_percent": round(100.0 * failed / finished, 2) if finished else None}
             for hour, finished, failed in hours]
    with_data = [t for t in trend if t["finished"]]
    evidence = {"hours": trend}
    if not with_data:
        return False, "no job finished in the last 24 hours: there is no error rate to show", evidence
    finished = sum(t["finished"] for t in with_data)
    failed = sum(t["failed"] for t in with_data)
    rates = " ".join(f"{t['error_rate_percent']:g}%" for t in with_data[-6:])
    return True, (f"{len(with_data)} of 24 hours have finished jobs; {failed} of {finished} failed "
                  f"({100.0 * failed / finished:.3g} %); latest hours: {rates}"), evidence


def _error_codes(conn: psycopg.Connection, now: datetime) -> Verdict:
    window = {"now": now}
    codes = conn.execute("""
        SELECT error_code, count(*) FROM error_events
        WHERE created_at > %(now)s - interval '7 days' AND created_at <= %(now)s
        GROUP BY error_code ORDER BY count(*) DESC, error_code LIMIT 5
    """, window).fetchall()
    failed_row = conn.execute("""
        SELECT count(*) FROM job_runs WHERE status = 'failed'
          AND completed_at > %(now)s - interval '7 days' AND completed_at <= %(now)s
    """, window).fetchone()
    failed = failed_row[0] if failed_row else 0
    evidence = {"top_error_codes": [{"error_code": c, "count": n} for c, n in codes], "failed_jobs": failed,
                "window": "7d"}
    if codes:
        ranked = ", ".join(f"{c} {n}" for c, n in codes)
        return True, f"most common error codes over 7 days: {ranked}", evidence
    if failed:
        return False, (f"{failed} jobs failed in the last 7 days but error_events is empty: are job.failed "
                       "records reaching the sink?"), evidence
    return True, "no job failed and no error was recorded in the last 7 days: nothing to rank", evidence


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    time_column: str | None


#: When a table has no retention_policy row, the first of these timestamptz columns says when a row came.
_TIME_COLUMNS: Final = ("created_at", "timestamp", "time", "start_time", "bucket", "updated_at")


def _scannable_tables(conn: psycopg.Connection) -> list[_Table]:
    """Every telemetry table of the schema (partitioned parents, not their partitions) with its text and
    JSON columns and the column that says when a row was written."""
    rows = conn.execute("""
        SELECT c.relname,
               array_agg(a.attname ORDER BY a.attnum) FILTER (WHERE a.atttypid IN (
                   'text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'json'::regtype, 'jsonb'::regtype,
                   'text[]'::regtype, 'varchar[]'::regtype)),
               (SELECT p.time_column FROM retention_policy p WHERE p.table_name = c.relname),
               array_agg(a.attname) FILTER (WHERE a.atttypid = 'timestamptz'::regtype)
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
          AND NOT c.relispartition
        GROUP BY c.oid, c.relname
        ORDER BY c.relname
    """).fetchall()
    tables = []
    for name, columns, policy_time, stamps in rows:
        if name in NOT_TELEMETRY or not columns:
            continue
        preferred = [policy_time, *_TIME_COLUMNS]
        time_column = next((column for column in preferred if column in (stamps or ())), None)
        tables.append(_Table(name, tuple(columns), time_column))
    return tables


def _pii(conn: psycopg.Connection, now: datetime) -> Verdict:
    """Scan the recent rows: every value is read as text (JSON too) and each distinct value of a column is
    scanned once, its hits counted as often as it occurs -- telemetry repeats itself (statuses, resource
    attributes, messages), so this is several times faster than scanning every row, with the same counts.

    Strings are scanned as free text (a JSON document in one is walked as data, with the key rules for its
    keys, which come from the services); column names are ours, so no key rule applies to them (a column
    called ``payload`` is not a webhook body).
    """
    hits: Counter[tuple[str, str]] = Counter()
    scanned: dict[str, Any] = {}
    for table in _scannable_tables(conn):
        columns = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.columns)
        if table.time_column:
            query = sql.SQL("SELECT {} FROM {} WHERE {t} > %(now)s - interval '24 hours' AND {t} <= %(now)s"
                            " ORDER BY {t} DESC LIMIT %(limit)s").format(
                columns, sql.Identifier(table.name), t=sql.Identifier(table.time_column))
        else:
            query = sql.SQL("SELECT {} FROM {} LIMIT %(limit)s").format(columns, sql.Identifier(table.name))
        rows = conn.execute(query, {"now": now, "limit": PII_SAMPLE_ROWS}).fetchall()
        for index, column in enumerate(table.columns):
            values = Counter(row[index] for row in rows if row[index] is not None)
            for value, occurrences in values.items():
                for redaction in DEFAULT_SCRUBBER.scrub_text(value)[1]:
                    hits[f"{table.name}.{column}", redaction.rule] += occurrences
        scanned[table.name] = {"rows": len(rows), "columns": list(table.columns),
                               "window": "24h" if table.time_column else "all",
                               "sampled": len(rows) == PII_SAMPLE_ROWS}
    found = [{"column": column, "rule": rule, "count": count}
             for (column, rule), count in sorted(hits.items())]
    evidence = {"hits": found, "tables": scanned, "not_scanned": sorted(NOT_TELEMETRY)}
    rows_read = sum(t["rows"] for t in scanned.values())
    if found:
        where = ", ".join(f"{h['column']} ({h['rule']}) x{h['count']}" for h in found[:5])
        return False, f"{sum(hits.values())} PII hits in stored rows: {where}", evidence
    return True, (f"no PII found in {rows_read} rows of {len(scanned)} tables stored in the last 24 hours "
                  f"({sum(len(t['columns']) for t in scanned.values())} text and JSON columns)"), evidence


def _dashboards(conn: psycopg.Connection, now: datetime) -> Verdict:
    timings = []
    for name in dashboard_names():
        started = time.perf_counter()
        data = run_dashboard(conn, name, now=now)
        seconds = time.perf_counter() - started
        missing = [panel for panel, body in data["panels"].items() if body.get("missing")]
        timings.append({"dashboard": name, "range": data["range"]["key"], "seconds": round(seconds, 3),
                        "panels": len(data["panels"]), "panels_without_data_source": missing})
    slow = [t for t in timings if t["seconds"] >= DASHBOARD_LIMIT_SECONDS]
    listed = ", ".join(f"{t['dashboard']} {t['seconds']:.2f} s" for t in timings)
    evidence = {"limit_seconds": DASHBOARD_LIMIT_SECONDS, "dashboards": timings}
    if slow:
        return False, f"over {DASHBOARD_LIMIT_SECONDS:g} s: {listed}", evidence
    return True, f"every dashboard's queries under {DASHBOARD_LIMIT_SECONDS:g} s: {listed}", evidence


QUESTIONS: Final[tuple[tuple[str, Callable[[psycopg.Connection, datetime], Verdict]], ...]] = (
    ("Can trace any job from API request to webhook completion using correlation_id", _trace),
    ("Can query CPU consumption for current month", _cpu_month),
    ("Can see error rate trend in last 24 hours", _error_trend),
    ("Can identify the most common error codes", _error_codes),
    ("Can project end-of-month CPU usage", _projection),
    ("No PII appears in any log samples (verified)", _pii),
    ("Dashboards load in < 5 seconds", _dashboards),
)


def _ask(conn: psycopg.Connection, number: int, question: str,
         answer: Callable[[psycopg.Connection, datetime], Verdict], now: datetime) -> Answer:
    started = time.perf_counter()
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            passed, line, evidence = answer(conn, now)
    except psycopg.Error as err:
        text = first_line(err)
        passed, line, evidence = False, f"the query failed: {text}", {"error": text}
    return Answer(number, question, passed, line, evidence, time.perf_counter() - started)


def build_report(conn: psycopg.Connection, *, now: datetime | None = None) -> Report:
    """Answer the seven §7.5 questions from the store. ``conn`` must be in autocommit mode.

    Args:
        conn: a connection to the store; nothing is written.
        now: the moment the windows end at (tests); default the database's ``now()``. The CPU questions
            read ``get_monthly_cpu_usage()``, which is always the current month at the server's clock.
    """
    started = time.perf_counter()
    if now is None:
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        now = row[0]
    assert now is not None
    answers = tuple(_ask(conn, number, question, answer, now)
                    for number, (question, answer) in enumerate(QUESTIONS, start=1))
    return Report(now, answers, time.perf_counter() - started)


def render(report: Report) -> list[str]:
    """The report for people: one PASS/FAIL line per question with its answer, then the verdict."""
    lines = [f"Observability definition of done (spec §7.5), {report.at:%Y-%m-%d %H:%M} UTC"]
    for answer in report.answers:
        lines.append(f"{'PASS' if answer.passed else 'FAIL'}  {answer.number}. {answer.question}")
        lines.append(f"      {answer.answer}")
        if command := answer.evidence.get("command"):
            lines.append(f"      {command}")
    passed = sum(answer.passed for answer in report.answers)
    lines.append(f"{passed} of {len(report.answers)} pass ({report.seconds:.2f} s)")
    return lines

