"""Dashboard settings: every environment variable the dashboard server reads, declared once.

Precedence is the house rule: command-line flag, then environment, then default. Bad values raise the
store's ``SettingsError`` with one sentence naming the variable and the value.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rythmiq_otel.store import SettingsError, load_settings

RYTHMIQ_DASHBOARD_TOKEN = "RYTHMIQ_DASHBOARD_TOKEN"
"""The secret that opens the dashboards: sent as ``Authorization: Bearer <token>`` or typed once into the
login page (which sets an HttpOnly, SameSite=Strict session cookie). At least 16 characters.

Unset: one is generated on first start and kept in ``<RYTHMIQ_DATA_DIR>/dashboard-token`` (mode 0600), so
a bookmark and a logged-in browser keep working across restarts; ``up`` and ``dashboard`` print it.
"""

RYTHMIQ_DASHBOARD_HOST = "RYTHMIQ_DASHBOARD_HOST"
"""Interface the dashboard server binds. Default ``127.0.0.1`` (this machine only)."""

RYTHMIQ_DASHBOARD_PORT = "RYTHMIQ_DASHBOARD_PORT"
"""TCP port of the dashboard server; 0 picks a free one. Default 4321."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4321
MIN_TOKEN_LENGTH = 16
TOKEN_FILE = "dashboard-token"


@dataclass(frozen=True, kw_only=True)
class DashboardSettings:
    """The dashboard server's configuration.

    Attributes:
        token: the secret every request must carry.
        token_source: where it came from, for the start-up message (the variable, or the kept file).
        host: interface to bind.
        port: TCP port (0 = any free one).
    """

    token: str
    token_source: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT


def _port(raw: str, name: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise SettingsError(f"{name} must be a TCP port number between 0 and 65535, got {raw!r}")
    return port


def _kept_token(data_dir: Path) -> tuple[str, str]:
    """The token kept in the data directory, made (0600) on first use."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if len(token) >= MIN_TOKEN_LENGTH:
            return token, str(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return token, f"{path} (generated)"


def load_dashboard_settings(
    environ: Mapping[str, str] | None = None, *, host: str | None = None, port: int | None = None
) -> DashboardSettings:
    """Read the dashboard settings (flags override the environment).

    Raises:
        SettingsError: a variable is set to something unusable.
    """
    env = os.environ if environ is None else environ
    raw_token = env.get(RYTHMIQ_DASHBOARD_TOKEN, "").strip()
    if raw_token:
        if len(raw_token) < MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"{RYTHMIQ_DASHBOARD_TOKEN} must be at least {MIN_TOKEN_LENGTH} characters, got "
                f"{len(raw_token)}"
            )
        token, source = raw_token, RYTHMIQ_DASHBOARD_TOKEN
    else:
        token, source = _kept_token(load_settings(env).data_dir)
    if port is None:
        raw_port = env.get(RYTHMIQ_DASHBOARD_PORT, "").strip()
        port = _port(raw_port, RYTHMIQ_DASHBOARD_PORT) if raw_port else DEFAULT_PORT
    else:
        port = _port(str(port), "--port")
    return DashboardSettings(
        token=token,
        token_source=source,
        host=host or env.get(RYTHMIQ_DASHBOARD_HOST, "").strip() or DEFAULT_HOST,
        port=port,
    )
