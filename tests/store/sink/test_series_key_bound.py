"""The rollup-key bound: every metric point the sink accepts can be rolled up, every one it refuses could not.

``metric_rollups`` keys a series by name, service, attributes (``jsonb``) and bucket bounds; a B-tree entry
over about 2.7 kB makes the rollup ``INSERT`` fail, and with it every maintenance pass. The sink refuses
such a point up front (``series_key_too_large``). These tests grow hostile keys of several shapes to the
largest size the sink accepts, store them in real Postgres and run maintenance; and check that one step
larger is refused and counted, not silently dropped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from rythmiq_otel.store import run_maintenance
from rythmiq_otel.store.sink import CopyWriter
from rythmiq_otel.store.sink._context import MapContext
from rythmiq_otel.store.sink._map_metrics import metric_point_rows
from rythmiq_otel.store.sink._pii_layer import PiiLayer
from rythmiq_otel.store.sink._pipeline import build_batch, write_isolating
from tests.store.sink import otlp_builders as otlp

# Two hours back: the point's minute and hour buckets are closed, so one maintenance pass rolls them up.
_STAMP_NS = time.time_ns() - 2 * 3600 * 10**9


def _cjk(size: int, seed: int = 0) -> str:
    """Incompressible text (3 bytes a character, no repeats): an index entry cannot be squeezed smaller.

    Seeded by size, so the search below sees the same key for the same size every time.
    """
    rng = random.Random(size * 4096 + seed)
    return "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(size))


def _one_big_value(size: int) -> tuple[dict[str, Any], int]:
    return {"label": _cjk(size)}, 0


def _many_small_attributes(size: int) -> tuple[dict[str, Any], int]:
    return {f"k{i:04d}": _cjk(3, seed=i) for i in range(size)}, 0


def _escaped_controls(size: int) -> tuple[dict[str, Any], int]:
    # Six JSON characters per control character, one byte each in jsonb: the estimate must not undercount
    # the other way either (quotes and backslashes, stored as themselves).
    rng = random.Random(size)
    return {"raw": "".join(rng.choice("\x01\x1f\"\\é") for _ in range(size))}, 0


def _bounds_and_attributes(size: int) -> tuple[dict[str, Any], int]:
    return {"stage": _cjk(40)}, size


_SHAPES: dict[str, Callable[[int], tuple[dict[str, Any], int]]] = {
    "one big value": _one_big_value,
    "many small attributes": _many_small_attributes,
    "escaped control characters": _escaped_controls,
    "many bucket bounds": _bounds_and_attributes,
}


def _metric(name: str, shape: Callable[[int], tuple[dict[str, Any], int]], size: int) -> Metric:
    attributes, bound_count = shape(size)
    if not bound_count:
        return otlp.sum_metric(name, [(_STAMP_NS - 10**9, _STAMP_NS, 1.0, attributes)], temporality=1)
    bounds = [float(b) for b in range(bound_count)]
    return otlp.histogram_metric(name, start_ns=_STAMP_NS - 10**9, time_ns=_STAMP_NS, bounds=bounds,
                                 counts=[1] * (bound_count + 1), total=1.0, attributes=attributes)


def _accepted(metric: Metric) -> bool:
    ctx = MapContext(scrubber=PiiLayer())
    rows = list(metric_point_rows(otlp.metrics_request([metric]), ctx))
    assert bool(rows) != bool(ctx.rejected["metrics"]), ctx.repairs
    if not rows:
        assert ctx.repairs["series_key_too_large"] == 1, ctx.repairs
    return bool(rows)


def _largest_accepted(name: str, shape: Callable[[int], tuple[dict[str, Any], int]]) -> int:
    """Binary search of the largest ``size`` of ``shape`` the sink accepts (the sizes are monotone)."""
    low, high = 1, 1023  # 1023 bounds: the most buckets (1,024) a point may have
    assert _accepted(_metric(name, shape, low)) and not _accepted(_metric(name, shape, high))
    while high - low > 1:
        middle = (low + high) // 2
        if _accepted(_metric(name, shape, middle)):
            low = middle
        else:
            high = middle
    return low


@pytest.mark.parametrize("shape_name", list(_SHAPES))
def test_the_largest_accepted_key_of_each_shape_rolls_up_and_one_larger_is_refused(
    shape_name: str, database_url: str
) -> None:
    shape = _SHAPES[shape_name]
    name = "key_bound_" + shape_name.replace(" ", "_")
    size = _largest_accepted(name, shape)
    assert not _accepted(_metric(name, shape, size + 1))
    ctx = MapContext(scrubber=PiiLayer())
    batch = build_batch("metrics", otlp.metrics_request([_metric(name, shape, size)]), ctx)
    writer = CopyWriter(database_url, pool_size=1)
    try:
        assert write_isolating(writer, "metrics", batch, ctx) == 0
    finally:
        writer.close()
    assert not ctx.rejected["metrics"], ctx.first_error
    with psycopg.connect(database_url, autocommit=True) as conn:
        run_maintenance(conn)  # raises if the rollup INSERT cannot index the key
        row = conn.execute(
            "SELECT count(*) FROM metric_rollups WHERE metric_name = %s", (name,)
        ).fetchone()
    assert row is not None and row[0] >= 1, f"no rollup of {name}"
