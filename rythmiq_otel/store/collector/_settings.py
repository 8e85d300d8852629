"""The environment variables of the collector tooling, declared once (the collector's own are in
``collector/README.md``: it reads them itself from ``config.yaml``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Directory holding built collectors, one subdirectory per builder-manifest hash (so editing the
#: manifest rebuilds and an unchanged one is reused). Default: the user cache dir,
#: ``~/.cache/rythmiq-otel/collector`` on Linux.
RYTHMIQ_COLLECTOR_DIR = "RYTHMIQ_COLLECTOR_DIR"

#: Path of a collector binary to use instead of our build, e.g. upstream ``otelcol-contrib`` >= 0.161.0,
#: which has every component the configs use. Unset: the binary ``rythmiq-otel collector build`` made.
RYTHMIQ_COLLECTOR_BIN = "RYTHMIQ_COLLECTOR_BIN"

#: Read by ``config.yaml`` (the persistent queue's directory); ``collector run`` defaults it to the user
#: data dir, because the config's own default (``/var/lib/otelcol/rythmiq``) needs root.
RYTHMIQ_COLLECTOR_STORAGE_DIR = "RYTHMIQ_COLLECTOR_STORAGE_DIR"

#: Read by ``config.yaml`` (the ``host.name`` resource attribute); ``collector run`` defaults it to this
#: machine's hostname.
RYTHMIQ_COLLECTOR_HOST_NAME = "RYTHMIQ_COLLECTOR_HOST_NAME"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where builds go: ``RYTHMIQ_COLLECTOR_DIR``, else the user cache directory."""
    raw = (os.environ if env is None else env).get(RYTHMIQ_COLLECTOR_DIR, "").strip()
    if raw:
        return Path(raw).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("rythmiq-otel") / "collector"


def binary_override(env: Mapping[str, str] | None = None) -> Path | None:
    """The binary named by ``RYTHMIQ_COLLECTOR_BIN``, or ``None`` when unset."""
    raw = (os.environ if env is None else env).get(RYTHMIQ_COLLECTOR_BIN, "").strip()
    return Path(raw).expanduser() if raw else None


def default_storage_dir() -> Path:
    """The queue directory ``collector run`` uses when ``RYTHMIQ_COLLECTOR_STORAGE_DIR`` is unset."""
    import platformdirs

    return platformdirs.user_data_path("rythmiq-otel") / "collector-queue"
