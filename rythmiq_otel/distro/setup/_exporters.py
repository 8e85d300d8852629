"""Build the span, metric and log exporters one signal's ``ExportSettings`` ask for.

Endpoint, headers, timeout and compression are passed explicitly (already parsed in ``_settings``), so the
exporters do not re-read the environment. ``console`` writes to stderr: stdout belongs to the JSON lines.
``grpc`` needs the ``grpc`` extra; without it the signal falls back to http/protobuf with one warning.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import entry_points
from typing import Any

from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.metrics import Counter, Histogram
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
)
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from rythmiq_otel.distro.setup._direct_exporters import (
    DirectOTLPLogExporter,
    DirectOTLPSpanExporter,
    Urllib3OTLPMetricExporter,
    credential_provider_set,
)
from rythmiq_otel.distro.setup._lifecycle import fork_safe_session
from rythmiq_otel.distro.setup._settings import ExportSettings, default_endpoint

__all__ = ["log_exporters", "metric_exporters", "span_exporters", "temporality_for"]

_log = logging.getLogger(__name__)

_SIGNAL_MODULES = {
    "traces": ("trace_exporter", "OTLPSpanExporter"),
    "metrics": ("metric_exporter", "OTLPMetricExporter"),
    "logs": ("_log_exporter", "OTLPLogExporter"),
}
_PROTOCOL_PACKAGES = {"http/protobuf": "http", "grpc": "grpc"}


def _exporter_class(protocol: str, signal: str) -> type:
    module, class_name = _SIGNAL_MODULES[signal]
    package = f"opentelemetry.exporter.otlp.proto.{_PROTOCOL_PACKAGES[protocol]}.{module}"
    return getattr(importlib.import_module(package), class_name)


def temporality_for(preference: str) -> dict[type, AggregationTemporality]:
    """``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` as the exporter's ``preferred_temporality``.

    Only counters and histograms matter here (the catalog has no up-down counters or gauges).
    """
    kind = AggregationTemporality.CUMULATIVE if preference == "cumulative" else AggregationTemporality.DELTA
    return {Counter: kind, Histogram: kind}


# ``RYTHMIQ_OTLP_ENCODER=direct`` over http/protobuf: logs and spans with our encoders, all three through
# upstream's urllib3 transport (``_direct_exporters``).
_DIRECT = {
    "logs": DirectOTLPLogExporter,
    "traces": DirectOTLPSpanExporter,
    "metrics": Urllib3OTLPMetricExporter,
}


def _otlp(settings: ExportSettings, signal: str, *, direct: bool = False, **extra: Any) -> Any:
    """The OTLP exporter for ``signal``; ``direct``: over http/protobuf, ours (``_DIRECT``)."""
    protocol = settings.protocol
    endpoint = settings.endpoint
    try:
        exporter_class = _exporter_class(protocol, signal)
    except ImportError:
        _log.warning(
            "The grpc protocol (OTEL_EXPORTER_OTLP_%s_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL) needs the "
            "grpc extra (pip install 'rythmiq-otel[grpc]'); exporting %s with http/protobuf instead.",
            signal.upper(),
            signal,
        )
        exporter_class = _exporter_class("http/protobuf", signal)
        if endpoint == default_endpoint("grpc"):  # the default gRPC port does not speak OTLP/HTTP
            endpoint = default_endpoint("http/protobuf")
        endpoint = f"{endpoint.rstrip('/')}/v1/{signal}"
        protocol = "http/protobuf"
    kwargs: dict[str, Any] = {
        "endpoint": endpoint,
        "headers": dict(settings.headers),
        "timeout": settings.timeout_s,
        **extra,
    }
    if protocol == "grpc":
        grpc = importlib.import_module("grpc")
        kwargs["compression"] = grpc.Compression.Gzip if settings.compression == "gzip" else None
        # The scheme decides; without one, OTEL_EXPORTER_OTLP_(<SIGNAL>_)INSECURE does (as upstream).
        kwargs["insecure"] = endpoint.startswith("http://") or (
            settings.insecure and not endpoint.startswith("https://")
        )
    else:
        http = importlib.import_module("opentelemetry.exporter.otlp.proto.http")
        kwargs["compression"] = (
            http.Compression.Gzip if settings.compression == "gzip" else http.Compression.NoCompression
        )
        if not credential_provider_set(signal):  # else upstream loads the provider's session itself
            kwargs["session"] = fork_safe_session()
        if direct:
            exporter_class = _DIRECT[signal]
    return exporter_class(**kwargs)


def _plugin(signal: str, name: str) -> Any:
    """An installed exporter entry point (``zipkin``, ``prometheus``, ...), constructed as upstream does:
    with no arguments, configured by its own environment variables."""
    (entry_point,) = entry_points(group=f"opentelemetry_{signal}_exporter", name=name)
    return entry_point.load()()


def span_exporters(settings: ExportSettings, encoder: str = "direct") -> list[SpanExporter]:
    """The span exporters for ``OTEL_TRACES_EXPORTER``; ``encoder``: ``RYTHMIQ_OTLP_ENCODER``."""
    built = {
        "otlp": lambda: _otlp(settings, "traces", direct=encoder == "direct"),
        "console": lambda: ConsoleSpanExporter(out=sys.stderr),
    }
    return [built[name]() if name in built else _plugin("traces", name) for name in settings.exporters]


def metric_exporters(
    settings: ExportSettings, temporality: str, encoder: str = "direct"
) -> list[MetricExporter | MetricReader]:
    """The metric exporters for ``OTEL_METRICS_EXPORTER`` with the configured temporality; a plugin may be
    a metric reader itself (``prometheus`` is scraped rather than pushed). ``encoder``:
    ``RYTHMIQ_OTLP_ENCODER`` (``upstream``: the stock exporter with its ``requests`` transport)."""
    preferred = temporality_for(temporality)
    direct = encoder == "direct"
    built = {
        "otlp": lambda: _otlp(settings, "metrics", direct=direct, preferred_temporality=preferred),
        "console": lambda: ConsoleMetricExporter(out=sys.stderr, preferred_temporality=preferred),
    }
    return [built[name]() if name in built else _plugin("metrics", name) for name in settings.exporters]


def log_exporters(settings: ExportSettings, encoder: str = "direct") -> list[LogRecordExporter]:
    """The log record exporters for ``OTEL_LOGS_EXPORTER``; ``encoder``: ``RYTHMIQ_OTLP_ENCODER``."""
    direct = encoder == "direct"
    built = {
        "otlp": lambda: _otlp(settings, "logs", direct=direct),
        "console": lambda: ConsoleLogRecordExporter(out=sys.stderr),
    }
    return [built[name]() if name in built else _plugin("logs", name) for name in settings.exporters]
