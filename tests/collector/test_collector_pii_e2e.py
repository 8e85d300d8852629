"""Canaries sent by a real OTLP client through the real collector never reach the sink.

Each canary also travels under keys the collector's gates know to be clean (``stage``, ``job_id``), next
to a NaN double that makes the values gate fail to evaluate: the value detectors must still run. A record
made only of clean keys and values arrives exactly as it was sent.

The client is the upstream SDK with its OTLP/HTTP exporters in a child process -- no rythmiq_otel code, so
the in-process guard plays no part and the collector's layer alone must catch everything. Every body the
collector delivered is searched (decompressed) for every canary. The same records also carry what must
survive (a job_id, the spec's user_id_hash), so a collector that dropped everything would fail too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rythmiq_otel import pii
from rythmiq_otel.store.collector import config_files
from tests.collector._process import CollectorFactory, emit
from tests.collector._receiver import RestartableReceiver
from tests.pii_canaries import Canary, assert_no_canary, canaries

pytestmark = [pytest.mark.collector, pytest.mark.slow]

JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
USER_ID = "u-42"
CORPUS = canaries(per_category=25)  # 500 values over every kind
TEXTS = [canary for canary in CORPUS if canary.text is not None]
EMAIL = next(canary for canary in CORPUS if canary.category == "email")
# Keys, values and texts every gate vouches for: the record must pass untouched.
CLEAN_ATTRIBUTES = {"job_id": JOB_ID, "stage": "ocr", "event.name": "stage.completed", "cpu_seconds": 0.5,
                    "user_id_hash": "16ec525b74b75626", "extra.processing_path": "standard"}
CLEAN_LOG = {"body": "Stage completed", "attributes": CLEAN_ATTRIBUTES, "event_name": "stage.completed"}


def _scalar(value: object) -> Any:
    """Span and metric attributes hold scalars only: structured canaries travel as JSON text there."""
    return value if isinstance(value, str) else json.dumps(value)


def _logs(canary: Canary) -> list[dict[str, Any]]:
    """The canary under its own key (attribute and map body) and, where it has one, as text."""
    common = {"job_id": JOB_ID, "user_id": USER_ID}
    logs = [
        {"body": "job done", "attributes": {**common, canary.key: canary.value}},
        {"body": {canary.key: canary.value, "job_id": JOB_ID}, "attributes": common},
    ]
    if canary.text is not None:
        logs.append({"body": f"while handling: {canary.text}", "attributes": {**common, "note": canary.text},
                     "event_name": f"seen {canary.text}"})
        # Under clean keys only: the keys gate passes, the values gate must not (NaN: it cannot evaluate).
        logs.append({"body": {"stage": canary.text, "job_id": JOB_ID},
                     "attributes": {"job_id": JOB_ID, "stage": canary.text, "cpu_seconds": float("nan")},
                     "event_name": canary.text})
        logs.append({"body": {"stage": canary.text}, "attributes": {"stage": canary.text}})
    return logs


def _named(canary: Canary) -> str:
    """A name (span, event, scope, metric) that carries the canary, where it has a text form."""
    return f"handle {canary.text}" if canary.text is not None else "stage"


def _events(canary: Canary) -> list[dict[str, Any]]:
    """The canary under its own key; its text form (a value detector's job) also under a clean key."""
    events = [{"name": _named(canary), "attributes": {canary.key: _scalar(canary.value)}}]
    if canary.text is not None:
        events.append({"name": "stage.completed", "attributes": {"stage": canary.text}})
    return events


def _spec(path: Path) -> Path:
    spec = {
        "resource": {"deployment.contact_email": EMAIL.value},  # resource attributes are scrubbed too
        "logs": [CLEAN_LOG, *(log for canary in CORPUS for log in _logs(canary))],
        "spans": [
            {
                "name": _named(canary),
                "scope": _named(canary),
                "attributes": {"job_id": JOB_ID, canary.key: _scalar(canary.value)},
                "events": _events(canary),
            }
            for canary in CORPUS
        ],
        "metrics": [
            {"name": f"rythmiq_test_{index}", "attributes": {canary.key: _scalar(canary.value)}}
            for index, canary in enumerate(CORPUS)
        ] + [
            {"name": f"rythmiq_clean_{index}", "attributes": {"status": canary.text}}
            for index, canary in enumerate(TEXTS)
        ],
    }
    path.write_text(json.dumps(spec))
    return path


def test_no_canary_passes_the_collector(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> None:
    collector = start_collector(config_files("sidecar"), receiver.url)
    expected_logs = 1 + sum(len(_logs(canary)) for canary in CORPUS)
    emit(_spec(tmp_path / "spec.json"), collector.otlp_http_url)

    collector.wait_for_metric("otelcol_exporter_sent_spans", len(CORPUS))
    collector.wait_for_metric("otelcol_exporter_sent_metric_points", len(CORPUS) + len(TEXTS))
    assert receiver.wait_until(lambda: len(receiver.log_records()) >= expected_logs, timeout=30)
    assert {request.path for request in receiver.requests} == {"/v1/logs", "/v1/traces", "/v1/metrics"}
    for request in receiver.requests:
        assert_no_canary(request.raw_body, CORPUS)  # raw bytes as received (gzip is undone first)

    # What must survive did: spec fields, the hashed user id, and the SDK's marker where a value was cut.
    records = receiver.log_records()
    clean = next(record for record in records if record["attributes"].get("cpu_seconds") == 0.5)
    assert (clean["body"], clean["event_name"], clean["attributes"]) == (
        CLEAN_LOG["body"], CLEAN_LOG["event_name"], CLEAN_ATTRIBUTES
    )
    attributes = [record["attributes"] for record in records if "user_id_hash" in record["attributes"]]
    assert all(attrs["job_id"] == JOB_ID for attrs in attributes)
    raw_ids = {USER_ID} | {str(c.value) for c in CORPUS if c.key == "user_id"}  # a canary may be the id
    assert {attrs["user_id_hash"] for attrs in attributes} == {pii.hash_user_id(raw) for raw in raw_ids}
    assert not any("user_id" in attrs for attrs in attributes)
    assert any(str(attrs.get("note", "")).startswith("[REDACTED:") for attrs in attributes)
    assert receiver.log_records()[0]["resource"]["deployment.environment.name"] == "production"
