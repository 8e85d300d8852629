"""Store settings: every environment variable the store half reads, declared once and parsed once.

Nothing else in ``rythmiq_otel.store`` reads ``os.environ`` for these. Precedence is the house rule:
an explicit argument, then the environment, then the default. A bad value is a ``SettingsError`` whose
message names the variable, shows the value and says what was expected (the CLI prints it as one line).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ._errors import SettingsError

DATABASE_URL = "DATABASE_URL"
"""A libpq connection string (``postgresql://user:pass@host:5432/db``) of the Postgres to use.

Unset or empty: the store runs its own embedded PostgreSQL in ``RYTHMIQ_DATA_DIR``. Set: every command and
the sink use that server instead (any PostgreSQL >= 14, Supabase included) and ``db start|stop`` do nothing.
"""

RYTHMIQ_DATA_DIR = "RYTHMIQ_DATA_DIR"
"""Directory holding the embedded server's data (``<dir>/postgres``). Created when missing.

Default: the platform's user data directory for ``rythmiq-otel`` (``~/.local/share/rythmiq-otel`` on Linux),
so the data survives restarts and is reused by the next ``db start``.
"""

RYTHMIQ_CPU_BUDGET_HOURS = "RYTHMIQ_CPU_BUDGET_HOURS"
"""The monthly CPU budget in hours (spec §5.3: 200). A positive number.

``rythmiq-otel migrate`` (and ``up``) stores it in the database (``rythmiq_config``) so that
``get_monthly_cpu_usage()`` called without an argument uses it.
"""

DEFAULT_CPU_BUDGET_HOURS = 200.0


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """The parsed store configuration.

    Attributes:
        database_url: the external Postgres to use, or ``None`` for the embedded one.
        data_dir: where the embedded server keeps its data.
        cpu_budget_hours: the monthly CPU budget (§5.3).
        cpu_budget_from_env: whether ``cpu_budget_hours`` was configured rather than defaulted, so
            ``migrate`` only overwrites the stored budget when someone asked for it.
    """

    database_url: str | None
    data_dir: Path
    cpu_budget_hours: float = DEFAULT_CPU_BUDGET_HOURS
    cpu_budget_from_env: bool = False

    @property
    def pgdata(self) -> Path:
        """The embedded server's PGDATA directory."""
        return self.data_dir / "postgres"


def _default_data_dir() -> Path:
    import platformdirs

    return platformdirs.user_data_path("rythmiq-otel")


def _parse_database_url(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    if not url.startswith(("postgresql://", "postgres://")) and "=" not in url:
        from ._database_url import redact_url  # imported here: that module needs this one

        raise SettingsError(
            f"{DATABASE_URL} must be a postgresql:// URL or a libpq key=value string, got {redact_url(url)!r}"
        )
    return url


def _parse_budget(raw: str) -> float:
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not hours > 0 or hours == float("inf"):
        raise SettingsError(f"{RYTHMIQ_CPU_BUDGET_HOURS} must be a positive number of hours, got {raw!r}")
    return hours


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    database_url: str | None = None,
    data_dir: Path | None = None,
) -> StoreSettings:
    """Read the store settings once from ``environ`` (default ``os.environ``).

    Args:
        environ: the environment to read; tests pass a plain dict.
        database_url: overrides ``DATABASE_URL``.
        data_dir: overrides ``RYTHMIQ_DATA_DIR``.

    Raises:
        SettingsError: a variable is set to something unusable.
    """
    env = os.environ if environ is None else environ
    raw_dir = env.get(RYTHMIQ_DATA_DIR, "").strip()
    if data_dir is None:
        data_dir = Path(raw_dir).expanduser() if raw_dir else _default_data_dir()
    raw_budget = env.get(RYTHMIQ_CPU_BUDGET_HOURS, "").strip()
    return StoreSettings(
        database_url=_parse_database_url(database_url if database_url is not None else env.get(DATABASE_URL)),
        data_dir=data_dir.absolute(),
        cpu_budget_hours=_parse_budget(raw_budget) if raw_budget else DEFAULT_CPU_BUDGET_HOURS,
        cpu_budget_from_env=bool(raw_budget),
    )
