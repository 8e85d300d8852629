"""The Kubernetes overlay with the real binary. There is no API server here, so this runs the overlay with
a kubeconfig whose server refuses connections: the k8s_attributes processor starts, finds no pod, and
every record must still reach the sink with the service's own Kubernetes attributes intact (the PII layer
after it must not eat them). Tagging records from a live cluster is not tested here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import config_files
from tests.collector._process import CollectorFactory, emit, free_port
from tests.collector._receiver import RestartableReceiver

pytestmark = [pytest.mark.collector, pytest.mark.slow]

#: What k8s_attributes adds from the API server (and what a service may set itself): none of it is PII.
KUBERNETES_RESOURCE = {
    "k8s.namespace.name": "jobs",
    "k8s.pod.name": "worker-7d9f8b6c5d-x2k4q",
    "k8s.pod.uid": "3f0c2a4e-8b1d-4e6f-9a7c-5d2b1e0f4a3c",
    "k8s.deployment.name": "worker",
    "k8s.node.name": "node-1",
    "k8s.container.name": "worker",
    "container.image.name": "registry.example.com/rythmiq/worker",
    "container.image.tag": "1.4.2",
}


def _unreachable_kubeconfig(path: Path) -> Path:
    """A kubeconfig whose API server is a local port nothing listens on."""
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: gone, cluster: {{server: 'https://127.0.0.1:{free_port()}'}}}}]\n"
        "users: [{name: nobody, user: {token: not-a-token}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: nobody}}]\n"
        "current-context: gone\n"
    )
    return path


def test_records_pass_with_their_kubernetes_attributes_when_the_api_server_is_down(
    start_collector: CollectorFactory, receiver: RestartableReceiver, tmp_path: Path
) -> None:
    collector = start_collector(
        config_files("kubernetes"),
        receiver.url,
        name="kubernetes",
        RYTHMIQ_K8S_AUTH_TYPE="kubeConfig",
        KUBECONFIG=str(_unreachable_kubeconfig(tmp_path / "kubeconfig")),
        K8S_NODE_NAME="node-1",
    )
    resource = {**KUBERNETES_RESOURCE, "k8s.pod.ip": "10.42.0.17"}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"resource": resource, "logs": [{"body": f"line {n}"} for n in range(20)]}))
    emit(spec, collector.otlp_http_url)

    records = receiver.wait_for_logs(20, timeout=60)
    assert sorted(record["body"] for record in records) == sorted(f"line {n}" for n in range(20))
    for record in records:
        assert record["resource"].items() >= KUBERNETES_RESOURCE.items(), record["resource"]
        # Read by the pod association first, then deleted by the PII layer (an address).
        assert "k8s.pod.ip" not in record["resource"]
    # The processor saw every record and looked its pod up (finding none, with no API server).
    assert collector.metric("otelcol_processor_incoming_items", processor="k8s_attributes") >= 20
    assert collector.metric("otelcol_k8s_pod_association", status="error") >= 1
