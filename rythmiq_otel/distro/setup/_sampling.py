"""Trace samplers that stay unbiased for UUID-shaped trace ids.

Our trace ids are UUIDv4-shaped (DESIGN: correlation id == trace id). The stock ``TraceIdRatioBased``
samples when the low 64 bits are below ``ratio * 2**64``, but in a UUID the top two of those bits are the
RFC 4122 variant ``10``: the low 64 bits are always >= 2**63, so ratio 0.5 samples nothing and ratio 0.75
samples a third of what it should. :class:`UuidTraceIdRatioSampler` compares the low 62 bits instead, which
are random both in a UUIDv4 and in a W3C random trace id, so the decision is unbiased and the same in every
service that sees the trace id.

The ``parentbased_*`` samplers are :class:`OneLookupParentBased`: upstream's ``ParentBased`` decisions, made
with one look at the parent instead of two (it runs for every span a service starts).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from rythmiq_otel.distro.setup._settings import SAMPLER_GROUP

__all__ = ["OneLookupParentBased", "UuidTraceIdRatioSampler", "build_sampler"]

BUILT_IN = frozenset({
    "always_on", "always_off", "traceidratio",
    "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
})
_RANDOM_BITS = 62
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1


class UuidTraceIdRatioSampler(Sampler):
    """Samples a trace when its low 62 bits, read as a fraction, fall below ``ratio``."""

    def __init__(self, ratio: float) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio={ratio!r} is out of range; expected a number between 0 and 1.")
        self.ratio = ratio
        self.bound = round(ratio * (1 << _RANDOM_BITS))

    def should_sample(  # noqa: PLR0917 -- the signature is the SDK Sampler interface
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if trace_id & _RANDOM_MASK < self.bound else Decision.DROP
        if trace_state is None:
            trace_state = get_current_span(parent_context).get_span_context().trace_state
        return SamplingResult(decision, attributes if decision.is_sampled() else None, trace_state)

    def get_description(self) -> str:
        return f"UuidTraceIdRatioSampler{{{self.ratio}}}"


class OneLookupParentBased(ParentBased):
    """``ParentBased(root)`` with its default delegates: the same decision, attributes and trace state.

    A span with a valid parent, remote or local, is sampled exactly when the parent was (upstream's
    ``ALWAYS_ON`` / ``ALWAYS_OFF`` delegates, which keep the parent's trace state and drop the attributes
    of a span they drop); a root span asks ``root``. Upstream finds the parent span twice and calls the
    delegate by keyword for every span; this finds it once (bench/RESULTS.md, Issue 13).
    """

    def should_sample(  # noqa: PLR0917 -- the signature is the SDK Sampler interface
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent is None or not parent.is_valid:
            return self._root.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        if parent.trace_flags.sampled:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
        return SamplingResult(Decision.DROP, None, parent.trace_state)


def build_sampler(name: str, ratio: float) -> Sampler:
    """The sampler for ``OTEL_TRACES_SAMPLER`` = ``name`` and ``OTEL_TRACES_SAMPLER_ARG`` = ``ratio``.

    ``name`` and ``ratio`` are already validated by ``_settings``.
    """
    root: Sampler
    if name not in BUILT_IN:
        # an installed opentelemetry_traces_sampler entry point: a factory of the ratio, as upstream calls it
        (entry_point,) = entry_points(group=SAMPLER_GROUP, name=name)
        return entry_point.load()(ratio)
    base = name.removeprefix("parentbased_")
    if base == "always_on":
        root = ALWAYS_ON
    elif base == "always_off":
        root = ALWAYS_OFF
    else:
        root = UuidTraceIdRatioSampler(ratio)
    return OneLookupParentBased(root) if name.startswith("parentbased_") else root
