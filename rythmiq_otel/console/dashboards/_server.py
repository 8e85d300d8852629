"""Serving the dashboards: ``rythmiq-otel dashboard`` in the foreground, or beside the sink in ``up``.

The socket is bound before the app is built (so ``--port 0`` works and the printed address is the real
one), the same way the sink binds. Connections come from a small pool opened in the background: the
server starts even while the store is down, and its pages say so (503) until it is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import uvicorn
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette

from rythmiq_otel.store.sink._server import bind

from ._app import create_app
from ._settings import RYTHMIQ_DASHBOARD_TOKEN, DashboardSettings

__all__ = ["DashboardThread", "build_app", "how_to_log_in", "serve"]

_POOL_SIZE = 4
_WAIT_FOR_CONNECTION_SECONDS = 5.0


def build_app(settings: DashboardSettings, database_url: str) -> Starlette:
    """The app with its own connection pool to ``database_url`` (opened and closed with the app)."""
    pool = ConnectionPool(
        database_url, min_size=1, max_size=_POOL_SIZE, open=False, timeout=_WAIT_FOR_CONNECTION_SECONDS,
        kwargs={"autocommit": True, "connect_timeout": 5}, name="rythmiq-dashboard",
    )
    return create_app(pool, settings.token)


def how_to_log_in(settings: DashboardSettings, url: str) -> list[str]:
    """The lines that tell a person where the dashboards are and how to get in."""
    if settings.token_source == RYTHMIQ_DASHBOARD_TOKEN:
        secret = f"the token in {RYTHMIQ_DASHBOARD_TOKEN}"
    else:
        secret = f"token {settings.token} (kept in {settings.token_source})"
    return [
        f"dashboard: {url}/operations  (also /cost, /product, /jobs/<id>; each page has a .json twin)",
        f"dashboard: log in with {secret}, or send Authorization: Bearer <token>",
    ]


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)


def serve(settings: DashboardSettings, database_url: str, *, say: Callable[[str], None] = print) -> None:
    """Serve in the foreground until SIGINT/SIGTERM."""
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    for line in how_to_log_in(settings, f"http://{host}:{port}"):
        say(line)
    uvicorn.Server(_config(build_app(settings, database_url))).run(sockets=[sock])


class DashboardThread:
    """The dashboard server on a background thread, for commands that serve something else in the
    foreground (``up`` runs the sink there). ``start()`` returns once the socket listens."""

    def __init__(self, settings: DashboardSettings, database_url: str) -> None:
        self._settings = settings
        self._sock = bind(settings.host, settings.port)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._server = uvicorn.Server(_config(build_app(settings, database_url)))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="rythmiq-dashboard", daemon=True)

    def start(self) -> list[str]:
        """Start serving; returns the how-to-log-in lines to print."""
        self._thread.start()
        return how_to_log_in(self._settings, self.url)

    def stop(self) -> None:
        """Ask the server to finish its requests and stop, and wait for it (a few seconds at most)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
