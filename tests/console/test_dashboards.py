"""Every panel runs against the real schema with seeded data, and the key numbers equal what plain Python
computes from the seed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from rythmiq_otel.console.dashboards import DASHBOARDS, dashboard_names, run_dashboard, time_range

from .seed import Seed, percentile_cont


def _value(data: dict, panel: str, column: str) -> float:
    return data["panels"][panel]["rows"][0][column]


def test_names_are_the_three_dashboards() -> None:
    assert dashboard_names() == ["operations", "cost", "product"]


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_every_panel_runs_in_every_range(conn: psycopg.Connection, name: str) -> None:
    dashboard = DASHBOARDS[name]
    for key in dashboard.ranges or ("month",):
        data = run_dashboard(conn, name, key)
        for panel_name, panel in data["panels"].items():
            if panel_name == "alerts":  # alert_states exists (migration 0013); no rule evaluated yet
                assert panel["missing"] is None and panel["rows"] == []
                continue
            assert panel["missing"] is None, panel_name
            assert panel["rows"], f"{name}/{panel_name} in {key} is empty with seeded data"


@pytest.mark.parametrize(("key", "span"), [("24h", timedelta(hours=24)), ("7d", timedelta(days=7))])
def test_operations_numbers_match_the_seed(
    conn: psycopg.Connection, seeded: tuple[str, Seed], key: str, span: timedelta
) -> None:
    seed = seeded[1]
    data = run_dashboard(conn, "operations", key)
    jobs = seed.since(span)
    previous = [j for j in seed.jobs if seed.now - 2 * span <= j.created_at < seed.now - span]
    assert _value(data, "jobs", "jobs") == len(jobs)
    assert _value(data, "jobs", "previous") == len(previous)
    finished = [j for j in jobs if j.ran]
    failed = [j for j in jobs if j.status == "failed"]
    assert _value(data, "error_rate", "error_rate") == pytest.approx(100 * len(failed) / len(finished))
    walls = [j.wall_seconds for j in jobs if j.status == "completed"]
    assert _value(data, "p95_latency", "p95_seconds") == pytest.approx(percentile_cont(walls, 0.95))
    assert sum(r["jobs"] for r in data["panels"]["throughput"]["rows"]) == len(jobs)
    recent = data["panels"]["recent_errors"]["rows"]
    newest = sorted(failed, key=lambda j: j.created_at, reverse=True)[:10]
    assert [r["job_id"] for r in recent] == [str(j.job_id) for j in newest]


def test_range_selector_changes_the_numbers(conn: psycopg.Connection) -> None:
    day = run_dashboard(conn, "operations", "24h")
    week = run_dashboard(conn, "operations", "7d")
    assert _value(day, "jobs", "jobs") < _value(week, "jobs", "jobs")


def test_api_panels_match_the_seed(conn: psycopg.Connection, seeded: tuple[str, Seed]) -> None:
    seed = seeded[1]
    data = run_dashboard(conn, "operations", "24h")
    # API metrics are read from hourly rollups: the range starts at the top of its first hour.
    start = (seed.now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    points = [p for p in seed.api if start <= p.at < seed.now]
    traffic = data["panels"]["api_traffic"]["rows"]
    assert sum(r["requests"] for r in traffic) == sum(p.requests for p in points)
    assert sum(r["server_errors"] for r in traffic) == sum(p.requests for p in points if p.status == "500")
    endpoints = {(r["method"], r["path"]): r for r in data["panels"]["api_endpoints"]["rows"]}
    post = endpoints[("POST", "/jobs")]
    posts = [p for p in points if p.path == "/jobs"]
    assert post["requests"] == sum(p.requests for p in posts)
    assert post["server_error_rate"] == pytest.approx(
        100 * sum(p.requests for p in posts if p.status == "500") / sum(p.requests for p in posts))
    assert 0 < post["p95_seconds"] <= 10


def test_cost_numbers_match_the_seed(conn: psycopg.Connection, seeded: tuple[str, Seed]) -> None:
    seed = seeded[1]
    month = time_range("month", now=seed.now)
    data = run_dashboard(conn, "cost", "month")
    ran = [j for j in seed.in_month(month.start, month.end) if j.ran]
    used = sum(j.cpu_seconds for j in ran) / 3600
    assert _value(data, "cpu_used", "used_hours") == pytest.approx(used)
    assert _value(data, "cpu_used", "budget_hours") == 200
    elapsed = (seed.now - month.start).total_seconds()
    projected = used * (month.end - month.start).total_seconds() / elapsed
    assert _value(data, "projected", "projected_hours") == pytest.approx(projected, rel=1e-3)
    assert _value(data, "budget_remaining", "remaining_hours") == pytest.approx(200 - used)
    daily = data["panels"]["daily_cpu"]["rows"]
    assert len(daily) == (month.end - month.start).days
    assert sum(r["cpu_hours"] or 0 for r in daily) == pytest.approx(used)
    per_doc = {r["segment"]: r for r in data["panels"]["cpu_per_document"]["rows"]}
    cold = [j.cpu_seconds for j in ran if j.temperature == "cold"]
    assert per_doc["overall"]["avg_cpu_seconds"] == pytest.approx(sum(j.cpu_seconds for j in ran) / len(ran))
    if cold:
        assert per_doc["cold"]["avg_cpu_seconds"] == pytest.approx(sum(cold) / len(cold))
    by_path = {r["path"]: r["hours"] for r in data["panels"]["cpu_by_path"]["rows"]}
    assert by_path["fast"] == pytest.approx(sum(j.cpu_seconds for j in ran if j.path == "fast") / 3600)


def test_cost_month_selector_reads_another_month(conn: psycopg.Connection, seeded: tuple[str, Seed]) -> None:
    seed = seeded[1]
    last = (seed.now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    chosen = time_range(last, now=seed.now)
    data = run_dashboard(conn, "cost", last)
    ran = [j for j in seed.in_month(chosen.start, chosen.end) if j.ran]
    used = sum(j.cpu_seconds for j in ran) / 3600
    assert _value(data, "cpu_used", "used_hours") == pytest.approx(used)
    # A finished month's projection is what it used.
    assert _value(data, "projected", "projected_hours") == pytest.approx(used)


def test_product_numbers_match_the_seed(conn: psycopg.Connection, seeded: tuple[str, Seed]) -> None:
    seed = seeded[1]
    data = run_dashboard(conn, "product", "7d")
    ran = [j for j in seed.since(timedelta(days=7)) if j.ran]
    split = {r["path"]: r["jobs"] for r in data["panels"]["path_split"]["rows"]}
    assert split == dict(Counter(j.path for j in ran))
    quality = data["panels"]["quality_distribution"]["rows"]
    assert sum(r["jobs"] for r in quality) == len(ran)
    assert quality[0]["median"] == pytest.approx(percentile_cont([j.quality for j in ran], 0.5))
    top = [j for j in ran if 0.95 < j.ocr <= 1.0]
    assert data["panels"]["ocr_distribution"]["rows"][-1]["jobs"] == len(top)
    errors = {r["error_code"]: r["errors"] for r in data["panels"]["error_breakdown"]["rows"]}
    assert errors == dict(Counter(j.error_code for j in ran if j.error_code))
    trend = data["panels"]["latency_trend"]["rows"]
    assert all(r["p50"] <= r["p95"] <= r["p99"] for r in trend if r["p50"] is not None)


def test_fresh_without_maintenance_and_after_it(conn: psycopg.Connection, seeded: tuple[str, Seed]) -> None:
    before = run_dashboard(conn, "cost", "month")
    conn.execute("SELECT * FROM rythmiq_maintenance()")
    after = run_dashboard(conn, "cost", "month")
    before_api = run_dashboard(conn, "operations", "24h")["panels"]["api_traffic"]["rows"]
    conn.execute("SELECT * FROM rythmiq_maintenance()")
    assert run_dashboard(conn, "operations", "24h")["panels"]["api_traffic"]["rows"] == before_api
    for panel in ("daily_cpu", "cpu_used"):
        rows_before, rows_after = before["panels"][panel]["rows"], after["panels"][panel]["rows"]
        assert len(rows_before) == len(rows_after)
        for old, new in zip(rows_before, rows_after, strict=True):
            assert old == pytest.approx(new), panel  # the view sums in another order: float noise only


def test_runs_read_only(conn: psycopg.Connection) -> None:
    from rythmiq_otel.console.dashboards._run import read_only

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), read_only(conn):
        conn.execute("DELETE FROM job_runs")


@pytest.mark.parametrize(
    ("name", "key"), [("operations", "1y"), ("operations", "2026-01"), ("cost", "24h"), ("nope", None),
                      ("cost", "'; DROP TABLE job_runs; --")])
def test_bad_choices_are_one_sentence(conn: psycopg.Connection, name: str, key: str | None) -> None:
    with pytest.raises(ValueError, match=r"dashboard|time range"):
        run_dashboard(conn, name, key)


def test_month_range_covers_the_calendar_month() -> None:
    chosen = time_range("2026-12", now=datetime(2026, 12, 6, tzinfo=UTC))
    assert (chosen.start, chosen.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
