"""Mapping OTLP metrics to ``metric_points`` rows: a pure function, no I/O.

Gauges and sums store ``value``; histograms store count/sum/min/max and the explicit bucket bounds and
counts. Delta and cumulative points are stored as sent, with their temporality, so the store's rollups can
turn cumulative series into increments. Exponential histograms are converted to explicit bounds
(``base ** index`` edges, negative values folded into the first bucket) and summaries keep count and sum;
both are counted as conversions. Dedup key: a hash of resource, scope, metric name and the point's own
protobuf encoding, so a redelivered point conflicts and is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._context import MapContext
from ._origin import dedup_key, dumps, origins
from ._rows import MetricPointRow
from ._values import attributes_dict, clean_text, from_unix_nano, valid_time_ns

_TEMPORALITY = ("unspecified", "delta", "cumulative")
_NO_RECORDED_VALUE = 1
_BIGINT_LIMIT = 2**63  # counts are uint64 on the wire, bigint in Postgres


@dataclass(frozen=True, slots=True)
class _Metric:
    """What every point of one metric shares."""

    name: str
    identity: bytes
    resource_json: str
    service: str | None
    temporality: str
    is_monotonic: bool | None = None


def metric_point_rows(request: Any, ctx: MapContext) -> Iterator[MetricPointRow]:
    """Yield one ``MetricPointRow`` per acceptable data point of an ``ExportMetricsServiceRequest``."""
    for origin, metrics in origins(request.resource_metrics, "scope_metrics", "metrics", ctx):
        for metric in metrics:
            name = ctx.scrubber.text(clean_text(metric.name, ctx.repairs), "metric.name", ctx.redactions)
            kind = metric.WhichOneof("data")
            if kind is None:
                ctx.reject("metrics", "metric_without_data", f"metric {name[:80]!r} carries no data")
                continue
            data = getattr(metric, kind)
            shared = _Metric(
                name=name,
                identity=origin.identity + name.encode() + b"\x00",
                resource_json=origin.resource_json,
                service=origin.service,
                temporality=_temporality(kind, data),
                is_monotonic=data.is_monotonic if kind == "sum" else None,
            )
            if kind in ("exponential_histogram", "summary"):
                ctx.repairs[f"{kind}_converted"] += len(data.data_points)
            for point in data.data_points:
                row = _point(point, kind, shared, ctx)
                if row is not None:
                    yield row


def _temporality(kind: str, data: Any) -> str:
    if kind == "summary":
        return "cumulative"
    if kind == "gauge":
        return "unspecified"
    code = data.aggregation_temporality
    return _TEMPORALITY[code] if 0 <= code < len(_TEMPORALITY) else "unspecified"


def _point(point: Any, kind: str, metric: _Metric, ctx: MapContext) -> MetricPointRow | None:
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
        if not math.isfinite(value):
            ctx.reject("metrics", "non_finite_value", f"metric {name!r} has a point value {value}")
            return None
    else:
        has = point.HasField
        count = point.count
        total = point.sum if kind == "summary" or has("sum") else None
        if kind != "summary":
            low = point.min if has("min") else None
            high = point.max if has("max") else None
        if kind == "histogram":
            bounds, counts = list(point.explicit_bounds), list(point.bucket_counts)
            if counts and len(counts) != len(bounds) + 1:
                ctx.reject("metrics", "histogram_bucket_mismatch",
                           f"metric {name!r} has {len(counts)} bucket counts for {len(bounds)} bounds")
                return None
        elif kind == "exponential_histogram":
            try:
                bounds, counts = exponential_to_explicit(point)
            except OverflowError:
                ctx.reject("metrics", "exponential_scale_out_of_range",
                           f"metric {name!r} has scale {point.scale}, whose bucket edges overflow a double")
                return None
        else:
            bounds, counts = [], [point.count]
        if count >= _BIGINT_LIMIT or any(c >= _BIGINT_LIMIT for c in counts):
            ctx.reject("metrics", "count_out_of_range", f"metric {name!r} has a count beyond 2**63 - 1")
            return None
    start = point.start_time_unix_nano
    attrs = ctx.scrubber.attributes(attributes_dict(point.attributes, ctx.repairs), "attributes",
                                    ctx.redactions)
    return MetricPointRow(
        time=from_unix_nano(point.time_unix_nano),
        start_time=from_unix_nano(start) if valid_time_ns(start, ctx.horizon_ns) else None,
        metric_name=metric.name,
        kind="histogram" if kind not in ("gauge", "sum") else kind,
        temporality=metric.temporality,
        is_monotonic=metric.is_monotonic,
        service=metric.service,
        attributes=dumps(attrs),
        resource=metric.resource_json,
        value=value, count=count, sum=total, min=low, max=high,
        bucket_bounds=bounds, bucket_counts=counts,
        dedup_key=dedup_key(metric.identity, point),
    )


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
