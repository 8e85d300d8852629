"""Numbers for people: 1,247 jobs, 0.8 %, 3.2 s, 78.5 h -- one formatter per panel unit."""

from __future__ import annotations

from datetime import datetime

__all__ = ["human", "human_time"]


def _seconds(value: float) -> str:
    if abs(value) >= 3600:
        return f"{value / 3600:.1f} h"
    if abs(value) >= 60:
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    if abs(value) >= 10:
        return f"{value:.0f} s"
    return f"{value:.2f} s" if abs(value) < 1 else f"{value:.1f} s"


def _hours(value: float) -> str:
    return f"{value:,.2f} h" if abs(value) < 10 else f"{value:,.1f} h"


def _percent(value: float) -> str:
    return f"{value:.2f} %" if 0 < abs(value) < 1 else f"{value:.1f} %"


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


_BY_UNIT = {"seconds": _seconds, "hours": _hours, "percent": _percent, "count": _count,
            "score": lambda v: f"{v:.2f}"}


def human(value: object, unit: str) -> str:
    """``value`` in ``unit`` for a page; ``—`` when there is none."""
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, int | float):
        return _BY_UNIT[unit](float(value))
    return str(value)


def human_time(iso: str, *, bucket_seconds: float = 3600) -> str:
    """A bucket's start as an axis label: ``14:00`` for hours, ``Tue 01 Dec`` for days and longer."""
    at = datetime.fromisoformat(iso)
    if bucket_seconds < 86400:
        return at.strftime("%a %H:%M") if bucket_seconds > 3600 else at.strftime("%H:%M")
    return at.strftime("%a %d %b")
