"""The one logging handler: each call becomes one JSON line on stdout and one OTel log record.

It replaces the pair a user would otherwise compose (SDK ``LoggingHandler`` + a JSON formatter on a
``StreamHandler``) with a single pass: the spec record is built once and rendered to both outputs.

The calling thread does only what must happen at call time; the rest runs on the background thread
(``_background``, ``_output``), in order:

* here: the level rule, the message formatted with its arguments (they may change after the call), the
  stream that is ``sys.stdout`` now (so redirection works), and the current OpenTelemetry context -- one
  immutable object holding the span (trace/span ids) and the baggage (job_id, user_id_hash,
  correlation_id) -- next to the stdlib record, which already holds the time, level, ``extra=`` fields and
  ``exc_info``;
* on the background thread: the spec record (fields, context ids, schema conforming, PII guard -- still before
  anything is written or exported), the JSON line, the OTel record.

Level rule (§1.3, §6.1, §6.4): records below ``LOG_LEVEL`` are dropped unless their ``event`` is one of
``vocab.ALWAYS_LOG_EVENTS`` (the events that fill tables and the §6.4 never-sample ones); loggers are
therefore set no higher than INFO (every always-log event is INFO or above), while DEBUG stays off at the
logger unless ``LOG_LEVEL=DEBUG``.

``flush()`` (any ``RythmiqHandler``'s; they share the thread) returns once every record logged before it
is written and handed to the OTel processors: tests that read stdout in-process call it first.
"""

from __future__ import annotations

import logging
import sys

from opentelemetry import context

from rythmiq_otel import vocab
from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.logs._output import write_record
from rythmiq_otel.distro.setup import _settings

__all__ = ["RythmiqHandler", "flush_logs", "flush_stdout"]


def flush_logs() -> None:
    """Run every queued job: records written and handed to OTel, metrics recorded (for tests, benchmarks)."""
    BACKGROUND.flush()


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
    Records from the export path's own loggers are written to stdout only (``_output``), so exporting
    can never feed itself.
    """

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """``logging.Handler.handle`` without taking the handler's lock around ``emit``.

        ``emit`` only queues (the background thread serialises the output), so the lock buys nothing -- and
        it could deadlock: a caller holding it while draining a full queue would wait for the background
        thread, whose current record may log (the PII guard's report) through this same handler.
        """
        accepted = self.filter(record)
        if accepted:
            self.emit(accepted if isinstance(accepted, logging.LogRecord) else record)
        return accepted

    def emit(self, record: logging.LogRecord) -> None:
        try:
            settings = _settings.current()
            if record.levelno < settings.log_level and (
                getattr(record, vocab.EVENT_FIELD, None) not in vocab.ALWAYS_LOG_EVENTS
            ):
                return
            BACKGROUND.submit(write_record, (
                self, record, record.getMessage(), self.service or settings.service, sys.stdout,
                context.get_current(),
            ), urgent=record.levelno >= logging.WARNING)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Every record logged so far is written (``logging.shutdown`` calls this at exit)."""
        BACKGROUND.flush()
