"""FastAPI services (api, webhook): OTel instrumentation plus the ingress rules and the §1.2 api events.

Two ASGI middlewares join the stock ``opentelemetry-instrumentation-fastapi`` stack:

* ``_IngressMiddleware`` wraps the whole stack (outside the OTel server span and outside Starlette's
  ``ServerErrorMiddleware``). It applies the ingress rules (``_correlation.resolve_ingress``), hands a
  caller's valid ``X-Correlation-ID`` to the id generator so it becomes the trace id, and writes
  ``X-Correlation-ID`` onto every response start it sees -- 2xx, 4xx, streaming, and the 500 Starlette
  sends for an unhandled exception, which asgi-correlation-id misses because it sits inside that handler.
* ``_RequestEventsMiddleware`` runs inside the server span, so its records carry the trace: request
  started / completed (method, route *template* as ``http_path`` -- never the raw URL with ids or query --,
  status, latency; 4xx WARN, 5xx ERROR per §1.3) and the two api metrics.

The route handlers report the domain events through the helpers at the bottom (job created, status
queried, output delivered, auth succeeded / failed); they also put ``job_id`` / ``user_id_hash`` into the
request's baggage so the payload ``inject``-ed for the job platform carries them.
"""

from __future__ import annotations

import contextvars
import logging
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import baggage
from opentelemetry.context import Context, attach, detach, get_current

from rythmiq_otel import vocab
from rythmiq_otel.distro import _metrics
from rythmiq_otel.distro._correlation import (
    Ingress,
    pending_trace_id,
    resolve_ingress,
    trace_correlation_id,
    with_baggage,
)
from rythmiq_otel.distro._events import emit
from rythmiq_otel.pii import hash_user_id

if TYPE_CHECKING:  # starlette is the optional [fastapi] extra; configure() imports this module anyway
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "auth_failed",
    "auth_succeeded",
    "install",
    "instrument_app",
    "job_created",
    "job_status_queried",
    "output_delivered",
]

_log = logging.getLogger(__name__)  # service from configuration: api or webhook
_SCOPE_KEY = "rythmiq.ingress"
_HEADER = vocab.CORRELATION_HEADER.lower().encode("latin-1")
_MARK = "_rythmiq_instrumented"


@dataclass
class _RequestInfo:
    """What the handlers learned about the request, read back by the request-completed event."""

    job_id: str | None = None
    user_id_hash: str | None = None


_request: contextvars.ContextVar[_RequestInfo | None] = contextvars.ContextVar("rythmiq_req", default=None)


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


class _IngressMiddleware(_HttpMiddleware):
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


class _RequestEventsMiddleware(_HttpMiddleware):
    """Inside the server span: request started / completed events and the api metrics (§1.2, §3.1)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        ingress: Ingress | None = scope.get(_SCOPE_KEY)
        if ingress is not None and ingress.rejected_header is not None:
            _log.warning("Ignored an invalid %s header (%s); using a new correlation id",
                         vocab.CORRELATION_HEADER, ingress.rejected_header)
        method, path = scope["method"], _route_template(scope)
        info = _RequestInfo()
        token = _request.set(info)
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
            await self.app(scope, receive, send_observing)
        except Exception:
            status = 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            emit(_log, _completed_level(status), "Request completed", event=vocab.EVENT_REQUEST_COMPLETED,
                 http_method=method, http_path=path, http_status=status, latency_ms=round(elapsed * 1000, 3),
                 job_id=info.job_id, user_id_hash=info.user_id_hash)
            record = _metrics.instruments().record
            record(vocab.METRIC_API_REQUESTS, 1, method=method, path=path, status=status)
            record(vocab.METRIC_API_LATENCY, elapsed, method=method, path=path)
            _request.reset(token)
            detach(baggage_token)


def instrument_app(app: Any) -> Any:
    """Instrument one FastAPI app (code configuration); harmless to call twice. Returns ``app``.

    Must run before the app serves its first request (Starlette builds the middleware stack then). The
    OTel server span comes from opentelemetry-instrumentation-fastapi unless that already instrumented the
    app; the ingress layer is wrapped around whatever stack it built.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    if getattr(app, _MARK, False):
        return app
    if not getattr(app, "_is_instrumented_by_opentelemetry", False):
        FastAPIInstrumentor.instrument_app(app)
    app.add_middleware(_RequestEventsMiddleware)
    instrumented_build = app.build_middleware_stack

    def build_middleware_stack(self: Any) -> ASGIApp:
        return _IngressMiddleware(instrumented_build())

    app.build_middleware_stack = types.MethodType(build_middleware_stack, app)
    setattr(app, _MARK, True)
    return app


def install() -> None:
    """Instrument every FastAPI app created from now on; called by ``configure()`` (no-op without FastAPI).

    Apps are instrumented on their first ASGI call rather than in ``__init__``: by then the stock
    auto-instrumentation (which ``initialize()`` loads after ``configure()``) has had its turn, so the app
    is instrumented exactly once whichever of the two paths runs.
    """
    try:
        import fastapi
    except ImportError:
        return
    if getattr(fastapi.FastAPI, _MARK + "_class", False):
        return

    class RythmiqFastAPI(fastapi.FastAPI):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if self.middleware_stack is None:
                instrument_app(self)
            await super().__call__(scope, receive, send)

    setattr(RythmiqFastAPI, _MARK + "_class", True)
    fastapi.FastAPI = RythmiqFastAPI  # type: ignore[misc]
    fastapi.applications.FastAPI = RythmiqFastAPI  # type: ignore[misc]


def _info() -> _RequestInfo:
    return _request.get() or _RequestInfo()


def auth_succeeded(user_id: str) -> str:
    """Log auth success (INFO) with only ``user_id_hash``; returns the hash, also set as baggage."""
    user_id_hash = hash_user_id(user_id)
    _info().user_id_hash = user_id_hash
    attach(with_baggage(user_id_hash=user_id_hash))
    emit(_log, logging.INFO, "Authentication succeeded", event=vocab.EVENT_AUTH_SUCCEEDED,
         user_id_hash=user_id_hash)
    return user_id_hash


def auth_failed(reason: str) -> None:
    """Log auth failure (WARN) with a short reason (``missing_token``, ``invalid_token``), no user details."""
    emit(_log, logging.WARNING, "Authentication failed", event=vocab.EVENT_AUTH_FAILED,
         extra={"reason": reason})


def job_created(job_id: str, **extra: Any) -> None:
    """Log the job created in pending state (INFO); sets ``job_id`` baggage for the payload and later logs."""
    _info().job_id = job_id
    attach(with_baggage(job_id=job_id))
    emit(_log, logging.INFO, "Job created in pending state", event=vocab.EVENT_JOB_CREATED, job_id=job_id,
         extra={"status": "pending", **extra})


def job_status_queried(job_id: str, status: str) -> None:
    """Log a status query (INFO) for ``job_id``; ``status`` is the job's current state."""
    _info().job_id = job_id
    emit(_log, logging.INFO, "Job status queried", event=vocab.EVENT_JOB_STATUS_QUERIED, job_id=job_id,
         extra={"status": status})


def output_delivered(job_id: str, *, size_bytes: int | None = None) -> None:
    """Log that the job's output went back to the user (INFO, stage ``delivery``); only its size."""
    _info().job_id = job_id
    emit(_log, logging.INFO, "Output delivered", event=vocab.EVENT_OUTPUT_DELIVERED, job_id=job_id,
         stage="delivery", extra={"output_size_bytes": size_bytes})
