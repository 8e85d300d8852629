"""The two ASGI layers of a FastAPI service: ingress rules outside the server span, request events inside.

* ``IngressMiddleware`` wraps the whole stack (outside the OTel server span and outside Starlette's
  ``ServerErrorMiddleware``). It applies the ingress rules (``_correlation.resolve_ingress``), hands a
  caller's valid ``X-Correlation-ID`` to the id generator so it becomes the trace id, and writes
  ``X-Correlation-ID`` onto every response start it sees -- 2xx, 4xx, streaming, and the 500 Starlette
  sends for an unhandled exception, which asgi-correlation-id misses because it sits inside that handler.
* ``RequestEventsMiddleware`` runs inside the server span, so its records carry the trace: request
  started / completed (method, route *template* as ``http_path`` -- never the raw URL with ids or query --,
  status, latency; 4xx WARN, 5xx ERROR per §1.3), the two api metrics (§3.1) and, for a 5xx,
  ``rythmiq_errors_total`` (§3.4).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from opentelemetry import baggage
from opentelemetry.context import Context, attach, detach, get_current

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import (
    Ingress,
    pending_trace_id,
    resolve_ingress,
    trace_correlation_id,
    with_baggage,
)
from rythmiq_otel.distro.metrics._catalog import instruments
from rythmiq_otel.distro.services._api_events import request_info
from rythmiq_otel.distro.services._events import emit

if TYPE_CHECKING:  # starlette comes with FastAPI, which the app brings; configure() imports this anyway
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["IngressMiddleware", "RequestEventsMiddleware"]

_log = logging.getLogger(__name__)  # service from configuration: api or webhook
_SCOPE_KEY = "rythmiq.ingress"
_HEADER = vocab.CORRELATION_HEADER.lower().encode("latin-1")


def _route_template(scope: Scope) -> str | None:
    """The matching route's path template (``/jobs/{job_id}``), or ``None`` when no route matches."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Match

    app = scope.get("app")
    partial: str | None = None
    for route in iter_route_contexts(getattr(app, "routes", ())):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path
        if match is Match.PARTIAL and partial is None:
            partial = route.path
    return partial


class _HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests only (lifespan and websockets pass straight through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class IngressMiddleware(_HttpMiddleware):
    """Outermost layer: ingress rules before the server span, ``X-Correlation-ID`` on every response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        ingress = resolve_ingress(headers)
        scope[_SCOPE_KEY] = ingress

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Inside the server span the live trace decides; outside it (a 500 from the outermost
                # error handler) the ingress decision is all there is.
                value = (trace_correlation_id() or ingress.correlation_id).encode("latin-1")
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER]
                message = {**message, "headers": [*kept, (_HEADER, value)]}
            await send(message)

        if ingress.source == "traceparent":
            await self.app(scope, receive, send_with_id)
            return
        with pending_trace_id(ingress.trace_id):
            await self.app(scope, receive, send_with_id)


def _request_baggage(ingress: Ingress | None) -> Context:
    """The request's baggage: the caller's entries, minus the ids only this service may assert.

    A client's ``baggage`` header must not put a job id or user hash on our records: those come from the
    handlers (``job_created``, ``auth_succeeded``). ``correlation_id`` is the request's trace id -- or the
    ingress decision when no span is recorded (SDK disabled), so the JSON lines still carry it.
    """
    context = get_current()
    for key in vocab.BAGGAGE_KEYS:
        context = baggage.remove_baggage(key, context)
    fallback = ingress.correlation_id if ingress is not None else None
    return with_baggage(context, correlation_id=trace_correlation_id() or fallback)


def _completed_level(status: int) -> int:
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.INFO


def _error_code(status: int) -> str:
    """The ``error_code`` label of an API error (§3.4: the api records ``rythmiq_errors_total`` too).

    Only 5xx responses count -- a 4xx is the caller's mistake, already in ``rythmiq_api_requests_total``
    by status. The labels are the worker's: a gateway timeout is ``TIMEOUT``, any other server error
    ``INTERNAL_ERROR``; the stage is ``other`` (a request is not one of the §1.1 worker stages).
    """
    return "TIMEOUT" if status == 504 else "INTERNAL_ERROR"


class RequestEventsMiddleware(_HttpMiddleware):
    """Inside the server span: request started / completed events and the api metrics (§1.2, §3.1)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        ingress: Ingress | None = scope.get(_SCOPE_KEY)
        if ingress is not None and ingress.rejected_header is not None:
            _log.warning("Ignored an invalid %s header (%s); using a new correlation id",
                         vocab.CORRELATION_HEADER, ingress.rejected_header)
        method, path = scope["method"], _route_template(scope)
        baggage_token = attach(_request_baggage(ingress))
        emit(_log, logging.INFO, "Request started", event=vocab.EVENT_REQUEST_STARTED,
             http_method=method, http_path=path)
        status = 500
        started = time.perf_counter()

        async def send_observing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with request_info() as info:
                try:
                    await self.app(scope, receive, send_observing)
                except Exception:
                    status = 500
                    raise
                finally:
                    elapsed = time.perf_counter() - started
                    emit(_log, _completed_level(status), "Request completed",
                         event=vocab.EVENT_REQUEST_COMPLETED, http_method=method, http_path=path,
                         http_status=status, latency_ms=round(elapsed * 1000, 3), job_id=info.job_id,
                         user_id_hash=info.user_id_hash)
                    record = instruments().record
                    record(vocab.METRIC_API_REQUESTS, 1, method=method, path=path, status=status)
                    record(vocab.METRIC_API_LATENCY, elapsed, method=method, path=path)
                    if status >= 500:
                        code = _error_code(status)
                        record(vocab.METRIC_ERRORS_TOTAL, 1, error_code=code, stage=vocab.OTHER)
        finally:
            detach(baggage_token)
