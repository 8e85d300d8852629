"""Correlation id == trace id: conversions, the UUID-shaped id generator, ingress rules and baggage.

The spec (§2.1) wants a UUID v4 correlation id on every log line of a job; OpenTelemetry already carries a
128-bit trace id through every hop. Making them the same number means one id serves logs, spans and the
§2.3 timeline, and nothing has to be propagated twice. This module holds the rules that keep that true:

* ``correlation_id_from_trace_id`` / ``trace_id_from_correlation_id`` convert between the two spellings;
  ``spellings`` caches both spellings of the current trace (every log line and span of a job needs them);
* ``UuidTraceIdGenerator`` makes new trace ids UUIDv4-shaped, and lets ingress hand it the caller's
  ``X-Correlation-ID`` so that id becomes the trace id instead of being rewritten;
* ``resolve_ingress`` applies the ingress order: valid ``traceparent`` > valid ``X-Correlation-ID`` > new id;
* ``baggage_context`` puts correlation_id / job_id / user_id_hash into W3C baggage so every downstream
  record and span carries them (never metric labels: those stay bounded).
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context, attach, detach, get_current
from opentelemetry.sdk.trace.id_generator import IdGenerator

from rythmiq_otel import vocab

__all__ = [
    "Ingress",
    "UuidTraceIdGenerator",
    "baggage_context",
    "canonical_uuid",
    "correlation_id_from_trace_id",
    "correlation_id_or_new",
    "current_correlation_id",
    "new_trace_id",
    "pending_trace_id",
    "resolve_ingress",
    "spellings",
    "trace_correlation_id",
    "trace_id_from_correlation_id",
    "with_baggage",
]

# Canonical 8-4-4-4-12 spelling only: braces, URNs and bare hex are "valid UUIDs" to uuid.UUID() but would
# come back out in a different spelling, which would rewrite the caller's id.
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID_LENGTH = 36
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_VERSION_4_MASK = ~(0xF << 76) & ((1 << 128) - 1)
_VARIANT_MASK = ~(0x3 << 62) & ((1 << 128) - 1)

# (trace_id, hex, correlation_id) of the last trace spelled; replaced whole, so threads never read a torn
# entry (at worst they recompute).
_last_spelled: list[tuple[int, str, str]] = [(0, "", "")]
# The trace id the next root span in this context must use (set by ingress, consumed by the generator).
_pending: contextvars.ContextVar[int | None] = contextvars.ContextVar("rythmiq_pending_trace", default=None)


def correlation_id_from_trace_id(trace_id: int) -> str:
    """Spell a 128-bit trace id the way the spec spells correlation ids: ``8-4-4-4-12`` lower-case hex."""
    return str(uuid.UUID(int=trace_id))


def trace_id_from_correlation_id(value: str) -> int | None:
    """Return the trace id a correlation id stands for, or ``None`` when it is not a usable UUID.

    Only the canonical hyphenated spelling is accepted (any case); the all-zero UUID is rejected because
    it is W3C's invalid trace id.
    """
    if not isinstance(value, str) or len(value) != _UUID_LENGTH or not _UUID_RE.fullmatch(value):
        return None
    trace_id = int(value.replace("-", ""), 16)
    return trace_id or None


def canonical_uuid(value: object) -> str | None:
    """``value`` in lower case when it is a usable UUID (``trace_id_from_correlation_id``), else ``None``."""
    if isinstance(value, str) and trace_id_from_correlation_id(value) is not None:
        return value.lower()
    return None


def spellings(trace_id: int) -> tuple[str, str]:
    """``(hex, correlation_id)`` for ``trace_id``: computed once per trace, not once per line or span."""
    cached = _last_spelled[0]
    if cached[0] != trace_id:
        cached = (trace_id, format(trace_id, "032x"), correlation_id_from_trace_id(trace_id))
        _last_spelled[0] = cached
    return cached[1], cached[2]


def trace_correlation_id() -> str | None:
    """The current span's trace id as a correlation id, or ``None`` outside any valid span context."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return spellings(span_context.trace_id)[1]


def current_correlation_id() -> str | None:
    """The correlation id in force: the current trace's, else a valid one in baggage, else ``None``.

    The baggage fallback keeps one id per job when no span is recorded at all (``OTEL_SDK_DISABLED``):
    ingress and the job/webhook contexts put the id into baggage, and the JSON lines still carry it.
    """
    from_trace = trace_correlation_id()
    if from_trace is not None:
        return from_trace
    return canonical_uuid(baggage.get_baggage(vocab.BAGGAGE_CORRELATION_ID))


