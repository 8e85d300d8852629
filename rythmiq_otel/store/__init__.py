"""The store half: embedded Postgres, migrations, the OTLP sink and the readers of what it stored.

Never imports ``rythmiq_otel.distro``: the only contract between the halves is OTLP plus the shared
``rythmiq_otel.vocab`` and ``rythmiq_otel.pii`` modules.

Public names are resolved lazily (PEP 562), so importing the package loads neither psycopg nor the
embedded server's wheel until a name is used. The map below is the public surface.
"""

from __future__ import annotations

from rythmiq_otel._lazy import lazy_exports

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

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 -- the public surface is the map above


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
