"""The gateway tier for real: one agent load-balancing by trace id over two gateways, each forwarding to
its own sink stand-in. Every record of a trace lands behind one gateway, both gateways get work, nothing
is lost or duplicated -- also when the gateways are down and the agent is SIGKILLed meanwhile."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import config_files
from tests.collector._process import CollectorFactory, CollectorProcess, emit, free_port
from tests.collector._receiver import RestartableReceiver

pytestmark = [pytest.mark.collector, pytest.mark.slow]

TRACES, PER_TRACE = 24, 5
TRACE_IDS = [f"{index + 1:032x}" for index in range(TRACES)]


@pytest.fixture
def sinks() -> Iterator[list[RestartableReceiver]]:
    receivers = [RestartableReceiver(free_port()).start() for _ in range(2)]
    yield receivers
    for receiver in receivers:
        receiver.stop()


def _tier(start_collector: CollectorFactory, sinks: list[RestartableReceiver]) -> list[CollectorProcess]:
    """Two gateways (one per sink) and an agent in front of them; returns ``[gateway, gateway, agent]``."""
    gateways = [
        start_collector(config_files("gateway"), sink.url, name=f"gateway-{index}")
        for index, sink in enumerate(sinks)
    ]
    endpoints = ", ".join(f"127.0.0.1:{gateway.grpc_port}" for gateway in gateways)
    unused = "http://127.0.0.1:9"  # the agent's pipelines end in load_balancing, not in otlp_http/sink
    agent = start_collector(
        config_files("agent"), unused, name="agent", RYTHMIQ_GATEWAY_ENDPOINTS=f"[{endpoints}]"
    )
    return [*gateways, agent]


def _send(agent: CollectorProcess, tmp_path: Path) -> None:
    logs = [
        {"body": f"{trace} #{n}", "attributes": {"n": n}, "trace_id": trace}
        for trace in TRACE_IDS
        for n in range(PER_TRACE)
    ]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"logs": logs}))
    emit(spec, agent.otlp_http_url)


def _assert_routed_by_trace_once(sinks: list[RestartableReceiver]) -> None:
    total = TRACES * PER_TRACE
    arrived = sinks[0].wait_until(lambda: sum(len(sink.log_records()) for sink in sinks) >= total, timeout=60)
    records = [(index, record) for index, sink in enumerate(sinks) for record in sink.log_records()]
    assert arrived, f"only {len(records)} of {total} records arrived"
    arrivals = Counter((record["trace_id"], record["attributes"]["n"]) for _, record in records)
    assert sorted(arrivals) == sorted((trace, n) for trace in TRACE_IDS for n in range(PER_TRACE))
    assert set(arrivals.values()) == {1}
    where: dict[str, set[int]] = defaultdict(set)
    for index, record in records:
        where[record["trace_id"]].add(index)
    assert all(len(gateways) == 1 for gateways in where.values())
    assert all(sink.log_records() for sink in sinks), "both gateways should get some traces"


def test_the_agent_routes_each_trace_to_one_gateway(
    start_collector: CollectorFactory, sinks: list[RestartableReceiver], tmp_path: Path
) -> None:
    *_, agent = _tier(start_collector, sinks)
    _send(agent, tmp_path)
    _assert_routed_by_trace_once(sinks)


def test_the_agent_keeps_data_for_downed_gateways_across_a_sigkill(
    start_collector: CollectorFactory, sinks: list[RestartableReceiver], tmp_path: Path
) -> None:
    *gateways, agent = _tier(start_collector, sinks)
    for gateway in gateways:
        gateway.kill()
    _send(agent, tmp_path)
    agent.wait_for_metric("otelcol_exporter_enqueue_size_sum", TRACES * PER_TRACE)
    agent.kill()

    for gateway in gateways:
        gateway.start()
    agent.start()
    _assert_routed_by_trace_once(sinks)
