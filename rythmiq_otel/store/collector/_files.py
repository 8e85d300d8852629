"""Where the collector configs and the builder manifest are, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from ._errors import CollectorError

#: Named deployments -> the config files (relative to the collector directory) merged in order, as the
#: collector merges repeated ``--config`` flags. The gateway and Kubernetes files are overlays on the sidecar
#: config.
VARIANTS: Final[dict[str, tuple[str, ...]]] = {
    "sidecar": ("config.yaml",),
    "agent": ("config.yaml", "gateway/agent.yaml"),
    "gateway": ("config.yaml", "gateway/gateway.yaml"),
    "kubernetes": ("config.yaml", "kubernetes/agent.yaml"),
}


def collector_dir() -> Path:
    """The directory with ``config.yaml``: the wheel's ``rythmiq_otel/_collector`` or the checkout's
    ``collector/`` (an editable install has only the latter)."""
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "_collector", package.parent / "collector"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise CollectorError(
        f"the collector configs are missing: neither {package / '_collector'} nor "
        f"{package.parent / 'collector'} has config.yaml (reinstall rythmiq-otel)"
    )


def manifest_path() -> Path:
    """The OpenTelemetry Collector Builder manifest, ``builder-config.yaml``."""
    return collector_dir() / "builder-config.yaml"


def config_files(variant: str) -> list[Path]:
    """The config files of a named variant (see :data:`VARIANTS`), as absolute paths."""
    names = VARIANTS.get(variant)
    if names is None:
        raise CollectorError(f"unknown collector variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    base = collector_dir()
    return [base / name for name in names]
