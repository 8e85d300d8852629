"""Every environment variable the in-process half reads: declared once, parsed once, frozen.

Nothing else in ``rythmiq_otel.distro`` reads ``os.environ``. Each variable is declared below as a constant
with a docstring giving its meaning, format and default (the layout of
``opentelemetry.sdk.environment_variables``). :func:`load_settings` parses them into a frozen
:class:`Settings`; the precedence is explicit argument, then environment, then default.

A bad value never stops a service (house style rule 5): it becomes one sentence in ``Settings.problems``
naming the variable, the bad value and what was expected, and the safe default is used. ``configure()``
logs each problem once as a WARN line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal
from urllib.parse import unquote

from rythmiq_otel import pii, vocab

__all__ = ["BatchSettings", "ExportSettings", "Settings", "current", "load_settings", "set_current"]

# --------------------------------------------------------------------------------------------------------
# Rythmiq variables
# --------------------------------------------------------------------------------------------------------
RYTHMIQ_SERVICE = "RYTHMIQ_SERVICE"
"""The Rythmiq service this process is: ``api``, ``worker`` or ``webhook`` (the §1.1 ``service`` enum).

Written as the resource attribute ``rythmiq.service`` and used as the ``service`` of log lines from loggers
that do not name one. When unset, ``rythmiq.service`` in ``OTEL_RESOURCE_ATTRIBUTES`` is used, then an
``OTEL_SERVICE_NAME`` of the form ``rythmiq-<service>`` or ``<service>``; default ``api``.
"""

LOG_LEVEL = "LOG_LEVEL"
"""Spec Appendix B: the lowest level written, ``DEBUG``, ``INFO``, ``WARN`` (or ``WARNING``) or ``ERROR``.

Default ``INFO``, so DEBUG is off unless asked for (§6.1). The §6.4 always-log events pass at any level.
"""

ENABLE_METRICS_PERSISTENCE = "ENABLE_METRICS_PERSISTENCE"
"""Spec Appendix B ("disable metrics writes in dev"): ``true``/``false``. ``false`` turns off both ways this
service's metrics reach the store: OTLP metric export (``metric_points``, runtime metrics included) and the
worker's ``job.metrics_summary`` event (``cpu_metrics``). Logs, spans and the job's lifecycle events
(``job_runs``, ``error_events``) are unaffected. Default ``true``."""

RYTHMIQ_RUNTIME_METRICS = "RYTHMIQ_RUNTIME_METRICS"
"""``true``/``false``: process CPU, memory, threads and GC through the upstream system-metrics
instrumentation, OpenTelemetry names (``process.cpu.time``, ``process.memory.usage``,
``cpython.gc.collections``, ...). Default ``true`` for the worker (the CPU-budgeted service), ``false`` for
api and webhook."""

RYTHMIQ_PII_GUARD = "RYTHMIQ_PII_GUARD"
"""``on``/``off`` (also ``true``/``false``, ``1``/``0``): the in-process PII guard (§1.4). Default ``on``.

Only the collector's and the sink's own tests switch it off, to prove their layers work alone.
"""

RYTHMIQ_OTLP_ENCODER = "RYTHMIQ_OTLP_ENCODER"
"""How OTLP/HTTP log and span batches are encoded: ``direct`` (straight to protobuf bytes, about 3x
cheaper a record; decodes to the same request) or ``upstream`` (the stock ``OTLPLogExporter`` and
``OTLPSpanExporter``). Default ``direct``. gRPC and metrics always use the stock exporters."""

RYTHMIQ_SHUTDOWN_TIMEOUT = "RYTHMIQ_SHUTDOWN_TIMEOUT"
"""Milliseconds ``shutdown()`` (at exit, on SIGTERM) may spend flushing all signals together. Default
``5000``. Bounds how long an unreachable endpoint can delay a process's exit."""

# --------------------------------------------------------------------------------------------------------
# Standard OpenTelemetry variables, with their standard meanings
# --------------------------------------------------------------------------------------------------------
OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"
"""``true`` turns off traces, metrics and OTel log records; the JSON stdout logs stay. Default ``false``."""

OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
"""``service.name`` (free-form). Default: ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES`` if there, else
``rythmiq-<service>`` -- the SDK's order."""

OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
"""Extra resource attributes, ``key=value,key2=value2`` with URL-encoded values. Default empty."""

OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Base endpoint for all signals; ``/v1/traces`` etc. are appended for http/protobuf.

Default ``http://localhost:4318`` (http/protobuf) or ``http://localhost:4317`` (grpc). Per-signal
``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`` are used as given.
"""

OTEL_EXPORTER_OTLP_HEADERS = "OTEL_EXPORTER_OTLP_HEADERS"
"""Headers for every export request, ``key=value,...`` with URL-encoded values (e.g. the sink's bearer
token). Per-signal ``OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_HEADERS`` replace it. Default none."""

OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``http/protobuf`` or ``grpc`` (needs the ``grpc`` extra). Default ``http/protobuf`` -- the OpenTelemetry
specification's default and what the sink speaks. Per-signal ``..._{TRACES,METRICS,LOGS}_PROTOCOL``."""

OTEL_EXPORTER_OTLP_TIMEOUT = "OTEL_EXPORTER_OTLP_TIMEOUT"
"""Export request timeout in milliseconds. Default ``10000``.
Per-signal ``..._{TRACES,METRICS,LOGS}_TIMEOUT``."""

OTEL_EXPORTER_OTLP_COMPRESSION = "OTEL_EXPORTER_OTLP_COMPRESSION"
"""``gzip`` or ``none``. Default ``none``. Per-signal ``..._{TRACES,METRICS,LOGS}_COMPRESSION``."""

OTEL_EXPORTER_OTLP_INSECURE = "OTEL_EXPORTER_OTLP_INSECURE"
"""gRPC only: ``true`` sends without TLS to an endpoint given without a scheme (``collector:4317``); an
``http://`` endpoint is always plain, ``https://`` always TLS. Default ``false``. Per-signal
``..._{TRACES,METRICS,LOGS}_INSECURE``."""

OTEL_EXPERIMENTAL_RESOURCE_DETECTORS = "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"
"""Comma-separated resource detector entry points (``otel``, ``process``, ``host``, ``os``, ...), read by the
SDK itself. Unset, the distro detects process, host, OS and container id; set, it decides."""

OTEL_CONFIG_FILE = "OTEL_CONFIG_FILE"
"""Declarative configuration (a YAML file). Not supported: upstream reads it with the separate
``opentelemetry-configuration`` package (0.66 betas), which builds the SDK's providers itself -- without
the UUID trace ids (correlation id == trace id), the PII guard and the log bridge this distribution's
providers carry. Set, it costs one WARN and the environment variables apply."""

OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
"""Comma-separated ``otlp``, ``console`` (to stderr: stdout is reserved for the JSON lines), ``none``, or the
name of any installed ``opentelemetry_traces_exporter`` entry point (``zipkin``, ...), loaded as upstream
does. Default ``otlp``. ``OTEL_METRICS_EXPORTER`` and ``OTEL_LOGS_EXPORTER`` likewise (their groups
``opentelemetry_metrics_exporter``, where a metric reader such as ``prometheus`` is used as it is, and
``opentelemetry_logs_exporter``)."""

OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
"""See ``OTEL_TRACES_EXPORTER``."""

OTEL_LOGS_EXPORTER = "OTEL_LOGS_EXPORTER"
"""See ``OTEL_TRACES_EXPORTER``. ``none`` keeps the JSON stdout lines and drops only the OTel records."""

OTEL_PYTHON_DISABLED_INSTRUMENTATIONS = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"
"""Comma-separated instrumentation entry point names not to load (upstream's variable; ``*`` for all).
``fastapi`` also leaves out the FastAPI server span ``configure()`` adds; our request events and api
metrics stay. Default: none."""

OTEL_PROPAGATORS = "OTEL_PROPAGATORS"
"""Comma-separated propagator names (``tracecontext``, ``baggage``, any installed one, or ``none``).
Default ``tracecontext,baggage``: the baggage carries correlation_id, job_id and user_id_hash."""

OTEL_TRACES_SAMPLER = "OTEL_TRACES_SAMPLER"
"""``always_on``, ``always_off``, ``traceidratio``, ``parentbased_always_on``, ``parentbased_always_off``,
``parentbased_traceidratio``, or any installed ``opentelemetry_traces_sampler`` entry point (called with
``OTEL_TRACES_SAMPLER_ARG``, as upstream). Default ``parentbased_always_on``. The ratio samplers are replaced
by one that is unbiased for UUID-shaped trace ids (see ``_sampling.py``)."""

