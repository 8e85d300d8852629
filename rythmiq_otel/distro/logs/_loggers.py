"""The spec's logger API (§1.6): ``get_logger(name, service)`` and friends, and ``StructuredFormatter``.

Same names and signatures as the spec's ``shared/logging.py`` so service code written against the spec
works unchanged, but every logger writes through :class:`RythmiqHandler`: the JSON line the spec asks for
plus the matching OTel log record, with correlation ids from the current trace and baggage.
"""

from __future__ import annotations

import logging

from rythmiq_otel import vocab
from rythmiq_otel.distro.logs._handler import RythmiqHandler
from rythmiq_otel.distro.logs._pipeline import record_fields, render_json
from rythmiq_otel.distro.setup import _settings

__all__ = [
    "StructuredFormatter",
    "apply_level",
    "get_api_logger",
    "get_logger",
    "get_webhook_logger",
    "get_worker_logger",
    "install_root_handler",
]


_log = logging.getLogger("rythmiq_otel.distro")


class StructuredFormatter(logging.Formatter):
    """The spec's JSON formatter, for callers who attach their own handler: one §1.1 JSON object per record.

    It runs the same chain as the handler (context ids, schema conforming, PII guard), so its output is
    identical to the line ``get_logger`` writes.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        return render_json(record_fields(record, self.service))


def _logger_level() -> int:
    # Never above INFO, so the always-log events (all INFO or above) reach the handler's level rule.
    return min(_settings.current().log_level, logging.INFO)


def get_logger(name: str, service: str) -> logging.Logger:
    """A structured logger for ``service`` (``api``, ``worker`` or ``webhook``); repeated calls add nothing.

    The logger does not propagate: its records are written once, by its own handler. A service outside the
    §1.1 enum is reported once (without its value, which the caller chose freely) and replaced by the
    configured one, so every line still validates.
    """
    if service not in vocab.SERVICES:
        configured = _settings.current().service
        _log.warning(
            "get_logger(%r, service=...) was given a service outside api, worker, webhook; using %r.",
            name,
            configured,
        )
        service = configured
    logger = logging.getLogger(name)
    handler = next((h for h in logger.handlers if isinstance(h, RythmiqHandler)), None)
    if handler is None:
        logger.addHandler(RythmiqHandler(service))
    else:
        handler.service = service
    logger.setLevel(_logger_level())
    logger.propagate = False
    return logger


def get_api_logger(name: str) -> logging.Logger:
    """``get_logger(name, "api")``."""
    return get_logger(name, "api")


def get_worker_logger(name: str) -> logging.Logger:
    """``get_logger(name, "worker")``."""
    return get_logger(name, "worker")


def get_webhook_logger(name: str) -> logging.Logger:
    """``get_logger(name, "webhook")``."""
    return get_logger(name, "webhook")


def install_root_handler() -> None:
    """Route plain ``logging.getLogger(...)`` records (libraries, the app) through the pipeline too.

    Idempotent: the root logger gets at most one :class:`RythmiqHandler` (configured service).
    """
    root = logging.getLogger()
    if not any(isinstance(h, RythmiqHandler) for h in root.handlers):
        root.addHandler(RythmiqHandler())
    root.setLevel(_logger_level())


def apply_level() -> None:
    """Re-apply the configured level to every logger ``get_logger`` made before ``configure()`` ran."""
    level = _logger_level()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and any(isinstance(h, RythmiqHandler) for h in logger.handlers):
            logger.setLevel(level)
