"""Upstream's OTLP/HTTP log and span exporters with batches encoded by our direct encoders.

Everything but the encoding is upstream's: the constructor (endpoint, headers, timeout, compression,
certificates, the credential provider: every ``OTEL_EXPORTER_OTLP_*`` setting), the HTTP client with its
retries and ``Retry-After``, the size limit and the exporter's own metrics. ``_export`` below is upstream's
1.45 ``export`` (the same for both signals but for the wording) with one line changed: the encoder
(``_otlp_logs``, ``_otlp_spans``), whose bytes decode to the same request (their tests).
``RYTHMIQ_OTLP_ENCODER=upstream`` selects the stock exporters (``_exporters``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http._common import RequestPayloadTooLargeError, _is_request_too_large
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE

from rythmiq_otel.distro.setup._otlp_logs import encode_logs_request
from rythmiq_otel.distro.setup._otlp_spans import encode_spans_request

__all__ = ["DirectOTLPLogExporter", "DirectOTLPSpanExporter"]

# Upstream's loggers, so their messages (and any filter a user set on them) stay where they were.
_LOG_LOGGER = logging.getLogger("opentelemetry.exporter.otlp.proto.http._log_exporter")
_SPAN_LOGGER = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")


def _export(
    exporter: Any,
    items: Sequence[Any],
    encode: Callable[[Sequence[Any]], bytes],
    *,
    noun: str,
    result_type: Any,
    logger: logging.Logger,
) -> Any:
    """Upstream's ``export`` with ``encode`` as the encoder; ``noun`` is its wording ("logs", "span")."""
    if exporter._shutdown:
        logger.warning("Exporter already shutdown, ignoring batch")
        return result_type.FAILURE

    with exporter._metrics.export_operation(len(items)) as result:
        try:
            serialized_data = encode(items)
        except Exception as error:
            logger.error("Failed to encode %s batch: %s", noun, error)
            result.error = error
            return result_type.FAILURE

        if _is_request_too_large(serialized_data, exporter._max_request_size):
            logger.warning(
                "Dropping %s batch: serialized size %d bytes exceeds max_request_size %d bytes.",
                noun,
                len(serialized_data),
                exporter._max_request_size,
            )
            result.error = RequestPayloadTooLargeError(
                f"Serialized {noun} request size {len(serialized_data)} "
                f"bytes exceeds max_request_size "
                f"{exporter._max_request_size} bytes."
            )
            return result_type.FAILURE

        export_result = exporter._client.export(serialized_data)
        if not export_result.success:
            result.error = export_result.error
            result.error_attrs = (
                {HTTP_RESPONSE_STATUS_CODE: export_result.status_code}
                if export_result.status_code is not None
                else None
            )
            return result_type.FAILURE
    return result_type.SUCCESS


class DirectOTLPLogExporter(OTLPLogExporter):
    """``OTLPLogExporter`` whose batches are encoded straight to protobuf bytes (about 3x cheaper)."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return _export(
            self,
            batch,
            encode_logs_request,
            noun="logs",
            result_type=LogRecordExportResult,
            logger=_LOG_LOGGER,
        )


class DirectOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose batches are encoded straight to protobuf bytes."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return _export(
            self, spans, encode_spans_request, noun="span", result_type=SpanExportResult, logger=_SPAN_LOGGER
        )
