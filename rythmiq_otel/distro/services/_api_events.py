"""The api route events (§1.2 "Routes" and "Auth"): what a handler reports about the request it serves.

Handlers call these helpers; the request-events middleware (``_http_ingress``) opens a ``RequestInfo`` per
request and reads it back, so "Request completed" names the job and the user hash the handler learned.
``auth_succeeded`` and ``job_created`` also put ``user_id_hash`` / ``job_id`` into the request's baggage, so
the payload ``inject``-ed for the job platform carries them to the worker. No user details are logged:
only ``user_id_hash`` (§1.4).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import attach

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import with_baggage
from rythmiq_otel.distro.services._events import emit
from rythmiq_otel.pii import hash_user_id

__all__ = [
    "RequestInfo",
    "auth_failed",
    "auth_succeeded",
    "job_created",
    "job_status_queried",
    "output_delivered",
    "request_info",
]

_log = logging.getLogger(__name__)  # service from configuration: api or webhook


@dataclass
class RequestInfo:
    """What the handlers learned about the request, read back by the request-completed event."""

    job_id: str | None = None
    user_id_hash: str | None = None


_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar("rythmiq_req", default=None)


@contextlib.contextmanager
def request_info() -> Iterator[RequestInfo]:
    """The ``RequestInfo`` the helpers fill for the duration of one request."""
    info = RequestInfo()
    token = _request.set(info)
    try:
        yield info
    finally:
        _request.reset(token)


def _info() -> RequestInfo:
    return _request.get() or RequestInfo()


def auth_succeeded(user_id: str) -> str:
    """Log auth success (INFO) with only ``user_id_hash``; returns the hash, also set as baggage."""
    user_id_hash = hash_user_id(user_id)
    _info().user_id_hash = user_id_hash
    attach(with_baggage(user_id_hash=user_id_hash))
    emit(_log, logging.INFO, "Authentication succeeded", event=vocab.EVENT_AUTH_SUCCEEDED,
         user_id_hash=user_id_hash)
    return user_id_hash


def auth_failed(reason: str) -> None:
    """Log auth failure (WARN) with a short reason (``missing_token``, ``invalid_token``), no user details."""
    emit(_log, logging.WARNING, "Authentication failed", event=vocab.EVENT_AUTH_FAILED,
         extra={"reason": reason})


def job_created(job_id: str, **extra: Any) -> None:
    """Log the job created in pending state (INFO); sets ``job_id`` baggage for the payload and later logs."""
    _info().job_id = job_id
    attach(with_baggage(job_id=job_id))
    emit(_log, logging.INFO, "Job created in pending state", event=vocab.EVENT_JOB_CREATED, job_id=job_id,
         extra={"status": "pending", **extra})


def job_status_queried(job_id: str, status: str) -> None:
    """Log a status query (INFO) for ``job_id``; ``status`` is the job's current state."""
    _info().job_id = job_id
    emit(_log, logging.INFO, "Job status queried", event=vocab.EVENT_JOB_STATUS_QUERIED, job_id=job_id,
         extra={"status": status})


def output_delivered(job_id: str, *, size_bytes: int | None = None) -> None:
    """Log that the job's output went back to the user (INFO, stage ``delivery``); only its size."""
    _info().job_id = job_id
    emit(_log, logging.INFO, "Output delivered", event=vocab.EVENT_OUTPUT_DELIVERED, job_id=job_id,
         stage="delivery", extra={"output_size_bytes": size_bytes})
