"""HTML pages drawn from a dashboard's data (the JSON twin's dict) -- the page is a view of that data.

Everything dynamic goes through ``html.escape``; the one stylesheet is inline and allowed by its hash in
the Content-Security-Policy (see ``CSP``), and there is no script at all.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from html import escape
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlencode

from ._charts import bar_list, histogram, time_series
from ._definitions import DASHBOARDS
from ._format import human
from ._ranges import RANGE_KEYS, time_range

__all__ = ["CSP", "dashboard_page", "job_page", "login_page", "message_page"]

_CSS = (files(__package__) / "static" / "dashboard.css").read_text()

CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
    + "'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The Content-Security-Policy of every page: no script, this stylesheet only, forms to ourselves."""

_REFRESH_WORDS = {60: "1 min", 900: "15 min", 3600: "1 h"}
_SERVICES = ("api", "worker", "webhook")
_NO_CPU_ROW = "No cpu_metrics row: the worker has not reported this job."


def _layout(title: str, body: str, *, active: str = "", search: str = "", refresh: int | None = None,
            signed_in: bool = True) -> str:
    nav = "".join(
        f'<a href="/{name}"{" class=on" if name == active else ""}>{escape(d.title)}</a>'
        for name, d in DASHBOARDS.items()
    )
    header = '<header><span class="brand">RYTHMIQ ONE</span>'
    if signed_in:
        header += (
            f"<nav>{nav}</nav>"
            '<form method="get" action="/jobs" role="search">'
            f'<input name="q" value="{escape(search)}" placeholder="job_id or correlation_id" '
            'aria-label="find a job by job_id or correlation_id">'
            '<button type="submit">Find job</button></form>'
            '<form method="post" action="/logout"><button class="out" type="submit">Log out</button></form>'
        )
    header += "</header>"
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'{meta}<link rel="icon" href="data:,"><title>{escape(title)} · Rythmiq One</title>'
        f"<style>{_CSS}</style></head>"
        f"<body>{header}<main>{body}</main></body></html>"
    )


def _values(panel: dict[str, Any]) -> list[Any]:
    rows = panel["rows"] or []
    columns = panel["series"] or panel["columns"][1:] or panel["columns"]
    return [row.get(c) for row in rows for c in columns if c in row]


def _is_empty(panel: dict[str, Any]) -> bool:
    if not panel["rows"]:
        return True
    if panel["visualisation"] == "stat":
        first = panel["columns"][0]
        return panel["rows"][0][first] is None
    if panel["visualisation"] in ("table", "alerts"):
        return False
    return not any(isinstance(v, int | float) and v != 0 for v in _values(panel))


def _target_value(panel: dict[str, Any], row: dict[str, Any]) -> float | None:
    target = panel["target"]
    if not target:
        return None
    return row.get(target["column"]) if target["column"] else target["value"]


def _stat(panel: dict[str, Any], range_label: str) -> str:
    row = panel["rows"][0]
    value = row[panel["columns"][0]]
    unit = panel["unit"]
    parts = [f'<div class="big">{escape(human(value, unit))}</div>']
    if panel["compare"] and value is not None:
        before = row.get(panel["compare"])
        if before:
            change = 100.0 * (value - before) / before
            arrow = "▲" if change >= 0 else "▼"
            parts.append(f'<div class="muted">{arrow} {change:+.0f} % vs the previous {escape(range_label)}'
                         f" ({escape(human(before, unit))})</div>")
        else:
            parts.append('<div class="muted">nothing in the previous period to compare with</div>')
    target = _target_value(panel, row)
    if target is not None and value is not None:
        word = panel["target"]["label"]
        if value < target:
            parts.append(f'<div class="ok">✓ under the {escape(human(target, unit))} {escape(word)}</div>')
        else:
            parts.append(f'<div class="bad">✗ at or over the {escape(human(target, unit))} '
                         f"{escape(word)}</div>")
    if panel["of"] and row.get(panel["of"]):
        whole = row[panel["of"]]
        share = 100.0 * (value or 0) / whole
        width = max(0.0, min(share, 100.0))
        fill = "#b91c1c" if not 0 <= share <= 100 else "#2563eb"
        parts.append(
            '<div class="meter"><svg viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" '
            'height="10">'
            f'<rect width="{width:.2f}" height="10" fill="{fill}"/></svg></div>'
            f'<div class="muted">{escape(human(share, "percent"))} of {escape(human(whole, unit))}</div>'
        )
    return "".join(parts)


