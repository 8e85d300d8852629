"""Daily partitions (migration 0001): inserts never fail, DEFAULT rows move into new partitions, expired
days are dropped whole."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest


def _today(conn: psycopg.Connection) -> date:
    (today,) = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone() or ()
    return today


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _insert_logs(conn: psycopg.Connection, moments: list[datetime]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO logs (timestamp, level, message, dedup_key) VALUES (%s, 'INFO', 'm', %s)",
            [(m, uuid.uuid4()) for m in moments],
        )


def _where(conn: psycopg.Connection, table: str = "logs") -> dict[str, int]:
    rows = conn.execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1".encode())
    return dict(rows.fetchall())


def _partitions(conn: psycopg.Connection, table: str = "logs") -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass", (table,),
    ).fetchall()
    return {r[0] for r in rows}


def test_migrate_creates_yesterday_to_a_week_ahead_plus_default(conn: psycopg.Connection) -> None:
    today = _today(conn)
    expected = {f"logs_p{today + timedelta(days=d):%Y%m%d}" for d in range(-1, 8)} | {"logs_default"}
    assert expected <= _partitions(conn)


def test_row_for_a_day_without_partition_lands_in_default(conn: psycopg.Connection) -> None:
    far = datetime.fromisoformat("2031-05-04T10:00:00+00:00")
    _insert_logs(conn, [far])
    assert _where(conn) == {"logs_default": 1}


def test_new_partition_takes_over_the_rows_waiting_in_default(conn: psycopg.Connection) -> None:
    day = date(2031, 5, 4)
    inside = [datetime.fromisoformat(f"2031-05-04T{h:02d}:30:00+00:00") for h in (0, 12, 23)]
    outside = [datetime.fromisoformat("2031-05-05T00:00:00+00:00")]  # the next day's first instant
    _insert_logs(conn, inside + outside)
    assert conn.execute("SELECT create_daily_partition('logs', %s)", (day,)).fetchone() == (True,)
    assert _where(conn) == {"logs_p20310504": 3, "logs_default": 1}
    # Indexes and the unique key come with the partition, so it behaves like the others.
    again = conn.execute("SELECT create_daily_partition('logs', %s)", (day,)).fetchone()
    assert again == (False,)
    indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'logs_p20310504'").fetchone()
    assert indexes == (6,)  # the unique key + the five of logs (migration 0008 dropped idx_logs_time)


def test_ensure_creates_partitions_for_recent_days_waiting_in_default(conn: psycopg.Connection) -> None:
    today = _today(conn)
    recent = _at(today + timedelta(days=20), 0)
    expired = _at(today - timedelta(days=400), 0)
    _insert_logs(conn, [recent, expired])
    created = conn.execute("SELECT ensure_daily_partitions('logs')").fetchone()
    assert created == (1,)  # the +20 day; the 400-day-old row is past the logs retention (90 days)
    assert f"logs_p{today + timedelta(days=20):%Y%m%d}" in _partitions(conn)


def test_drop_expired_partitions_drops_whole_old_days_and_old_default_rows(conn: psycopg.Connection) -> None:
    today = _today(conn)
    for age in (40, 10):
        conn.execute("SELECT create_daily_partition('logs', %s)", (today - timedelta(days=age),))
    _insert_logs(conn, [_at(today - timedelta(days=age), 12) for age in (40, 10, 35)])
    assert "logs_default" in _where(conn)  # the 35-day-old row has no partition
    dropped = conn.execute("SELECT drop_expired_partitions('logs', interval '30 days')").fetchone()
    assert dropped == (1,)
    names = _partitions(conn)
    assert f"logs_p{today - timedelta(days=40):%Y%m%d}" not in names
    assert f"logs_p{today - timedelta(days=10):%Y%m%d}" in names
    assert _where(conn) == {f"logs_p{today - timedelta(days=10):%Y%m%d}": 1}


def test_partition_functions_refuse_an_unpartitioned_table(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.RaiseException, match="job_runs is not a range-partitioned table"):
        conn.execute("SELECT create_daily_partition('job_runs', current_date)")


def test_concurrent_creators_of_one_day_make_it_once(database_url: str) -> None:
    def create(_: int) -> bool:
        with psycopg.connect(database_url) as other:
            # Hold the transaction open a moment so the two calls overlap.
            (created,) = other.execute(
                "SELECT create_daily_partition('logs', '2031-07-01') FROM pg_sleep(0.2)"
            ).fetchone() or ()
            other.execute("SELECT pg_sleep(0.3)")
            return created

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(create, range(2)))  # an error in either call is raised here
    assert sorted(results) == [False, True]


def test_partition_creation_waits_for_a_writer(conn: psycopg.Connection, database_url: str) -> None:
    day = datetime(2031, 8, 1, 9, tzinfo=UTC)
    with psycopg.connect(database_url) as writer:
        writer.execute(
            "INSERT INTO logs (timestamp, level, message, dedup_key) VALUES (%s, 'INFO', 'early', %s)",
            (day, uuid.uuid4()),
        )
        creator = threading.Thread(
            target=lambda: conn.execute("SELECT create_daily_partition('logs', %s)", (day.date(),))
        )
        creator.start()
        creator.join(timeout=0.5)
        assert creator.is_alive()  # waits for the writer's transaction, no deadlock, no error
        writer.commit()
    creator.join(timeout=30)
    assert _where(conn) == {"logs_p20310801": 1}
