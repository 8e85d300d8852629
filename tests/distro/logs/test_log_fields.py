"""The spec record's own fields: timestamp shape, level names, extra= folding."""

from __future__ import annotations

import logging

import pytest

from rythmiq_otel.distro.logs._conform import conform
from rythmiq_otel.distro.logs._fields import fields_from_record, level_of, utc_timestamp


@pytest.mark.parametrize(
    ("levelno", "name"),
    [(logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARN"), (logging.ERROR, "ERROR"),
     (logging.CRITICAL, "ERROR"), (5, "DEBUG"), (25, "INFO"), (35, "WARN")],
)
def test_python_levels_map_onto_the_spec_four(levelno: int, name: str) -> None:
    assert level_of(levelno) == name


def test_timestamps_are_utc_with_milliseconds_and_z_even_across_the_second_cache() -> None:
    assert utc_timestamp(1769783025.1239) == "2026-01-30T14:23:45.123Z"
    assert utc_timestamp(1769783025.9999) == "2026-01-30T14:23:45.999Z"
    assert utc_timestamp(1769783026.0004) == "2026-01-30T14:23:46.000Z"


def test_unknown_extra_keys_are_folded_into_extra_and_none_values_left_out() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m %s", ("arg",), None)
    record.__dict__.update({"stage": "ocr", "extra": {"a": 1}, "custom": 2, "error_code": None})
    fields = fields_from_record(record, "worker")
    assert fields["message"] == "m arg"
    assert fields["stage"] == "ocr"
    assert fields["extra"] == {"a": 1, "custom": 2}
    assert "error_code" not in fields


def test_conform_keeps_fitting_values_and_coerces_spellings() -> None:
    fields = {"stage": "upload", "job_id": "550E8400-E29B-41D4-A716-446655440000", "http_status": 201,
              "latency_ms": 3, "error_code": 42}
    assert conform(fields) == {"stage": "packaging", "job_id": "550e8400-e29b-41d4-a716-446655440000",
                               "http_status": 201, "latency_ms": 3, "error_code": "42"}


def test_conform_moves_misfits_into_extra() -> None:
    fields = {"stage": "dreaming", "cpu_seconds": True, "extra": {"kept": 1}}
    assert conform(fields) == {"extra": {"kept": 1, "stage": "dreaming", "cpu_seconds": True}}