def _cell(column: str, value: Any, panel: dict[str, Any]) -> str:
    if value is None:
        return "<td>—</td>"
    template = panel["links"].get(column)
    if template:
        return f'<td class="mono"><a href="{escape(template.format(quote(str(value), safe="")))}">' \
               f"{escape(str(value))}</a></td>"
    if column in ("time", "since") or column.endswith("_at"):
        return f"<td>{escape(str(value).replace('T', ' ')[:19])} UTC</td>"
    if isinstance(value, float):
        unit = "percent" if column.endswith("rate") else "seconds" if column.endswith("seconds") else "count"
        return f'<td class="num">{escape(human(value, unit))}</td>'
    if isinstance(value, int):
        return f'<td class="num">{escape(human(value, "count"))}</td>'
    if column == "state":  # an alert state: firing, warning, insufficient_data, ok, off
        return f'<td class="state-{escape(str(value).lower())}">{escape(str(value).replace("_", " "))}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(panel: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in panel["columns"])
    body = "".join(
        "<tr>" + "".join(_cell(c, row[c], panel) for c in panel["columns"]) + "</tr>" for row in panel["rows"]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(panel: dict[str, Any], data: dict[str, Any]) -> str:
    kind = panel["visualisation"]
    width = max(500, round(1000 * panel["width"] / 12))
    columns = panel["columns"]
    series = panel["series"] or columns[1:]
    target = panel["target"]["value"] if panel["target"] else None
    if kind in ("bars", "lines"):
        bucket = 86400 if data["dashboard"] == "cost" else data["range"]["bucket_seconds"]
        return time_series(panel["rows"], series, unit=panel["unit"], bars=kind == "bars",
                           bucket_seconds=bucket, threshold=target,
                           threshold_label=panel["target"]["label"] if target else "", title=panel["title"],
                           width=width)
    if kind == "barlist":
        share = "share" if "share" in columns else None
        return bar_list(panel["rows"], columns[0], series[0], unit=panel["unit"], share=share, target=target,
                        title=panel["title"], width=width)
    median = panel["rows"][0].get("median") if panel["rows"] else None
    return histogram(panel["rows"], columns[0], series[0], median=median, title=panel["title"], width=width)


def _panel(name: str, panel: dict[str, Any], data: dict[str, Any]) -> str:
    kind = panel["visualisation"]
    inner = ""
    if panel["missing"]:
        inner = f'<div class="empty">{escape(panel["missing"][0].upper() + panel["missing"][1:])}.</div>'
    elif _is_empty(panel) and kind != "stat":
        inner = f'<div class="empty">{escape(panel["empty"])}</div>'
    elif kind == "stat":
        inner = _stat(panel, data["range"]["label"].lower().replace("last ", ""))
        if _is_empty(panel):
            inner += f'<div class="empty">{escape(panel["empty"])}</div>'
    elif kind in ("table", "alerts"):
        inner = _table(panel) if panel["rows"] else f'<div class="empty">{escape(panel["empty"])}</div>'
    else:
        inner = _chart(panel, data)
    return (f'<section class="panel w{panel["width"]}" id="{escape(name)}" data-panel="{escape(name)}">'
            f"<h2>{escape(panel['title'])}</h2>{inner}"
            f'<div class="note">Counts {escape(panel["counts"])}.</div></section>')


def _selector(data: dict[str, Any]) -> str:
    current = data["range"]["key"]
    name = data["dashboard"]
    if data["ranges"]:
        labels = {"24h": "24 h", "7d": "7 days", "30d": "30 days", "month": "This month"}
        links = "".join(
            f'<a href="/{name}?range={key}"{" class=on" if key == current else ""}>{labels[key]}</a>'
            for key in data["ranges"] if key in RANGE_KEYS
        )
        return f'<span class="ranges" aria-label="time range">{links}</span>'
    now = datetime.now(UTC)
    options = []
    month_start = now.replace(day=1)
    for _ in range(13):
        key = month_start.strftime("%Y-%m")
        chosen = current == key or (current == "month" and key == now.strftime("%Y-%m"))
        options.append(f'<option value="{key}"{" selected" if chosen else ""}>'
                       f"{escape(time_range(key).label)}</option>")
        month_start = (month_start - timedelta(days=1)).replace(day=1)
    return (f'<form class="pick" method="get" action="/{name}"><label>Month '
            f'<select name="range">{"".join(options)}</select></label> '
            '<button type="submit">Show</button></form>')


def dashboard_page(data: dict[str, Any]) -> str:
    """A dashboard as HTML: heading, range selector, the panels in their grid."""
    name = data["dashboard"]
    refresh = data["refresh_seconds"]
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    query = urlencode({"range": data["range"]["key"]})
    body = (
        f"<h1>{escape(data['title'])}</h1><p class=sub>{escape(data['answers'])}</p>"
        f'<div class="bar">{_selector(data)}<span>{escape(data["range"]["label"])} (UTC)</span>'
        f"<span>updated {stamp} UTC · refreshes every {_REFRESH_WORDS.get(refresh, f'{refresh} s')}</span>"
        f'<a href="/{name}.json?{query}">JSON</a></div>'
        '<div class="grid">'
        + "".join(_panel(n, p, data) for n, p in data["panels"].items())
        + "</div>"
    )
    return _layout(data["title"], body, active=name, refresh=refresh)


def _waterfall(spans: list[dict[str, Any]]) -> str:
    if not spans:
        return '<div class="empty">No spans stored for this job (traces are kept 30 days).</div>'
    # Spans that start together: the longer (the enclosing parent, e.g. the worker's job span) first.
    spans = sorted(spans, key=lambda s: (datetime.fromisoformat(s["at"]), -(s["duration_ms"] or 0)))
    starts = [datetime.fromisoformat(s["at"]) for s in spans]
    first = min(starts)
    ends = [st + timedelta(milliseconds=s["duration_ms"] or 0) for st, s in zip(starts, spans, strict=True)]
    total = max((max(ends) - first).total_seconds() * 1000, 1.0)
    width, row_h, left, right = 1000, 24, 260, 990
    body = []
    colours = {"api": "#2563eb", "worker": "#7c3aed", "webhook": "#0d9488"}
    for i, (span, start) in enumerate(zip(spans, starts, strict=True)):
        offset = (start - first).total_seconds() * 1000
        x = left + (right - left) * offset / total
        w = max((right - left) * (span["duration_ms"] or 0) / total, 2)
        y = 4 + i * row_h
        label = f"{span['service'] or '-'} · {span['text']}"
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#111827">'
                    f"{escape(label[:42])}</text>")
        body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="16" rx="2" '
                    f'fill="{colours.get(span["service"], "#6b7280")}"><title>{escape(label)}: '
                    f'{span["duration_ms"] or 0:.1f} ms, starts at +{offset:.1f} ms</title></rect>')
    height = 8 + len(spans) * row_h
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="span waterfall" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
            + "".join(body) + "</svg>")


