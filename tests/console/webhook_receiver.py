"""A real HTTP server on a free port that records the alert webhooks it receives.

``fail_first`` makes it answer ``fail_status`` (500; a 3xx points elsewhere) to that many posts before
accepting, to exercise retries; ``delay``
makes each answer take that long, so concurrent deliverers overlap.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    posts: list[Received] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 500
    delay: float = 0.0
    gets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transitions(self) -> list[tuple[str, str]]:
        """``[(rule, transition), ...]`` in arrival order."""
        with self.lock:
            return [(p.payload["rule"], p.payload["transition"]) for p in self.posts]


@contextmanager
def webhook_receiver(fail_first: int = 0, delay: float = 0.0, fail_status: int = 500) -> Iterator[Receiver]:
    """Serve on 127.0.0.1 and a free port until the block ends."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(receiver.delay)
            with receiver.lock:
                failing = receiver.fail_first > 0
                if failing:
                    receiver.fail_first -= 1
                else:
                    receiver.posts.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(receiver.fail_status if failing else 200)
            if failing and 300 <= receiver.fail_status < 400:
                self.send_header("Location", "/moved")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # what a followed redirect would turn the POST into
            with receiver.lock:
                receiver.gets += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0/secret"
    receiver = Receiver(url=url, fail_first=fail_first, fail_status=fail_status, delay=delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
