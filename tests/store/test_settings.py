"""Store settings: each variable parsed once, explicit arguments win, bad values fail in one sentence."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from rythmiq_otel.store import SettingsError, StoreSettings, load_settings


def test_defaults_are_embedded_under_the_user_data_dir_with_a_200_hour_budget() -> None:
    settings = load_settings({})
    assert settings == StoreSettings(
        database_url=None, data_dir=platformdirs.user_data_path("rythmiq-otel"), cpu_budget_hours=200.0
    )
    assert settings.pgdata == settings.data_dir / "postgres"


def test_environment_sets_every_field(tmp_path: Path) -> None:
    settings = load_settings({
        "DATABASE_URL": " postgresql://app@db.example:5432/rythmiq ",
        "RYTHMIQ_DATA_DIR": str(tmp_path),
        "RYTHMIQ_CPU_BUDGET_HOURS": "150.5",
    })
    assert settings == StoreSettings(
        database_url="postgresql://app@db.example:5432/rythmiq", data_dir=tmp_path,
        cpu_budget_hours=150.5, cpu_budget_from_env=True,
    )


def test_explicit_arguments_win_over_the_environment(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://env/db", "RYTHMIQ_DATA_DIR": "/nowhere"}
    settings = load_settings(env, database_url="host=/tmp dbname=x", data_dir=tmp_path)
    assert (settings.database_url, settings.data_dir) == ("host=/tmp dbname=x", tmp_path)


def test_empty_database_url_means_embedded() -> None:
    assert load_settings({"DATABASE_URL": "  "}).database_url is None


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "200h"])
def test_budget_must_be_a_positive_finite_number(value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"RYTHMIQ_CPU_BUDGET_HOURS": value})
    assert str(err.value) == f"RYTHMIQ_CPU_BUDGET_HOURS must be a positive number of hours, got {value!r}"


def test_bad_database_url_is_named_without_its_password() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"DATABASE_URL": "mysql://root:hunter2@db/x"})
    assert str(err.value) == (
        "DATABASE_URL must be a postgresql:// URL or a libpq key=value string, got 'mysql://root:***@db/x'"
    )
