"""Time ranges of the dashboards' selectors: what ``24h``, ``7d``, ``30d``, ``month`` and ``2026-11`` mean.

Every range is a half-open UTC interval [start, end) and a bucket width for its time series. Rolling
ranges end now (so "jobs in the last 24 hours" means exactly that; time series align their buckets to
UTC and the first and last bucket may be partial). ``month`` (this month) and ``YYYY-MM`` cover the
whole calendar month, so a month's projection and budget pace can be drawn to its end; the queries cap
"now" themselves where it matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["RANGE_KEYS", "TimeRange", "time_range"]

_ROLLING: dict[str, tuple[timedelta, timedelta, str]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1), "Last 24 hours"),
    "7d": (timedelta(days=7), timedelta(hours=6), "Last 7 days"),
    "30d": (timedelta(days=30), timedelta(days=1), "Last 30 days"),
}
RANGE_KEYS: tuple[str, ...] = (*_ROLLING, "month")
"""The range selector's choices, in display order (``YYYY-MM`` months are accepted too)."""

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_EARLIEST_YEAR = 2000


@dataclass(frozen=True)
class TimeRange:
    """A selector choice resolved against a clock.

    Attributes:
        key: what the selector sent (``24h``, ``month``, ``2026-11``...), echoed into links.
        label: the range for people ("Last 7 days", "December 2026").
        start: first instant (UTC, inclusive).
        end: last instant (UTC, exclusive); after now for the current month.
        bucket: the width of one point of a time series over this range.
    """

    key: str
    label: str
    start: datetime
    end: datetime
    bucket: timedelta

    def params(self) -> dict[str, object]:
        """The named query parameters every panel's SQL may use."""
        return {"start": self.start, "end": self.end, "bucket": self.bucket}


def _month(year: int, month: int, key: str) -> TimeRange:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return TimeRange(key, start.strftime("%B %Y"), start, end, timedelta(days=1))


def time_range(key: str, *, now: datetime | None = None) -> TimeRange:
    """Resolve a selector value.

    Raises:
        ValueError: ``key`` is none of the choices (the message lists them).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if key in _ROLLING:
        length, bucket, label = _ROLLING[key]
        return TimeRange(key, label, now - length, now, bucket)
    if key == "month":
        return _month(now.year, now.month, key)
    match = _MONTH.fullmatch(key)
    if match and _EARLIEST_YEAR <= int(match[1]) <= now.year + 1 and 1 <= int(match[2]) <= 12:
        return _month(int(match[1]), int(match[2]), key)
    raise ValueError(
        f"time range must be one of {', '.join(RANGE_KEYS)} or a month as YYYY-MM, got {key[:40]!r}"
    )

