"""A client process streaming log records through the upstream OTLP/HTTP log exporter, one export each.

Usage: upstream_log_stream.py <endpoint> <token> <count> <interval_seconds>. Uses only the upstream SDK:
whatever the exporter does on 503 (retry, honouring Retry-After) is what the test sees. Exits non-zero if
any export finally failed.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

endpoint, token, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
failures: list[LogRecordExportResult] = []


class _Counting(OTLPLogExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        result = super().export(batch)
        if result is not LogRecordExportResult.SUCCESS:
            failures.append(result)
        return result


provider = LoggerProvider(resource=Resource.create({"rythmiq.service": "worker"}))
provider.add_log_record_processor(SimpleLogRecordProcessor(_Counting(
    endpoint=f"{endpoint}/v1/logs", headers={"Authorization": f"Bearer {token}"}, timeout=60)))
log = logging.getLogger("stream")
log.setLevel(logging.INFO)
log.addHandler(LoggingHandler(logger_provider=provider))
for i in range(count):
    log.info("record %d", i, extra={"seq": i})
    print(i, flush=True)
    time.sleep(interval)
provider.shutdown()
sys.exit(f"{len(failures)} export(s) failed" if failures else 0)
