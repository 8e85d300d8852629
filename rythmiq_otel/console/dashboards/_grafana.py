"""The dashboards as Grafana dashboard JSON over a PostgreSQL data source, made from the same panel
definitions as our pages (STYLE 17), plus the provisioning files that load them.

Each panel's SQL is used as it is, with its three parameters replaced by Grafana's macros: ``%(start)s``
-> ``$__timeFrom()``, ``%(end)s`` -> ``$__timeTo()``, ``%(bucket)s`` -> ``'$__interval'`` (the panel's
minimum interval keeps buckets at least an hour). ``tests/console/test_grafana.py`` runs every one of
them with the macros expanded as Grafana does against the real schema.

Written by hand rather than with ``grafana-foundation-sdk``: that package is versioned
``<build epoch>!<grafana line>`` (a plain ``pip install`` resolves to the newest build of the oldest line,
10.1), has no line for current Grafana, and would be a runtime dependency for five panel types whose
JSON is a few stable fields each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._definitions import DASHBOARDS
from ._model import Dashboard, Panel

__all__ = ["DATASOURCE_UID", "GRAFANA_DIR", "grafana_dashboard", "grafana_sql", "provisioning_files",
           "write_provisioning"]

DATASOURCE_UID = "rythmiq-store"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
GRAFANA_DIR = Path(__file__).parent / "grafana"
"""Where the generated files live in the repository and the wheel."""

_MACROS = {
    "%(start)s": "$__timeFrom()",
    "%(end)s": "$__timeTo()",
    "%(bucket)s": "'$__interval'",
}
_UNITS = {"count": "short", "percent": "percent", "seconds": "s", "hours": "h", "score": "none"}
_REFRESH = {60: "1m", 900: "15m", 3600: "1h"}
_TIME = {"24h": "now-24h", "7d": "now-7d", "30d": "now-30d", "month": "now/M"}
_HEIGHT = {"stat": 5, "table": 9, "alerts": 6, "barlist": 7}
_DATASOURCE = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}


def grafana_sql(panel: Panel) -> str:
    """The panel's SQL with Grafana's macros in place of its parameters."""
    sql = panel.sql.strip()
    for placeholder, macro in _MACROS.items():
        sql = sql.replace(placeholder, macro)
    return sql


def _thresholds(panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if panel.target and panel.target.value is not None:
        steps.append({"color": "red", "value": panel.target.value})
    return {"mode": "absolute", "steps": steps}


def _field_config(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": _UNITS[panel.unit], "thresholds": _thresholds(panel)}
    overrides: list[dict[str, Any]] = []
    if panel.visualisation in ("bars", "lines"):
        defaults["custom"] = {
            "drawStyle": "bars" if panel.visualisation == "bars" else "line",
            "fillOpacity": 80 if panel.visualisation == "bars" else 10,
            "lineWidth": 2,
            "spanNulls": False,
            "thresholdsStyle": {"mode": "dashed" if panel.target else "off"},
        }
        if panel.visualisation == "bars":
            overrides = [
                {"matcher": {"id": "byName", "options": name},
                 "properties": [{"id": "custom.drawStyle", "value": "line"},
                                {"id": "custom.fillOpacity", "value": 0}]}
                for name in panel.series[1:]
            ]
    if panel.visualisation == "histogram":
        overrides.append({"matcher": {"id": "byName", "options": "median"},
                          "properties": [{"id": "custom.hideFrom",
                                          "value": {"viz": True, "legend": True, "tooltip": False}}]})
    for column, template in panel.links.items():
        overrides.append({"matcher": {"id": "byName", "options": column},
                          "properties": [{"id": "links", "value": [{
                              "title": "Job trace",
                              "url": "${rythmiq_dashboard}" + template.replace("{}", "${__value.raw}"),
                          }]}]})
    return {"defaults": defaults, "overrides": overrides}


def _options(panel: Panel) -> dict[str, Any]:
    if panel.visualisation == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value", "graphMode": "none", "textMode": "value", "justifyMode": "auto"}
    if panel.visualisation == "barlist":
        return {"reduceOptions": {"calcs": [], "fields": "", "values": True}, "orientation": "horizontal",
                "displayMode": "basic", "showUnfilled": True}
    if panel.visualisation == "histogram":
        return {"xField": "bucket", "orientation": "vertical", "showValue": "auto",
                "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"}}
    if panel.visualisation in ("bars", "lines"):
        return {"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
                "tooltip": {"mode": "multi", "sort": "none"}}
    return {"showHeader": True}


_TYPES = {"stat": "stat", "bars": "timeseries", "lines": "timeseries", "barlist": "bargauge",
          "histogram": "barchart", "table": "table", "alerts": "table"}


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    timeseries = panel.visualisation in ("bars", "lines")
    out: dict[str, Any] = {
        "id": panel_id,
        "type": _TYPES[panel.visualisation],
        "title": panel.title,
        "description": f"Counts {panel.counts}.",
        "datasource": _DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width * 2, "h": _HEIGHT.get(panel.visualisation, 8)},
        "targets": [{
            "refId": "A",
            "datasource": _DATASOURCE,
            "editorMode": "code",
            "rawQuery": True,
            "rawSql": grafana_sql(panel),
            "format": "time_series" if timeseries else "table",
        }],
        "fieldConfig": _field_config(panel),
        "options": _options(panel),
    }
    if timeseries and "%(bucket)s" in panel.sql:
        out["interval"] = "1h"
    return out


def grafana_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """One dashboard as Grafana JSON (schema of Grafana 10/11), its panels flowed into the 24-column grid."""
    panels = []
    x = y = row_height = 0
    for index, panel in enumerate(dashboard.panels, start=1):
        width = panel.width * 2
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        built = _panel(panel, index, x, y)
        panels.append(built)
        x += width
        row_height = max(row_height, built["gridPos"]["h"])
    return {
        "uid": f"rythmiq-{dashboard.name}",
        "title": f"Rythmiq One - {dashboard.title}",
        "description": dashboard.answers,
        "tags": ["rythmiq-one"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 39,
        "refresh": _REFRESH[dashboard.refresh_seconds],
        "time": {"from": _TIME[dashboard.default_range], "to": "now/M" if dashboard.default_range == "month"
                 else "now"},
        "timepicker": {"refresh_intervals": ["1m", "15m", "1h"]},
        "templating": {"list": [{
            "name": "rythmiq_dashboard",
            "label": "rythmiq-otel dashboard URL (for job trace links)",
            "type": "textbox",
            "query": "http://127.0.0.1:4321",
            "current": {"text": "http://127.0.0.1:4321", "value": "http://127.0.0.1:4321"},
        }]},
        "panels": panels,
    }


_DATASOURCE_YAML = f"""# The store as a Grafana data source. Grafana replaces ${{VAR}} from its own
# environment: point RYTHMIQ_STORE_HOST (host:port), RYTHMIQ_STORE_DATABASE, RYTHMIQ_STORE_USER and
# RYTHMIQ_STORE_PASSWORD at the store, ideally as the read-only role of docs/dashboards.md.
apiVersion: 1
datasources:
  - name: Rythmiq store
    uid: {DATASOURCE_UID}
    type: {DATASOURCE_TYPE}
    access: proxy
    url: ${{RYTHMIQ_STORE_HOST}}
    user: ${{RYTHMIQ_STORE_USER}}
    jsonData:
      database: ${{RYTHMIQ_STORE_DATABASE}}
      sslmode: prefer
      postgresVersion: 1500
      timescaledb: false
    secureJsonData:
      password: ${{RYTHMIQ_STORE_PASSWORD}}
"""

_PROVIDER_YAML = """# Loads the Rythmiq One dashboards into a folder. Copy provisioning/ to
# /etc/grafana/provisioning/ and dashboards/*.json to the path below.
apiVersion: 1
providers:
  - name: rythmiq-one
    folder: Rythmiq One
    type: file
    disableDeletion: false
    updateIntervalSeconds: 60
    options:
      path: /var/lib/grafana/dashboards/rythmiq-one
"""


def provisioning_files() -> dict[str, str]:
    """Relative path -> content of every generated file (the dashboards and the provisioning YAML)."""
    files = {
        f"dashboards/rythmiq-{name}.json": json.dumps(grafana_dashboard(d), indent=2, ensure_ascii=False)
        + "\n"
        for name, d in DASHBOARDS.items()
    }
    files["provisioning/datasources/rythmiq-store.yaml"] = _DATASOURCE_YAML
    files["provisioning/dashboards/rythmiq-one.yaml"] = _PROVIDER_YAML
    return files


def write_provisioning(out: Path) -> list[Path]:
    """Write :func:`provisioning_files` under ``out``; returns the paths written."""
    written = []
    for relative, content in provisioning_files().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    return written
