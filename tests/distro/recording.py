"""In-process recording for the correlation helpers' tests: finished spans and the log records of a logger.

The worker, webhook and FastAPI helpers start spans through the global tracer provider and log through
their own (non-propagating) loggers. ``spans`` installs the SDK provider once per test process -- with the
distro's UUID id generator, as ``configure()`` does -- and records what each test finishes; ``records``
collects one logger's records at DEBUG. End-to-end tests cover the real exporters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import UuidTraceIdGenerator

_exporter = InMemorySpanExporter()


def _sdk_provider() -> TracerProvider:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(id_generator=UuidTraceIdGenerator())
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
    return provider


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The recorder of the spans finished during the test (``get_finished_spans()``)."""
    _sdk_provider()
    _exporter.clear()
    yield _exporter
    _exporter.clear()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # What the log pipeline would read from the context at this moment (job_id etc. from baggage).
        record.baggage_at_emit = dict(baggage.get_all())
        self.records.append(record)


def collect(*logger_names: str) -> Iterator[list[logging.LogRecord]]:
    """Yield the records the named loggers emit (DEBUG and up, in order), each with ``baggage_at_emit``."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def event_of(record: logging.LogRecord) -> str | None:
    """The record's §1.2 event name (``None`` for a plain log call)."""
    return getattr(record, vocab.EVENT_FIELD, None)
