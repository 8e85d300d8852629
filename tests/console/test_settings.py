"""Dashboard settings: the token (given, or generated once and kept 0600), host and port, bad values as
one sentence naming the variable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rythmiq_otel.console.dashboards._settings import load_dashboard_settings
from rythmiq_otel.store import SettingsError


def test_a_given_token_is_used_as_it_is(tmp_path: Path) -> None:
    settings = load_dashboard_settings({"RYTHMIQ_DASHBOARD_TOKEN": " s3cret-0123456789abcd ",
                                        "RYTHMIQ_DATA_DIR": str(tmp_path)})
    assert (settings.token, settings.token_source) == ("s3cret-0123456789abcd", "RYTHMIQ_DASHBOARD_TOKEN")
    assert (settings.host, settings.port) == ("127.0.0.1", 4321)
    assert not (tmp_path / "dashboard-token").exists()


def test_without_one_a_token_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    env = {"RYTHMIQ_DATA_DIR": str(tmp_path / "new")}
    first = load_dashboard_settings(env)
    again = load_dashboard_settings(env)
    kept = tmp_path / "new" / "dashboard-token"
    assert first.token == again.token == kept.read_text().strip() and len(first.token) >= 16
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert first.token_source.endswith("(generated)") and again.token_source == str(kept)


def test_flags_override_the_environment(tmp_path: Path) -> None:
    env = {"RYTHMIQ_DATA_DIR": str(tmp_path), "RYTHMIQ_DASHBOARD_HOST": "0.0.0.0",
           "RYTHMIQ_DASHBOARD_PORT": "8080"}
    assert (load_dashboard_settings(env).host, load_dashboard_settings(env).port) == ("0.0.0.0", 8080)
    flagged = load_dashboard_settings(env, host="::1", port=0)
    assert (flagged.host, flagged.port) == ("::1", 0)


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"RYTHMIQ_DASHBOARD_TOKEN": "short"}, {}, "RYTHMIQ_DASHBOARD_TOKEN must be at least 16 characters"),
        ({"RYTHMIQ_DASHBOARD_PORT": "http"}, {}, "RYTHMIQ_DASHBOARD_PORT must be a TCP port number"),
        ({"RYTHMIQ_DASHBOARD_PORT": "70000"}, {}, "between 0 and 65535, got '70000'"),
        ({}, {"port": -1}, "--port must be a TCP port number"),
    ],
)
def test_bad_values_are_one_sentence(tmp_path: Path, env: dict, flags: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_dashboard_settings({"RYTHMIQ_DATA_DIR": str(tmp_path), **env}, **flags)
