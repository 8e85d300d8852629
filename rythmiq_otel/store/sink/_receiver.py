"""The OTLP/HTTP receiver: routes, auth, status codes, backpressure; the work is in ``_pipeline``.

``POST /v1/logs``, ``/v1/traces``, ``/v1/metrics`` take protobuf or JSON, optionally gzip-encoded, and answer
as the OTLP/HTTP specification says:

- 200 with the export response; ``partial_success`` counts the items rejected (bad timestamps, ids ...).
- 400 undecodable body, 413 body over ``max_body_bytes``, 415 other content type or encoding.
- 401 without ``Authorization: Bearer <RYTHMIQ_SINK_TOKEN>`` (unless started with ``--insecure-no-auth``).
- 429 + Retry-After when ``max_queue`` requests already wait for one of ``max_inflight`` slots (counted from
  their first byte) or their bodies would pass ``max_buffered_bytes``; 408 for a body slower than
  ``read_timeout_seconds``;
  503 + Retry-After when Postgres cannot take the write. Both are retryable, so the exporter retries and
  nothing is lost; a 200 is sent only after COMMIT.

``GET /healthz`` (process alive), ``GET /readyz`` (Postgres reachable and migrated), ``GET /metrics``
(Prometheus text: the sink's health and the §3.2 gauges; needs the token too).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from google.rpc import status_pb2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ._context import Scrubber
from ._decode import (
    JSON,
    PROTOBUF,
    BadRequest,
    Format,
    Signal,
    TooLarge,
    UnsupportedMediaType,
    body_format,
    response_body,
)
from ._pipeline import process
from ._probes import CachedProbe
from ._settings import SinkSettings
from ._stats import SinkStats
from ._writer import Writer, WriterUnavailable

log = logging.getLogger("rythmiq_otel.sink")


class AtCapacity(Exception):
    """The sink holds as many requests or bytes as it may; the client should retry later (429)."""


class _Gate:
    """Admission: a request counts from its first byte, not from when its body was read.

    At most ``inflight + queue`` requests are admitted at once (reading their bodies or waiting for one of
    ``inflight`` slots), and their bodies together hold at most ``max_bytes``: a declared Content-Length
    is reserved before any of it is read, a streamed body chunk by chunk. Beyond either, 429 -- so a flood of
    slow uploads cannot pile bodies up in memory before anything refuses them. Runs on the event loop only.
    """

    def __init__(self, inflight: int, queue: int, max_bytes: int, stats: SinkStats) -> None:
        self._inflight = inflight
        self._admitted_limit = inflight + queue
        self._max_bytes = max_bytes
        self._stats = stats
        self._admitted = 0
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[_Admission]:
        """Admit one request (or raise ``AtCapacity``); its bytes are released when it is answered."""
        if self._admitted >= self._admitted_limit:
            raise AtCapacity("sink is at capacity; retry later")
        self._admitted += 1
        self._stats.queue_depth += 1
        admission = _Admission(self)
        try:
            yield admission
        finally:
            self._admitted -= 1
            if not admission.working:
                self._stats.queue_depth -= 1
            self._stats.buffered_bytes -= admission.held

    def reserve(self, admission: _Admission, size: int) -> None:
        if size <= admission.held:
            return
        if self._stats.buffered_bytes + size - admission.held > self._max_bytes:
            raise AtCapacity(f"sink holds {self._stats.buffered_bytes} request bytes (limit "
                             f"{self._max_bytes}); retry later")
        self._stats.buffered_bytes += size - admission.held
        admission.held = size

    @asynccontextmanager
    async def slot(self, admission: _Admission) -> AsyncIterator[None]:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._inflight)
        await self._semaphore.acquire()
        self._stats.queue_depth -= 1
        admission.working = True
        self._stats.inflight += 1
        try:
            yield
        finally:
            self._stats.inflight -= 1
            self._semaphore.release()


class _Admission:
    """One admitted request: the body bytes it holds and whether it has a working slot."""

    def __init__(self, gate: _Gate) -> None:
        self.gate = gate
        self.held = 0
        self.working = False

    def reserve(self, size: int) -> None:
        """Hold ``size`` body bytes in total (raises ``AtCapacity`` past the process' limit)."""
        self.gate.reserve(self, size)


class _Handlers:
    """The route handlers of one app, sharing its settings, writer, gate and stats."""

    def __init__(self, settings: SinkSettings, *, writer: Writer, scrubber: Scrubber, stats: SinkStats,
                 readiness: Callable[[], str | None], gauges: Callable[[], dict[str, float]]) -> None:
        self.settings = settings
        self.writer = writer
        self.scrubber = scrubber
        self.stats = stats
        self.readiness = readiness
        self.gauges = gauges
        self.gate = _Gate(settings.max_inflight, settings.max_queue, settings.max_buffered_bytes, stats)
        secured = settings.token and not settings.insecure_no_auth
        self.expected = settings.token.encode() if secured and settings.token else None
        self.retry_after = {"Retry-After": str(settings.retry_after_seconds)}

    def authorized(self, request: Request) -> bool:
        """``Authorization: Bearer <token>``; the scheme is case-insensitive (RFC 7235 section 2.1)."""
        if self.expected is None:
            return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip(" ").encode(),
                                                                  self.expected)

    def error(self, signal: str, status: int, message: str, fmt: Format | None,
              headers: dict[str, str] | None = None) -> Response:
        self.stats.response(signal, status)
        if status >= 500 or status == 429:
            log.warning("%s: %d %s", signal, status, message)
        if fmt == "json":
            return Response(json.dumps({"code": status, "message": message}), status, headers,
                            media_type=JSON)
        payload = status_pb2.Status(code=status, message=message)
        return Response(payload.SerializeToString(), status, headers, media_type=PROTOBUF)

    async def export(self, request: Request) -> Response:
        signal: Signal = request.path_params["signal"]
        if signal not in ("logs", "traces", "metrics"):
            return PlainTextResponse("not found\n", 404)
        fmt: Format | None = "json" if JSON in request.headers.get("content-type", "") else None
        if not self.authorized(request):
            return self.error(signal, 401, "missing or wrong bearer token", fmt,
                              {"WWW-Authenticate": "Bearer"})
        limit = self.settings.max_body_bytes
        try:
            fmt = body_format(request.headers.get("content-type"))
            declared = request.headers.get("content-length")
            declared_size = int(declared) if declared and declared.isdigit() else None
            if declared_size is not None and declared_size > limit:
                raise TooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
            async with self.gate.admitted() as admission:
                if declared_size is not None:
                    admission.reserve(declared_size)
                async with asyncio.timeout(self.settings.read_timeout_seconds):
                    body = await _read(request, limit, admission)
                async with self.gate.slot(admission):
                    outcome = await run_in_threadpool(
                        process, signal, body, fmt=fmt,
                        content_encoding=request.headers.get("content-encoding"),
                        max_body_bytes=limit, max_items=self.settings.max_items, scrubber=self.scrubber,
                        writer=self.writer,
                    )
        except AtCapacity as err:
            return self.error(signal, 429, str(err), fmt, self.retry_after)
        except TimeoutError:
            return self.error(signal, 408, f"request body did not arrive within "
                              f"{self.settings.read_timeout_seconds:g} s", fmt, {"Connection": "close"})
        except UnsupportedMediaType as err:
            return self.error(signal, 415, str(err), fmt)
        except TooLarge as err:
            return self.error(signal, 413, str(err), fmt)
        except BadRequest as err:
            return self.error(signal, 400, str(err), fmt)
        except WriterUnavailable as err:
            return self.error(signal, 503, str(err), fmt, self.retry_after)
        except Exception:
            # A bug or a batch Postgres refuses: answer once, keep serving, and leave the evidence in the log.
            log.exception("%s: request failed unexpectedly", signal)
            return self.error(signal, 500, "internal error while storing the request; see the sink log", fmt)
        self.stats.record(outcome)
        if outcome.ctx.redactions:
            log.warning("redacted PII in %s at %s", signal, ", ".join(sorted(outcome.ctx.redactions)))
        content, media_type = response_body(signal, fmt, outcome.rejected, outcome.error_message)
        self.stats.response(signal, 200)
        return Response(content, 200, media_type=media_type)

    async def healthz(self, _: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(self, _: Request) -> Response:
        probe = self.readiness
        if isinstance(probe, CachedProbe) and probe.fresh():
            reason = probe.value
        else:
            reason = await run_in_threadpool(probe)
        if reason is None:
            return PlainTextResponse("ready\n")
        return PlainTextResponse(f"not ready: {reason}\n", 503, headers=self.retry_after)

    async def metrics(self, request: Request) -> Response:
        if not self.authorized(request):
            return PlainTextResponse("missing or wrong bearer token\n", 401, {"WWW-Authenticate": "Bearer"})
        values = await run_in_threadpool(self.gauges)
        return PlainTextResponse(self.stats.render(values), media_type="text/plain; version=0.0.4")


def create_app(
    settings: SinkSettings,
    *,
    writer: Writer,
    scrubber: Scrubber,
    stats: SinkStats | None = None,
    readiness: Callable[[], str | None] = lambda: None,
    gauges: Callable[[], dict[str, float]] = dict,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """Build the ASGI app around a writer; the server (``_server``) wires the Postgres-backed parts."""
    handlers = _Handlers(settings, writer=writer, scrubber=scrubber, stats=stats or SinkStats(),
                         readiness=readiness, gauges=gauges)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    app = Starlette(
        routes=[
            Route("/v1/{signal:str}", handlers.export, methods=["POST"]),
            Route("/healthz", handlers.healthz),
            Route("/readyz", handlers.readyz),
            Route("/metrics", handlers.metrics),
        ],
        lifespan=lifespan,
    )
    # Starlette answers "/v1/logs/" with a 307 to a Location built from the Host header, before any route
    # (so before authentication) runs: an open redirect for anyone who can reach the port. Not found instead.
    app.router.redirect_slashes = False
    app.state.stats = handlers.stats
    return app


async def _read(request: Request, limit: int, admission: _Admission) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is over the limit of {limit} bytes")
        admission.reserve(size)
        chunks.append(chunk)
    return b"".join(chunks)
