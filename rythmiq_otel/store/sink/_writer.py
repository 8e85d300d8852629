"""Writing a request's rows: the ``Writer`` protocol, the Postgres COPY writer and an in-memory writer.

One request is one transaction, and the receiver acknowledges only after ``write`` returns, i.e. after
COMMIT: a crash or a lost connection before that makes the sender retry, and nothing acknowledged is lost.

Idempotency (a retried request changes nothing):

- ``logs``/``metric_points``/``spans`` are first COPYed straight into the table inside a savepoint (the
  fast path: no duplicates, the normal case). If that hits a unique key -- a redelivery, a repeated record,
  or a replica racing us with the same rows -- the savepoint is rolled back and the rows go through a
  temporary staging table and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.
- ``error_events`` conflict on their deterministic id, ``cpu_metrics`` on ``job_id`` (first summary wins).
- ``job_runs`` is an upsert whose merge rules are commutative (see ``_map_jobs``), so order and repetition
  do not matter. Rows are locked in job_id order, so two replicas cannot deadlock on each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from rythmiq_otel import vocab

from ._binary_copy import LOG_TYPES, METRIC_POINT_TYPES, SPAN_TYPES, register_text_dumpers
from ._map_jobs import merge_job_update, merge_job_updates
from ._rows import Batch, CpuMetricsRow, ErrorEventRow, JobUpdate, LogRow, MetricPointRow, SpanRow

_RETRIES = 3


class WriterUnavailable(Exception):
    """Postgres cannot take the write now (down, restarting, pool exhausted); the client should retry."""


class RowsRefused(Exception):
    """Postgres refused the rows themselves (a value out of range, an index entry too large ...), not the
    write: retrying the same rows cannot help, so the caller isolates the refused ones (``_pipeline``)."""


#: Errors about the data, not the database: SQLSTATE classes 22 (data exception) and 23 (integrity), 54
#: (program limit: an index row too large), and what psycopg raises when it cannot dump a value. 54 is an
#: OperationalError in DB-API terms, so these are matched before "Postgres is unavailable".
_DATA_ERRORS = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded,
                UnicodeEncodeError)


class Writer(Protocol):
    """Stores one request's rows atomically; returns only after they are durable."""

    def write(self, batch: Batch) -> None:
        """Store every row of ``batch`` or none of them.

        Raises:
            WriterUnavailable: the store is unreachable; nothing was written.
            RowsRefused: Postgres refused some of the rows; nothing was written.
        """
        ...


# (table, columns, column types of the binary COPY).
_BULK: tuple[tuple[str, Sequence[str], Sequence[str]], ...] = (
    ("logs", LogRow._fields, LOG_TYPES),
    ("spans", SpanRow._fields, SPAN_TYPES),
    ("metric_points", MetricPointRow._fields, METRIC_POINT_TYPES),
)
_JOB_COLUMNS = JobUpdate._fields
# The status order of _map_jobs.STATUS_RANK, as SQL: pending < processing < completed < failed.
_STATUS_ARRAY = sql.SQL("{}::text[]").format(sql.Literal(list(vocab.JOB_STATUSES)))
_UPSERT_JOB = sql.SQL(
    "INSERT INTO job_runs AS j ({cols}) VALUES ({values}) ON CONFLICT (job_id) DO UPDATE SET "
    "correlation_id = coalesce(j.correlation_id, EXCLUDED.correlation_id), "
    "status = CASE WHEN {new_rank} > {old_rank} THEN EXCLUDED.status ELSE j.status END, "
    "processing_path = coalesce(j.processing_path, EXCLUDED.processing_path), "
    "execution_temperature = coalesce(j.execution_temperature, EXCLUDED.execution_temperature), "
    "created_at = least(j.created_at, EXCLUDED.created_at), "
    "started_at = least(j.started_at, EXCLUDED.started_at), "
    "completed_at = greatest(j.completed_at, EXCLUDED.completed_at), "
    "error_code = coalesce(j.error_code, EXCLUDED.error_code), "
    "error_stage = coalesce(j.error_stage, EXCLUDED.error_stage), "
    "updated_at = greatest(j.updated_at, EXCLUDED.updated_at)"
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, _JOB_COLUMNS)),
    values=sql.SQL(", ").join(sql.Placeholder() * len(_JOB_COLUMNS)),
    new_rank=sql.SQL("coalesce(array_position({}, EXCLUDED.status), 0)").format(_STATUS_ARRAY),
    old_rank=sql.SQL("coalesce(array_position({}, j.status), 0)").format(_STATUS_ARRAY),
)


def _insert_unless_exists(table: str, columns: Sequence[str], key: str) -> sql.Composed:
    """``INSERT`` of one row (a placeholder per column) that does nothing when ``key`` is already taken."""
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)), sql.Identifier(key),
    )


_INSERT_ERROR = _insert_unless_exists("error_events", ErrorEventRow._fields, "id")
_CPU_COLUMNS = ("job_id", "correlation_id", "created_at", *vocab.CPU_METRICS_COLUMNS)
_INSERT_CPU = _insert_unless_exists("cpu_metrics", _CPU_COLUMNS, "job_id")


def _cpu_params(row: CpuMetricsRow) -> tuple[Any, ...]:
    return (row.job_id, row.correlation_id, row.created_at,
            *(row.values.get(c) for c in vocab.CPU_METRICS_COLUMNS))


