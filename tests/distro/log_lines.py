"""Validate what a service wrote to stdout: every line one §1.1 JSON object (helper for any test).

The schema is the one shipped in the package (``rythmiq_otel/distro/logs/log_schema.json``, the spec's §1.1
verbatim). jsonschema only checks ``format: date-time`` when an optional RFC 3339 package is installed,
so the timestamp shape the spec asks for (UTC, milliseconds, ``Z``) is checked here explicitly.

    from tests.distro.log_lines import parse_lines
    records = parse_lines(result.stdout)   # raises AssertionError naming the first bad line
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

__all__ = ["SCHEMA", "assert_valid", "parse_lines"]

SCHEMA: dict[str, Any] = json.loads(
    resources.files("rythmiq_otel.distro.logs").joinpath("log_schema.json").read_text()
)
_VALIDATOR = Draft7Validator(SCHEMA, format_checker=FormatChecker())
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def assert_valid(record: dict[str, Any]) -> None:
    """Fail with the schema's own message when ``record`` is not a valid §1.1 log entry."""
    errors = [error.message for error in _VALIDATOR.iter_errors(record)]
    if not _TIMESTAMP.fullmatch(str(record.get("timestamp"))):
        errors.append(f"timestamp {record.get('timestamp')!r} is not UTC ISO 8601 with milliseconds and Z")
    assert not errors, f"{record}: {errors}"


def parse_lines(stdout: str) -> list[dict[str, Any]]:
    """Parse every non-empty stdout line as JSON, validate it, and return the records in order."""
    records = []
    for number, line in enumerate(stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise AssertionError(f"stdout line {number} is not JSON ({err}): {line!r}") from err
        assert isinstance(record, dict), f"stdout line {number} is not an object: {line!r}"
        assert_valid(record)
        records.append(record)
    return records
