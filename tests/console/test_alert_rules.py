"""Each alert rule on seeded data: fires above its threshold, stays quiet at and below it, says
``insufficient_data`` below its minimum sample, and measures what its docs say it measures."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from rythmiq_otel.console.alerts import AlertSettings, evaluate, load_alert_settings
from rythmiq_otel.console.alerts._rules import RuleResult, psi
from rythmiq_otel.console.alerts._settings import RULE_NAMES
from tests.console import rows

# A 30-day month, half over: the month-end projection is exactly twice the CPU used so far.
AT = datetime(2026, 4, 16, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def only(settings: AlertSettings, name: str, **changes: object) -> AlertSettings:
    """``settings`` with just rule ``name`` enabled, its fields changed."""
    rules = tuple(replace(rule, **changes) if rule.name == name else replace(rule, enabled=False)
                  for rule in settings.rules)
    return replace(settings, rules=rules)


def result(conn: psycopg.Connection, name: str, at: datetime = AT, *, budget: float | None = None,
           **changes: object) -> RuleResult:
    settings = replace(only(load_alert_settings({}), name, **changes), cpu_budget_hours=budget)
    return next(r for r in evaluate(conn, settings, at).results if r.rule == name)


# ---------------------------------------------------------------------------------------------------------
# Seeds that leave each rule measuring a known value from a big enough sample.
# ---------------------------------------------------------------------------------------------------------
def seed_error_rate(conn: psycopg.Connection) -> None:
    for i in range(100):
        rows.job(conn, finished=AT - (i % 50 + 1) * MIN, failed=i < 3)
    rows.job(conn, finished=AT - 61 * MIN, failed=True)  # outside the hour


def seed_latency(conn: psycopg.Connection) -> None:
    for i in range(40):
        rows.cpu(conn, at=AT - (i + 1) * MIN, wall_seconds=float(i + 1))


def seed_cpu(conn: psycopg.Connection) -> None:
    for i in range(40):
        temperature = "cold" if i < 5 else "warm"
        rows.cpu(conn, at=AT - (i + 1) * 30 * MIN, cpu_seconds=1000.0, temperature=temperature)


def seed_spike(conn: psycopg.Connection) -> None:
    for day, hours in enumerate([1, 1, 1, 2, 2, 2, 10], start=1):
        rows.cpu(conn, at=AT - timedelta(days=day) - 30 * MIN, cpu_seconds=hours * 3600.0)
    rows.cpu(conn, at=AT - timedelta(days=8), cpu_seconds=1.0)  # the store's first row: 7 days of history
    rows.cpu(conn, at=AT - 10 * MIN, cpu_seconds=9 * 3600.0)


def seed_quality(conn: psycopg.Connection) -> None:
    for i in range(700):
        rows.cpu(conn, at=AT - timedelta(days=2) - i * 10 * MIN, quality=0.6 + (i % 4) * 0.1)
    for i in range(150):
        rows.cpu(conn, at=AT - (i + 1) * 5 * MIN, quality=0.3 + (i % 2) * 0.1)


def seed_api(conn: psycopg.Connection) -> None:
    rows.api_requests(conn, at=AT - 5 * MIN, status=200, count=90)
    rows.api_requests(conn, at=AT - 5 * MIN, status=503, count=10)
    rows.api_requests(conn, at=AT - 20 * MIN, status=500, count=1000)  # outside the 15 minutes


SEEDS: dict[str, Callable[[psycopg.Connection], None]] = {
    "error_rate": seed_error_rate,
    "p95_latency": seed_latency,
    "cpu_burn": seed_cpu,
    "cpu_projection": seed_cpu,
    "cold_starts": seed_cpu,
    "cpu_spike": seed_spike,
    "quality_shift": seed_quality,
    "api_5xx": seed_api,
}


def test_every_rule_has_a_seed() -> None:
    assert sorted(SEEDS) == sorted(RULE_NAMES)


def _level(name: str, value: float) -> dict[str, object]:
    """The changes that put rule ``name``'s firing level at ``value``."""
    if name == "cpu_projection":
        return {"budget": value}
    if name == "cpu_spike":  # the level is max(median + k * sigma, floor): k = 0 leaves the floor
        return {"threshold": 0.0, "floor": value}
    return {"threshold": value, "warning": None}


@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_is_quiet_at_its_threshold_and_fires_above_it(conn: psycopg.Connection, name: str) -> None:
    SEEDS[name](conn)
    measured = result(conn, name, **_level(name, 1e9))
    assert measured.state == "ok", measured
    assert measured.value is not None and measured.value > 0
    at_threshold = result(conn, name, **_level(name, measured.value))
    assert at_threshold.state == "ok", at_threshold
    above = result(conn, name, **_level(name, measured.value * 0.999))
    assert above.state == "firing", above
    assert above.threshold == pytest.approx(measured.value * 0.999)


