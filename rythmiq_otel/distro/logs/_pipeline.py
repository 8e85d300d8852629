"""The default chain from a stdlib record to the spec record, and the record's JSON line.

Each step is a ``Step`` (``dict -> dict``) with one job; the chain is the visible tuple ``STEPS``
(house style rule 7). The record is built once here and then rendered twice: as the JSON line (here) and
as the OTel log record (``_otel_record``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from rythmiq_otel.distro.logs._conform import conform
from rythmiq_otel.distro.logs._context import add_context
from rythmiq_otel.distro.logs._fields import fields_from_record
from rythmiq_otel.distro.logs._scrub import scrub, scrub_arguments

__all__ = ["STEPS", "Step", "record_fields", "render_json"]

Step = Callable[[dict[str, Any]], dict[str, Any]]

# Context first (ids from the trace and baggage), then make typed fields schema-valid, then scrub PII last
# so nothing a step added escapes the guard.
STEPS: tuple[Step, ...] = (add_context, conform, scrub)

# The C encoder, made once (``json.JSONEncoder.encode`` makes one a call, about 1 µs of a 4 µs render),
# without its circular-reference check: the PII guard cuts any nesting at ``pii.MAX_DEPTH``, and with the
# guard off a cycle fails the record with ``RecursionError`` instead of ``ValueError`` (the handler reports
# either). Holding no state of its own, it is safe to share between threads.
_c_encoder = c_make_encoder and c_make_encoder(
    None, str, encode_basestring, None, ":", ",", False, False, True  # no markers, default=str, compact
)
_py_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def record_fields(record: logging.LogRecord, service: str, *, message: str | None = None) -> dict[str, Any]:
    """The spec record for ``record`` logged by ``service``, after every step of the chain.

    ``message``: the message as formatted at the call (see ``fields_from_record``).
    """
    fields = fields_from_record(record, service, message=message)
    for step in STEPS:
        fields = step(fields)
    return scrub_arguments(fields, record)  # the arguments are data: judged more strictly than the template


def render_json(fields: dict[str, Any]) -> str:
    """One compact JSON object (no newline), non-ASCII kept as is, unknown types as ``str()``."""
    return "".join(_c_encoder(fields, 0)) if _c_encoder else _py_encode(fields)