OTEL_TRACES_SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
"""The ratio for the ratio samplers, a number in [0, 1]. Default ``1.0``."""

OTEL_BSP_SCHEDULE_DELAY = "OTEL_BSP_SCHEDULE_DELAY"
"""Span batch: milliseconds between exports. Default ``5000``."""
OTEL_BSP_MAX_QUEUE_SIZE = "OTEL_BSP_MAX_QUEUE_SIZE"
"""Span batch: spans queued before new ones are dropped (and counted). Default ``2048``."""
OTEL_BSP_MAX_EXPORT_BATCH_SIZE = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
"""Span batch: spans per export request. Default ``512``."""
OTEL_BSP_EXPORT_TIMEOUT = "OTEL_BSP_EXPORT_TIMEOUT"
"""Span batch: milliseconds an export may take. Default ``30000``."""
OTEL_BLRP_SCHEDULE_DELAY = "OTEL_BLRP_SCHEDULE_DELAY"
"""Log batch: milliseconds between exports. Default ``1000``."""
OTEL_BLRP_MAX_QUEUE_SIZE = "OTEL_BLRP_MAX_QUEUE_SIZE"
"""Log batch: records queued before new ones are dropped (and counted). Default ``2048``."""
OTEL_BLRP_MAX_EXPORT_BATCH_SIZE = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
"""Log batch: records per export request. Default ``512``."""
OTEL_BLRP_EXPORT_TIMEOUT = "OTEL_BLRP_EXPORT_TIMEOUT"
"""Log batch: milliseconds an export may take. Default ``30000``."""

OTEL_METRIC_EXPORT_INTERVAL = "OTEL_METRIC_EXPORT_INTERVAL"
"""Milliseconds between metric exports. Default ``60000``."""
OTEL_METRIC_EXPORT_TIMEOUT = "OTEL_METRIC_EXPORT_TIMEOUT"
"""Milliseconds a metric export may take. Default ``30000``."""

OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
"""``delta``, ``cumulative`` or ``lowmemory``. Default ``delta`` (our choice; the SDK's is cumulative): the
sink stores both correctly, delta keeps memory flat in long-lived workers."""

OTEL_METRICS_EXEMPLAR_FILTER = "OTEL_METRICS_EXEMPLAR_FILTER"
"""``always_on``, ``always_off`` or ``trace_based``. Default ``always_off`` (our choice; the SDK's is
trace_based): the store keeps no exemplars, and sampling them costs every metric record on the calling
thread."""

