"""The api service: POST /jobs, GET /jobs/{job_id}, GET /jobs/{job_id}/output, behind bearer auth.

Run it under ``rythmiq-otel instrument -- uvicorn examples.api:app``; the distro instruments the app. The
only telemetry code here is the spec's: the payload for the job platform goes through ``inject`` (§2.2),
and the route events are reported through the api helpers (job created, status queried, output
delivered, auth). Configuration: ``EXAMPLE_DB`` (SQLite file), ``CAMBER_URL`` (the job platform),
``EXAMPLE_API_TOKENS`` (``token:user_id,...``; default ``demo-token:user-0001``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from examples import _jobs_db
from rythmiq_otel.distro import (
    auth_failed,
    auth_succeeded,
    inject,
    job_created,
    job_status_queried,
    output_delivered,
)

app = FastAPI(title="Rythmiq One api (example)")


def _tokens() -> dict[str, str]:
    raw = os.environ.get("EXAMPLE_API_TOKENS", "demo-token:user-0001")
    return dict(pair.split(":", 1) for pair in raw.split(",") if ":" in pair)


async def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
    """The user behind the bearer token; 401 (and an auth failure event) otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        auth_failed("missing_token")
        raise HTTPException(status_code=401, detail="missing bearer token")
    user_id = _tokens().get(authorization.removeprefix("Bearer ").strip())
    if user_id is None:
        auth_failed("invalid_token")
        raise HTTPException(status_code=401, detail="invalid bearer token")
    auth_succeeded(user_id)
    return user_id


User = Annotated[str, Depends(current_user)]


class JobRequest(BaseModel):
    """An upload to process. The simulation fields stand in for the document's real content."""

    filename: str
    mime_type: str = "application/pdf"
    file_size_bytes: int = Field(default=120_000, ge=0)
    page_count: int = Field(default=2, ge=1, le=50)
    quality_hint: float | None = Field(default=None, ge=0, le=1)
    fail_with: str | None = None
    execution: Literal["pool", "fresh"] = "pool"


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/jobs", status_code=201)
async def create_job(body: JobRequest, user_id: User) -> dict[str, str]:
    job_id = str(uuid.uuid4())
    portal_schema_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "rythmiq/portal-schema/default"))
    storage_path = f"uploads/{user_id}/{job_id}/{body.filename}"
    job_created(job_id)
    camber_payload = inject({
        "job_id": job_id,
        "user_id": user_id,
        "storage_path": storage_path,
        "portal_schema_id": portal_schema_id,
        "document": {
            "mime_type": body.mime_type,
            "file_size_bytes": body.file_size_bytes,
            "page_count": body.page_count,
            "quality_hint": body.quality_hint,
            "fail_with": body.fail_with,
        },
        "execution": body.execution,
    })
    correlation_id = camber_payload.get("correlation_id")
    _jobs_db.create(job_id, user_id, {
        "original_filename": body.filename,
        "mime_type": body.mime_type,
        "file_size_bytes": body.file_size_bytes,
        "correlation_id": correlation_id,
    })
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{os.environ['CAMBER_URL']}/v1/jobs", json=camber_payload)
        accepted = response.status_code == 202
    except httpx.TransportError:
        accepted = False
    if not accepted:
        _jobs_db.finish(job_id, "failed", error_code="INTERNAL_ERROR", error_stage="ingestion", output=None)
        raise HTTPException(status_code=502, detail="the job platform refused the job")
    return {"job_id": job_id, "status": "pending", "correlation_id": correlation_id or ""}


def _owned_job(job_id: uuid.UUID, user_id: str) -> dict:
    job = _jobs_db.get(str(job_id))
    if job is None or job["user_id"] != user_id:
        raise HTTPException(status_code=404, detail="no such job")
    return job


@app.get("/jobs/{job_id}")
async def get_job(job_id: uuid.UUID, user_id: User) -> dict[str, str | None]:
    job = _owned_job(job_id, user_id)
    job_status_queried(job["job_id"], job["status"])
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "error_code": job["error_code"],
        "error_stage": job["error_stage"],
        "correlation_id": json.loads(job["input_metadata"]).get("correlation_id"),
    }


@app.get("/jobs/{job_id}/output")
async def get_output(job_id: uuid.UUID, user_id: User) -> StreamingResponse:
    job = _owned_job(job_id, user_id)
    if job["status"] != "completed":
        raise HTTPException(status_code=409, detail=f"job is {job['status']}")
    data = job["output"].encode()
    output_delivered(job["job_id"], size_bytes=len(data))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 64):
            yield data[start:start + 64]

    return StreamingResponse(chunks(), media_type="application/json")
