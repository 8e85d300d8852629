"""rythmiq-otel: the OpenTelemetry distribution for Rythmiq One.

The in-process API (``configure``, the spec's logger factory, correlation and payload helpers) is
re-exported here lazily, so importing ``rythmiq_otel.store`` (the sink) never loads the OpenTelemetry SDK.
"""

from __future__ import annotations

from rythmiq_otel._lazy import lazy_exports

__version__ = "0.1.0"

# The public names: the version, then the in-process half's names, listed literally so tools and readers
# see them without importing anything. A test checks they equal ``rythmiq_otel.distro.__all__``.
__all__ = [  # noqa: RUF022 -- the version first, then the distro names in their own sorted order
    "__version__",
    "RythmiqConfigurator",
    "RythmiqDistro",
    "StructuredFormatter",
    "auth_failed",
    "auth_succeeded",
    "configure",
    "correlation_id_from_trace_id",
    "current_correlation_id",
    "extract",
    "get_api_logger",
    "get_logger",
    "get_webhook_logger",
    "get_worker_logger",
    "hash_user_id",
    "inject",
    "instrument_app",
    "job_context",
    "job_created",
    "job_status_queried",
    "output_delivered",
    "shutdown",
    "stage_context",
    "trace_id_from_correlation_id",
    "webhook_context",
]
_DISTRO_EXPORTS: frozenset[str] = frozenset(__all__) - {"__version__"}

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(_DISTRO_EXPORTS, "rythmiq_otel.distro"))
