"""``configure()`` and ``shutdown()``: turn the in-process half on once, and flush it on the way out.

``configure`` is what the sitecustomize hook, the ``opentelemetry-instrument`` entry points and service
code all end up calling. It is idempotent by a plain flag: the second call (or a call with the hook
already active) returns the settings in force and adds no handler, processor or exporter.
``OTEL_SDK_DISABLED=true`` skips the providers entirely; the JSON stdout logs stay.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider

from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.context._propagation import install_propagators
from rythmiq_otel.distro.logs import _uvicorn
from rythmiq_otel.distro.logs._backpressure import GATE
from rythmiq_otel.distro.logs._handler import flush_stdout
from rythmiq_otel.distro.logs._loggers import apply_level, install_root_handler
from rythmiq_otel.distro.logs._otel_record import BRIDGE
from rythmiq_otel.distro.services import _fastapi
from rythmiq_otel.distro.setup import _settings
from rythmiq_otel.distro.setup._lifecycle import install_exit_hooks, install_fork_hooks
from rythmiq_otel.distro.setup._providers import Providers, build_providers

__all__ = ["configure", "is_configured", "shutdown"]

_log = logging.getLogger("rythmiq_otel.distro")
# Re-entrant: the SIGTERM handler calls shutdown() on the main thread, possibly inside configure().
_lock = threading.RLock()
_active: dict[str, Any] = {}


def is_configured() -> bool:
    """Whether ``configure()`` has run in this process."""
    return "settings" in _active


def configure(service: str | None = None, **overrides: Any) -> _settings.Settings:
    """Install logging, tracing, metrics and OTel log export for this process; returns the settings used.

    Args:
        service: ``api``, ``worker`` or ``webhook``; overrides ``RYTHMIQ_SERVICE``.
        overrides: any other field of ``Settings`` (e.g. ``log_level="DEBUG"``), winning over the
            environment.

    Calling it again returns the settings already in force and changes nothing.
    """
    with _lock:
        if "settings" in _active:
            return _active["settings"]
        if service is not None:
            overrides["service"] = service
        settings = _settings.load_settings(**overrides)
        _settings.set_current(settings)
        install_root_handler()
        apply_level()
        if not settings.sdk_disabled:
            try:
                _install_providers(settings)
            except Exception:
                # House rule: never hurt the host. The JSON stdout logs still work without export.
                _log.exception("OpenTelemetry export could not be set up; continuing with JSON logs only.")
        install_exit_hooks(shutdown)
        _active["settings"] = settings
    # The api/webhook request events are JSON log lines too, so FastAPI and uvicorn's loggers are wired
    # even with the SDK off.
    _fastapi.install()
    _uvicorn.install()
    for problem in settings.problems:
        _log.warning(problem)
    return settings


def _install_providers(settings: _settings.Settings) -> None:
    providers = build_providers(settings)
    trace.set_tracer_provider(providers.tracer)
    if providers.meter is not None:
        metrics.set_meter_provider(providers.meter)
    if providers.logger is not None:
        set_logger_provider(providers.logger)
        BRIDGE.bind(providers.logger.get_logger("rythmiq_otel"))
    install_propagators(settings.propagators)
    install_fork_hooks(shutdown)
    _active["providers"] = providers


def shutdown() -> None:
    """Flush pending spans, log records and metrics and stop exporting; safe to call more than once.

    Logging to stdout keeps working afterwards (the OTel half of each record is simply not sent).
    """
    # Jobs still queued for the background thread go first: log records and metrics need the live providers.
    BACKGROUND.flush()
    GATE.report()  # records dropped since the last report: said while the log pipeline still exports
    BACKGROUND.flush()
    with _lock:
        providers: Providers | None = _active.pop("providers", None)
        BRIDGE.bind(None)
    if providers is not None:
        timeout_s = _settings.current().shutdown_timeout_s
        if not providers.shutdown(timeout_s):
            _log.warning(
                "Telemetry export did not finish within RYTHMIQ_SHUTDOWN_TIMEOUT (%g s); "
                "pending records were dropped.",
                timeout_s,
            )
    flush_stdout()
