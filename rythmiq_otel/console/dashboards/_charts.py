"""Server-rendered SVG charts: time series (bars and lines), horizontal bar lists and histograms.

No JavaScript and nothing from a CDN: the page is complete when it arrives, works offline and under a
strict Content-Security-Policy. Colours are SVG presentation attributes (not ``style``), which that policy
allows. Every bar and point carries a ``<title>``, so hovering shows the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ._format import human, human_time

__all__ = ["bar_list", "histogram", "time_series"]

PALETTE = ("#2563eb", "#f59e0b", "#7c3aed", "#0d9488")
THRESHOLD = "#dc2626"
GRID = "#e5e7eb"
TEXT = "#4b5563"
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: float, unit: str = "") -> float:
    """An axis top people can read: four gridlines a 1/2/2.5/5 x 10^n apart (whole numbers for counts)."""
    if value <= 0:
        return 4.0 if unit == "count" else 1.0
    raw_step = max(value / 4, 1.0) if unit == "count" else value / 4
    power = 10 ** math.floor(math.log10(raw_step))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw_step and (unit != "count" or float(step).is_integer()):
            return 4 * step
    return 40 * power


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" {_FONT}>' + "".join(body) + "</svg>")


def _y_axis(body: list[str], top: float, unit: str, *, left: int, right: int, y0: int, h: int) -> None:
    for i in range(5):
        value = top * i / 4
        y = y0 - h * i / 4
        body.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                    f"{escape(human(value, unit))}</text>")


def time_series(
    rows: Sequence[dict], series: Sequence[str], *, unit: str, bars: bool, bucket_seconds: float,
    threshold: float | None = None, threshold_label: str = "threshold", title: str = "", width: int = 1000,
) -> str:
    """One chart over ``rows`` (each with ``time`` and the ``series`` columns).

    With ``bars`` the first series is bars and the rest lines over them; otherwise all are lines. A
    ``threshold`` is a dashed red line, labelled, and always inside the axis.
    """
    height, left, right, top_pad, bottom = 230, 64, width - 36, 14, 196
    plot_h = bottom - top_pad
    values = [r[s] for r in rows for s in series if r.get(s) is not None]
    top = _nice_max(max([*values, threshold or 0, 0]), unit)
    body: list[str] = []
    _y_axis(body, top, unit, left=left, right=right, y0=bottom, h=plot_h)
    n = max(len(rows), 1)
    slot = (right - left) / n

    def y_of(value: float) -> float:
        return bottom - plot_h * value / top

    line_series = list(series[1:] if bars else series)
    if bars and series:
        for i, row in enumerate(rows):
            value = row.get(series[0])
            if value is None:
                continue
            x = left + i * slot + slot * 0.12
            y = y_of(value)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot * 0.76, 1):.1f}" height="{bottom - y:.1f}" '
                f'fill="{PALETTE[0]}"><title>{escape(human_time(row["time"], bucket_seconds=bucket_seconds))}'
                f": {escape(human(value, unit))} {escape(series[0].replace('_', ' '))}</title></rect>")
    for k, name in enumerate(line_series):
        colour = PALETTE[(k + (1 if bars else 0)) % len(PALETTE)]
        segment: list[str] = []
        segments = []
        for i, row in enumerate(rows):
            value = row.get(name)
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = left + i * slot + slot / 2
            segment.append(f"{x:.1f},{y_of(value):.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y_of(value):.1f}" r="2.5" fill="{colour}"><title>'
                        f"{escape(human_time(row['time'], bucket_seconds=bucket_seconds))}: "
                        f"{escape(human(value, unit))} {escape(name.replace('_', ' '))}</title></circle>")
        if segment:
            segments.append(segment)
        for points in segments:
            body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"/>')
    if threshold is not None:
        y = y_of(threshold)
        body.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{THRESHOLD}" '
                    f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{right - 4}" y="{y - 5:.1f}" text-anchor="end" fill="{THRESHOLD}">'
                    f"{escape(threshold_label)} {escape(human(threshold, unit))}</text>")
    every = max(1, math.ceil(n / max(2, (right - left) // 80)))
    for i in range(0, len(rows), every):
        x = left + i * slot + slot / 2
        label = human_time(rows[i]["time"], bucket_seconds=bucket_seconds)
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{TEXT}">'
                    f"{escape(label)}</text>")
    legend_x = left
    for k, name in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        body.append(f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{legend_x + 14}" y="{height - 3}" fill="{TEXT}">'
                    f"{escape(name.replace('_', ' '))}</text>")
        legend_x += 24 + 7 * len(name)
    return _svg(width, height, body, title)


def bar_list(
    rows: Sequence[dict], label: str, value: str, *, unit: str, share: str | None = None,
    target: float | None = None, title: str = "", width: int = 1000,
) -> str:
    """Horizontal bars, one per row: label, bar, value (and its share of the whole)."""
    row_h, left, right = 30, 170, width - 190
    height = row_h * len(rows) + 8
    top = _nice_max(max([*(r[value] or 0 for r in rows), target or 0, 0]))
    body: list[str] = []
    for i, row in enumerate(rows):
        y = 4 + i * row_h
        amount = row[value] or 0
        w = (right - left) * max(amount, 0) / top
        text = human(row[value], unit)
        if share and row.get(share) is not None:
            text = f"{human(row[share], 'percent')}  ({text})"
        body.append(f'<text x="{left - 10}" y="{y + 19}" text-anchor="end" fill="#111827" font-size="13">'
                    f"{escape(str(row[label]))}</text>")
        body.append(f'<rect x="{left}" y="{y + 5}" width="{right - left}" height="20" fill="#f3f4f6"/>')
        body.append(f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="20" fill="{PALETTE[0]}">'
                    f"<title>{escape(str(row[label]))}: {escape(text)}</title></rect>")
        body.append(f'<text x="{right + 10}" y="{y + 19}" fill="#111827" font-size="13">'
                    f"{escape(text)}</text>")
    if target is not None:
        x = left + (right - left) * target / top
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="{THRESHOLD}" '
                    f'stroke-width="1.5" stroke-dasharray="5 3"><title>target {escape(human(target, unit))}'
                    "</title></line>")
    return _svg(width, height, body, title)


def histogram(
    rows: Sequence[dict], label: str, value: str, *, median: float | None, title: str = "", width: int = 500
) -> str:
    """Vertical bars on fixed buckets, with the median marked in words under them."""
    height, left, right, bottom = 220, 48, width - 10, 170
    top = _nice_max(max([*(r[value] or 0 for r in rows), 0]), "count")
    slot = (right - left) / max(len(rows), 1)
    body: list[str] = []
    _y_axis(body, top, "count", left=left, right=right, y0=bottom, h=bottom - 10)
    for i, row in enumerate(rows):
        h = (bottom - 10) * (row[value] or 0) / top
        x = left + i * slot
        body.append(f'<rect x="{x + slot * 0.1:.1f}" y="{bottom - h:.1f}" width="{slot * 0.8:.1f}" '
                    f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(str(row[label]))}: '
                    f"{escape(human(row[value], 'count'))}</title></rect>")
        body.append(f'<text x="{x + slot / 2:.1f}" y="{bottom + 15}" text-anchor="middle" fill="{TEXT}" '
                    f'font-size="11">{escape(str(row[label]))}</text>')
    if median is not None:
        body.append(f'<text x="{left}" y="{height - 10}" fill="#111827" font-size="13">'
                    f"Median: {median:.2f}</text>")
    return _svg(width, height, body, title)
