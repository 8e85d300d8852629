"""The gateway tier for real: one agent load-balancing by trace id over two gateways, each forwarding to
its own sink stand-in. Every record of a trace lands behind one gateway, both gateways get work, nothing
is lost or duplicated."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import config_files
from tests.collector._process import emit, free_port
from tests.collector._receiver import RestartableReceiver

pytestmark = [pytest.mark.collector, pytest.mark.slow]

TRACES, PER_TRACE = 24, 5


def test_the_agent_routes_each_trace_to_one_gateway(start_collector, tmp_path: Path) -> None:
    sinks = [RestartableReceiver(free_port()).start() for _ in range(2)]
    try:
        gateways = [
            start_collector(config_files("gateway"), sink.url, name=f"gateway-{index}")
            for index, sink in enumerate(sinks)
        ]
        endpoints = ", ".join(f"127.0.0.1:{gateway.grpc_port}" for gateway in gateways)
        # The agent's own otlp_http exporter is unused (its pipelines end in load_balancing).
        unused = "http://127.0.0.1:9"
        agent = start_collector(
            config_files("agent"), unused, name="agent", RYTHMIQ_GATEWAY_ENDPOINTS=f"[{endpoints}]"
        )
        trace_ids = [f"{index + 1:032x}" for index in range(TRACES)]
        logs = [
            {"body": f"{trace} #{n}", "attributes": {"n": n}, "trace_id": trace}
            for trace in trace_ids
            for n in range(PER_TRACE)
        ]
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"logs": logs}))
        emit(spec, agent.otlp_http_url)

        total = TRACES * PER_TRACE
        sinks[0].wait_until(lambda: sum(len(sink.log_records()) for sink in sinks) >= total, timeout=30)
        where: dict[str, set[int]] = defaultdict(set)
        for index, sink in enumerate(sinks):
            for record in sink.log_records():
                where[record["trace_id"]].add(index)
        arrivals = Counter(
            (record["trace_id"], record["attributes"]["n"]) for sink in sinks for record in sink.log_records()
        )
        assert sorted(arrivals) == sorted((trace, n) for trace in trace_ids for n in range(PER_TRACE))
        assert set(arrivals.values()) == {1}
        assert all(len(gateways_seen) == 1 for gateways_seen in where.values())
        assert all(sink.log_records() for sink in sinks), "both gateways should get some traces"
    finally:
        for sink in sinks:
            sink.stop()
