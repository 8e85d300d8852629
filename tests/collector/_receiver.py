"""A stand-in for the sink that keeps its port across an outage: ``OtlpCapture`` made restartable.

``tests/otlp_capture.py`` binds a fresh ephemeral port per instance; the collector's exporter needs one
endpoint that refuses connections while "down" and then answers on the same port, so this subclass binds
a fixed port on every ``start()`` and keeps everything received across ``stop()`` / ``start()``.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer

from tests.otlp_capture import OtlpCapture


class RestartableReceiver(OtlpCapture):
    """An :class:`OtlpCapture` on ``127.0.0.1:port`` that can go down and come back."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self._server.server_close()  # the base class's ephemeral socket; start() binds ``port``
        self.port = port
        self._running = False

    @property
    def url(self) -> str:
        """The base endpoint for an OTLP/HTTP exporter."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RestartableReceiver:
        """Listen (again) on the same port."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        super().start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until the next ``start()``."""
        if self._running:
            super().stop()
            self._running = False
