"""Upstream's OTLP/HTTP log exporter with the batch encoded by ``logs._otlp_encoder`` instead of ``pb2``.

Everything but the encoding is upstream's: the constructor (endpoint, headers, timeout, compression,
certificates, the credential provider: every ``OTEL_EXPORTER_OTLP_*`` setting), the HTTP client with its
retries and ``Retry-After``, the size limit and the exporter's own metrics. ``export`` below is upstream's
1.45 ``OTLPLogExporter.export`` with one line changed (the encoder); the bytes it sends decode to the same
request (tests/distro/logs/test_otlp_encoder.py). ``RYTHMIQ_OTLP_LOG_ENCODER=upstream`` selects the stock
exporter (``_exporters``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http._common import RequestPayloadTooLargeError, _is_request_too_large
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE

from rythmiq_otel.distro.logs._otlp_encoder import encode_logs_request

__all__ = ["DirectOTLPLogExporter"]

# Upstream's logger, so its messages (and any filter a user set on it) stay where they were.
_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http._log_exporter")


class DirectOTLPLogExporter(OTLPLogExporter):
    """``OTLPLogExporter`` whose batches are encoded straight to protobuf bytes (about 4x cheaper)."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return LogRecordExportResult.FAILURE

        with self._metrics.export_operation(len(batch)) as result:
            try:
                serialized_data = encode_logs_request(batch)
            except Exception as error:
                _logger.error("Failed to encode logs batch: %s", error)
                result.error = error
                return LogRecordExportResult.FAILURE

            if _is_request_too_large(serialized_data, self._max_request_size):
                _logger.warning(
                    "Dropping logs batch: serialized size %d bytes exceeds max_request_size %d bytes.",
                    len(serialized_data),
                    self._max_request_size,
                )
                result.error = RequestPayloadTooLargeError(
                    f"Serialized logs request size {len(serialized_data)} "
                    f"bytes exceeds max_request_size "
                    f"{self._max_request_size} bytes."
                )
                return LogRecordExportResult.FAILURE

            export_result = self._client.export(serialized_data)
            if not export_result.success:
                result.error = export_result.error
                result.error_attrs = (
                    {HTTP_RESPONSE_STATUS_CODE: export_result.status_code}
                    if export_result.status_code is not None
                    else None
                )
                return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS
