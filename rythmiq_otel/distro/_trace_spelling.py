"""The two spellings of the current trace id -- 32 hex digits and the UUID correlation id -- cached.

Every log line and every span of a job needs them, and a job is one trace, so they are computed once per
trace rather than once per line or span. The cache holds the last trace only; the entry is replaced whole,
so concurrent threads at worst recompute, never read a torn entry.
"""

from __future__ import annotations

from rythmiq_otel.distro._correlation import correlation_id_from_trace_id

__all__ = ["spellings"]

_last: list[tuple[int, str, str]] = [(0, "", "")]


def spellings(trace_id: int) -> tuple[str, str]:
    """``(hex, correlation_id)`` for ``trace_id``."""
    cached = _last[0]
    if cached[0] != trace_id:
        cached = (trace_id, format(trace_id, "032x"), correlation_id_from_trace_id(trace_id))
        _last[0] = cached
    return cached[1], cached[2]
