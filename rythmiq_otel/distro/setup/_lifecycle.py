"""Process lifecycle: flush on normal exit and on SIGTERM, and stay correct across fork.

* Exit: one ``atexit`` hook runs ``shutdown()`` (the providers are built with ``shutdown_on_exit=False``
  so they are not shut down twice).
* SIGTERM: when nobody else handles it (the handler is still ``SIG_DFL``), flush, then restore the default
  and re-send the signal, so the process still dies "by SIGTERM" as its supervisor expects. Servers that
  install their own handler (uvicorn, gunicorn workers) exit normally and hit the atexit hook instead.
* Fork (gunicorn ``--preload``, ``multiprocessing`` fork): the SDK's batch processors and metric reader
  restart their threads in the child themselves; what they do not do is drop the HTTP keep-alive
  connections inherited from the parent, which the child would otherwise share with it on the same socket
  (http/protobuf exporters get fresh connection adapters; grpc follows ``GRPC_ENABLE_FORK_SUPPORT``).
  A ``multiprocessing`` child ends with ``os._exit`` (no atexit hooks), so in such a child ``shutdown`` is
  registered as a multiprocessing finalizer, which its exit path does run.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

import requests
import requests.adapters

__all__ = ["fork_safe_session", "install_exit_hooks", "install_fork_hooks"]

_installed: set[str] = set()
_sessions: list[requests.Session] = []


def install_exit_hooks(shutdown: Callable[[], None]) -> None:
    """Run ``shutdown`` at interpreter exit and on an otherwise unhandled SIGTERM (once per process)."""
    if "exit" in _installed:
        return
    _installed.add("exit")
    atexit.register(shutdown)
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        shutdown()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def fork_safe_session() -> requests.Session:
    """A ``requests.Session`` for an OTLP/HTTP exporter whose connections are replaced in a forked child."""
    session = requests.Session()
    _sessions.append(session)
    return session


def _fresh_connections_in_child() -> None:
    # New adapters, not ``session.close()``: closing takes the connection pool's lock, which a parent
    # thread may have held at the instant of fork -- in the child nobody would ever release it.
    for session in _sessions:
        session.mount("https://", requests.adapters.HTTPAdapter())
        session.mount("http://", requests.adapters.HTTPAdapter())


class _AfterForkToken:
    """The object ``multiprocessing.util.register_after_fork`` keys its (weak) registry on."""


_TOKEN = _AfterForkToken()


def install_fork_hooks(shutdown: Callable[[], None]) -> None:
    """In a forked child: drop inherited connections, and flush at exit when it is a multiprocessing child."""
    if "fork" in _installed:
        return
    _installed.add("fork")
    os.register_at_fork(after_in_child=_fresh_connections_in_child)

    def flush_at_multiprocessing_exit(token: _AfterForkToken) -> None:
        multiprocessing.util.Finalize(token, shutdown, exitpriority=100)

    multiprocessing.util.register_after_fork(_TOKEN, flush_at_multiprocessing_exit)
