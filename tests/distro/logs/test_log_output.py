"""The background half of a log call: the export path's records, and what they cause, never reach OTel."""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from opentelemetry import context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from rythmiq_otel import vocab
from rythmiq_otel.distro import _pii
from rythmiq_otel.distro._background import BACKGROUND
from rythmiq_otel.distro.logs._backpressure import QueueGate
from rythmiq_otel.distro.logs._handler import RythmiqHandler, flush_logs
from rythmiq_otel.distro.logs._otel_record import BRIDGE
from rythmiq_otel.distro.logs._output import write_record
from rythmiq_otel.distro.setup import _settings
from tests.distro.log_lines import parse_lines


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryLogRecordExporter]:
    """The OTel records the bridge emits during the test; PII reports are logged through our handler."""
    monkeypatch.setattr(_pii.report, "_seen", {})  # no report held back as a repeat of an earlier test's
    saved = dict(_settings._in_force)
    _settings.set_current(_settings.load_settings({}))
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    BRIDGE.bind(provider.get_logger("rythmiq_otel"))
    pii_logger = logging.getLogger("rythmiq_otel.pii")
    handler = RythmiqHandler("worker")
    pii_logger.addHandler(handler)
    try:
        yield exporter
    finally:
        flush_logs()
        pii_logger.removeHandler(handler)
        BRIDGE.bind(None)
        provider.shutdown()
        _settings._in_force.clear()
        _settings._in_force.update(saved)


def _write(name: str, thread: str, message: str) -> str:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, message, (), None)
    record.threadName = thread
    stream = io.StringIO()
    captured = (RythmiqHandler("worker"), record, message, "worker", stream, context.get_current())
    BACKGROUND.submit(write_record, captured)  # as the handler does: what it logs in turn runs inline
    flush_logs()
    return stream.getvalue()


@pytest.mark.parametrize(
    ("name", "thread"),
    [("urllib3.connectionpool", "MainThread"), ("httpx", "OtelBatchLogRecordProcessor"),
     ("app.client", "OtelPeriodicExportingMetricReader")],
)
def test_export_path_records_and_the_pii_report_they_cause_go_to_stdout_only(
    exported: InMemoryLogRecordExporter, capsys: pytest.CaptureFixture[str], name: str, thread: str
) -> None:
    # A collector on another host: loopback is not user data, any other address is redacted.
    line = _write(name, thread, "Starting new HTTP connection (1): 198.51.100.20:4318")
    (record,) = parse_lines(line)
    assert "198.51.100.20" not in record["message"]
    flush_logs()
    reports = parse_lines(capsys.readouterr().out)  # the PII report, through the handler on its logger
    assert reports and {report["event"] for report in reports} == {vocab.EVENT_PII_REDACTED}
    assert exported.get_finished_logs() == ()


def test_an_application_record_on_an_application_thread_is_exported(
    exported: InMemoryLogRecordExporter,
) -> None:
    _write("app.worker", "MainThread", "Job completed")
    assert [log.log_record.body for log in exported.get_finished_logs()] == ["Job completed"]


def test_the_pii_report_on_a_span_it_scrubbed_is_exported_from_the_span_export_thread(
    exported: InMemoryLogRecordExporter,
) -> None:
    _write("rythmiq_otel.pii", "OtelBatchSpanRecordProcessor", "PII redacted before export")
    assert [log.log_record.body for log in exported.get_finished_logs()] == ["PII redacted before export"]


class _Closed(io.StringIO):
    def write(self, text: str) -> int:
        raise ValueError("I/O operation on closed file.")


class _Reporting(RythmiqHandler):
    def __init__(self) -> None:
        super().__init__("worker")
        self.failed: list[logging.LogRecord] = []

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed.append(record)


def test_a_line_its_stream_refuses_is_reported_by_its_handler_and_its_otel_record_still_goes_out(
    exported: InMemoryLogRecordExporter,
) -> None:
    handler = _Reporting()
    record = logging.LogRecord("app.worker", logging.INFO, __file__, 1, "Job completed", (), None)
    captured = (handler, record, "Job completed", "worker", _Closed(), context.get_current())
    BACKGROUND.submit(write_record, captured)
    flush_logs()
    assert handler.failed == [record]
    assert [log.log_record.body for log in exported.get_finished_logs()] == ["Job completed"]


def test_the_lines_before_a_record_that_waits_for_room_in_the_export_queue_do_not_wait_with_it() -> None:
    gate, stream, seen = QueueGate(max_wait_s=5), io.StringIO(), []
    full = SimpleNamespace(_queue=deque([None]), _max_queue_size=1, _worker_awaken=threading.Event())

    def make_room() -> None:
        seen.append(stream.getvalue())  # while the job below waits
        full._queue.clear()

    def job(_: None) -> None:
        BACKGROUND.write(stream, "before\n", print, None)
        threading.Timer(0.3, make_room).start()
        assert gate.admit(full)

    BACKGROUND.submit(job, None)
    flush_logs()
    assert seen == ["before\n"]
