"""The job payload carries the trace: ``inject`` on the way out, ``extract`` on the way in (spec §2.2).

The api hands the job platform (Camber) a JSON payload; the worker reads it from STDIN; the worker's result
comes back in the webhook body. None of these hops are HTTP requests we control end to end, so the W3C
trace context (``traceparent``, ``tracestate``, ``baggage``) rides inside the dict itself, next to the plain
``correlation_id`` key the spec shows. ``extract`` must never lose a job: a payload from before this change
(no context), a mangled ``traceparent`` or a baggage string past the W3C size limit each cost one WARN and
a fresh trace -- or the plain ``correlation_id`` when that is a valid UUID -- never an exception.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context, attach, detach

from rythmiq_otel import vocab
from rythmiq_otel.distro.context._correlation import (
    baggage_context,
    correlation_id_from_trace_id,
    correlation_id_or_new,
    current_correlation_id,
    trace_id_from_correlation_id,
    with_baggage,
)

__all__ = ["consumer_span", "extract", "extract_reporting", "inject", "log_problems"]

_log = logging.getLogger(__name__)

# W3C Baggage: a propagator must accept at least 8192 bytes in total; more is oversize.
MAX_BAGGAGE_LENGTH = 8192
# A traceparent is 55 characters; tracestate is capped at 32 members of 256 characters by W3C.
_MAX_TRACEPARENT_LENGTH = 128
_MAX_TRACESTATE_LENGTH = 32 * 257
_MAX_LENGTHS = {
    "traceparent": _MAX_TRACEPARENT_LENGTH,
    "tracestate": _MAX_TRACESTATE_LENGTH,
    "baggage": MAX_BAGGAGE_LENGTH,
}


def inject(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``payload`` carrying the current trace context and the plain ``correlation_id``.

    The input is not modified. Outside any trace the payload is returned unchanged (copied), so calling
    ``inject`` is always safe.
    """
    out = dict(payload)
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    for key in vocab.PAYLOAD_CONTEXT_KEYS:
        out.pop(key, None)
        if key in carrier:
            out[key] = carrier[key]
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        out[vocab.PAYLOAD_CORRELATION_KEY] = correlation_id
    return out


def _context_carrier(payload: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The payload's usable W3C keys, and the names of keys dropped as malformed or oversize."""
    carrier: dict[str, str] = {}
    dropped: list[str] = []
    for key in vocab.PAYLOAD_CONTEXT_KEYS:
        value = payload.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > _MAX_LENGTHS[key]:
            dropped.append(key)
            continue
        carrier[key] = value
    return carrier, dropped


def _synthetic_parent(trace_id: int) -> Context:
    """A remote parent in trace ``trace_id``, so spans started under it continue that correlation id."""
    span_context = trace.SpanContext(
        trace_id=trace_id,
        span_id=random.getrandbits(64) or 1,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context), Context())


def extract(payload: Any) -> Context:
    """Return the context a job payload (or webhook body) continues; start spans under it.

    Order: a valid ``traceparent`` (with its ``tracestate`` and ``baggage``); else the plain
    ``correlation_id`` when it is a valid UUID (the trace continues under that id); else an empty context,
    so the next span starts a fresh trace. Every fallback logs one WARN naming the key, never its value.
    The returned context's baggage ``correlation_id`` always matches its trace when there is one.
    """
    context, problems = extract_reporting(payload)
    log_problems(problems)
    return context


def log_problems(problems: list[str]) -> None:
    """Log what ``extract_reporting`` found, one WARN each (call it inside the span it concerns)."""
    for problem in problems:
        _log.warning(problem)


def extract_reporting(payload: Any) -> tuple[Context, list[str]]:
    """``extract`` without logging: the context and the WARN messages it owes.

    The worker and webhook contexts log them once their span is open, so the warnings carry the job's
    correlation id instead of none.
    """
    if not isinstance(payload, Mapping):
        kind = type(payload).__name__
        return Context(), [f"Job payload is not a JSON object ({kind}); starting a fresh trace"]
    problems: list[str] = []
    carrier, dropped = _context_carrier(payload)
    if dropped:
        keys = ", ".join(sorted(dropped))
        problems.append(f"Ignored malformed or oversize trace context in payload: {keys}")
    context = propagate.extract(carrier)
    parent = trace.get_current_span(context).get_span_context()
    plain = payload.get(vocab.PAYLOAD_CORRELATION_KEY)
    plain_trace_id = trace_id_from_correlation_id(plain) if isinstance(plain, str) else None
    if parent.is_valid:
        if plain is not None and plain_trace_id != parent.trace_id:
            problems.append("Payload correlation_id disagrees with its traceparent; the traceparent wins")
        trace_id = parent.trace_id
    elif plain_trace_id is not None:
        if "traceparent" in carrier or "traceparent" in dropped:
            problems.append("Payload traceparent is invalid; continuing the trace of its correlation_id")
        else:
            problems.append("Payload carries no trace context (an older producer?); using its correlation_id")
        parent_context = _synthetic_parent(plain_trace_id)
        for key, value in baggage.get_all(context).items():
            parent_context = baggage.set_baggage(key, value, parent_context)
        context = parent_context
        trace_id = plain_trace_id
    else:
        what = "an invalid correlation_id" if plain is not None else "no usable trace context"
        problems.append(f"Payload has {what}; starting a fresh trace")
        # Keep job_id / user_id_hash baggage; a stale correlation_id would contradict the new trace.
        return baggage.remove_baggage(vocab.BAGGAGE_CORRELATION_ID, context), problems
    return with_baggage(context, correlation_id=correlation_id_from_trace_id(trace_id)), problems


@contextlib.contextmanager
def consumer_span(
    tracer: trace.Tracer,
    name: str,
    context: Context,
    problems: list[str],
    *,
    job_id: str | None,
    links: Sequence[trace.Link] | None = None,
) -> Iterator[trace.Span]:
    """Handle one job hop (worker, webhook) in the trace ``extract_reporting`` found: a CONSUMER span.

    ``job_id`` goes on the span and, with the correlation id, into baggage for every record inside; the
    ``problems`` are logged once the span is open, so the warnings carry the job's ids.
    """
    token = attach(context)
    try:
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CONSUMER, links=links) as span:
            if job_id is not None:
                span.set_attribute(vocab.BAGGAGE_JOB_ID, job_id)
            with baggage_context(correlation_id=correlation_id_or_new(), job_id=job_id):
                log_problems(problems)
                yield span
    finally:
        detach(token)
