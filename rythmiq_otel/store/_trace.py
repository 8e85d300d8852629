"""The first reader of the store: one job's whole timeline, logs and spans interleaved in time order.

This is the spec's §2.3 reconstruction ("trace any job from API request to webhook completion using
correlation_id", §7.5) as a command: give it a correlation_id (== the trace id) or a job_id, and it finds
every log row and span of that job across api, worker and webhook. A job_id also pulls in the
correlation ids its rows carry, so spans that only know the trace are included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

_QUERY = """
WITH ids AS (
    SELECT %(id)s::uuid AS correlation_id
    UNION
    SELECT correlation_id FROM logs WHERE job_id = %(id)s::uuid AND correlation_id IS NOT NULL
    UNION
    SELECT correlation_id FROM job_runs WHERE job_id = %(id)s::uuid AND correlation_id IS NOT NULL
)
SELECT "timestamp", 'log', service, level, stage, event_name, message, job_id, http_status, latency_ms,
       error_code, NULL::float8
FROM logs
WHERE correlation_id IN (SELECT correlation_id FROM ids) OR job_id = %(id)s::uuid
UNION ALL
SELECT start_time, 'span', service, upper(status_code), NULL, kind, name, job_id, NULL, NULL, NULL,
       duration_ms
FROM spans
WHERE correlation_id IN (SELECT correlation_id FROM ids) OR job_id = %(id)s::uuid
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a timeline: a log record or a span."""

    at: datetime
    kind: str
    service: str | None
    level: str | None
    stage: str | None
    event: str | None
    text: str
    job_id: UUID | None
    http_status: int | None
    latency_ms: float | None
    error_code: str | None
    duration_ms: float | None

    def line(self) -> str:
        """``2026-01-30T14:23:44.001Z  api      INFO   log   job.created  Job created in pending state``."""
        stamp = self.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}Z"
        details = []
        if self.stage:
            details.append(f"stage={self.stage}")
        if self.http_status is not None:
            details.append(f"status={self.http_status}")
        if self.latency_ms is not None:
            details.append(f"latency_ms={self.latency_ms:g}")
        if self.error_code:
            details.append(f"error_code={self.error_code}")
        if self.duration_ms is not None:
            details.append(f"duration_ms={self.duration_ms:.1f}")
        what = printable(self.event or "")
        text = self.text.replace("\n", " ")
        if len(text) > 160:
            text = text[:157] + "..."
        tail = ("  " + printable(" ".join(details))) if details else ""
        service, level = printable(self.service or "-"), printable(self.level or "-")
        return (f"{stamp}  {service:<8} {level:<6} {self.kind:<4}  "
                f"{what + '  ' if what else ''}{printable(text)}{tail}")


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``\\x1b``, ``\\u202e``).

    Rows hold what clients sent: an escape sequence in a message would otherwise reach the operator's
    terminal and could rewrite it (retitle, clear, move the cursor, hide lines).
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def timeline(conn: psycopg.Connection, identifier: str) -> list[TimelineEntry]:
    """Every log and span of the job named by ``identifier`` (a correlation_id or a job_id), in order.

    Raises:
        ValueError: ``identifier`` is not a UUID (a trace id in 32 hex digits is accepted too).
    """
    key = parse_identifier(identifier)
    rows = conn.execute(_QUERY, {"id": key}).fetchall()
    return [TimelineEntry(*row) for row in rows]


def parse_identifier(identifier: str) -> UUID:
    """A correlation id, job id or trace id (32 hex digits) as a UUID."""
    try:
        return UUID(identifier.strip())
    except ValueError:
        raise ValueError(
            f"{identifier!r} is not a correlation_id, job_id or trace id (expected a UUID)"
        ) from None


def render(entries: list[TimelineEntry]) -> Iterator[str]:
    """One line per entry, then a one-line summary."""
    for entry in entries:
        yield entry.line()
    services = sorted({e.service for e in entries if e.service})
    logs = sum(1 for e in entries if e.kind == "log")
    yield (f"-- {logs} log record(s), {len(entries) - logs} span(s) across "
           f"{', '.join(services) or 'no services'}")


def as_json(entries: list[TimelineEntry]) -> str:
    """The timeline as JSON lines (for scripts)."""
    return "\n".join(json.dumps({**entry.__dict__, "at": entry.at.isoformat()}, default=str)
                     for entry in entries)
