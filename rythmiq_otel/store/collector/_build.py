"""Build the minimal collector distribution of ``builder-config.yaml`` with the OpenTelemetry Collector
Builder, into a cache directory keyed by the manifest's hash.

Why a cache keyed by content: a build takes minutes on a small machine, so an unchanged manifest is never
rebuilt, and any edit to it (a component, a version) yields a new key and so a fresh build. Go's own module
and build caches (GOMODCACHE, GOCACHE) are left at their defaults so later builds reuse them too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .._embedded import _exclusive
from ._errors import CollectorError
from ._files import manifest_path
from ._settings import cache_dir

BUILDER_MODULE = "go.opentelemetry.io/collector/cmd/builder"
_CORE_V0 = re.compile(r"gomod:\s*go\.opentelemetry\.io/collector/\S+\s+(v0\.\d+\.\d+)")
_DIST_NAME = re.compile(r"^dist:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*(\S+)", re.MULTILINE)
_DIST_HEADER = re.compile(r"^dist:[ \t]*\n([ \t]+)", re.MULTILINE)


@dataclass(frozen=True)
class BuildResult:
    """The binary and whether this call built it (``False``: reused from the cache)."""

    binary: Path
    built: bool
    seconds: float


def go_executable() -> str | None:
    """The ``go`` command on PATH, or ``None`` when Go is not installed."""
    return shutil.which("go")


def manifest_key(text: str) -> str:
    """The cache key of a manifest: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dist_name(text: str) -> str:
    """The binary's name, ``dist.name`` of the manifest."""
    match = _DIST_NAME.search(text)
    if match is None:
        raise CollectorError("the builder manifest has no dist.name (the binary's name)")
    return match.group(1)


def builder_version(text: str) -> str:
    """The collector release the manifest is aligned on, which is also the builder's version.

    Every core ``v0.x`` module must carry the same version: a mixed manifest does not build reliably.
    """
    versions = set(_CORE_V0.findall(text))
    if len(versions) != 1:
        found = ", ".join(sorted(versions)) or "none"
        raise CollectorError(
            f"the builder manifest must pin one core collector release (v0.x), found {found}"
        )
    return versions.pop()


def cached_binary(cache: Path | None = None) -> Path:
    """Where the binary for the current manifest lives (it may not exist yet)."""
    return _binary_path(manifest_path().read_text(), cache or cache_dir())


def _binary_path(text: str, root: Path) -> Path:
    return root / manifest_key(text) / dist_name(text)


def build(*, force: bool = False, cache: Path | None = None) -> BuildResult:
    """Build the collector unless the cache already has it for this manifest.

    Raises:
        CollectorError: Go is missing, or the builder failed (its log file is named in the message).
    """
    text = manifest_path().read_text()
    root = cache or cache_dir()
    target = _binary_path(text, root)
    if target.is_file() and not force:
        return BuildResult(target, built=False, seconds=0.0)
    go = go_executable()
    if go is None:
        raise CollectorError(
            "Go is not installed, and building the collector needs it: install Go (https://go.dev/dl/) "
            "or set RYTHMIQ_COLLECTOR_BIN to an otelcol-contrib >= 0.161.0 binary"
        )
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with _exclusive(target.parent):  # one build per manifest at a time (CLI and CI may race)
        if target.is_file() and not force:  # another process built it while we waited
            return BuildResult(target, built=False, seconds=0.0)
        env = _go_env(go)
        builder = _install_builder(go, builder_version(text), root, env)
        _run_builder(builder, text, target, env)
    return BuildResult(target, built=True, seconds=time.monotonic() - started)


def _go_env(go: str) -> dict[str, str]:
    """A static binary (no C toolchain needed, runs anywhere), and ``-e`` for the builder's ``go mod tidy``.

    Why ``-e``: tidy also resolves the imports of our components' own tests, and the k8sattributes
    processor's tests import a module the Go module proxy does not serve. With ``-e`` tidy records what it
    can; ``go build`` (which ignores the flag) still fails on anything the binary itself needs. The flag is
    added to the user's own GOFLAGS as ``go env`` reports them (environment or ``go env -w``), because a
    GOFLAGS variable hides the ``go env -w`` value.
    """
    own = subprocess.run([go, "env", "GOFLAGS"], capture_output=True, text=True, check=False).stdout.strip()
    return {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": f"{own} -e".strip()}


def _install_builder(go: str, version: str, root: Path, env: dict[str, str]) -> Path:
    """``go install`` the builder of ``version`` into the cache (once per version)."""
    bin_dir = root / "tools" / version
    builder = bin_dir / "builder"
    if builder.is_file():
        return builder
    result = subprocess.run(
        [go, "install", f"{BUILDER_MODULE}@{version}"],
        env={**env, "GOBIN": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = _last_line(result.stderr)
        raise CollectorError(f"installing the collector builder {version} failed: {reason}")
    return builder


def _run_builder(builder: Path, text: str, target: Path, env: dict[str, str]) -> None:
    """Run the builder on a copy of the manifest whose output goes to a scratch dir, then keep the binary."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    manifest = work / "manifest.yaml"
    manifest.write_text(_with_output_path(text, work / "dist"))
    log = target.parent / "build.log"
    with log.open("w") as out:
        result = subprocess.run(
            [str(builder), f"--config={manifest}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise CollectorError(f"the collector build failed: {_last_line(log.read_text())} (full log: {log})")
    os.replace(work / "dist" / target.name, target)
    shutil.rmtree(work, ignore_errors=True)


def _with_output_path(text: str, output: Path) -> str:
    """The manifest with ``dist.output_path`` set, indented like the rest of the ``dist`` block."""
    match = _DIST_HEADER.search(text)
    if match is None:
        raise CollectorError("the builder manifest has no dist section")
    indent = match.group(1)
    return text[: match.start(1)] + f"{indent}output_path: {output}\n" + text[match.start(1) :]


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
