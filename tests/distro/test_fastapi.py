"""FastAPI: ingress rules, X-Correlation-ID on every response, the §1.2 request events, the route helpers.

A real uvicorn server on 127.0.0.1 (in a thread of the test process, so its spans and records can be read
back) serves an app instrumented with ``instrument_app``; requests go over real HTTP with httpx.
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
from rythmiq_otel.distro import _api_events, _http_ingress
from rythmiq_otel.distro._api_events import (
    auth_failed,
    auth_succeeded,
    job_created,
    job_status_queried,
    output_delivered,
)
from rythmiq_otel.distro._fastapi import instrument_app
from rythmiq_otel.pii import hash_user_id
from tests.distro.recording import collect, spans

__all__ = ["spans"]

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


def event_of(record: logging.LogRecord) -> str | None:
    return getattr(record, vocab.EVENT_FIELD, None)


def completed(records: list[logging.LogRecord]) -> logging.LogRecord:
    return next(r for r in records if event_of(r) == vocab.EVENT_REQUEST_COMPLETED)


@pytest.mark.parametrize(("path", "status"), [
    ("/items/1", 200), ("/items/missing", 404), ("/nowhere", 404), ("/boom", 500), ("/stream", 200),
])
def test_every_response_carries_the_trace_id_as_x_correlation_id(spans, call, path, status):
    response = call(path)
    assert response.status_code == status
    header = response.headers[vocab.CORRELATION_HEADER]
    assert uuid.UUID(header).version == 4
    server = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [str(uuid.UUID(int=s.context.trace_id)) for s in server] == [header]


def test_a_valid_client_correlation_id_becomes_the_trace_id_unchanged(spans, call):
    response = call("/items/1", **{vocab.CORRELATION_HEADER: CALLER_ID.upper()})
    assert response.headers[vocab.CORRELATION_HEADER] == CALLER_ID
    server = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert server.parent is None
    assert str(uuid.UUID(int=server.context.trace_id)) == CALLER_ID


def test_a_valid_traceparent_wins_and_the_server_span_is_its_child(spans, call):
    trace_id = uuid.uuid4().hex
    response = call("/items/1", traceparent=f"00-{trace_id}-00f067aa0ba902b7-01",
                   **{vocab.CORRELATION_HEADER: CALLER_ID})
    assert response.headers[vocab.CORRELATION_HEADER] == str(uuid.UUID(trace_id))


@pytest.mark.parametrize("garbage", ["hello", CALLER_ID + "0", "7c9e6679-7425-40de-944b-\t07fc1f90ae7"])
def test_an_invalid_correlation_header_is_replaced_and_warned_without_its_value(call, records, garbage):
    response = call("/items/1", **{vocab.CORRELATION_HEADER: garbage})
    issued = response.headers[vocab.CORRELATION_HEADER]
    assert issued != garbage and uuid.UUID(issued).version == 4
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert vocab.CORRELATION_HEADER in warnings[0].getMessage()
    assert garbage not in warnings[0].getMessage()


def test_request_events_use_the_route_template_never_the_raw_url(call, records):
    call(f"/items/{JOB_ID}?email=jane@example.com")
    started, done = (r for r in records if event_of(r) in (vocab.EVENT_REQUEST_STARTED,
                                                           vocab.EVENT_REQUEST_COMPLETED))
    assert (started.levelno, started.http_method) == (logging.INFO, "GET")
    assert started.http_path == "/items/{item_id}"
    assert (done.http_path, done.http_status) == ("/items/{item_id}", 200)
    assert done.latency_ms > 0


@pytest.mark.parametrize(("path", "level"), [
    ("/items/1", logging.INFO), ("/items/missing", logging.WARNING), ("/boom", logging.ERROR),
])
def test_request_completed_level_follows_the_status_class(call, records, path, level):
    call(path)
    assert completed(records).levelno == level


def test_an_unmatched_route_is_logged_without_a_path(call, records):
    call("/users/jane@example.com")
    assert completed(records).http_status == 404
    assert not hasattr(completed(records), "http_path")


def test_job_created_and_auth_put_ids_on_the_request_completed_event(call, records):
    response = call("/jobs", "POST")
    assert response.status_code == 200
    auth = next(r for r in records if event_of(r) == vocab.EVENT_AUTH_SUCCEEDED)
    created = next(r for r in records if event_of(r) == vocab.EVENT_JOB_CREATED)
    assert auth.user_id_hash == hash_user_id("user-0001")
    assert "user-0001" not in str(auth.__dict__)
    assert (created.levelno, created.job_id, created.getMessage()) == (
        logging.INFO, JOB_ID, "Job created in pending state")
    done = completed(records)
    assert (done.job_id, done.user_id_hash, done.http_status) == (JOB_ID, hash_user_id("user-0001"), 200)


def test_status_query_and_output_delivery_events(call, records):
    call(f"/jobs/{JOB_ID}")
    queried = next(r for r in records if event_of(r) == vocab.EVENT_JOB_STATUS_QUERIED)
    delivered = next(r for r in records if event_of(r) == vocab.EVENT_OUTPUT_DELIVERED)
    assert (queried.job_id, queried.extra) == (JOB_ID, {"status": "completed"})
    assert (delivered.stage, delivered.extra) == ("delivery", {"output_size_bytes": 12})
    assert completed(records).http_path == "/jobs/{job_id}"


def test_auth_failure_is_a_warning_with_a_reason_only(call, records):
    assert call("/private").status_code == 401
    failed = next(r for r in records if event_of(r) == vocab.EVENT_AUTH_FAILED)
    assert (failed.levelno, failed.extra) == (logging.WARNING, {"reason": "invalid_token"})
    assert not hasattr(failed, "user_id_hash")


def test_instrumenting_twice_logs_each_request_once(call, records):
    call("/items/1")
    assert [event_of(r) for r in records] == [vocab.EVENT_REQUEST_STARTED, vocab.EVENT_REQUEST_COMPLETED]


def test_a_client_baggage_header_cannot_assert_job_or_user_ids(call, records):
    response = call("/items/1", baggage=f"job_id={JOB_ID},user_id_hash=forged,correlation_id={CALLER_ID},k=v")
    trace_id = response.headers[vocab.CORRELATION_HEADER]
    assert [r.baggage_at_emit for r in records] == [{"correlation_id": trace_id, "k": "v"}] * 2


def test_job_created_puts_the_ids_into_the_baggage_the_payload_will_carry(call, records):
    call("/jobs", "POST")
    created = next(r for r in records if event_of(r) == vocab.EVENT_JOB_CREATED)
    assert created.baggage_at_emit[vocab.BAGGAGE_JOB_ID] == JOB_ID
    assert created.baggage_at_emit[vocab.BAGGAGE_USER_ID_HASH] == hash_user_id("user-0001")
