"""The worker: reads job payloads from STDIN (one JSON object per line), runs each, reports each result.

Run by the job platform under ``rythmiq-otel instrument -- python -m examples.worker``. A fresh process
runs one job and sees EOF; a pooled (warm) one keeps reading. Each result -- the worker's trace context
``inject``-ed into it, so the webhook continues the trace -- is written as one JSON line to the file
descriptor named by ``CAMBER_RESULT_FD`` (stdout is the worker's JSON log stream). The only telemetry code
is the spec's: ``job_context``, ``stage_context`` (in ``_pipeline``) and ``inject``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from examples._pipeline import JobError, run_pipeline
from rythmiq_otel.distro import inject, job_context


def run_job(line: str) -> dict[str, Any]:
    """Run the job in one STDIN line; never raises, always returns a result for the webhook."""
    try:
        payload: Any = json.loads(line)
    except ValueError:
        payload = None
    document = payload if isinstance(payload, dict) else {}
    context: dict[str, Any] = {}
    job = None
    try:
        with job_context(payload) as job:
            context = inject({})
            if not document:
                raise JobError("CORRUPT_DATA", "payload is not a JSON object")
            result: dict[str, Any] = {"status": "success", "output": run_pipeline(job, document)}
    except Exception as exc:
        code = getattr(exc, "error_code", "INTERNAL_ERROR")
        stage = job.current_stage if job is not None and job.current_stage else "ingestion"
        result = {"status": "failed", "error_code": code, "error_stage": stage}
    return {"job_id": document.get("job_id"), **result, **context}


def main() -> None:
    results = os.fdopen(int(os.environ["CAMBER_RESULT_FD"]), "w", encoding="utf-8")
    for line in sys.stdin:
        if line.strip():
            results.write(json.dumps(run_job(line)) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
