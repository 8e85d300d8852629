"""The webhook handler's context: continue the job's trace from the body, log only metadata (§1.2, §1.4).

The job platform calls the webhook with the worker's result; the body carries the trace context back
(``inject`` in the worker, ``extract`` here), so the webhook's events land in the same trace -- and under
the same correlation id -- as the api request that created the job. The HTTP request that delivered the
body is a different trace (the platform does not propagate headers); the webhook span links to it.

The body itself is never logged (§1.4 "webhook payload bodies"): only the job id, the result status, a
known error code, and the body's size.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import canonical_uuid
from rythmiq_otel.distro.context._payload import consumer_span, extract_reporting
from rythmiq_otel.distro.logs._loggers import get_logger
from rythmiq_otel.distro.services._events import emit

__all__ = ["WebhookRun", "webhook_context"]

_log = get_logger(__name__, "webhook")
_tracer = trace.get_tracer("rythmiq_otel.webhook")
_RESULT_STATUSES = ("success", "failed", "completed")


def _metadata(body: Any) -> tuple[str | None, str, str | None]:
    """(job_id, status, error_code) from the body, each bounded: an id only if a UUID, known values only."""
    if not isinstance(body, Mapping):
        return None, vocab.OTHER, None
    status = body.get("status")
    error_code = body.get("error_code")
    return (
        canonical_uuid(body.get("job_id")),
        status if status in _RESULT_STATUSES else vocab.OTHER,
        error_code if error_code in vocab.ERROR_CODES else (vocab.OTHER if error_code else None),
    )


@dataclass
class WebhookRun:
    """The webhook call being handled; the handler reports its outcome with ``processed`` or ``rejected``."""

    job_id: str | None
    status: str
    error_code: str | None

    def processed(self, job_status: str) -> None:
        """The job moved to ``job_status`` (``completed`` / ``failed``): INFO webhook.processed."""
        emit(_log, logging.INFO, f"Job transitioned to {job_status}", event=vocab.EVENT_WEBHOOK_PROCESSED,
             job_id=self.job_id, error_code=self.error_code, extra={"status": job_status})

    def rejected(self, reason: str) -> None:
        """The call was refused (``bad_signature``, ``unknown_job``, ...): WARN webhook.rejected, no body."""
        emit(_log, logging.WARNING, "Camber webhook rejected", event=vocab.EVENT_WEBHOOK_REJECTED,
             job_id=self.job_id, extra={"reason": reason})


@contextlib.contextmanager
def webhook_context(body: Any, *, size_bytes: int | None = None) -> Iterator[WebhookRun]:
    """Handle one webhook call inside the job's trace; logs webhook.received (INFO) on entry.

    ``body`` is the decoded JSON body (anything: a bad body costs a WARN and a fresh trace, never an
    exception); ``size_bytes`` is the raw body length, logged as metadata.
    """
    link = trace.get_current_span().get_span_context()
    context, problems = extract_reporting(body)
    job_id, status, error_code = _metadata(body)
    links = [Link(link)] if link.is_valid else None
    with consumer_span(_tracer, "webhook camber", context, problems, job_id=job_id, links=links):
        emit(_log, logging.INFO, "Camber webhook received", event=vocab.EVENT_WEBHOOK_RECEIVED,
             job_id=job_id, error_code=error_code, extra={"status": status, "content_length": size_bytes})
        yield WebhookRun(job_id, status, error_code)
