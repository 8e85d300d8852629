"""Upstream's OTLP/HTTP log and span exporters with batches encoded by our direct encoders, and these and
upstream's metric exporter sent through upstream's urllib3 transport.

Everything but the encoding and the HTTP library is upstream's: the constructor (endpoint, headers,
timeout, compression, certificates: every ``OTEL_EXPORTER_OTLP_*`` setting), the HTTP client with its
retries and ``Retry-After``, the size limit and the exporter's own metrics. ``_export`` below is upstream's
1.45 ``export`` (the same for both signals but for the wording) with one line changed: the encoder
(``_otlp_logs``, ``_otlp_spans``), whose bytes decode to the same request (their tests).
``RYTHMIQ_OTLP_ENCODER=upstream`` selects the stock exporters (``_exporters``).

Why urllib3 (``_http_transport``): a POST through ``requests`` costs about twice the CPU of the same POST
through upstream's ``Urllib3HTTPTransport`` (``requests`` merges proxy, netrc and CA settings from the
environment on every request); upstream plans urllib3 as its default and takes a transport through the
exporters' private ``_transport`` argument (a test fails if that changes). Where the environment asks for
what only ``requests`` does -- a proxy for the endpoint, a ``~/.netrc`` entry, a CA bundle directory, a
credential provider's session -- the exporter keeps upstream's ``requests`` transport.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import requests
from opentelemetry.exporter.http.transport._urllib3 import Urllib3HTTPTransport
from opentelemetry.exporter.otlp.proto.http._common import (
    RequestPayloadTooLargeError,
    _build_transport,
    _is_request_too_large,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.environment_variables import (
    _OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER,
    _OTEL_PYTHON_EXPORTER_OTLP_HTTP_LOGS_CREDENTIAL_PROVIDER,
    _OTEL_PYTHON_EXPORTER_OTLP_HTTP_METRICS_CREDENTIAL_PROVIDER,
    _OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER,
    OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE

from rythmiq_otel.distro.setup._otlp_logs import encode_logs_request
from rythmiq_otel.distro.setup._otlp_spans import encode_spans_request

__all__ = [
    "DirectOTLPLogExporter",
    "DirectOTLPSpanExporter",
    "Urllib3OTLPMetricExporter",
    "credential_provider_set",
]

# Upstream's loggers, so their messages (and any filter a user set on them) stay where they were.
_LOG_LOGGER = logging.getLogger("opentelemetry.exporter.otlp.proto.http._log_exporter")
_SPAN_LOGGER = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")


# Per signal: upstream's certificate, client key and client certificate variables, as its constructor
# reads them.
_CERTIFICATES = {
    "logs": (
        OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
        OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
        OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
    ),
    "traces": (
        OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
        OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
        OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
    ),
    "metrics": (
        OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
        OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
        OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
    ),
}
_CREDENTIAL_PROVIDERS = {
    "logs": _OTEL_PYTHON_EXPORTER_OTLP_HTTP_LOGS_CREDENTIAL_PROVIDER,
    "traces": _OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER,
    "metrics": _OTEL_PYTHON_EXPORTER_OTLP_HTTP_METRICS_CREDENTIAL_PROVIDER,
}


def credential_provider_set(signal: str) -> bool:
    """Whether upstream loads a credential provider's ``requests`` session for ``signal``'s exporter
    (``OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER`` or the signal's own variable) -- as it does
    only when no session is passed in."""
    return bool(
        os.environ.get(_OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER)
        or os.environ.get(_CREDENTIAL_PROVIDERS[signal])
    )


class _ForkSafeUrllib3Transport(Urllib3HTTPTransport):
    """Upstream's urllib3 transport whose connection pool is replaced in a forked child.

    A new pool, not ``clear()``: clearing takes the pool's lock, which a parent thread may have held at
    the instant of fork (the same reason ``_lifecycle`` remounts the ``requests`` sessions' adapters).
    """

    def __init__(self, *, verify: bool | str, cert: str | tuple[str, str] | None) -> None:
        super().__init__(verify=verify, cert=cert)
        self._settings = (verify, cert)
        _transports.add(self)

    def renew(self) -> None:
        """Drop the inherited pool (and its sockets) for a new one, as built the first time."""
        verify, cert = self._settings
        super().__init__(verify=verify, cert=cert)


_transports: weakref.WeakSet[_ForkSafeUrllib3Transport] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [transport.renew() for transport in list(_transports)])


def _http_transport(signal: str, endpoint: str) -> Urllib3HTTPTransport | None:
    """The urllib3 transport for ``signal``'s exporter, or ``None`` to keep upstream's ``requests`` one.

    The CA file and client certificate are resolved by upstream's own code (``_build_transport``, onto a
    probe session), then as ``requests`` would resolve them per request (``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, certifi's bundle), so both transports trust and present the same certificates.
    """
    if credential_provider_set(signal):
        return None
    certificate, client_key, client_certificate = _CERTIFICATES[signal]
    probe = requests.Session()
    _build_transport(None, None, None, certificate, client_key, client_certificate, session=probe)
    merged = probe.merge_environment_settings(endpoint, {}, None, probe.verify, probe.cert)
    verify = merged["verify"]
    if (
        requests.utils.select_proxy(endpoint, merged["proxies"])
        or requests.utils.get_netrc_auth(endpoint)
        or (isinstance(verify, str) and os.path.isdir(verify))
    ):
        return None
    if verify is True:
        verify = requests.certs.where()
    return _ForkSafeUrllib3Transport(verify=verify, cert=merged["cert"])


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

    def __init__(self, *, endpoint: str, **kwargs: Any) -> None:
        super().__init__(endpoint=endpoint, _transport=_http_transport("logs", endpoint), **kwargs)

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

    def __init__(self, *, endpoint: str, **kwargs: Any) -> None:
        super().__init__(endpoint=endpoint, _transport=_http_transport("traces", endpoint), **kwargs)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return _export(
            self, spans, encode_spans_request, noun="span", result_type=SpanExportResult, logger=_SPAN_LOGGER
        )


class Urllib3OTLPMetricExporter(OTLPMetricExporter):
    """Upstream's ``OTLPMetricExporter`` (its encoder too), posting through the urllib3 transport."""

    def __init__(self, *, endpoint: str, **kwargs: Any) -> None:
        super().__init__(endpoint=endpoint, _transport=_http_transport("metrics", endpoint), **kwargs)
