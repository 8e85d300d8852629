"""The resource a real process exports: ``service.name`` in the SDK's order of precedence."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from rythmiq_otel.distro.setup._resource import _read, container_id
from tests.otlp_capture import OtlpCapture

SPAN = "from opentelemetry import trace\ntrace.get_tracer('t').start_span('work').end()\n"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "rythmiq-worker"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=ocr-worker,team=docs"}, "ocr-worker"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=ocr-worker", "OTEL_SERVICE_NAME": "camber-ocr"},
         "camber-ocr"),
        ({"OTEL_SERVICE_NAME": "camber-ocr"}, "camber-ocr"),
    ],
)
def test_service_name_follows_the_sdk_precedence(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]],
    otlp_capture: OtlpCapture,
    env: dict[str, str],
    expected: str,
) -> None:
    result = run_instrumented(SPAN, **env)
    assert result.returncode == 0, result.stderr
    (span,) = otlp_capture.spans()
    assert span["resource"]["service.name"] == expected
    assert span["resource"]["rythmiq.service"] == "worker"


def test_a_declarative_config_file_is_one_warning_and_the_environment_applies(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    result = run_instrumented(SPAN, OTEL_CONFIG_FILE="/etc/otel/sdk.yaml")
    assert result.returncode == 0, result.stderr
    warnings = [json.loads(line)["message"] for line in result.stdout.splitlines() if '"WARN"' in line]
    assert warnings == [
        "OTEL_CONFIG_FILE='/etc/otel/sdk.yaml' is not supported by rythmiq-otel; "
        "the environment variables apply."
    ]
    assert [span["name"] for span in otlp_capture.spans()] == ["work"]


def test_process_host_os_are_detected_by_default_and_the_variable_decides_when_set(
    run_instrumented: Callable[..., subprocess.CompletedProcess[str]], otlp_capture: OtlpCapture
) -> None:
    assert run_instrumented(SPAN).returncode == 0
    (span,) = otlp_capture.spans()
    resource = span["resource"]
    assert {"process.pid", "process.runtime.name", "host.name", "os.type"} <= set(resource), resource
    expected_id = container_id(_read("/proc/self/cgroup"), _read("/proc/self/mountinfo"))
    assert resource.get("container.id") == expected_id  # this machine's answer, container or not
    assert resource["service.name"] == "rythmiq-worker"

    otlp_capture.requests.clear()
    assert run_instrumented(SPAN, OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel").returncode == 0
    (span,) = otlp_capture.spans()
    assert not {"process.pid", "host.name", "os.type", "container.id"} & set(span["resource"])


@pytest.mark.parametrize(
    ("cgroup", "mountinfo", "expected"),
    [
        ("12:pids:/docker/" + "a" * 64 + "\n", "", "a" * 64),
        ("0::/kubepods.slice/cri-containerd-" + "b" * 64 + ".scope\n", "", "b" * 64),
        ("0::/\n", "611 600 0:50 /var/lib/docker/containers/" + "c" * 64 + "/hostname /etc/hostname rw\n",
         "c" * 64),
        ("0::/user.slice/user-1000.slice/session-2.scope\n",
         "45 1 0:40 / /var/lib/docker/overlay2/" + "d" * 64 + "/merged rw\n", None),
        ("", "", None),
    ],
)
def test_the_container_id_comes_from_cgroup_or_the_containers_own_mounts(
    cgroup: str, mountinfo: str, expected: str | None
) -> None:
    assert container_id(cgroup, mountinfo) == expected
