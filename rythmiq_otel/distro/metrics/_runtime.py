"""Runtime metrics: the process's CPU, memory, threads and GC, through the upstream system-metrics
instrumentation, under OpenTelemetry's names.

The product is budgeted in CPU seconds, so the worker reports what its process actually spends next to the
spec's per-job histograms. The upstream instrumentor's default set is mostly host-wide (``system.*``: every
disk, network interface and CPU of the machine) plus deprecated ``process.runtime.*`` twins; a service
wants its own process, so it gets the ``process.*`` and ``cpython.gc.*`` instruments of the semantic
conventions only. ``RYTHMIQ_RUNTIME_METRICS`` decides (on by default for the worker);
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=system_metrics`` still wins, as upstream.
"""

from __future__ import annotations

from typing import Any

from rythmiq_otel.distro.setup import _settings

__all__ = ["ENTRY_POINT", "PROCESS_METRICS", "instrument"]

ENTRY_POINT = "system_metrics"
# instrument name -> the attribute values the instrumentor reports (None: no attribute)
PROCESS_METRICS: dict[str, list[str] | None] = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
    "process.context_switches": ["involuntary", "voluntary"],
    "cpython.gc.collections": None,
    "cpython.gc.collected_objects": None,
    "cpython.gc.uncollectable_objects": None,
}


def instrument(instrumentor_class: Any, **kwargs: Any) -> None:
    """Start ``instrumentor_class`` (upstream ``SystemMetricsInstrumentor``) with the process set, if on."""
    if _settings.current().runtime_metrics:
        instrumentor_class(config=dict(PROCESS_METRICS)).instrument(**kwargs)
