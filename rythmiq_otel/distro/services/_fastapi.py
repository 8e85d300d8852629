"""FastAPI services (api, webhook): instrument every app once, automatically or with one call.

``install()`` (run by ``configure()``) makes every ``fastapi.FastAPI`` app instrument itself on its first
ASGI call; ``instrument_app(app)`` does the same for code configuration. Instrumenting means: the stock
opentelemetry-instrumentation-fastapi server span (unless it already instrumented the app), our
request-events layer inside it, and our ingress layer around the whole stack (see ``_http_ingress``).
The route handlers report their events through ``_api_events``.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from rythmiq_otel.distro.context._http_ingress import IngressMiddleware, RequestEventsMiddleware

if TYPE_CHECKING:  # starlette is the optional [fastapi] extra; configure() imports this module anyway
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["install", "instrument_app"]

_MARK = "_rythmiq_instrumented"


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
    app.add_middleware(RequestEventsMiddleware)
    instrumented_build = app.build_middleware_stack

    def build_middleware_stack(self: Any) -> ASGIApp:
        return IngressMiddleware(instrumented_build())

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
