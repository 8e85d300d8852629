"""The store half: embedded Postgres, migrations, the OTLP sink and the readers of what it stored.

Never imports ``rythmiq_otel.distro``: the only contract between the halves is OTLP plus the shared
``rythmiq_otel.vocab`` and ``rythmiq_otel.pii`` modules.

Public names are resolved lazily (PEP 562), so importing the package loads neither psycopg nor the
embedded server's wheel until a name is used. The map below is the public surface.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # configuration (DATABASE_URL, RYTHMIQ_DATA_DIR, RYTHMIQ_CPU_BUDGET_HOURS)
    "StoreSettings": "._settings",
    "load_settings": "._settings",
    # which Postgres: DATABASE_URL, else the embedded server
    "resolve_database_url": "._database_url",
    "database_url_for": "._database_url",
    # migrations
    "Migration": "._migrate",
    "load_migrations": "._migrate",
    "migrate": "._migrate",
    "pending_migrations": "._migrate",
    # retention, partitions, view refresh, metric rollups
    "MaintenanceStep": "._maintenance",
    "run_maintenance": "._maintenance",
    # errors (one sentence each)
    "StoreError": "._errors",
    "SettingsError": "._errors",
    "EmbeddedServerError": "._errors",
    "MigrationError": "._errors",
}

__all__ = [
    "EmbeddedServerError",
    "MaintenanceStep",
    "Migration",
    "MigrationError",
    "SettingsError",
    "StoreError",
    "StoreSettings",
    "database_url_for",
    "load_migrations",
    "load_settings",
    "migrate",
    "pending_migrations",
    "resolve_database_url",
    "run_maintenance",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rythmiq_otel.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
