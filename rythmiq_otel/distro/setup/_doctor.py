"""``rythmiq-otel doctor``: the effective configuration (secrets masked) and whether the endpoints answer.

The report is built from the same ``Settings`` a service would use, so what it prints is what a service
started with this environment would do. Header values are always masked (they carry bearer tokens), as is
any password in an endpoint URL. The probe POSTs an empty OTLP request (valid protobuf, no data) to each
http/protobuf endpoint, and opens a TCP connection to a grpc one.
"""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from rythmiq_otel.distro.setup._settings import ExportSettings, Settings

__all__ = ["Probe", "describe", "mask_url", "probe"]

_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Probe:
    """The answer of one endpoint: ``ok`` when it accepted an empty export request."""

    signal: str
    endpoint: str
    ok: bool
    detail: str


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``****``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
    return urlunsplit(parts._replace(netloc=netloc))


def _signals(settings: Settings) -> tuple[tuple[str, ExportSettings], ...]:
    return (("traces", settings.traces), ("metrics", settings.metrics), ("logs", settings.logs))


def _headers(export: ExportSettings) -> str:
    return ", ".join(f"{key}=****" for key, _ in export.headers) or "(none)"


def describe(settings: Settings) -> list[str]:
    """The effective configuration as ``name: value`` lines, secrets masked."""
    lines = [
        f"service: {settings.service} (service.name={settings.service_name})",
        f"resource attributes: {dict(settings.resource_attributes) or '(none)'}",
        f"sdk disabled: {settings.sdk_disabled}",
        f"log level: {logging.getLevelName(settings.log_level).replace('WARNING', 'WARN')}",
        f"pii guard: {'on' if settings.pii_guard else 'off'}",
        f"metrics persistence: {settings.metrics_persistence}",
        f"propagators: {', '.join(settings.propagators) or '(none)'}",
        f"sampler: {settings.sampler} (arg {settings.sampler_arg})",
        f"metrics temporality: {settings.temporality}, "
        f"export interval {settings.metric_export_interval_ms} ms",
    ]
    for signal, export in _signals(settings):
        lines.append(
            f"{signal}: exporters={','.join(export.exporters) or 'none'} protocol={export.protocol} "
            f"endpoint={mask_url(export.endpoint)} headers={_headers(export)} "
            f"timeout={export.timeout_s:g}s compression={export.compression}"
        )
    lines.extend(f"problem: {problem}" for problem in settings.problems)
    return lines


def _probe_http(signal: str, export: ExportSettings) -> Probe:
    request = urllib.request.Request(
        export.endpoint,
        data=b"",
        method="POST",
        headers={"Content-Type": "application/x-protobuf", **dict(export.headers)},
    )
    endpoint = mask_url(export.endpoint)
    try:
        with urllib.request.urlopen(request, timeout=_PROBE_TIMEOUT_S) as response:
            return Probe(signal, endpoint, True, f"HTTP {response.status}")
    except urllib.error.HTTPError as err:
        return Probe(signal, endpoint, False, f"answered HTTP {err.code} to an empty export request")
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return Probe(signal, endpoint, False, f"does not answer: {reason}")


def _probe_grpc(signal: str, export: ExportSettings) -> Probe:
    parts = urlsplit(export.endpoint if "//" in export.endpoint else f"//{export.endpoint}")
    endpoint = mask_url(export.endpoint)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 4317), _PROBE_TIMEOUT_S):
            return Probe(signal, endpoint, True, "TCP connection accepted")
    except OSError as err:
        return Probe(signal, endpoint, False, f"does not answer: {err}")


def probe(settings: Settings) -> list[Probe]:
    """Probe the endpoint of each signal that exports over OTLP."""
    probes = []
    for signal, export in _signals(settings):
        if "otlp" not in export.exporters or settings.sdk_disabled:
            continue
        check = _probe_grpc if export.protocol == "grpc" else _probe_http
        probes.append(check(signal, export))
    return probes
