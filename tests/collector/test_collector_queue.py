"""The persistent sending queue: a sink outage and a SIGKILLed collector lose nothing and duplicate nothing,
and the collector's own telemetry shows the backlog and the failed sends while it happens.

Real processes throughout: the built collector, the upstream SDK exporter in a child process, and a
receiver on a fixed port that refuses connections while "down".
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import config_files
from tests.collector._process import CollectorFactory, CollectorProcess, emit
from tests.collector._receiver import RestartableReceiver

pytestmark = [pytest.mark.collector, pytest.mark.slow]

RECORDS = 3000  # more than one 2048-record batch, so with one consumer a batch waits in the queue
# One consumer: the batch being retried is "dispatched", the next one is visibly queued.
ONE_CONSUMER = {"RYTHMIQ_COLLECTOR_QUEUE_CONSUMERS": "1"}


def _spec(tmp_path: Path) -> Path:
    logs = [{"body": f"record {seq}", "attributes": {"seq": seq}} for seq in range(RECORDS)]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"logs": logs, "flush_every": 500}))
    return path


def _assert_each_record_once(receiver: RestartableReceiver) -> None:
    arrived = receiver.wait_until(lambda: len(receiver.log_records()) >= RECORDS, timeout=60)
    seqs = Counter(record["attributes"]["seq"] for record in receiver.log_records())
    assert arrived, f"only {len(seqs)} of {RECORDS} records arrived"
    assert sorted(seqs) == list(range(RECORDS))
    assert [seq for seq, count in seqs.items() if count > 1] == []


def _send_while_the_sink_is_down(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> CollectorProcess:
    """Take the sink down, start a collector in front of it, and send it every record."""
    receiver.stop()
    collector = start_collector(config_files("sidecar"), receiver.url, **ONE_CONSUMER)
    emit(_spec(tmp_path), collector.otlp_http_url)
    return collector


def test_a_sink_outage_loses_nothing_and_the_backlog_is_visible(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> None:
    collector = _send_while_the_sink_is_down(start_collector, receiver, tmp_path)

    # While the sink is down the collector says so: everything accepted, a send in flight (being retried),
    # batches waiting in the queue, nothing sent.
    assert collector.wait_for_metric("otelcol_receiver_accepted_log_records", RECORDS) == RECORDS
    assert collector.wait_for_metric("otelcol_exporter_in_flight_requests", 1, data_type="logs") == 1
    assert collector.wait_for_metric("otelcol_exporter_queue_size", 1, data_type="logs") >= 1
    assert collector.metric("otelcol_exporter_queue_capacity", data_type="logs") == 5000
    assert collector.metric("otelcol_exporter_sent_log_records") == 0
    assert receiver.log_records() == []

    receiver.start()
    _assert_each_record_once(receiver)
    assert collector.wait_for_metric("otelcol_exporter_sent_log_records", RECORDS) == RECORDS
    assert collector.metric("otelcol_exporter_send_failed_log_records") == 0


def test_a_permanent_rejection_is_counted_as_failed_and_not_retried(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> None:
    receiver.status = 400  # what the sink answers for a body it cannot decode: retrying cannot help
    collector = start_collector(config_files("sidecar"), receiver.url)
    emit(_spec(tmp_path), collector.otlp_http_url)

    assert collector.wait_for_metric("otelcol_exporter_send_failed_log_records", RECORDS) == RECORDS
    assert collector.metric("otelcol_exporter_sent_log_records") == 0
    batches = collector.metric("otelcol_processor_batch_batch_send_size_count")
    assert len(receiver.messages("/v1/logs")) == batches


def test_a_sigkilled_collector_delivers_its_queue_after_restart(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> None:
    collector = _send_while_the_sink_is_down(start_collector, receiver, tmp_path)
    # Every record has left the batch processor's memory and sits in the disk-backed queue.
    collector.wait_for_metric("otelcol_exporter_enqueue_size_sum", RECORDS)
    collector.kill()
    assert receiver.log_records() == []

    receiver.start()
    collector.start()
    _assert_each_record_once(receiver)
