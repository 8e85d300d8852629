"""``LOG_LEVEL`` never costs a table row or a §6.4 event: a real process at each level, every such event.

The child runs under ``rythmiq-otel instrument`` with ``LOG_LEVEL`` in its environment from start-up and
goes through every emission point that fills ``job_runs``/``cpu_metrics`` or that §6.4 says never to drop
(job created / started / completed / failed / metrics summary, cold start, stage failed, auth failure,
webhook received / processed / rejected). Each event must reach both the JSON line on stdout and the OTLP
receiver; ordinary DEBUG/INFO events still follow the level, so the rule is not "log everything".
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable

import pytest

from rythmiq_otel import vocab
from tests.otlp_capture import OtlpCapture

JOB = "550e8400-e29b-41d4-a716-446655440000"
EMITTER = f"""
from rythmiq_otel.distro import (
    auth_failed, job_context, job_created, job_status_queried, stage_context, webhook_context,
)

class OcrFailed(Exception):
    error_code = "OCR_FAILURE"

job_created({JOB!r})
job_status_queried({JOB!r}, "pending")
auth_failed("invalid_token")
with job_context({{"job_id": {JOB!r}}}):
    with stage_context("ocr"):
        pass
try:
    with job_context({{"job_id": {JOB!r}}}):
        with stage_context("ocr"):
            raise OcrFailed("unreadable")
except OcrFailed:
    pass
try:
    with stage_context("ocr"):  # a stage outside a job reports stage.failed itself
        raise OcrFailed("unreadable")
except OcrFailed:
    pass
with webhook_context({{"job_id": {JOB!r}, "status": "success"}}) as hook:
    hook.processed("completed")
with webhook_context({{"job_id": {JOB!r}, "status": "success"}}) as hook:
    hook.rejected("bad_signature")
"""
# Below WARN and outside both sets: these must follow the level.
FILTERABLE = {"DEBUG": vocab.EVENT_STAGE_STARTED, "INFO": vocab.EVENT_JOB_STATUS_QUERIED}
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


def _events(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], capture: OtlpCapture, level: str
) -> tuple[Counter[str], Counter[str]]:
    result = run_instrumented(EMITTER, LOG_LEVEL=level, RYTHMIQ_SERVICE="worker")
    assert result.returncode == 0, result.stderr
    lines = Counter(
        json.loads(line).get("event") for line in result.stdout.splitlines() if line.startswith("{")
    )
    records = Counter(
        record["attributes"].get(vocab.EVENT_NAME_ATTR) or record["event_name"]
        for record in capture.log_records()
    )
    return lines, records


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_every_table_and_always_log_event_survives_the_level(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture, level: str
) -> None:
    lines, records = _events(run_instrumented, otlp_capture, level)
    expected = vocab.TABLE_EVENTS | vocab.NEVER_SAMPLE_EVENTS
    assert sorted(expected - set(lines)) == [], f"missing JSON lines at LOG_LEVEL={level}"
    assert sorted(expected - set(records)) == [], f"missing OTel records at LOG_LEVEL={level}"
    # two jobs ran: two starts and two summaries, one per job, on both outputs
    for event in (vocab.EVENT_JOB_STARTED, vocab.EVENT_METRICS_SUMMARY):
        assert lines[event] == records[event] == 2, event
    for threshold, event in FILTERABLE.items():
        kept = LEVELS.index(level) <= LEVELS.index(threshold)
        assert (event in lines, event in records) == (kept, kept), (level, event)
