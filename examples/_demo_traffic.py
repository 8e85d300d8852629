"""The demo's traffic: a fixed, repeating mix of jobs, so every run shows every kind of row.

A cycle of seven jobs: five succeed (standard and fast path; one in a fresh worker, which is always a cold
start, the others in the warm pool) and two fail, each with the next code of ``vocab.ERROR_CODES``, so
the recent-errors list and the error rate move and, over a few cycles, every code appears. A fixed cycle
rather than random draws makes ``--jobs N`` (the smoke test) predictable: six jobs already include a cold
start and two different failures.
"""

from __future__ import annotations

from typing import Any

import httpx

from rythmiq_otel import vocab

_CYCLE: tuple[dict[str, Any], ...] = (
    {"quality_hint": 0.7},                         # standard path
    {"quality_hint": 0.95},                        # fast path (enhancement skipped)
    {"fail_with": None},                           # a failure: the code is filled in per job
    {"quality_hint": 0.7, "execution": "fresh"},   # a fresh worker: cold start
    {"quality_hint": 0.9, "page_count": 3},        # fast path, more pages
    {"fail_with": None},
    {"quality_hint": 0.5},                         # low quality: standard path, OCR rollback
)
_FAILURES_PER_CYCLE = sum(1 for job in _CYCLE if "fail_with" in job)


def job_request(number: int) -> dict[str, Any]:
    """The body of the ``number``-th job (0-based) for ``POST /jobs``."""
    cycle, slot = divmod(number, len(_CYCLE))
    body: dict[str, Any] = {"filename": f"scan-{number:05d}.pdf", **_CYCLE[slot]}
    if "fail_with" in body:
        failure = cycle * _FAILURES_PER_CYCLE + sum(1 for job in _CYCLE[:slot] if "fail_with" in job)
        body["fail_with"] = vocab.ERROR_CODES[failure % len(vocab.ERROR_CODES)]
    return body


def submit(client: httpx.Client, api_url: str, headers: dict[str, str], number: int) -> str:
    """Submit the ``number``-th job; returns its job_id (raises ``httpx.HTTPError`` when refused)."""
    response = client.post(f"{api_url}/jobs", headers=headers, json=job_request(number), timeout=10)
    response.raise_for_status()
    return str(response.json()["job_id"])
