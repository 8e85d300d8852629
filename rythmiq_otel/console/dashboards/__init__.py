"""The spec's dashboards (§5): panels defined once, run as data, drawn as pages, exported to Grafana.

Public surface (stable; the benchmark and the alerts report use it):

- :func:`dashboard_names` -- ``["operations", "cost", "product"]``.
- :func:`run_dashboard` ``(conn, name, time_range=None)`` -- every panel's rows, the JSON twin's data.
- :data:`DASHBOARDS` -- the definitions (:class:`Dashboard` of :class:`Panel`).
"""

from __future__ import annotations

from ._definitions import DASHBOARDS
from ._model import Dashboard, Panel, Target
from ._ranges import RANGE_KEYS, TimeRange, time_range
from ._run import dashboard_names, run_dashboard

__all__ = [
    "DASHBOARDS",
    "RANGE_KEYS",
    "Dashboard",
    "Panel",
    "Target",
    "TimeRange",
    "dashboard_names",
    "run_dashboard",
    "time_range",
]