_PROTOCOLS = ("http/protobuf", "grpc")
_EXPORTERS = ("otlp", "console", "none")
SAMPLER_GROUP = "opentelemetry_traces_sampler"
_SAMPLERS = (  # built in; any other name is an entry point of SAMPLER_GROUP
    "always_on", "always_off", "traceidratio",
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
)
_TEMPORALITIES = ("delta", "cumulative", "lowmemory")
_COMPRESSIONS = ("gzip", "none")
_ENCODERS = ("direct", "upstream")
_EXEMPLAR_FILTERS = ("always_on", "always_off", "trace_based")
_LOG_LEVELS = {
    "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}
_TRUE = ("true", "on", "1", "yes")
_FALSE = ("false", "off", "0", "no")
_DEFAULT_PORT = {"http/protobuf": 4318, "grpc": 4317}

Protocol = Literal["http/protobuf", "grpc"]


@dataclass(frozen=True)
class ExportSettings:
    """Where and how one signal is exported."""

    exporters: tuple[str, ...]
    protocol: Protocol
    endpoint: str
    headers: tuple[tuple[str, str], ...]
    timeout_s: float
    compression: Literal["gzip", "none"]
    insecure: bool = False


@dataclass(frozen=True)
class BatchSettings:
    """A batch processor's knobs (``OTEL_BSP_*`` for spans, ``OTEL_BLRP_*`` for log records)."""

    schedule_delay_ms: int
    max_queue_size: int
    max_export_batch_size: int
    export_timeout_ms: int


@dataclass(frozen=True)
class Settings:
    """The effective configuration of the in-process half; see the module constants for each field."""

    service: str
    service_name: str
    resource_attributes: tuple[tuple[str, str], ...]
    resource_detectors_set: bool
    sdk_disabled: bool
    log_level: int
    pii_guard: bool
    metrics_persistence: bool
    runtime_metrics: bool
    traces: ExportSettings
    metrics: ExportSettings
    logs: ExportSettings
    propagators: tuple[str, ...]
    disabled_instrumentations: tuple[str, ...]
    sampler: str
    sampler_arg: float
    temporality: str
    exemplar_filter: str
    metric_export_interval_ms: int
    metric_export_timeout_ms: int
    span_batch: BatchSettings
    log_batch: BatchSettings
    shutdown_timeout_s: float
    otlp_encoder: str = "direct"
    pii_extra_mode: str = "blocklist"  # pii.ENV_EXTRA_MODE
    pii_extra_keys: tuple[str, ...] = ()  # pii.ENV_EXTRA_KEYS
    problems: tuple[str, ...] = field(default=(), compare=False)


class _Reader:
    """Reads one environment mapping, records a problem sentence per bad value and returns safe defaults."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        return (self.environ.get(name) or "").strip() or None

    def bad(self, name: str, value: str, expected: str, default: object) -> None:
        self.problems.append(f"{name}={value!r} is not valid: expected {expected}; using {default!r}.")

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in choices:
            return value.lower()
        self.bad(name, value, "one of " + ", ".join(choices), default)
        return default

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.bad(name, value, "true/false or on/off", "true" if default else "false")
        return default

    def positive_int(self, name: str, default: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number > 0:
            return number
        self.bad(name, value, "a positive whole number", default)
        return default

    def key_values(self, name: str) -> tuple[tuple[str, str], ...]:
        """Parse the ``key=value,...`` format of OTEL_RESOURCE_ATTRIBUTES and the OTLP headers variables."""
        value = self.raw(name)
        if value is None:
            return ()
        pairs = []
        for item in value.split(","):
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                # The value may hold a secret (a bearer token), so it is not echoed.
                self.problems.append(
                    f"{name} is malformed: expected key=value pairs separated by commas; "
                    "ignoring the entries without a key=value form."
                )
                continue
            pairs.append((key.strip(), unquote(val.strip())))
        return tuple(pairs)


@dataclass(frozen=True)
class _Generic:
    """The all-signal OTLP values, read once so a bad one is reported once, not once per signal."""

    protocol: Protocol
    endpoint: str | None
    headers: tuple[tuple[str, str], ...]
    timeout_ms: int
    compression: str
    insecure: bool


def _generic(reader: _Reader) -> _Generic:
    return _Generic(
        protocol=reader.choice(OTEL_EXPORTER_OTLP_PROTOCOL, _PROTOCOLS, "http/protobuf"),  # type: ignore[arg-type]
        endpoint=reader.raw(OTEL_EXPORTER_OTLP_ENDPOINT),
        headers=reader.key_values(OTEL_EXPORTER_OTLP_HEADERS),
        timeout_ms=reader.positive_int(OTEL_EXPORTER_OTLP_TIMEOUT, 10_000),
        compression=reader.choice(OTEL_EXPORTER_OTLP_COMPRESSION, _COMPRESSIONS, "none"),
        insecure=reader.flag(OTEL_EXPORTER_OTLP_INSECURE, False),
    )


def default_endpoint(protocol: Protocol) -> str:
    """The OTLP endpoint a protocol uses when no variable names one (the specification's defaults)."""
    return f"http://localhost:{_DEFAULT_PORT[protocol]}"


def _signal(reader: _Reader, generic: _Generic, signal: str) -> ExportSettings:
    upper = signal.upper()
    protocol: Protocol = reader.choice(  # type: ignore[assignment]
        f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL", _PROTOCOLS, generic.protocol
    )
    endpoint = reader.raw(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")
    if endpoint is None:
        base = generic.endpoint or default_endpoint(protocol)
        endpoint = base if protocol == "grpc" else f"{base.rstrip('/')}/v1/{signal}"
    return ExportSettings(
        exporters=_exporters(reader, f"OTEL_{upper}_EXPORTER", signal),
        protocol=protocol,
        endpoint=endpoint,
        headers=reader.key_values(f"OTEL_EXPORTER_OTLP_{upper}_HEADERS") or generic.headers,
        timeout_s=reader.positive_int(f"OTEL_EXPORTER_OTLP_{upper}_TIMEOUT", generic.timeout_ms) / 1000,
        compression=reader.choice(  # type: ignore[arg-type]
            f"OTEL_EXPORTER_OTLP_{upper}_COMPRESSION", _COMPRESSIONS, generic.compression
        ),
        insecure=reader.flag(f"OTEL_EXPORTER_OTLP_{upper}_INSECURE", generic.insecure),
    )


def _comma_list(value: str) -> tuple[str, ...]:
    """The non-empty entries of a comma-separated value, stripped and lower-cased, in order."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def installed_plugin(group: str, name: str) -> bool:
    """Whether an installed package declares entry point ``name`` in ``group`` (an exporter, a sampler)."""
    return any(True for _ in entry_points(group=group, name=name))


def _exporters(reader: _Reader, name: str, signal: str) -> tuple[str, ...]:
    value = reader.raw(name)
    if value is None:
        return ("otlp",)
    names = tuple(dict.fromkeys(_comma_list(value)))
    group = f"opentelemetry_{signal}_exporter"
    if not names or any(part not in _EXPORTERS and not installed_plugin(group, part) for part in names):
        reader.bad(name, value, f"otlp, console, none or an installed {group} entry point", "otlp")
        return ("otlp",)
    return tuple(part for part in names if part != "none")


def _service(reader: _Reader, resource: tuple[tuple[str, str], ...], explicit: str | None) -> str:
    if explicit is not None:
        if explicit in vocab.SERVICES:
            return explicit
        reader.bad("service", explicit, "api, worker or webhook", "api")
        return "api"
    value = reader.raw(RYTHMIQ_SERVICE)
    if value is not None:
        return reader.choice(RYTHMIQ_SERVICE, vocab.SERVICES, "api")
    from_resource = dict(resource).get(vocab.RESOURCE_SERVICE_ATTR)
    if from_resource is not None:
        if from_resource in vocab.SERVICES:
            return from_resource
        reader.bad(OTEL_RESOURCE_ATTRIBUTES, from_resource, "rythmiq.service=api, worker or webhook", "api")
        return "api"
    name = (reader.raw(OTEL_SERVICE_NAME) or "").removeprefix("rythmiq-")
    return name if name in vocab.SERVICES else "api"


def _sampler(reader: _Reader) -> str:
    value = reader.raw(OTEL_TRACES_SAMPLER)
    if value is not None and value.lower() not in _SAMPLERS and installed_plugin(SAMPLER_GROUP, value):
        return value
    return reader.choice(OTEL_TRACES_SAMPLER, _SAMPLERS, "parentbased_always_on")


def _sampler_arg(reader: _Reader) -> float:
    value = reader.raw(OTEL_TRACES_SAMPLER_ARG)
    if value is None:
        return 1.0
    try:
        ratio = float(value)
    except ValueError:
        ratio = -1.0
    if 0.0 <= ratio <= 1.0:
        return ratio
    reader.bad(OTEL_TRACES_SAMPLER_ARG, value, "a ratio between 0 and 1", 1.0)
    return 1.0


def _log_level(reader: _Reader, explicit: str | int | None) -> int:
    if isinstance(explicit, int):
        return explicit
    value = explicit if explicit is not None else reader.raw(LOG_LEVEL)
    if value is None:
        return logging.INFO
    level = _LOG_LEVELS.get(value.upper())
    if level is None:
        reader.bad(LOG_LEVEL, value, "DEBUG, INFO, WARN or ERROR", "INFO")
        return logging.INFO
    return level


def _batch(reader: _Reader, prefix: str, delay_ms: int) -> BatchSettings:
    """A batch processor's settings; the export batch is clamped to the queue.

    The SDK refuses a batch larger than its queue with a ``ValueError`` that would stop ``configure()``,
    and a queue of 100 with the default batch of 512 is an easy thing to set: one sentence, then the
    largest batch that fits (the whole queue).
    """
    queue_size = reader.positive_int(f"{prefix}_MAX_QUEUE_SIZE", 2048)
    batch_size = reader.positive_int(f"{prefix}_MAX_EXPORT_BATCH_SIZE", 512)
    if batch_size > queue_size:
        reader.problems.append(
            f"{prefix}_MAX_EXPORT_BATCH_SIZE={batch_size} is larger than {prefix}_MAX_QUEUE_SIZE="
            f"{queue_size}: expected a batch no larger than the queue; using {queue_size}."
        )
        batch_size = queue_size
    return BatchSettings(
        schedule_delay_ms=reader.positive_int(f"{prefix}_SCHEDULE_DELAY", delay_ms),
        max_queue_size=queue_size,
        max_export_batch_size=batch_size,
        export_timeout_ms=reader.positive_int(f"{prefix}_EXPORT_TIMEOUT", 30_000),
    )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Parse the environment (default ``os.environ``) into :class:`Settings`; never raises for bad values.

    ``overrides`` are field names of :class:`Settings` and win over the environment (``service`` and
    ``log_level`` are validated like their variables).
    """
    reader = _Reader(os.environ if environ is None else environ)
    resource = reader.key_values(OTEL_RESOURCE_ATTRIBUTES)
    service = _service(reader, resource, overrides.pop("service", None))
    log_level = _log_level(reader, overrides.pop("log_level", None))
    generic = _generic(reader)
    propagators = tuple(
        name for name in _comma_list(reader.raw(OTEL_PROPAGATORS) or "tracecontext,baggage") if name != "none"
    )
    values: dict[str, Any] = {
        "service": service,
        "service_name": (
            reader.raw(OTEL_SERVICE_NAME) or dict(resource).get("service.name") or f"rythmiq-{service}"
        ),
        "resource_attributes": resource,
        "resource_detectors_set": reader.raw(OTEL_EXPERIMENTAL_RESOURCE_DETECTORS) is not None,
        "sdk_disabled": reader.flag(OTEL_SDK_DISABLED, False),
        "log_level": log_level,
        "pii_guard": reader.flag(RYTHMIQ_PII_GUARD, True),
        "metrics_persistence": reader.flag(ENABLE_METRICS_PERSISTENCE, True),
        "runtime_metrics": reader.flag(RYTHMIQ_RUNTIME_METRICS, service == "worker"),
        "traces": _signal(reader, generic, "traces"),
        "metrics": _signal(reader, generic, "metrics"),
        "logs": _signal(reader, generic, "logs"),
        "propagators": propagators,
        "disabled_instrumentations": _comma_list(reader.raw(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS) or ""),
        "sampler": _sampler(reader),
        "sampler_arg": _sampler_arg(reader),
        "temporality": reader.choice(
            OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, _TEMPORALITIES, "delta"
        ),
        "exemplar_filter": reader.choice(
            OTEL_METRICS_EXEMPLAR_FILTER, _EXEMPLAR_FILTERS, "always_off"
        ),
        "metric_export_interval_ms": reader.positive_int(OTEL_METRIC_EXPORT_INTERVAL, 60_000),
        "metric_export_timeout_ms": reader.positive_int(OTEL_METRIC_EXPORT_TIMEOUT, 30_000),
        "span_batch": _batch(reader, "OTEL_BSP", 5000),
        "log_batch": _batch(reader, "OTEL_BLRP", 1000),
        "shutdown_timeout_s": reader.positive_int(RYTHMIQ_SHUTDOWN_TIMEOUT, 5000) / 1000,
        "otlp_encoder": reader.choice(RYTHMIQ_OTLP_ENCODER, _ENCODERS, "direct"),
        # Declared in rythmiq_otel.pii, which the sink reads too.
        "pii_extra_mode": reader.choice(pii.ENV_EXTRA_MODE, pii.EXTRA_MODES, pii.EXTRA_MODES[0]),
        "pii_extra_keys": pii.extra_keys(reader.raw(pii.ENV_EXTRA_KEYS)),
    }
    config_file = reader.raw(OTEL_CONFIG_FILE)
    if config_file is not None:
        reader.problems.append(
            f"{OTEL_CONFIG_FILE}={config_file!r} is not supported by rythmiq-otel; "
            "the environment variables apply."
        )
    unknown = set(overrides) - set(values)
    if unknown:
        raise TypeError(f"configure() got unknown settings {sorted(unknown)}; expected fields of Settings.")
    values.update(overrides)
    return Settings(**values, problems=tuple(reader.problems))


_in_force: dict[str, Settings] = {}


def current() -> Settings:
    """The settings in force: those ``configure()`` used, else the environment's (parsed once, cached).

    The PII layer reads ``current().pii_guard`` here; the logging pipeline reads its level and service.
    """
    settings = _in_force.get("settings")
    if settings is None:
        settings = _in_force.setdefault("settings", load_settings())
    return settings


def set_current(settings: Settings) -> None:
    """Make ``settings`` the ones in force (``configure()`` calls this)."""
    _in_force["settings"] = settings
