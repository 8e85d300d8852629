"""Limits on a request's head, before any of the app runs: size and time.

uvicorn's httptools protocol accumulates headers without a bound and, before the first request of a
connection, without a deadline: a 64 MB ``Authorization`` header took 7.8 s of CPU before its 401, and a
thousand half-open connections stayed open indefinitely. This protocol answers 431 once a head passes
``MAX_HEADER_BYTES`` (before handing the rest to the parser) and closes a connection whose head has not
arrived ``HEADER_TIMEOUT_SECONDS`` after it opened or after its previous response. Bodies are bounded by
the receiver (size, bytes in flight, read timeout).
"""

from __future__ import annotations

import asyncio
from typing import Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Request line plus headers, in bytes. OTLP exporters send a few hundred; nginx allows 4 x 8 KiB.
MAX_HEADER_BYTES: Final = 32 * 1024
#: Seconds a client has to send a complete request head.
HEADER_TIMEOUT_SECONDS: Final = 10.0
_END_OF_HEAD = b"\r\n\r\n"
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"connection: close\r\ncontent-length: %d\r\n\r\n%s")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded, timed request head."""

    _head_bytes = 0
    _awaiting_head = False
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            room = MAX_HEADER_BYTES - self._head_bytes
            if len(data) > room and _END_OF_HEAD not in data[:room + len(_END_OF_HEAD)]:
                self._refuse_head()
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request already parsed is started instead: its head is complete, its body is not one.
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not self.transport.is_closing() and not pipelined:
            self._expect_head()

    def _expect_head(self) -> None:
        self._head_bytes = 0
        self._awaiting_head = True
        self._cancel_deadline()
        self._deadline = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._head_too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_too_slow(self) -> None:
        busy = self.cycle is not None and not self.cycle.response_complete
        if self._awaiting_head and not busy and not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self) -> None:
        message = f"request head is over {MAX_HEADER_BYTES} bytes\n".encode()
        self._awaiting_head = False
        self._cancel_deadline()
        self.transport.write(_TOO_LARGE % (len(message), message))
        self.transport.close()
