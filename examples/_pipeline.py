"""The seven worker stages, simulated: deterministic work that burns real CPU, real decisions, real failures.

Each stage hashes a buffer for a number of rounds derived from the job (pages, path), so CPU seconds are
real and repeatable. The document hints in the payload decide the quality score (and so the fast or
standard path) and, through ``fail_with``, which ``vocab.ERROR_CODES`` failure to raise and where (or,
with ``WORKER_CRASH``, that the worker process dies mid-job).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from rythmiq_otel import vocab
from rythmiq_otel.distro import stage_context

# Where each error code surfaces; INTERNAL_ERROR is a plain bug (no error_code attribute at all).
FAILING_STAGE: dict[str, str] = {
    "STORAGE_ERROR": "ingestion",
    "UNSUPPORTED_FORMAT": "ingestion",
    "CORRUPT_DATA": "ingestion",
    "QUALITY_TOO_LOW": "quality",
    "TIMEOUT": "enhancement",
    "OCR_FAILURE": "ocr",
    "SCHEMA_INVALID": "schema",
    "INTERNAL_ERROR": "packaging",
    "WORKER_CRASH": "ocr",
}
# Not an error code: the worker process exits in the middle of the job (the platform must still report it).
WORKER_CRASH = "WORKER_CRASH"
FAST_PATH_QUALITY = 0.85
ROLLBACK_CONFIDENCE = 0.6
_ROUNDS_PER_PAGE = {"fast": 600, "standard": 1500}


class JobError(Exception):
    """A processing failure with the application's ErrorCode (read by the worker's job context)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code


def _burn(seed: str, rounds: int) -> float:
    """Hash ``rounds`` times; returns a number in [0, 1) derived from the result (deterministic)."""
    digest = hashlib.sha256(seed.encode()).digest()
    block = digest * 512
    for _ in range(rounds):
        digest = hashlib.sha256(block + digest).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _maybe_fail(document: dict[str, Any], stage: str) -> None:
    code = document.get("fail_with")
    if code is None or FAILING_STAGE.get(code, "ingestion") != stage:
        return
    if code == WORKER_CRASH:
        os._exit(70)  # the process dies mid-job, as an OOM kill would: no result, no flush
    if code == "INTERNAL_ERROR":
        raise RuntimeError("packaging step hit an unexpected state")
    if code not in vocab.ERROR_CODES:
        raise JobError("CORRUPT_DATA", "the job asked for an unknown failure")
    raise JobError(code, f"simulated {code}")


def run_pipeline(job: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Run the seven stages for ``payload`` inside an open ``job_context`` (``job``); returns the output."""
    document = payload.get("document") or {}
    seed = str(payload.get("job_id"))
    pages = int(document.get("page_count") or 1)
    job.page_count = pages
    job.input_file_size_bytes = int(document.get("file_size_bytes") or 0)

    with stage_context("ingestion"):
        _maybe_fail(document, "ingestion")
        _burn(seed + "ingestion", 200 * pages)
    with stage_context("quality"):
        _maybe_fail(document, "quality")
        measured = _burn(seed + "quality", 300 * pages)
        hint = document.get("quality_hint")
        job.quality_score = round(float(hint) if hint is not None else 0.4 + 0.6 * measured, 3)
        job.processing_path = "fast" if job.quality_score >= FAST_PATH_QUALITY else "standard"
    rounds = _ROUNDS_PER_PAGE[job.processing_path] * pages
    with stage_context("pre_ocr"):
        _burn(seed + "pre_ocr", rounds // 3)
    with stage_context("enhancement"):
        _maybe_fail(document, "enhancement")
        if job.processing_path == "fast":
            job.skip_enhancement("quality above the fast-path threshold")
        else:
            _burn(seed + "enhancement", rounds)
    with stage_context("ocr"):
        _maybe_fail(document, "ocr")
        job.ocr_confidence = round(0.5 + 0.5 * job.quality_score * _burn(seed + "ocr", rounds) ** 0.1, 3)
        if job.processing_path == "standard" and job.quality_score < ROLLBACK_CONFIDENCE:
            job.rollback_ocr("enhanced image scored lower than the original")
            _burn(seed + "ocr-rollback", rounds // 2)
    with stage_context("schema"):
        _maybe_fail(document, "schema")
        fields = {"document_type": "invoice", "pages": pages, "checksum": _burn(seed + "schema", rounds // 4)}
    with stage_context("packaging"):
        _maybe_fail(document, "packaging")
        output = {"fields": fields, "ocr_confidence": job.ocr_confidence}
        job.output_file_size_bytes = len(json.dumps(output))
        _burn(seed + "packaging", 100 * pages)
    return output
