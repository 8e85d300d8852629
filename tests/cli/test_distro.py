"""`rythmiq-otel instrument` and `rythmiq-otel doctor`, run as real commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rythmiq_otel.cli._distro import instrumented_pythonpath
from tests.distro.log_lines import parse_lines
from tests.instrumented import RYTHMIQ_OTEL, instrumented_env
from tests.otlp_capture import OtlpCapture, otlp_capture

__all__ = ["instrumented_env", "otlp_capture"]


def _auto_dir() -> str:
    import rythmiq_otel

    return str(Path(rythmiq_otel.__file__).parent / "distro" / "auto")


def test_instrumented_pythonpath_puts_the_hook_first_and_keeps_the_users_entries_in_order() -> None:
    user = os.pathsep.join(["/opt/a", _auto_dir(), "/opt/b"])
    assert instrumented_pythonpath(user) == os.pathsep.join([_auto_dir(), "/opt/a", "/opt/b"])
    assert instrumented_pythonpath(None) == _auto_dir()


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RYTHMIQ_OTEL, *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.slow
def test_children_of_an_instrumented_command_are_instrumented_and_keep_the_user_pythonpath(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture, tmp_path: Path
) -> None:
    (tmp_path / "usermod.py").write_text("VALUE = 'from the user path'\n")
    child = (
        "import usermod, logging; from rythmiq_otel.distro.setup._configure import is_configured; "
        "logging.getLogger('child').warning('child configured=%s %s', is_configured(), usermod.VALUE)"
    )
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    result = _run(["instrument", "--", sys.executable, "-c", parent],
                  {**instrumented_env, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    (line,) = parse_lines(result.stdout)
    assert line["message"] == "child configured=True from the user path"
    assert [r["body"] for r in otlp_capture.wait_for_logs(1)] == [line["message"]]


@pytest.mark.slow
def test_instrument_without_a_command_fails_with_one_line(instrumented_env: dict[str, str]) -> None:
    result = _run(["instrument"], instrumented_env)
    assert result.returncode == 2
    assert result.stderr == (
        "rythmiq-otel instrument: instrument needs a command, "
        "e.g. `rythmiq-otel instrument -- python app.py`.\n"
    )


@pytest.mark.slow
def test_instrument_with_an_unknown_executable_fails_with_one_line(instrumented_env: dict[str, str]) -> None:
    result = _run(["instrument", "--", "no-such-program-xyz"], instrumented_env)
    assert result.returncode == 2
    assert result.stderr == (
        "rythmiq-otel instrument: cannot run 'no-such-program-xyz': no such executable on PATH.\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["rythmiq-otel", "opentelemetry-instrument"])
def test_instrument_takes_opentelemetry_instruments_options(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture, runner: str
) -> None:
    """One command line works with either tool: options before the command set the OTel variables."""
    code = "from opentelemetry import trace; trace.get_tracer('t').start_span('work').end()"
    options = ["--service_name", "billing", "--metrics_exporter=none", "--logs_exporter", "none"]
    head = [RYTHMIQ_OTEL, "instrument"] if runner == "rythmiq-otel" else [
        str(Path(sys.executable).with_name("opentelemetry-instrument"))
    ]
    result = subprocess.run([*head, *options, sys.executable, "-c", code], env=instrumented_env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    (span,) = otlp_capture.spans()
    assert span["resource"]["service.name"] == "billing"
    assert not otlp_capture.metric_points() and not otlp_capture.log_records()


@pytest.mark.slow
def test_instrument_refuses_an_unknown_option_with_one_line(instrumented_env: dict[str, str]) -> None:
    result = _run(["instrument", "--tracez_exporter", "console", "python", "-c", "1"], instrumented_env)
    assert result.returncode == 2
    assert result.stderr == (
        "rythmiq-otel instrument: unknown option --tracez_exporter; expected an opentelemetry-instrument "
        "option such as --traces_exporter or --service_name, then the command.\n"
    )


@pytest.mark.slow
def test_opentelemetry_instrument_picks_up_the_rythmiq_distro(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture
) -> None:
    opentelemetry_instrument = str(Path(sys.executable).with_name("opentelemetry-instrument"))
    code = "from rythmiq_otel import get_worker_logger; get_worker_logger('w').info('via upstream')"
    result = subprocess.run([opentelemetry_instrument, sys.executable, "-c", code], env=instrumented_env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert parse_lines(result.stdout)[0]["message"] == "via upstream"
    (record,) = otlp_capture.wait_for_logs(1)
    assert record["resource"]["rythmiq.service"] == "worker"


@pytest.mark.slow
def test_doctor_prints_the_configuration_masks_secrets_and_reports_a_reachable_endpoint(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture
) -> None:
    env = {**instrumented_env, "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20topsecret",
           "OTEL_TRACES_SAMPLER_ARG": "3"}
    result = _run(["doctor"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "topsecret" not in result.stdout
    assert "headers=Authorization=****" in result.stdout
    assert "service: worker (service.name=rythmiq-worker)" in result.stdout
    assert "problem: OTEL_TRACES_SAMPLER_ARG='3' is not valid" in result.stdout
    assert f"ok traces endpoint {otlp_capture.url}/v1/traces: HTTP 200" in result.stdout
    assert otlp_capture.requests[0].headers["authorization"] == "Bearer topsecret"


@pytest.mark.slow
def test_doctor_fails_when_the_endpoint_does_not_answer(instrumented_env: dict[str, str]) -> None:
    result = _run(["doctor"], {**instrumented_env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 1
    assert "FAIL logs endpoint http://127.0.0.1:9/v1/logs: does not answer" in result.stdout


@pytest.mark.slow
def test_doctor_reports_a_rejecting_endpoint(
    instrumented_env: dict[str, str], otlp_capture: OtlpCapture
) -> None:
    otlp_capture.status = 401
    result = _run(["doctor"], instrumented_env)
    assert result.returncode == 1
    assert "FAIL metrics endpoint" in result.stdout
    assert "answered HTTP 401 to an empty export request" in result.stdout
