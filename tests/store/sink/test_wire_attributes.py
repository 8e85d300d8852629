"""Encoded attributes: the shortcut for a key with a double decodes exactly what the protobuf runtime does."""

from __future__ import annotations

import math
import random

from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from rythmiq_otel.store.sink._values import Repairs, attribute
from rythmiq_otel.store.sink._wire_attributes import decode_pair
from tests.store.sink import otlp_builders as otlp


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        both_nan = math.isnan(left) and math.isnan(right)
        return both_nan or (left == right and math.copysign(1, left) == math.copysign(1, right))
    return type(left) is type(right) and left == right


def test_decode_pair_equals_the_runtime_for_keys_and_values_of_every_shape() -> None:
    rng = random.Random(13)
    for _ in range(5000):
        length = rng.choice([0, 1, 5, 60, 115, 116, 117, 127, 128, 130])  # 128+: a two-byte length
        key = "".join(rng.choice("ab.\x00é_") for _ in range(length))
        value = rng.choice([rng.random(), float("nan"), float("inf"), -0.0, 1e308, 5e-324, 7, "s", True])
        [pair] = otlp.key_values({key: value})
        raw = pair.SerializeToString()
        ours, runtime = Repairs(), Repairs()
        key_got, value_got, rememberable = decode_pair(raw, ours)
        key_expected, value_expected = attribute(KeyValue.FromString(raw), runtime)
        assert key_got == key_expected and _same(value_got, value_expected) and ours == runtime, raw
        assert rememberable == (not runtime and type(value_expected) in (str, int, float, bool))
