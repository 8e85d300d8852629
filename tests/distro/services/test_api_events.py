"""The route helpers: job created, status queried, output delivered, auth succeeded/failed."""

from __future__ import annotations

import logging

from rythmiq_otel import vocab
from rythmiq_otel.pii import hash_user_id
from tests.distro.fastapi_server import JOB_ID, base_url, call, completed, event_of, records, spans

__all__ = ["base_url", "call", "records", "spans"]


def test_job_created_and_auth_put_ids_on_the_request_completed_event(call, records):
    response = call("/jobs", "POST")
    assert response.status_code == 200
    auth = next(r for r in records if event_of(r) == vocab.EVENT_AUTH_SUCCEEDED)
    created = next(r for r in records if event_of(r) == vocab.EVENT_JOB_CREATED)
    assert auth.user_id_hash == hash_user_id("user-0001")
    assert "user-0001" not in str(auth.__dict__)
    assert (created.levelno, created.job_id, created.getMessage()) == (
        logging.INFO, JOB_ID, "Job created in pending state")
    done = completed(records)
    assert (done.job_id, done.user_id_hash, done.http_status) == (JOB_ID, hash_user_id("user-0001"), 200)


def test_status_query_and_output_delivery_events(call, records):
    call(f"/jobs/{JOB_ID}")
    queried = next(r for r in records if event_of(r) == vocab.EVENT_JOB_STATUS_QUERIED)
    delivered = next(r for r in records if event_of(r) == vocab.EVENT_OUTPUT_DELIVERED)
    assert (queried.job_id, queried.extra) == (JOB_ID, {"status": "completed"})
    assert (delivered.stage, delivered.extra) == ("delivery", {"output_size_bytes": 12})
    assert completed(records).http_path == "/jobs/{job_id}"


def test_auth_failure_is_a_warning_with_a_reason_only(call, records):
    assert call("/private").status_code == 401
    failed = next(r for r in records if event_of(r) == vocab.EVENT_AUTH_FAILED)
    assert (failed.levelno, failed.extra) == (logging.WARNING, {"reason": "invalid_token"})
    assert not hasattr(failed, "user_id_hash")


def test_job_created_puts_the_ids_into_the_baggage_the_payload_will_carry(call, records):
    call("/jobs", "POST")
    created = next(r for r in records if event_of(r) == vocab.EVENT_JOB_CREATED)
    assert created.baggage_at_emit[vocab.BAGGAGE_JOB_ID] == JOB_ID
    assert created.baggage_at_emit[vocab.BAGGAGE_USER_ID_HASH] == hash_user_id("user-0001")
