"""The in-process half: everything a Rythmiq service (api, worker, webhook) runs inside its own process.

Public names are resolved lazily (PEP 562) so that ``import rythmiq_otel.distro`` costs nothing until a
name is used (the sitecustomize hook does use one: it runs ``configure()``, which loads the SDK).
The map below is the public surface; a test checks every name resolves.
"""

from __future__ import annotations

from rythmiq_otel._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # turning it on (sitecustomize, opentelemetry-instrument entry points, or one call)
    "configure": ".setup._configure",
    "shutdown": ".setup._configure",
    "RythmiqDistro": ".setup._entry_points",
    "RythmiqConfigurator": ".setup._entry_points",
    # the spec's §1.6 logger API
    "get_logger": ".logs._loggers",
    "get_api_logger": ".logs._loggers",
    "get_worker_logger": ".logs._loggers",
    "get_webhook_logger": ".logs._loggers",
    "StructuredFormatter": ".logs._loggers",
    "hash_user_id": "rythmiq_otel.pii",
    # correlation id == trace id (§2)
    "current_correlation_id": ".context._correlation",
    "correlation_id_from_trace_id": ".context._correlation",
    "trace_id_from_correlation_id": ".context._correlation",
    # the Camber payload / webhook body carry the context (§2.2)
    "inject": ".context._payload",
    "extract": ".context._payload",
    # services
    "instrument_app": ".services._fastapi",
    # api route events (§1.2: job created, status queried, output delivered, auth success / failure)
    "auth_succeeded": ".services._api_events",
    "auth_failed": ".services._api_events",
    "job_created": ".services._api_events",
    "job_status_queried": ".services._api_events",
    "output_delivered": ".services._api_events",
    "job_context": ".services._worker",
    "stage_context": ".services._worker",
    "webhook_context": ".services._webhook",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 -- the public surface is the map above


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
