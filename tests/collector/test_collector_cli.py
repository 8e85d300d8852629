"""``rythmiq-otel collector build | validate | run`` as a user runs them: real processes, one-line errors,
and the build helpers that keep the cache keyed by the manifest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rythmiq_otel.store.collector import config_files, manifest_path
from rythmiq_otel.store.collector._build import _with_output_path, builder_version, dist_name, manifest_key
from tests.collector._process import free_ports, wait_healthy

RYTHMIQ_OTEL = [sys.executable, "-m", "rythmiq_otel"]


def _cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RYTHMIQ_OTEL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """No collector settings from the caller's shell, and an empty build cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RYTHMIQ_", "OTEL_"))}
    env["RYTHMIQ_COLLECTOR_DIR"] = str(tmp_path / "cache")
    return env


@pytest.fixture
def no_go_env(clean_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A PATH without Go (nor anything else)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return {**clean_env, "PATH": str(empty)}


def test_build_without_go_says_the_collector_tests_will_skip(no_go_env: dict[str, str]) -> None:
    result = _cli("collector", "build", "--if-go-available", env=no_go_env)
    assert result.returncode == 0
    assert result.stdout.count("\n") == 1
    assert "Go is not installed" in result.stdout and "collector tests will skip" in result.stdout


def test_build_without_go_fails_in_one_line_that_says_what_to_do(no_go_env: dict[str, str]) -> None:
    result = _cli("collector", "build", env=no_go_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Go is not installed" in result.stderr and "RYTHMIQ_COLLECTOR_BIN" in result.stderr


def test_validate_without_a_binary_says_how_to_get_one(no_go_env: dict[str, str]) -> None:
    result = _cli("collector", "validate", env=no_go_env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "rythmiq-otel collector: no collector binary: run `rythmiq-otel collector build` (needs Go) or set "
        "RYTHMIQ_COLLECTOR_BIN to an otelcol-contrib >= 0.161.0 binary"
    )


def test_a_binary_override_that_is_not_executable_is_named(clean_env: dict[str, str], tmp_path: Path) -> None:
    fake = tmp_path / "otelcol"
    fake.write_text("not a program")
    result = _cli("collector", "validate", env={**clean_env, "RYTHMIQ_COLLECTOR_BIN": str(fake)})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"rythmiq-otel collector: RYTHMIQ_COLLECTOR_BIN={str(fake)!r} is not an executable file"
    )


def test_the_public_surface_resolves() -> None:
    from rythmiq_otel.store import collector

    assert all(getattr(collector, name) is not None for name in collector.__all__)


def test_the_manifest_pins_one_release_and_names_the_binary() -> None:
    text = manifest_path().read_text()
    assert builder_version(text) == "v0.161.0"
    assert dist_name(text) == "otelcol-rythmiq"


def test_the_build_cache_key_follows_the_manifest() -> None:
    text = manifest_path().read_text()
    assert manifest_key(text) == manifest_key(text)
    assert manifest_key(text) != manifest_key(text.replace("v0.161.0", "v0.160.0"))


def test_the_build_writes_its_output_inside_the_dist_block(tmp_path: Path) -> None:
    text = _with_output_path(manifest_path().read_text(), tmp_path / "dist")
    assert f"dist:\n  output_path: {tmp_path / 'dist'}\n  module:" in text


@pytest.mark.collector
@pytest.mark.parametrize("variant", ["sidecar", "agent", "gateway", "kubernetes"])
def test_every_bundled_variant_validates_with_the_binary(
    variant: str, collector_binary: Path, clean_env: dict[str, str]
) -> None:
    result = _cli(
        "collector",
        "validate",
        "--variant",
        variant,
        env={**clean_env, "RYTHMIQ_COLLECTOR_BIN": str(collector_binary)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f": valid ({collector_binary.name})")


@pytest.mark.collector
def test_an_invalid_config_fails_in_one_line_naming_the_problem(
    collector_binary: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(config_files("sidecar")[0].read_text().replace("check_interval:", "check_intervall:"))
    result = _cli(
        "collector",
        "validate",
        "--config",
        str(broken),
        env={**clean_env, "RYTHMIQ_COLLECTOR_BIN": str(collector_binary)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("rythmiq-otel collector: broken.yaml is not a valid collector config: ")
    assert "check_intervall" in result.stderr


@pytest.mark.collector
@pytest.mark.slow
def test_run_starts_the_sidecar_until_terminated(
    collector_binary: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    grpc, http, health, metrics = free_ports(4)
    env = {
        **clean_env,
        "RYTHMIQ_COLLECTOR_BIN": str(collector_binary),
        "RYTHMIQ_COLLECTOR_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "RYTHMIQ_COLLECTOR_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "RYTHMIQ_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{health}",
        "RYTHMIQ_COLLECTOR_METRICS_PORT": str(metrics),
        "RYTHMIQ_COLLECTOR_STORAGE_DIR": str(tmp_path / "queue"),
    }
    process = subprocess.Popen([*RYTHMIQ_OTEL, "collector", "run"], env=env, stderr=subprocess.DEVNULL)
    try:
        healthy = wait_healthy(health, process, timeout=30)
        assert healthy, "the collector started by `collector run` never became healthy"
        assert (tmp_path / "queue").is_dir()  # the persistent queue's directory was created
        process.send_signal(signal.SIGTERM)  # `run` exec'd the collector: the signal reaches it directly
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
