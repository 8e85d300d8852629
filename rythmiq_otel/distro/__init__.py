"""The in-process half: everything a Rythmiq service (api, worker, webhook) runs inside its own process.

Public names are resolved lazily (PEP 562) so that ``import rythmiq_otel.distro`` costs nothing until a
name is used (the sitecustomize hook does use one: it runs ``configure()``, which loads the SDK).
The map below is the public surface; a test checks every name resolves.
"""

from __future__ import annotations

from rythmiq_otel._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # turning it on (sitecustomize, opentelemetry-instrument entry points, or one call)
    "configure": "._configure",
    "shutdown": "._configure",
    "RythmiqDistro": "._entry_points",
    "RythmiqConfigurator": "._entry_points",
    # the spec's §1.6 logger API
    "get_logger": "._logging",
    "get_api_logger": "._logging",
    "get_worker_logger": "._logging",
    "get_webhook_logger": "._logging",
    "StructuredFormatter": "._logging",
    "hash_user_id": "rythmiq_otel.pii",
    # correlation id == trace id (§2)
    "current_correlation_id": "._correlation",
    "correlation_id_from_trace_id": "._correlation",
    "trace_id_from_correlation_id": "._correlation",
    # the Camber payload / webhook body carry the context (§2.2)
    "inject": "._payload",
    "extract": "._payload",
    # services
    "instrument_app": "._fastapi",
    # api route events (§1.2: job created, status queried, output delivered, auth success / failure)
    "auth_succeeded": "._api_events",
    "auth_failed": "._api_events",
    "job_created": "._api_events",
    "job_status_queried": "._api_events",
    "output_delivered": "._api_events",
    "job_context": "._worker",
    "stage_context": "._worker",
    "webhook_context": "._webhook",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 -- the public surface is the map above


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
