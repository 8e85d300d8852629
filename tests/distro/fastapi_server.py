"""A real uvicorn server for the FastAPI integration's tests, and fixtures to call it and read its records.

The server runs on 127.0.0.1 in a thread of the test process, so its spans and log records can be read
back; it serves an app instrumented with ``instrument_app`` (twice: the second call must be harmless) and
requests go over real HTTP with httpx. Import the fixtures (``base_url``, ``call``, ``records``, ``spans``)
into a test module to use them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from opentelemetry.trace import SpanKind

from rythmiq_otel import vocab
from rythmiq_otel.distro.context import _http_ingress
from rythmiq_otel.distro.services import _api_events
from rythmiq_otel.distro.services._api_events import (
    auth_failed,
    auth_succeeded,
    job_created,
    job_status_queried,
    output_delivered,
)
from rythmiq_otel.distro.services._fastapi import instrument_app
from tests.distro.recording import collect, event_of, spans

__all__ = ["CALLER_ID", "JOB_ID", "base_url", "call", "completed", "event_of", "records", "spans"]

CALLER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
JOB_ID = "550e8400-e29b-41d4-a716-446655440000"


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        if item_id == "missing":
            raise HTTPException(status_code=404)
        return {"item_id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unhandled")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b", b"c"]))

    @app.post("/jobs")
    async def create() -> dict[str, str]:
        auth_succeeded("user-0001")
        job_created(JOB_ID)
        return {"job_id": JOB_ID}

    @app.get("/jobs/{job_id}")
    async def status(job_id: str) -> dict[str, str]:
        job_status_queried(job_id, "completed")
        output_delivered(job_id, size_bytes=12)
        return {"status": "completed"}

    @app.get("/private")
    async def private() -> None:
        auth_failed("invalid_token")
        raise HTTPException(status_code=401)

    return instrument_app(instrument_app(app))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=0, log_level="critical",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    yield from collect(_http_ingress.__name__, _api_events.__name__)


@pytest.fixture
def call(spans, base_url: str) -> Callable[..., httpx.Response]:
    """``call(path, method="GET", **headers)``: one request, returned once its server span has ended.

    The server finishes its span (and logs "Request completed") just after the client has the response;
    waiting for the span keeps each test's records its own.
    """

    def request(path: str, method: str = "GET", **headers: str) -> httpx.Response:
        response = httpx.request(method, base_url + path, headers=headers, timeout=10)
        trace_id = uuid.UUID(response.headers[vocab.CORRELATION_HEADER]).int
        deadline = time.monotonic() + 5
        while not any(s.kind is SpanKind.SERVER and s.context.trace_id == trace_id
                      for s in spans.get_finished_spans()):
            assert time.monotonic() < deadline, "the server span never ended"
            time.sleep(0.005)
        return response

    return request


def completed(records: list[logging.LogRecord]) -> logging.LogRecord:
    return next(r for r in records if event_of(r) == vocab.EVENT_REQUEST_COMPLETED)
