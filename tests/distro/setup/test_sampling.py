"""The ratio sampler is unbiased for UUID-shaped trace ids, where the stock one is not."""

from __future__ import annotations

import math
import random

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from rythmiq_otel.distro.context._correlation import new_trace_id
from rythmiq_otel.distro.setup._sampling import OneLookupParentBased, UuidTraceIdRatioSampler, build_sampler

IDS = 20_000


def _uuid_ids(seed: int) -> list[int]:
    random.seed(seed)
    return [new_trace_id() for _ in range(IDS)]


def _sampled(sampler: object, ids: list[int]) -> int:
    return sum(sampler.should_sample(None, trace_id, "span").decision.is_sampled() for trace_id in ids)


def _within_binomial(count: int, ratio: float) -> bool:
    # 5 standard deviations: a correct sampler fails this about once in 3.5 million runs.
    return abs(count - IDS * ratio) <= 5 * math.sqrt(IDS * ratio * (1 - ratio))


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.75])
def test_uuid_sampler_keeps_the_configured_share_of_uuid_shaped_ids(ratio: float) -> None:
    count = _sampled(UuidTraceIdRatioSampler(ratio), _uuid_ids(seed=7))
    assert _within_binomial(count, ratio), count


@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_stock_ratio_sampler_is_biased_on_the_same_ids(ratio: float) -> None:
    count = _sampled(TraceIdRatioBased(ratio), _uuid_ids(seed=7))
    assert not _within_binomial(count, ratio), count


def test_stock_ratio_sampler_samples_nothing_at_one_half_on_uuid_ids() -> None:
    assert _sampled(TraceIdRatioBased(0.5), _uuid_ids(seed=11)) == 0


def test_the_decision_depends_only_on_the_trace_id_so_every_service_agrees() -> None:
    ids = _uuid_ids(seed=3)[:500]
    first = [UuidTraceIdRatioSampler(0.3).should_sample(None, t, "a").decision for t in ids]
    second = [UuidTraceIdRatioSampler(0.3).should_sample(None, t, "b").decision for t in ids]
    assert first == second


@pytest.mark.parametrize(("ratio", "expected"), [(0.0, 0), (1.0, IDS)])
def test_ratio_bounds_sample_nothing_or_everything(ratio: float, expected: int) -> None:
    assert _sampled(UuidTraceIdRatioSampler(ratio), _uuid_ids(seed=5)) == expected


def test_out_of_range_ratio_is_refused_with_a_sentence() -> None:
    with pytest.raises(ValueError, match=r"ratio=1\.5 is out of range; expected a number between 0 and 1\."):
        UuidTraceIdRatioSampler(1.5)


def test_parent_based_ratio_follows_a_sampled_parent_even_when_the_ratio_is_zero() -> None:
    sampler = build_sampler("parentbased_traceidratio", 0.0)
    assert isinstance(sampler, ParentBased)
    parent = SpanContext(new_trace_id(), 1, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    context = trace.set_span_in_context(NonRecordingSpan(parent))
    assert sampler.should_sample(context, parent.trace_id, "child").decision.is_sampled()
    assert not sampler.should_sample(None, new_trace_id(), "root").decision.is_sampled()


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("always_on", "AlwaysOnSampler"),
        ("always_off", "AlwaysOffSampler"),
        ("traceidratio", "UuidTraceIdRatioSampler{0.25}"),
        ("parentbased_always_on", "ParentBased{root:AlwaysOnSampler"),
        ("parentbased_traceidratio", "ParentBased{root:UuidTraceIdRatioSampler{0.25}"),
    ],
)
def test_sampler_names_map_to_samplers(name: str, description: str) -> None:
    assert build_sampler(name, 0.25).get_description().startswith(description)


def _parents() -> list[object]:
    """Every kind of parent a span can have: none, invalid, remote and local, sampled and not, with state."""
    state = TraceState([("vendor", "value")])
    contexts: list[object] = [None, trace.set_span_in_context(NonRecordingSpan(trace.INVALID_SPAN_CONTEXT))]
    for remote in (True, False):
        for flags in (TraceFlags.DEFAULT, TraceFlags.SAMPLED):
            parent = SpanContext(new_trace_id(), 7, is_remote=remote, trace_flags=TraceFlags(flags),
                                 trace_state=state)
            contexts.append(trace.set_span_in_context(NonRecordingSpan(parent)))
    return contexts


@pytest.mark.parametrize("root", [ALWAYS_ON, ALWAYS_OFF, UuidTraceIdRatioSampler(0.5)])
def test_one_lookup_parent_based_decides_exactly_as_upstream_parent_based(root: Sampler) -> None:
    ours, upstream = OneLookupParentBased(root), ParentBased(root)
    ids = _uuid_ids(seed=13)[:200]
    for context in _parents():
        for trace_id in ids:
            for attributes in (None, {"a": 1}):
                got = ours.should_sample(context, trace_id, "span", attributes=attributes)
                expected = upstream.should_sample(context, trace_id, "span", attributes=attributes)
                assert (got.decision, dict(got.attributes), got.trace_state) == (
                    expected.decision, dict(expected.attributes), expected.trace_state
                )
    assert ours.get_description() == upstream.get_description()
