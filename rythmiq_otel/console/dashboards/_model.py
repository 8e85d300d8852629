"""What a dashboard is made of, as data: panels (a named query + a visualisation) grouped in dashboards.

A panel is defined once -- its SQL with named parameters, how it is drawn, its unit and target, which jobs
it counts -- and every output is made from that definition: our pages and their JSON twins
(``_run.py``, ``_render.py``) and the Grafana dashboards (``_grafana.py``).

The SQL may use three parameters and nothing else: ``%(start)s::timestamptz`` and ``%(end)s::timestamptz``
(the selected range, half-open) and ``%(bucket)s::interval`` (one point of a time series). Each is always
written with its cast, so the same text stays valid when Grafana's macros replace the placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Dashboard", "Panel", "Target", "Unit", "Visualisation"]

Visualisation = Literal["stat", "bars", "lines", "barlist", "histogram", "table", "alerts"]
"""``stat``: one number (first column); ``bars``/``lines``: a time series (column ``time``, then the
series; with ``bars`` the first series is drawn as bars and the others as lines over them); ``barlist``:
horizontal bars, one per row (label, value, optional share); ``histogram``: vertical bars on fixed
buckets (label, count); ``table``: rows as they are; ``alerts``: the alert rules' states."""

Unit = Literal["count", "percent", "seconds", "hours", "score"]


@dataclass(frozen=True)
class Target:
    """A target or threshold a panel's value should stay under.

    Attributes:
        value: a fixed number (1 % error rate, 30 s P95, 0.72 s CPU per document).
        column: or the name of a result column holding it (the month's CPU budget).
        label: how the page names it ("target", "threshold", "budget").
    """

    value: float | None = None
    column: str | None = None
    label: str = "target"


@dataclass(frozen=True)
class Panel:
    """One panel: a query and how to show its rows.

    Attributes:
        name: stable identifier (JSON key, Grafana panel id source, test handle).
        title: what the page prints above it.
        sql: the query (see the module docstring for its parameters).
        visualisation: how it is drawn.
        unit: the unit of its value columns.
        counts: which jobs (or requests) it counts, in one sentence -- shown under the panel.
        empty: what is missing when it has nothing to show (its empty state).
        series: the value columns to draw: required for time series (Grafana needs them before any row
            exists); for lists and histograms the default is the second column.
        target: the target or threshold, drawn and judged where the spec gives one.
        compare: a ``stat``'s column holding the previous period's value (shown as a change).
        of: a ``stat``'s column holding the whole its value is a share of (shown as a bar).
        links: result column -> URL template (``/jobs/{}``) for tables.
        width: share of the page's width, in twelfths.
        requires: a relation that must exist for the panel to run (otherwise its empty state says so).
    """

    name: str
    title: str
    sql: str
    visualisation: Visualisation
    unit: Unit
    counts: str
    empty: str
    series: tuple[str, ...] = ()
    target: Target | None = None
    compare: str | None = None
    of: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    width: int = 12
    requires: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """A page: panels in order, the time ranges its selector offers and how often it refreshes.

    Attributes:
        name: the page's path segment (``operations``, ``cost``, ``product``).
        title: its heading.
        answers: the question it answers, in one sentence (the page's subtitle and the README's).
        refresh_seconds: how often the page reloads itself (spec §5: 1 min, 15 min, 1 h).
        ranges: the selector's choices; empty for a month selector (``month`` and ``YYYY-MM``).
        default_range: the range shown when none is asked for.
        panels: in page order.
    """

    name: str
    title: str
    answers: str
    refresh_seconds: int
    ranges: tuple[str, ...]
    default_range: str
    panels: tuple[Panel, ...]

    def panel(self, name: str) -> Panel:
        """The panel called ``name`` (KeyError if there is none)."""
        for panel in self.panels:
            if panel.name == name:
                return panel
        raise KeyError(name)
