"""FastAPI services (api, webhook): instrument every app once, automatically or with one call.

``install()`` (run by ``configure()``) makes every ``fastapi.FastAPI`` app instrument itself on its first
ASGI call; ``instrument_app(app)`` does the same for code configuration. Instrumenting means: the stock
opentelemetry-instrumentation-fastapi server span (unless it already instrumented the app), our
request-events layer inside it, and our ingress layer around the whole stack (see ``_http_ingress``).
The route handlers report their events through ``_api_events``.
"""

from __future__ import annotations

import functools
import logging
import types
from typing import TYPE_CHECKING, Any

from rythmiq_otel.distro.context._http_ingress import IngressMiddleware, RequestEventsMiddleware
from rythmiq_otel.distro.setup import _settings

if TYPE_CHECKING:  # starlette comes with FastAPI, which the app brings; configure() imports this anyway
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["install", "instrument_app"]

_MARK = "_rythmiq_instrumented"
_log = logging.getLogger("rythmiq_otel.distro")


def instrument_app(app: Any) -> Any:
    """Instrument one FastAPI app (code configuration); harmless to call twice. Returns ``app``.

    Must run before the app serves its first request (Starlette builds the middleware stack then). The
    OTel server span comes from opentelemetry-instrumentation-fastapi unless that already instrumented the
    app; the ingress layer is wrapped around whatever stack it built.
    """
    if getattr(app, _MARK, False):
        return app
    if not getattr(app, "_is_instrumented_by_opentelemetry", False):
        _add_server_span(app)
    app.add_middleware(RequestEventsMiddleware)
    instrumented_build = app.build_middleware_stack

    def build_middleware_stack(self: Any) -> ASGIApp:
        return IngressMiddleware(instrumented_build())

    app.build_middleware_stack = types.MethodType(build_middleware_stack, app)
    setattr(app, _MARK, True)
    return app


def _add_server_span(app: Any) -> None:
    """The stock server span, unless ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` names fastapi (or ``*``).

    Disabled, the app gets no FastAPI spans at all: recent FastAPI releases trace requests natively once
    a global tracer provider exists (and step aside when the stock instrumentation is there), so their
    ``telemetry`` switches -- the dict ``FastAPI(telemetry=...)`` fills -- are turned off too.

    Without opentelemetry-instrumentation-fastapi (a dependency, but an environment can still lack it) the
    app runs without the stock span, after one WARN -- a missing instrumentation must never fail a request.
    """
    disabled = _settings.current().disabled_instrumentations
    if "fastapi" in disabled or "*" in disabled:
        native = getattr(app, "_telemetry", None)
        if isinstance(native, dict):
            native.update(tracing=False, operation_spans=False)
        return
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError as exc:
        _report_missing(str(exc))
        return
    FastAPIInstrumentor.instrument_app(app)


@functools.cache
def _report_missing(reason: str) -> None:
    """One WARN per process (and reason), not one per app."""
    # Short (under the PII guard's PROSE_WORDS), so the line is not taken for document text.
    _log.warning("No FastAPI server spans: cannot import opentelemetry-instrumentation-fastapi (%s).", reason)


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
