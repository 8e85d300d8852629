"""The webhook service: the job platform POSTs each job's result here; a valid one finishes the job.

Run it under ``rythmiq-otel instrument -- uvicorn examples.webhook:app``. The handler's only telemetry
code is ``webhook_context`` (the job's trace continues from the body; the body is never logged).
Configuration: ``EXAMPLE_DB`` (SQLite file shared with the api), ``CAMBER_WEBHOOK_SECRET`` (HMAC key).
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Request, Response

from examples import _jobs_db
from examples._signing import SIGNATURE_HEADER, verify
from rythmiq_otel.distro import webhook_context

app = FastAPI(title="Rythmiq One webhook (example)")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/webhooks/camber")
async def camber_webhook(request: Request) -> Response:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    with webhook_context(body, size_bytes=len(raw)) as hook:
        if not verify(os.environ["CAMBER_WEBHOOK_SECRET"], raw, request.headers.get(SIGNATURE_HEADER)):
            hook.rejected("bad_signature")
            return Response(status_code=401)
        if not isinstance(body, dict) or hook.job_id is None:
            hook.rejected("malformed_body")
            return Response(status_code=400)
        status = "completed" if hook.status == "success" else "failed"
        if not _jobs_db.finish(hook.job_id, status, error_code=body.get("error_code"),
                               error_stage=body.get("error_stage"), output=body.get("output")):
            hook.rejected("unknown_job")
            return Response(status_code=404)
        hook.processed(status)
    return Response(status_code=204)
