"""What the background thread does with one captured log record: the spec record, its line, its OTel record.

The record is processed in the context captured at the call (``context.attach``), so the chain's steps
(trace/span ids, baggage ids) and anything logged while it runs (the PII guard's report) see the caller's
trace exactly as if the work had been done on the calling thread. The line is written to the stream that
was ``sys.stdout`` at the call, and flushed at once, as ``logging.StreamHandler`` does: a line left in a
pipe buffer while a service idles would reach ``docker logs`` minutes late.

Records of the export path itself go to stdout only: those of its loggers (``_EXPORT_PATH_LOGGERS``),
everything logged on an export thread (``_EXPORT_THREADS``: whatever HTTP client an exporter uses), and
everything logged while one of those is processed -- the PII guard's report on the exporter's own
connection lines (they carry ``127.0.0.1``). Fed to the OTel pipeline, each export would log a record
needing another export, at ``LOG_LEVEL=DEBUG`` forever.

One record logged on an export thread is exported all the same: the PII guard's report on a *span* it
scrubbed (``ScrubbingSpanExporter`` runs in the span batch processor's thread). Exporting it causes no span
and so no loop, and it is the only trace in Postgres that a span was redacted; kept out of OTel, it would
also be the one JSON line without its ``logs`` row.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TextIO

from opentelemetry import context

from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.logs._context import context_ids
from rythmiq_otel.distro.logs._otel_record import BRIDGE
from rythmiq_otel.distro.logs._pipeline import record_fields, render_json

__all__ = ["Captured", "write_record"]

# The export path's own loggers (the SDK, the OTLP/HTTP exporters' HTTP client, grpc), on any thread: an
# export also runs on the caller of ``force_flush``.
_EXPORT_PATH_LOGGERS = ("opentelemetry", "urllib3", "requests", "grpc")
# Threads that only export: the SDK's batch processors and metric reader, and our bounded shutdown.
_EXPORT_THREADS = ("OtelBatch", "OtelPeriodicExportingMetricReader", "rythmiq-otel-shutdown")
# Our PII report, on an export thread only because the span exporter it scrubs for runs there.
_SPAN_SCRUB_REPORTER = "rythmiq_otel.pii"
# Set while an export-path record is processed: what it logs in turn stays out of OTel too.
_stdout_only: ContextVar[bool] = ContextVar("rythmiq_log_stdout_only", default=False)

# (handler, record, message, service, stream, context): what the calling thread captured.
Captured = tuple[logging.Handler, logging.LogRecord, str, str, TextIO, context.Context]


def write_record(captured: Captured) -> None:
    """Build, write and export one captured record; an error is the handler's (``handleError``) to report."""
    handler, record, message, service, stream, ctx = captured
    token = context.attach(ctx)
    try:
        stdout_only = (
            _stdout_only.get()
            or record.name.startswith(_EXPORT_PATH_LOGGERS)
            or (record.name != _SPAN_SCRUB_REPORTER and (record.threadName or "").startswith(_EXPORT_THREADS))
        )
        marker = _stdout_only.set(True) if stdout_only else None
        try:
            fields = record_fields(record, service, message=message)
        finally:
            if marker is not None:
                _stdout_only.reset(marker)
        BACKGROUND.write(stream, render_json(fields) + "\n", handler.handleError, record,
                         urgent=record.levelno >= logging.WARNING)
        if not stdout_only:
            BRIDGE.emit(fields, record.created, context_ids(ctx)[0])
    except Exception:
        handler.handleError(record)
    finally:
        context.detach(token)