@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_says_insufficient_data_below_its_minimum_sample(conn: psycopg.Connection, name: str) -> None:
    SEEDS[name](conn)
    sample = result(conn, name).sample
    assert sample > 0
    assert result(conn, name, min_sample=sample).state != "insufficient_data"
    starved = result(conn, name, min_sample=sample + 1, **_level(name, 0.0))
    assert starved.state == "insufficient_data"
    assert "not enough data" in starved.summary()


@pytest.mark.parametrize("name", RULE_NAMES)
def test_rule_on_an_empty_store_says_insufficient_data(conn: psycopg.Connection, name: str) -> None:
    assert result(conn, name).state == "insufficient_data"


def test_a_turned_off_rule_runs_no_query(conn: psycopg.Connection) -> None:
    settings = load_alert_settings({"RYTHMIQ_ALERTS_DISABLED": "error_rate"})
    off = next(r for r in evaluate(conn, settings, AT).results if r.rule == "error_rate")
    assert (off.state, off.value) == ("off", None)


def test_error_rate_is_failed_over_finished_jobs_in_the_window(conn: psycopg.Connection) -> None:
    seed_error_rate(conn)
    measured = result(conn, "error_rate")
    assert (measured.value, measured.sample) == (3.0, 100)
    assert measured.state == "firing"  # 3 % > 2 %
    assert result(conn, "error_rate", threshold=3.0).state == "warning"  # 3 % is still above the 1 % target
    assert result(conn, "error_rate", threshold=3.0, warning=3.0).state == "ok"
    assert result(conn, "error_rate", window=2 * timedelta(hours=1)).sample == 101


def test_p95_latency_is_the_95th_percentile_of_wall_seconds(conn: psycopg.Connection) -> None:
    seed_latency(conn)
    # percentile_cont over 1..40: rank 0.95 * 39 = 37.05 -> 38 + 0.05 * (39 - 38)
    assert result(conn, "p95_latency").value == pytest.approx(38.05)
    assert result(conn, "p95_latency").state == "firing"


def test_p95_latency_leaves_failed_jobs_out_like_the_dashboard_panel(conn: psycopg.Connection) -> None:
    seed_latency(conn)
    for i in range(10):  # slow failures (a timeout, say) are the error rate's business, not the latency's
        failed = rows.job(conn, finished=AT - (i + 1) * MIN, failed=True)
        rows.cpu(conn, at=AT - (i + 1) * MIN, wall_seconds=1000.0, job_id=failed)
    measured = result(conn, "p95_latency")
    assert (measured.value, measured.sample) == (pytest.approx(38.05), 40)


def test_cpu_burn_and_cold_starts(conn: psycopg.Connection) -> None:
    seed_cpu(conn)
    burn = result(conn, "cpu_burn")
    # 40 jobs every 30 min from 30 min ago: those within 24 h are the first 48 -> all 40
    assert burn.value == pytest.approx(40 * 1000 / 3600)
    assert burn.state == "firing"  # 11.1 h > 10 h
    cold = result(conn, "cold_starts")
    assert (cold.value, cold.sample, cold.state) == (12.5, 40, "firing")


def test_projection_is_used_times_month_over_elapsed(conn: psycopg.Connection) -> None:
    rows.cpu(conn, at=AT - MIN, cpu_seconds=100 * 3600.0)
    assert result(conn, "cpu_projection", budget=200.0).value == pytest.approx(200.0)
    assert result(conn, "cpu_projection", budget=200.0).state == "ok"
    assert result(conn, "cpu_projection", budget=199.0).state == "firing"
    # Without RYTHMIQ_CPU_BUDGET_HOURS the budget is the one migrate stored (200 by default).
    assert result(conn, "cpu_projection").threshold == 200.0
    early = datetime(2026, 4, 1, 23, 0, tzinfo=UTC)
    assert result(conn, "cpu_projection", early).state == "insufficient_data"  # 23 h < 24 h of the month


def test_projection_agrees_with_get_monthly_cpu_usage(conn: psycopg.Connection) -> None:
    conn.execute("SET TimeZone = 'UTC'")
    now = conn.execute("SELECT now()").fetchone()[0]
    rows.cpu(conn, at=max(now - timedelta(minutes=5), now.replace(day=1, hour=0, minute=0)),
             cpu_seconds=7200.0)
    expected = conn.execute("SELECT projected_hours FROM get_monthly_cpu_usage()").fetchone()[0]
    assert result(conn, "cpu_projection", now).value == pytest.approx(expected, rel=1e-3)