def _key_values(row: dict[str, Any] | None, missing: str) -> str:
    if row is None:
        return f'<div class="empty">{escape(missing)}</div>'
    cells = "".join(
        f"<tr><th>{escape(k.replace('_', ' '))}</th>"
        f"<td class=mono>{escape('—' if v is None else str(v))}</td></tr>"
        for k, v in row.items()
    )
    return f"<table>{cells}</table>"


def job_page(data: dict[str, Any]) -> str:
    """One job's trace: its services, span waterfall, log lines in order, cpu_metrics row and errors."""
    job = data["job"] or {}
    services = "".join(
        f'<span class="svc{"" if s in data["services"] else " muted"}">{escape(s)}'
        f'{"" if s in data["services"] else " (nothing stored)"}</span>'
        for s in (*_SERVICES, *(s for s in data["services"] if s not in _SERVICES))
    )
    lines = "".join(
        f"<tr><td class=mono>{escape(e['at'].replace('T', ' ')[:23])}</td>"
        f"<td>{escape(e['service'] or '-')}</td>"
        f'<td class="lvl-{escape(e["level"] or "")}">{escape(e["level"] or "-")}</td>'
        f"<td>{escape(e['kind'])}</td>"
        f"<td class=mono>{escape(e['event'] or '')}</td><td>{escape(e['text'])}</td>"
        f"<td class=mono>{escape(' '.join(_details(e)))}</td></tr>"
        for e in data["timeline"]
    )
    timeline = (
        "<table><thead><tr><th>time (UTC)</th><th>service</th><th>level</th><th>kind</th><th>event</th>"
        f"<th>message / span</th><th>details</th></tr></thead><tbody>{lines}</tbody></table>"
        if lines else '<div class="empty">No log records or spans stored for this job.</div>'
    )
    errors = (
        _table({"columns": list(data["errors"][0]), "rows": data["errors"], "links": {}})
        if data["errors"] else '<div class="muted">No errors recorded for this job.</div>'
    )
    status = job.get("status")
    body = (
        f"<h1>Job <span class=mono>{escape(job.get('job_id') or data['id'])}</span></h1>"
        f"<p class=sub>correlation_id <span class=mono>{escape(job.get('correlation_id') or '—')}</span>"
        f" · status <strong class=\"{'bad' if status == 'failed' else 'ok'}\">"
        f"{escape(status or 'unknown')}</strong>"
        f" · path {escape(job.get('processing_path') or '—')}"
        f" · {escape(job.get('execution_temperature') or '—')}"
        f" · created {escape((job.get('created_at') or '—').replace('T', ' ')[:19])}</p>"
        f'<div class="bar">{services}<a href="/jobs/{quote(data["id"])}.json">JSON</a></div>'
        '<div class="grid">'
        f'<section class="panel w12" id="waterfall"><h2>Span waterfall</h2>'
        f"{_waterfall([e for e in data['timeline'] if e['kind'] == 'span'])}</section>"
        f'<section class="panel w12" id="timeline"><h2>Timeline: logs and spans in order</h2>{timeline}'
        '</section><section class="panel w6" id="cpu"><h2>cpu_metrics</h2>'
        f"{_key_values(data['cpu_metrics'], _NO_CPU_ROW)}</section>"
        f'<section class="panel w6" id="errors"><h2>Errors</h2>{errors}</section>'
        "</div>"
    )
    return _layout(f"Job {data['id']}", body, search=data["id"])


def _details(entry: dict[str, Any]) -> list[str]:
    out = []
    for key in ("stage", "http_status", "latency_ms", "error_code", "duration_ms"):
        value = entry.get(key)
        if value is not None:
            out.append(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}")
    return out


def message_page(title: str, message: str, *, search: str = "", signed_in: bool = True) -> str:
    """A page that says one thing: not found, a bad choice, the store unreachable."""
    body = f"<h1>{escape(title)}</h1><p class=sub>{escape(message)}</p>"
    return _layout(title, body, search=search, signed_in=signed_in)


def login_page(next_path: str, *, failed: bool = False) -> str:
    """The login form: the token, once; the answer sets a session cookie."""
    error = '<p class="bad">That token is not right.</p>' if failed else ""
    body = (
        '<form class="login" method="post" action="/login"><h1>Rythmiq One dashboards</h1>'
        "<p class=sub>Enter the dashboard token (<code>RYTHMIQ_DASHBOARD_TOKEN</code>; "
        "<code>rythmiq-otel up</code> prints it).</p>"
        f'{error}<input type="password" name="token" autocomplete="current-password" '
        'aria-label="dashboard token" autofocus>'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<button type="submit">Log in</button></form>'
    )
    return _layout("Log in", body, signed_in=False)
