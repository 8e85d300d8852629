"""The §7.5 report on seeded data: every answer equals what plain Python computes from the seed, a PII
canary planted in a stored row turns question 6 into a FAIL (by rule and column, never the value), and an
empty store fails the questions it cannot answer."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from rythmiq_otel.console._report import Report, build_report, render
from tests.console import rows
from tests.console.seed import Job, Seed, make_seed, store
from tests.pii_canaries import assert_no_canary, canaries

CANARY_EMAIL = "canary.report@example.org"


@pytest.fixture(scope="module")
def seeded(migrated_database_factory) -> tuple[str, Seed]:
    url = migrated_database_factory()
    seed = make_seed(datetime.now(UTC) - timedelta(minutes=1))
    with psycopg.connect(url, autocommit=True) as conn:
        store(conn, seed)
    return url, seed


@pytest.fixture(scope="module")
def report(seeded: tuple[str, Seed]) -> Report:
    with psycopg.connect(seeded[0], autocommit=True) as conn:
        return build_report(conn)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def evidence(report: Report, number: int) -> dict:
    return report.answers[number - 1].evidence


def test_every_question_passes_on_a_working_store(report: Report) -> None:
    assert [(a.number, a.passed) for a in report.answers] == [(n, True) for n in range(1, 8)], render(report)
    assert report.passed


def test_the_traced_job_is_the_latest_one_seen_by_all_three_services(
    report: Report, seeded: tuple[str, Seed]
) -> None:
    def end(job: Job) -> datetime:
        return job.created_at + timedelta(seconds=job.wall_seconds)

    latest = max((j for j in seeded[1].jobs if j.ran and end(j) <= report.at), key=end)
    traced = evidence(report, 1)
    assert traced["job_id"] == str(latest.job_id)
    assert traced["services_in_order"] == ["api", "worker", "webhook"]
    assert (traced["log_records"], traced["spans"]) == (3, 3)
    assert traced["command"] == f"rythmiq-otel trace {latest.correlation_id}"


def test_cpu_this_month_and_its_projection(report: Report, seeded: tuple[str, Seed]) -> None:
    month_start = report.at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    jobs = [j for j in seeded[1].in_month(month_start, report.at) if j.ran]
    used = evidence(report, 2)
    assert used["jobs"] == len(jobs)
    assert used["used_hours"] == pytest.approx(sum(j.cpu_seconds for j in jobs) / 3600)
    projected = evidence(report, 5)
    assert projected["projected_hours"] >= projected["used_hours"]
    assert projected["over_budget"] is False


def test_error_rate_trend_is_hourly_over_24_hours(report: Report, seeded: tuple[str, Seed]) -> None:
    hours = evidence(report, 3)["hours"]
    assert len(hours) == 24
    ends = {j.job_id: j.created_at + timedelta(seconds=j.wall_seconds) for j in seeded[1].jobs if j.ran}
    first_hour = datetime.fromisoformat(hours[0]["hour"])
    in_window = [j for j in seeded[1].jobs if j.ran and first_hour <= ends[j.job_id] <= report.at]
    assert sum(h["finished"] for h in hours) == len(in_window)
    assert sum(h["failed"] for h in hours) == sum(j.status == "failed" for j in in_window)


def test_most_common_error_codes(report: Report, seeded: tuple[str, Seed]) -> None:
    recent = [j for j in seeded[1].jobs if j.error_code and j.created_at > report.at - timedelta(days=7)]
    counts = Counter(j.error_code for j in recent)
    top = evidence(report, 4)["top_error_codes"]
    assert {row["error_code"]: row["count"] for row in top} == dict(counts.most_common(5))
    assert [row["count"] for row in top] == sorted((row["count"] for row in top), reverse=True)


def test_dashboards_are_timed(report: Report) -> None:
    timed = evidence(report, 7)["dashboards"]
    assert [t["dashboard"] for t in timed] == ["operations", "cost", "product"]
    assert all(0 < t["seconds"] < 5 for t in timed)


def test_pii_scan_reads_every_telemetry_table(report: Report) -> None:
    scanned = evidence(report, 6)["tables"]
    assert {"logs", "spans", "job_runs", "error_events", "metric_points", "cpu_metrics"} <= set(scanned)
    assert "message" in scanned["logs"]["columns"] and "attributes" in scanned["logs"]["columns"]
    assert scanned["logs"]["rows"] > 0
    assert evidence(report, 6)["hits"] == []


def test_a_planted_pii_canary_fails_the_scan_without_showing_it(conn: psycopg.Connection) -> None:
    now = conn.execute("SELECT now()").fetchone()[0]
    conn.execute(
        "INSERT INTO logs (\"timestamp\", level, service, message, attributes, dedup_key)"
        " VALUES (%s, 'INFO', 'api', %s, %s, gen_random_uuid())",
        (now - timedelta(minutes=1), f"user {CANARY_EMAIL} signed in",
         json.dumps({"customer": {"email": CANARY_EMAIL}, "client_ip": "203.0.113.9"})),
    )
    conn.execute(  # an older row is outside the 24 hours the scan reads
        "INSERT INTO logs (\"timestamp\", level, service, message, dedup_key)"
        " VALUES (%s, 'INFO', 'api', %s, gen_random_uuid())", (now - timedelta(days=2), CANARY_EMAIL))
    report = build_report(conn)
    pii = report.answers[5]
    assert not pii.passed and not report.passed
    hits = {(h["column"], h["rule"]): h["count"] for h in pii.evidence["hits"]}
    assert hits == {("logs.message", "email"): 1, ("logs.attributes", "email"): 1,
                    ("logs.attributes", "ip_address"): 1}
    document = json.dumps(report.as_dict()) + "\n".join(render(report))
    assert CANARY_EMAIL not in document and "203.0.113.9" not in document


def test_redacted_markers_left_by_the_sink_are_not_hits(conn: psycopg.Connection) -> None:
    now = conn.execute("SELECT now()").fetchone()[0]
    conn.execute(
        "INSERT INTO logs (\"timestamp\", level, service, message, attributes, dedup_key)"
        " VALUES (%s, 'INFO', 'api', 'user [REDACTED:email] signed in', %s, gen_random_uuid())",
        (now - timedelta(minutes=1), json.dumps({"email": "[REDACTED:email]"})),
    )
    assert build_report(conn).answers[5].passed


def test_an_empty_store_fails_what_it_cannot_answer(conn: psycopg.Connection) -> None:
    report = build_report(conn)
    assert [a.passed for a in report.answers] == [False, False, False, True, False, True, True]
    assert report.answers[0].answer == "no job finished in the last 24 hours, so there is no job to trace"
    assert report.answers[1].answer.startswith("no cpu_metrics row this month")


def test_failed_jobs_without_error_events_fail_the_error_codes_question(conn: psycopg.Connection) -> None:
    now = conn.execute("SELECT now()").fetchone()[0]
    rows.job(conn, finished=now - timedelta(minutes=5), failed=True)
    codes = build_report(conn).answers[3]
    assert not codes.passed
    assert codes.answer.startswith("1 jobs failed in the last 7 days but error_events is empty")


def test_a_job_missing_a_service_fails_the_trace_question(conn: psycopg.Connection) -> None:
    now = conn.execute("SELECT now()").fetchone()[0]
    correlation_id = uuid.uuid4()
    rows.job(conn, finished=now - timedelta(minutes=5), correlation_id=correlation_id)
    for service in ("api", "worker"):
        conn.execute(
            "INSERT INTO logs (\"timestamp\", level, service, correlation_id, message, dedup_key)"
            " VALUES (%s, 'INFO', %s, %s, 'step', gen_random_uuid())",
            (now - timedelta(minutes=6), service, correlation_id))
    trace = build_report(conn).answers[0]
    assert not trace.passed
    assert "lacks webhook" in trace.answer


def test_the_scan_finds_every_canary_of_the_shared_corpus(conn: psycopg.Connection) -> None:
    corpus = canaries(per_category=3)
    now = conn.execute("SELECT now()").fetchone()[0]
    for canary in corpus:
        conn.execute(
            "INSERT INTO logs (\"timestamp\", level, service, message, attributes, dedup_key)"
            " VALUES (%s, 'INFO', 'api', %s, %s, gen_random_uuid())",
            (now - timedelta(minutes=1), canary.text or "clean", json.dumps({canary.key: canary.value})),
        )
    report = build_report(conn)
    hits = report.answers[5].evidence["hits"]
    by_column = Counter()
    for hit in hits:
        by_column[hit["column"]] += hit["count"]
    assert by_column["logs.attributes"] >= len(corpus)  # every value under its key
    assert by_column["logs.message"] >= sum(1 for canary in corpus if canary.text)
    assert_no_canary(json.dumps(report.as_dict()) + "\n".join(render(report)), corpus)