class CopyWriter:
    """Writes batches to Postgres with COPY, one transaction per batch, from a connection pool.

    Args:
        database_url: libpq connection string of a migrated database.
        pool_size: connections kept open (one per request being written at once).
        connect_timeout: seconds to wait for a connection before answering "unavailable".
        statement_timeout: seconds one statement may run (or wait for a lock, e.g. behind maintenance
            moving a partition) before it is cancelled and the request answered "unavailable" -- the
            client retries later instead of holding a connection indefinitely.
    """

    def __init__(
        self, database_url: str, *, pool_size: int = 4, connect_timeout: float = 3.0,
        statement_timeout: float = 30.0,
    ) -> None:
        self._timeout = connect_timeout
        milliseconds = int(statement_timeout * 1000)

        def configure(conn: psycopg.Connection) -> None:
            register_text_dumpers(conn)
            conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(milliseconds)))
            conn.commit()

        self.pool = ConnectionPool(
            database_url, min_size=1, max_size=pool_size, open=False, timeout=connect_timeout,
            check=ConnectionPool.check_connection, reconnect_timeout=0, configure=configure,
            kwargs={"connect_timeout": max(1, int(connect_timeout))},
        )
        self._opened = threading.Lock()
        self._is_open = False

    def open(self) -> None:
        """Start the pool without waiting for Postgres (it may be down; writes then answer 503)."""
        with self._opened:
            if not self._is_open:
                self.pool.open(wait=False)
                self._is_open = True

    def close(self) -> None:
        """Close every connection."""
        self.pool.close()

    def write(self, batch: Batch) -> None:
        """Store ``batch`` in one transaction (retrying deadlocks), or raise ``WriterUnavailable`` /
        ``RowsRefused``."""
        self.open()
        for attempt in range(_RETRIES):
            try:
                with self.pool.connection(timeout=self._timeout) as conn:
                    self._write(conn, batch)
                return
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise WriterUnavailable("write conflicted with another writer; retry") from None
                time.sleep(0.05 * (attempt + 1))
            except _DATA_ERRORS as err:
                first_line = str(err).partition("\n")[0][:200]
                raise RowsRefused(f"{type(err).__name__}: {first_line}") from None
            except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as err:
                raise WriterUnavailable(f"Postgres is unavailable ({type(err).__name__})") from None

    def _write(self, conn: psycopg.Connection, batch: Batch) -> None:
        with conn.transaction():
            for table, columns, types in _BULK:
                rows = getattr(batch, table)
                if rows:
                    _copy_idempotent(conn, table, columns, types, rows)
            with conn.cursor() as cur:
                if batch.error_events:
                    cur.executemany(_INSERT_ERROR, sorted(batch.error_events, key=lambda r: r.id))
                if batch.cpu_metrics:
                    cur.executemany(_INSERT_CPU, [_cpu_params(r) for r in
                                                  sorted(batch.cpu_metrics, key=lambda r: r.job_id)])
                if batch.job_updates:
                    merged = merge_job_updates(batch.job_updates)
                    cur.executemany(_UPSERT_JOB, [merged[k] for k in sorted(merged)])


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], types: Sequence[str],
          rows: Sequence[Sequence[Any]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _copy_idempotent(
    conn: psycopg.Connection, table: str, columns: Sequence[str], types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """COPY straight in; on a duplicate, redo through a staging table with ON CONFLICT DO NOTHING."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            _copy(cur, table, columns, types, rows)
        return
    except psycopg.errors.UniqueViolation:
        pass
    stage = f"_rythmiq_stage_{table}"
    with conn.cursor() as cur:
        cur.execute(sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(sql.Identifier(stage), sql.Identifier(table)))
        cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(stage)))
        _copy(cur, stage, columns, types, rows)
        column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table), column_list, column_list, sql.Identifier(stage)))


class MemoryWriter:
    """A writer that keeps rows in dicts with the same dedup and merge rules as Postgres (for tests).

    ``fail_next`` makes the next writes raise ``WriterUnavailable``, as a down Postgres would.
    """

    def __init__(self) -> None:
        self.logs: dict[tuple[Any, ...], LogRow] = {}
        self.spans: dict[tuple[Any, ...], SpanRow] = {}
        self.metric_points: dict[tuple[Any, ...], MetricPointRow] = {}
        self.error_events: dict[Any, ErrorEventRow] = {}
        self.cpu_metrics: dict[Any, CpuMetricsRow] = {}
        self.job_runs: dict[Any, JobUpdate] = {}
        self.fail_next = 0
        self.batches = 0
        self._lock = threading.Lock()

    def write(self, batch: Batch) -> None:
        """Store ``batch`` (all or nothing)."""
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise WriterUnavailable("Postgres is unavailable (MemoryWriter.fail_next)")
            self.batches += 1
            for row in batch.logs:
                self.logs.setdefault((row.timestamp, row.dedup_key), row)
            for span in batch.spans:
                self.spans.setdefault((span.start_time, span.trace_id, span.span_id), span)
            for point in batch.metric_points:
                self.metric_points.setdefault((point.time, point.dedup_key), point)
            for event in batch.error_events:
                self.error_events.setdefault(event.id, event)
            for cpu in batch.cpu_metrics:
                self.cpu_metrics.setdefault(cpu.job_id, cpu)
            for update in batch.job_updates:
                known = self.job_runs.get(update.job_id)
                self.job_runs[update.job_id] = update if known is None else merge_job_update(known, update)