def correlation_id_or_new() -> str:
    """``current_correlation_id()``, or a fresh UUIDv4 id when there is none (a job must have one id)."""
    return current_correlation_id() or correlation_id_from_trace_id(new_trace_id())


def new_trace_id() -> int:
    """A fresh random trace id shaped as a UUID v4 (version nibble 4, RFC 4122 variant bits)."""
    value = random.getrandbits(128)
    value = (value & _VERSION_4_MASK) | (0x4 << 76)
    return (value & _VARIANT_MASK) | (0x2 << 62)


class UuidTraceIdGenerator(IdGenerator):
    """The TracerProvider's id generator: UUIDv4-shaped trace ids, or the id ingress asked for.

    Ingress (``pending_trace_id``) names the trace id the request's root span must get -- the caller's
    ``X-Correlation-ID`` -- and the generator hands it out once; other root spans get ``new_trace_id()``.
    """

    def generate_span_id(self) -> int:
        span_id = random.getrandbits(64)
        while span_id == trace.INVALID_SPAN_ID:
            span_id = random.getrandbits(64)
        return span_id

    def generate_trace_id(self) -> int:
        pending = _pending.get()
        if pending is not None:
            _pending.set(None)
            return pending
        return new_trace_id()

    def is_trace_id_random(self) -> bool:
        # Caller-chosen ids (X-Correlation-ID) carry no randomness guarantee, so never claim W3C "random".
        return False


@contextlib.contextmanager
def pending_trace_id(trace_id: int) -> Iterator[None]:
    """Make the next root span started in this context use ``trace_id`` (ingress without a traceparent)."""
    token = _pending.set(trace_id)
    try:
        yield
    finally:
        _pending.reset(token)


IngressSource = Literal["traceparent", "header", "generated"]


@dataclass(frozen=True)
class Ingress:
    """What a request's incoming headers decide: its trace id and where that came from.

    ``rejected_header`` names why an ``X-Correlation-ID`` was ignored (never its value), or is ``None``.
    """

    trace_id: int
    source: IngressSource
    rejected_header: str | None = None

    @property
    def correlation_id(self) -> str:
        return correlation_id_from_trace_id(self.trace_id)


def _header_problem(value: str) -> str | None:
    if len(value) > _UUID_LENGTH:
        return "longer than a UUID"
    if _CONTROL_RE.search(value):
        return "contains control characters"
    if trace_id_from_correlation_id(value) is None:
        return "not a UUID"
    return None


def resolve_ingress(headers: Mapping[str, str]) -> Ingress:
    """Apply the ingress rules to a request's headers (keys lower-case, as ASGI gives them).

    A valid ``traceparent`` (read by the configured propagators, as the server span will read it) wins;
    else a valid UUID in ``X-Correlation-ID`` becomes the trace id; else a new UUIDv4-shaped id. An invalid
    ``X-Correlation-ID`` is reported in ``rejected_header`` and logged by the caller without its value.
    """
    parent = trace.get_current_span(propagate.extract(headers)).get_span_context()
    raw = headers.get(vocab.CORRELATION_HEADER.lower())
    problem = None if raw is None else _header_problem(raw)
    if parent.is_valid:
        return Ingress(parent.trace_id, "traceparent", problem)
    if raw is not None and problem is None:
        return Ingress(int(raw.replace("-", ""), 16), "header")
    return Ingress(new_trace_id(), "generated", problem)


def with_baggage(
    context: Context | None = None,
    *,
    correlation_id: str | None = None,
    job_id: str | None = None,
    user_id_hash: str | None = None,
) -> Context:
    """Return ``context`` (default: current) with the given ids set as W3C baggage; ``None`` leaves a key."""
    ctx = context if context is not None else get_current()
    for key, value in (
        (vocab.BAGGAGE_CORRELATION_ID, correlation_id),
        (vocab.BAGGAGE_JOB_ID, job_id),
        (vocab.BAGGAGE_USER_ID_HASH, user_id_hash),
    ):
        if value is not None:
            ctx = baggage.set_baggage(key, value, ctx)
    return ctx


@contextlib.contextmanager
def baggage_context(
    *, correlation_id: str | None = None, job_id: str | None = None, user_id_hash: str | None = None
) -> Iterator[None]:
    """Attach the ids as baggage for the duration of the block (the current span keeps running)."""
    token = attach(with_baggage(correlation_id=correlation_id, job_id=job_id, user_id_hash=user_id_hash))
    try:
        yield
    finally:
        detach(token)
