"""Mapping OTLP metrics to ``metric_points`` rows: a pure function, no I/O.

Gauges and sums store ``value``; histograms store count/sum/min/max and the explicit bucket bounds and
counts. Delta and cumulative points are stored as sent, with their temporality, so the store's rollups can
turn cumulative series into increments. Exponential histograms are converted to explicit bounds
(``base ** index`` edges, negative values folded into the first bucket) and summaries keep count and sum;
both are counted as conversions. Dedup key: a hash of resource, scope, metric name and the point's own
protobuf encoding, so a redelivered point conflicts and is dropped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ._context import MapContext
from ._origin import dedup_key, dumps, origins
from ._rows import MetricPointRow
from ._values import from_unix_nano, key_text, storable_float, valid_time_ns
from ._wire_attributes import MetricsWire, WireAttributes, as_wire

_TEMPORALITY = ("unspecified", "delta", "cumulative")
_NO_RECORDED_VALUE = 1
_BIGINT_LIMIT = 2**63  # counts are uint64 on the wire, bigint in Postgres
#: Buckets one histogram point may have: the SDKs' exponential default is 160, and 4 million buckets took
#: 13 s and 1.5 GB to convert. A point with more is rejected before its buckets are touched.
MAX_BUCKETS = 1024
#: Budget of a point's rollup key (name + service + attributes jsonb + bounds); B-tree entries hold ~2.7 kB.
MAX_SERIES_KEY_BYTES = 2400


@dataclass(frozen=True, slots=True)
class _Metric:
    """What every point of one metric shares."""

    name: str
    identity: Any  # the MD5 state after the origin and the metric name (``_origin.dedup_key``)
    resource_json: str
    service: str | None
    temporality: str
    #: UTF-8 bytes of name and service, the fixed part of every point's rollup key (``_series_key_bytes``).
    key_bytes: int
    is_monotonic: bool | None = None


def metric_point_rows(request: Any, ctx: MapContext) -> Iterator[MetricPointRow]:
    """Yield one ``MetricPointRow`` per acceptable data point of an ``ExportMetricsServiceRequest``."""
    attributes = WireAttributes(ctx)
    for origin, metrics in origins(as_wire(request, MetricsWire).resource_metrics, "scope_metrics", "metrics",
                                   ctx):
        for metric in metrics:
            name = ctx.scrubber.text(key_text(metric.name, ctx.repairs), "metric.name", ctx.redactions)
            kind = metric.WhichOneof("data")
            if kind is None:
                ctx.reject("metrics", "metric_without_data", f"metric {name[:80]!r} carries no data")
                continue
            data = getattr(metric, kind)
            name_bytes = name.encode()
            identity = origin.identity.copy()
            identity.update(name_bytes + b"\x00")
            shared = _Metric(
                name=name,
                identity=identity,
                resource_json=origin.resource_json,
                service=origin.service,
                temporality=_temporality(kind, data),
                key_bytes=len(name_bytes) + (len(origin.service.encode()) if origin.service else 0),
                is_monotonic=data.is_monotonic if kind == "sum" else None,
            )
            if kind in ("exponential_histogram", "summary"):
                ctx.repairs[f"{kind}_converted"] += len(data.data_points)
            for point in data.data_points:
                row = _point(point, kind, shared, ctx, attributes)
                if row is not None:
                    yield row


def _temporality(kind: str, data: Any) -> str:
    if kind == "summary":
        return "cumulative"
    if kind == "gauge":
        return "unspecified"
    code = data.aggregation_temporality
    return _TEMPORALITY[code] if 0 <= code < len(_TEMPORALITY) else "unspecified"


def _point(
    point: Any, kind: str, metric: _Metric, ctx: MapContext, attributes: WireAttributes
) -> MetricPointRow | None:
    name = metric.name[:80]
    if point.flags & _NO_RECORDED_VALUE:
        ctx.repairs["no_recorded_value"] += 1
        return None
    if not valid_time_ns(point.time_unix_nano, ctx.horizon_ns):
        ctx.reject("metrics", "point_without_valid_time",
                   f"metric {name!r} has a point with time_unix_nano={point.time_unix_nano} out of range")
        return None
    value = count = total = low = high = bounds = counts = None
    if kind in ("gauge", "sum"):
        value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
    else:
        try:
            count, total, low, high, bounds, counts = _distribution(point, kind)
        except _BadPoint as bad:
            ctx.reject("metrics", bad.reason, f"metric {name!r} {bad}")
            return None
    for number in (value, total, low, high):
        if number is not None and not storable_float(number):
            reason = "non_finite_value" if not math.isfinite(number) else "value_out_of_range"
            ctx.reject("metrics", reason, f"metric {name!r} has a point value {number}")
            return None
    start = point.start_time_unix_nano
    attrs = dumps(attributes(point.attributes))
    if _series_key_bytes(metric, attrs, bounds) > MAX_SERIES_KEY_BYTES:
        ctx.reject("metrics", "series_key_too_large",
                   f"metric {name!r} has a point whose name, service, attributes and bucket bounds "
                   f"exceed the {MAX_SERIES_KEY_BYTES} bytes a rollup key can hold")
        return None
    return MetricPointRow(
        time=from_unix_nano(point.time_unix_nano),
        start_time=from_unix_nano(start) if valid_time_ns(start, ctx.horizon_ns) else None,
        metric_name=metric.name,
        kind="histogram" if kind not in ("gauge", "sum") else kind,
        temporality=metric.temporality,
        is_monotonic=metric.is_monotonic,
        service=metric.service,
        attributes=attrs,
        resource=metric.resource_json,
        value=value, count=count, sum=total, min=low, max=high,
        bucket_bounds=bounds, bucket_counts=counts,
        dedup_key=dedup_key(metric.identity, point),
    )


class _BadPoint(ValueError):
    """A histogram or summary point that cannot be stored; ``reason`` is the repairs counter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _distribution(point: Any, kind: str) -> tuple[int, float | None, float | None, float | None,
                                                    list[float], list[int]]:
    """(count, sum, min, max, bounds, counts) of a histogram, exponential histogram or summary point,
    validated like a gauge's value: bucket counts that add up to ``count``, finite increasing bounds."""
    has = point.HasField
    count = point.count
    total = point.sum if kind == "summary" or has("sum") else None
    low = point.min if kind != "summary" and has("min") else None
    high = point.max if kind != "summary" and has("max") else None
    if kind == "histogram":
        if len(point.bucket_counts) > MAX_BUCKETS:
            raise _BadPoint("too_many_buckets",
                            f"has {len(point.bucket_counts)} buckets (limit {MAX_BUCKETS})")
        bounds, counts = list(point.explicit_bounds), list(point.bucket_counts)
        if counts and len(counts) != len(bounds) + 1:
            raise _BadPoint("histogram_bucket_mismatch",
                            f"has {len(counts)} bucket counts for {len(bounds)} bounds")
    elif kind == "exponential_histogram":
        buckets = len(point.positive.bucket_counts) + len(point.negative.bucket_counts)
        if buckets > MAX_BUCKETS:
            raise _BadPoint("too_many_buckets", f"has {buckets} buckets (limit {MAX_BUCKETS})")
        try:
            bounds, counts = exponential_to_explicit(point)
        except OverflowError:
            raise _BadPoint("exponential_scale_out_of_range",
                            f"has scale {point.scale}, whose bucket edges overflow a double") from None
    else:
        bounds, counts = [], [count]
    if count >= _BIGINT_LIMIT or any(c >= _BIGINT_LIMIT for c in counts):
        raise _BadPoint("count_out_of_range", "has a count beyond 2**63 - 1")
    if counts and sum(counts) != count:
        raise _BadPoint("histogram_count_mismatch",
                        f"has bucket counts adding up to {sum(counts)}, not its count {count}")
    if not all(storable_float(bound) for bound in bounds) or any(
            later <= earlier for earlier, later in itertools.pairwise(bounds)):
        raise _BadPoint("histogram_invalid_bounds",
                        "has bucket bounds that are not finite, increasing and within 1e100")
    return count, total, low, high, bounds, counts


