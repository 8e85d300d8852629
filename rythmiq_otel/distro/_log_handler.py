"""The one logging handler: each call becomes one JSON line on stdout and one OTel log record.

It replaces the pair a user would otherwise compose (SDK ``LoggingHandler`` + a JSON formatter on a
``StreamHandler``) with a single pass: the spec record is built once and rendered to both outputs.

Level rule (§1.3, §6.1, §6.4): records below ``LOG_LEVEL`` are dropped unless their ``event`` is one of
``vocab.ALWAYS_LOG_EVENTS``; loggers are therefore set no higher than INFO (every always-log event is INFO
or above), while DEBUG stays off at the logger unless ``LOG_LEVEL=DEBUG``.

stdout is written through ``sys.stdout`` (looked up per call, so redirection works) and flushed after
every line, as ``logging.StreamHandler`` does: a line left in a pipe buffer while a service idles would reach
``docker logs`` minutes late, and one write per line is what the JSON-only baseline pays too.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace

from rythmiq_otel import vocab
from rythmiq_otel.distro import _settings
from rythmiq_otel.distro._log_pipeline import record_fields, render_json
from rythmiq_otel.distro._otel_log import BRIDGE

__all__ = ["RythmiqHandler", "flush_stdout"]

# Loggers of the export path itself: their records go to stdout only. Fed back into the OTel pipeline,
# every export would log a record that needs another export (at LOG_LEVEL=DEBUG, forever).
_EXPORT_PATH_LOGGERS = ("opentelemetry", "urllib3", "requests", "grpc")


def flush_stdout() -> None:
    """Flush whatever else is buffered on stdout (at shutdown)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        # A closed or broken stdout must not break the host's shutdown path.
        return


class RythmiqHandler(logging.Handler):
    """Writes the spec JSON line and emits the OTel record for every record it accepts.

    ``service`` is the §1.1 service of the lines; ``None`` means the configured one (``RYTHMIQ_SERVICE``).
    Records from the export path's own loggers (``opentelemetry``, ``urllib3``, ``requests``, ``grpc``)
    are written to stdout only, so exporting can never feed itself.
    """

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def emit(self, record: logging.LogRecord) -> None:
        try:
            settings = _settings.current()
            if record.levelno < settings.log_level and (
                getattr(record, vocab.EVENT_FIELD, None) not in vocab.ALWAYS_LOG_EVENTS
            ):
                return
            fields = record_fields(record, self.service or settings.service)
            stream = sys.stdout
            stream.write(render_json(fields) + "\n")
            stream.flush()
            if not record.name.startswith(_EXPORT_PATH_LOGGERS):
                BRIDGE.emit(fields, record.created, trace.get_current_span().get_span_context())
        except Exception:
            self.handleError(record)
