"""Serving the sink: wiring the Postgres-backed writer, probes and maintenance into the app, then uvicorn.

``run(settings)`` is what ``rythmiq-otel sink`` calls (CLI → run(config), STYLE 14). It binds the socket
itself, so ``--port 0`` works and the printed address is the real one, and with ``workers > 1`` hands the
same socket to several uvicorn worker processes: decoding is CPU-bound Python, so processes, not threads,
are how one sink uses more than one core.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from .._gauge_sampler import GaugeSampler
from ._http_guard import GuardedHttpToolsProtocol
from ._pii_layer import PiiLayer
from ._probes import CachedProbe, MaintenanceThread, business_gauges, readiness
from ._receiver import create_app
from ._settings import HANDOFF_VARIABLE, SinkSettings, from_handoff, to_handoff
from ._writer import CopyWriter


def build_app(settings: SinkSettings) -> Starlette:
    """The production app: COPY writer, PII layer, readiness/gauges from Postgres, maintenance thread."""
    writer = CopyWriter(settings.database_url, pool_size=settings.effective_pool_size)
    # The store's periodic work, off together with --maintenance-interval 0: maintenance, gauge sampling.
    periodic = [
        MaintenanceThread(settings.database_url, settings.maintenance_interval_seconds),
        GaugeSampler(settings.database_url),
    ] if settings.maintenance_interval_seconds > 0 else []

    def startup() -> None:
        writer.open()
        for thread in periodic:
            thread.start()

    def shutdown() -> None:
        for thread in periodic:
            thread.stop()
        writer.close()

    return create_app(
        settings,
        writer=writer,
        scrubber=PiiLayer.for_extra(settings.pii_extra_mode, settings.pii_extra_keys),
        readiness=CachedProbe(functools.partial(readiness, settings.database_url)),
        gauges=functools.partial(business_gauges, settings.database_url),
        on_startup=startup,
        on_shutdown=shutdown,
    )


def app_from_handoff() -> Starlette:
    """uvicorn factory for worker processes: the settings the parent ``run`` parsed."""
    return build_app(from_handoff())


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen (``port`` 0 picks a free one).

    Listening before the app is built means a client that read the announced address is queued in the
    backlog instead of refused while the server starts.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(settings: SinkSettings, *, announce: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; ``announce`` receives the one-line "listening on" message."""
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    message = f"rythmiq-otel sink listening on http://{host}:{port} (POST /v1/logs, /v1/traces, /v1/metrics)"
    (announce or (lambda line: print(line, file=sys.stderr, flush=True)))(message)
    common = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 10,
              "http": GuardedHttpToolsProtocol}
    if settings.workers == 1:
        config = uvicorn.Config(build_app(settings), **common)
        uvicorn.Server(config).run(sockets=[sock])
        return
    os.environ[HANDOFF_VARIABLE] = to_handoff(settings)
    uvicorn.run("rythmiq_otel.store.sink._server:app_from_handoff", factory=True, workers=settings.workers,
                fd=sock.fileno(), **common)