def _series_key_bytes(metric: _Metric, attributes_json: str, bounds: list[float] | None) -> int:
    """An upper bound of the size of the point's ``metric_rollups`` primary key entry.

    The key holds name, service, attributes (as ``jsonb``) and bucket bounds; a B-tree entry over about
    2.7 kB fails the rollup for every series, so such a point is refused here instead.
    """
    size = metric.key_bytes + 8 * len(bounds or ()) + len(attributes_json.encode())
    if size + 16 * len(attributes_json) <= MAX_SERIES_KEY_BYTES:
        return size  # each JSON value takes 2+ characters and jsonb < 32 bytes on it: small needs no walk
    return size + _jsonb_overhead(orjson.loads(attributes_json))


def _jsonb_overhead(value: Any) -> int:
    """Bytes ``jsonb`` may spend beyond the JSON text on ``value``: entry headers, alignment, numerics."""
    if isinstance(value, dict):
        return 8 + sum(12 + _jsonb_overhead(item) for item in value.values())
    if isinstance(value, list):
        return 8 + sum(8 + _jsonb_overhead(item) for item in value)
    return 24 if isinstance(value, int | float) and not isinstance(value, bool) else 0


def exponential_to_explicit(point: Any) -> tuple[list[float], list[int]]:
    """Explicit (bounds, counts) of an exponential histogram point.

    The first bucket holds zero and negative values (upper edge ``base ** offset``); positive bucket ``i``
    covers ``(base ** (offset + i), base ** (offset + i + 1)]``, the last one open-ended as explicit
    histograms require.
    """
    base = 2.0 ** (2.0 ** -point.scale)
    offset = point.positive.offset
    positive = list(point.positive.bucket_counts)
    counts = [point.zero_count + sum(point.negative.bucket_counts), *positive]
    bounds = [base ** (offset + i) for i in range(len(positive))]
    return bounds, counts