def test_cpu_spike_uses_median_and_mad_of_the_same_hour(conn: psycopg.Connection) -> None:
    seed_spike(conn)
    spike = result(conn, "cpu_spike")
    # baseline [1, 1, 1, 2, 2, 2, 10]: median 2, MAD 1 -> 2 + 4 * 1.4826 = 7.93 (the 10 moves nothing)
    assert spike.threshold == pytest.approx(2 + 4 * 1.4826)
    assert (spike.value, spike.sample, spike.state) == (9.0, 7, "firing")


def test_cpu_spike_floor_keeps_an_idle_system_quiet(conn: psycopg.Connection) -> None:
    rows.cpu(conn, at=AT - timedelta(days=8), cpu_seconds=1.0)
    rows.cpu(conn, at=AT - 10 * MIN, cpu_seconds=0.4 * 3600)
    idle = result(conn, "cpu_spike")
    assert (idle.threshold, idle.state) == (0.5, "ok")
    assert result(conn, "cpu_spike", floor=0.3).state == "firing"


def test_cpu_spike_needs_days_of_history(conn: psycopg.Connection) -> None:
    rows.cpu(conn, at=AT - timedelta(days=2, hours=2), cpu_seconds=1.0)
    rows.cpu(conn, at=AT - 10 * MIN, cpu_seconds=5 * 3600)
    young = result(conn, "cpu_spike")
    assert (young.sample, young.state) == (2, "insufficient_data")


def test_psi_matches_a_hand_computation() -> None:
    assert psi([50, 50], [50, 50]) == 0.0
    p, q = (90.5 / 101, 10.5 / 101), (50.5 / 101, 50.5 / 101)
    expected = sum((a - b) * math.log(a / b) for a, b in zip(p, q, strict=True))
    assert psi([90, 10], [50, 50]) == pytest.approx(expected)


def test_quality_shift_fires_on_a_moved_distribution_only(conn: psycopg.Connection) -> None:
    seed_quality(conn)
    moved = result(conn, "quality_shift")
    assert (moved.sample, moved.state) == (150, "firing")
    assert moved.value is not None and moved.value > 1


def test_quality_shift_is_quiet_when_the_distribution_holds(conn: psycopg.Connection) -> None:
    for i in range(700):
        rows.cpu(conn, at=AT - timedelta(days=2) - i * 10 * MIN, quality=0.6 + (i % 4) * 0.1)
    for i in range(200):
        rows.cpu(conn, at=AT - (i + 1) * 5 * MIN, quality=0.6 + (i % 4) * 0.1)
    steady = result(conn, "quality_shift")
    assert steady.state == "ok" and steady.value is not None and steady.value < 0.01


def test_api_5xx_counts_delta_and_cumulative_points(conn: psycopg.Connection) -> None:
    seed_api(conn)
    assert result(conn, "api_5xx").value == pytest.approx(10.0)
    start = AT - timedelta(hours=3)
    rows.api_requests(conn, at=AT - 30 * MIN, status=500, count=40, temporality="cumulative", start=start)
    rows.api_requests(conn, at=AT - 2 * MIN, status=500, count=50, temporality="cumulative", start=start)
    measured = result(conn, "api_5xx")  # the cumulative series adds its increment, 10, not 50
    assert (measured.value, measured.sample) == (pytest.approx(20 / 110 * 100), 110)


def test_a_non_finite_stored_value_is_not_judged(conn: psycopg.Connection) -> None:
    rows.cpu(conn, at=AT - MIN, cpu_seconds=float("nan"))
    burn = result(conn, "cpu_burn")
    assert (burn.state, burn.value) == ("insufficient_data", None)
    assert "not all finite" in burn.detail


def test_quality_buckets_include_their_upper_bound(conn: psycopg.Connection) -> None:
    # 0.5 is in the (0.25, 0.5] bucket, 0.5000001 in (0.5, 0.65]: the §3.2 `le` buckets, exactly.
    for i in range(100):
        rows.cpu(conn, at=AT - timedelta(days=2) - i * MIN, quality=0.5)
        rows.cpu(conn, at=AT - i * MIN - MIN, quality=0.5 if i < 50 else 0.5000001)
    half_moved = result(conn, "quality_shift")
    assert half_moved.value == pytest.approx(psi([0, 50, 50, 0, 0, 0, 0, 0], [0, 100, 0, 0, 0, 0, 0, 0]))
