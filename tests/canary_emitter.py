"""A child process that logs and traces every PII canary, for the end-to-end guard tests.

``EMIT_CANARIES`` is Python source to run under ``rythmiq-otel instrument``: it puts every canary of
``CORPUS`` into log calls (extra keys, nested ``extra``, messages, exceptions) and spans (attributes, events,
recorded exceptions, status), then prints ``{"emitted": N}`` (the log calls made) on stderr. The in-process
and the collector tests both run it and search what came out.
"""

from __future__ import annotations

from pathlib import Path

from tests.pii_canaries import canaries

__all__ = ["CORPUS", "EMIT_CANARIES", "PER_CATEGORY"]

REPO = Path(__file__).resolve().parents[1]
PER_CATEGORY = 25  # 500 values over every kind

EMIT_CANARIES = f"""
import json, logging, sys
sys.path.insert(0, {str(REPO)!r})
from opentelemetry import trace
from opentelemetry.trace import Link, Status, StatusCode
from rythmiq_otel import get_worker_logger
from tests.pii_canaries import canaries, nested_placements

log = get_worker_logger("worker.pii")
tracer = trace.get_tracer("worker.pii")
reserved = {{*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime"}}
emitted = 0
for canary in canaries({PER_CATEGORY}):
    flat = canary.value if isinstance(canary.value, str) else json.dumps(canary.value)
    if canary.key not in reserved:  # logging refuses extra= keys that shadow LogRecord attributes
        log.info("Stage completed", extra={{canary.key: canary.value}})
        emitted += 1
    for extra in nested_placements(canary):
        log.info("Stage completed", extra={{"stage": "ocr", "extra": extra}})
        emitted += 1
    with tracer.start_as_current_span("stage ocr") as span:
        span.set_attribute(canary.key, flat)
        span.add_event("checked", {{canary.key: flat}})
        if canary.text is not None:
            log.warning(f"could not process {{canary.text}}")
            try:
                raise ValueError(f"bad input {{canary.text}}")
            except ValueError as error:
                log.exception("Stage failed")
                span.record_exception(error)
            span.set_attribute("note", f"saw {{canary.text}}")
            span.set_status(Status(StatusCode.ERROR, f"failed on {{canary.text}}"))
            emitted += 2
print(json.dumps({{"emitted": emitted}}), file=sys.stderr)
"""


CORPUS = canaries(PER_CATEGORY)
