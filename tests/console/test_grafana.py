"""The Grafana export: every panel's SQL, with Grafana's macros expanded the way Grafana expands them,
runs against the real schema with seeded data and returns what our own page shows; the files in the
repository (and so in the wheel) are what the generator makes today."""

from __future__ import annotations

import json
import re
from datetime import datetime

import psycopg
import pytest

from rythmiq_otel.console.dashboards import DASHBOARDS, run_dashboard
from rythmiq_otel.console.dashboards._grafana import GRAFANA_DIR, grafana_dashboard, provisioning_files
from rythmiq_otel.console.dashboards._run import jsonable

PANELS = [(d.name, p.name) for d in DASHBOARDS.values() for p in d.panels if not p.requires]


def _grafana_time(at: datetime) -> str:
    """Grafana's PostgreSQL macros render times as quoted RFC 3339 UTC (``'2017-04-21T05:01:17Z'``)."""
    return "'" + at.strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def expand(sql: str, start: datetime, end: datetime, interval: str) -> str:
    """Grafana's substitution: ``$__timeFrom()``, ``$__timeTo()`` and the ``$__interval`` variable."""
    sql = sql.replace("$__timeFrom()", _grafana_time(start)).replace("$__timeTo()", _grafana_time(end))
    return sql.replace("$__interval", interval)


def _panel_json(dashboard: str, panel: str) -> dict:
    return next(p for p in grafana_dashboard(DASHBOARDS[dashboard])["panels"] if p["title"] ==
                DASHBOARDS[dashboard].panel(panel).title)


@pytest.mark.parametrize(("dashboard", "panel"), PANELS)
def test_grafana_sql_runs_and_matches_the_page(conn: psycopg.Connection, dashboard: str, panel: str) -> None:
    key = "month" if dashboard == "cost" else "24h"
    page = run_dashboard(conn, dashboard, key)
    start = datetime.fromisoformat(page["range"]["start"])
    end = datetime.fromisoformat(page["range"]["end"])
    raw = _panel_json(dashboard, panel)["targets"][0]["rawSql"]
    assert not re.search(r"%\(\w+\)s", raw), "a parameter was left for Grafana"
    interval = "1h" if key == "24h" else "1d"
    sql = expand(raw, start.replace(microsecond=0), end.replace(microsecond=0), interval)
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(sql)
        columns = [c.name for c in cur.description or ()]
        rows = [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in cur.fetchall()]
    expected = page["panels"][panel]
    assert columns == expected["columns"]
    # Same SQL, same data; the page's range ends at a microsecond Grafana's macro does not carry.
    assert len(rows) == len(expected["rows"])
    for got, want in zip(rows, expected["rows"], strict=True):
        assert got == pytest.approx(want), panel


@pytest.mark.parametrize("interval", ["1h", "2h", "6h", "1d", "7d"])
def test_grafana_intervals_are_postgres_intervals(conn: psycopg.Connection, interval: str) -> None:
    raw = _panel_json("operations", "throughput")["targets"][0]["rawSql"]
    page = run_dashboard(conn, "operations", "7d")
    start = datetime.fromisoformat(page["range"]["start"])
    end = datetime.fromisoformat(page["range"]["end"])
    rows = conn.execute(expand(raw, start, end, interval)).fetchall()
    assert sum(r[1] for r in rows) == page["panels"]["jobs"]["rows"][0]["jobs"]


def test_every_panel_is_exported_with_its_target() -> None:
    for dashboard in DASHBOARDS.values():
        exported = grafana_dashboard(dashboard)
        assert [p["title"] for p in exported["panels"]] == [p.title for p in dashboard.panels]
        for panel, built in zip(dashboard.panels, exported["panels"], strict=True):
            steps = built["fieldConfig"]["defaults"]["thresholds"]["steps"]
            if panel.target and panel.target.value is not None:
                assert steps[-1]["value"] == panel.target.value
            assert built["gridPos"]["x"] + built["gridPos"]["w"] <= 24


def test_committed_files_are_the_generated_ones() -> None:
    for relative, content in provisioning_files().items():
        path = GRAFANA_DIR / relative
        assert path.exists() and path.read_text() == content, (
            f"{relative} is out of date: regenerate with"
            " `rythmiq-otel grafana --out rythmiq_otel/console/dashboards/grafana`")
        if relative.endswith(".json"):
            assert json.loads(content)["uid"].startswith("rythmiq-")
