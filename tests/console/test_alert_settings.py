"""Alert settings: defaults from the spec, every knob per rule, and one clear sentence for a bad value."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rythmiq_otel.console.alerts import load_alert_settings
from rythmiq_otel.console.alerts._settings import format_duration, known_variables
from rythmiq_otel.store import SettingsError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def test_defaults_are_the_spec_thresholds() -> None:
    settings = load_alert_settings({})
    levels = {rule.name: (rule.threshold, rule.warning, format_duration(rule.window), rule.min_sample)
              for rule in settings.rules}
    assert levels["error_rate"] == (2.0, 1.0, "1h", 20)
    assert levels["p95_latency"] == (30.0, None, "1h", 20)
    assert levels["cpu_burn"] == (10.0, None, "24h", 1)
    assert levels["cold_starts"] == (10.0, None, "24h", 20)
    assert levels["api_5xx"][2] == "15m"
    assert all(rule.enabled for rule in settings.rules)
    assert (settings.webhook_url, settings.interval_seconds, settings.cpu_budget_hours) == (None, 60.0, None)


def test_every_field_of_a_rule_can_be_set() -> None:
    settings = load_alert_settings({
        "RYTHMIQ_ALERT_CPU_SPIKE_THRESHOLD": "3", "RYTHMIQ_ALERT_CPU_SPIKE_WARNING": "off",
        "RYTHMIQ_ALERT_CPU_SPIKE_WINDOW": "30m", "RYTHMIQ_ALERT_CPU_SPIKE_MIN_SAMPLE": "5",
        "RYTHMIQ_ALERT_CPU_SPIKE_BASELINE": "14d", "RYTHMIQ_ALERT_CPU_SPIKE_FLOOR": "2.5",
        "RYTHMIQ_ALERTS_DISABLED": "quality_shift, api_5xx", "RYTHMIQ_CPU_BUDGET_HOURS": "150",
    })
    spike = settings.rule("cpu_spike")
    assert (spike.threshold, spike.warning, spike.window, spike.min_sample, spike.baseline, spike.floor) == (
        3.0, None, timedelta(minutes=30), 5, timedelta(days=14), 2.5)
    assert [r.name for r in settings.rules if not r.enabled] == ["quality_shift", "api_5xx"]
    assert settings.cpu_budget_hours == 150.0


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD", "two",
     "RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD='two' is not a number >= 0"),
    ("RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD", "nan",
     "RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD='nan' is not a number >= 0"),
    ("RYTHMIQ_ALERT_ERROR_RATE_WARNING", "-1",
     "RYTHMIQ_ALERT_ERROR_RATE_WARNING='-1' is not a number >= 0 (or off for none)"),
    ("RYTHMIQ_ALERT_P95_LATENCY_MIN_SAMPLE", "1.5",
     "RYTHMIQ_ALERT_P95_LATENCY_MIN_SAMPLE='1.5' is not a whole number from 0 to 1,000,000,000"),
    ("RYTHMIQ_ALERT_COLD_STARTS_WINDOW", "0h", "RYTHMIQ_ALERT_COLD_STARTS_WINDOW='0h' is not a duration"),
    ("RYTHMIQ_ALERT_COLD_STARTS_WINDOW", "99999999999999999999d",
     "RYTHMIQ_ALERT_COLD_STARTS_WINDOW='99999999999999999999d' is longer than 90d"),
    ("RYTHMIQ_ALERT_CPU_SPIKE_MIN_SAMPLE", "99999999999999999999999",
     "RYTHMIQ_ALERT_CPU_SPIKE_MIN_SAMPLE='99999999999999999999999' is not a whole number from 0 to"),
    ("RYTHMIQ_ALERT_CPU_SPIKE_MIN_SAMPLE", "\u0661\u0662",  # Arabic-Indic digits: not ASCII
     "RYTHMIQ_ALERT_CPU_SPIKE_MIN_SAMPLE='\u0661\u0662' is not"),
    ("RYTHMIQ_ALERT_CPU_SPIKE_WINDOW", "\u0661h",
     "RYTHMIQ_ALERT_CPU_SPIKE_WINDOW='\u0661h' is not a duration"),
    ("RYTHMIQ_ALERT_CPU_SPIKE_BASELINE", "91d", "RYTHMIQ_ALERT_CPU_SPIKE_BASELINE='91d' is longer than 90d"),
    ("RYTHMIQ_ALERT_QUALITY_SHIFT_BASELINE", "36h",
     "RYTHMIQ_ALERT_QUALITY_SHIFT_BASELINE='36h' must be whole days"),
    ("RYTHMIQ_ALERTS_DISABLED", "error_rate,cpu", "RYTHMIQ_ALERTS_DISABLED names 'cpu', which is not a rule"),
    ("RYTHMIQ_ALERT_ERROR_RATE_FLOOR", "1", "RYTHMIQ_ALERT_ERROR_RATE_FLOOR is not a setting of the alerts"),
    ("RYTHMIQ_ALERT_CPU_PROJECTION_THRESHOLD", "1",
     "RYTHMIQ_ALERT_CPU_PROJECTION_THRESHOLD is not a setting of the alerts"),
    ("RYTHMIQ_ALERT_WEBHOOK_MAX_ATTEMPTS", "0",
     "RYTHMIQ_ALERT_WEBHOOK_MAX_ATTEMPTS='0' is not a whole number from 1 to 1,000,000,000"),
    ("RYTHMIQ_ALERT_INTERVAL_SECONDS", "inf", "RYTHMIQ_ALERT_INTERVAL_SECONDS='inf' is not a number >= 0"),
])
def test_a_bad_value_is_one_sentence_naming_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_alert_settings({variable: value})
    assert str(caught.value).startswith(message)


def test_a_webhook_url_that_is_not_http_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as caught:
        load_alert_settings({"RYTHMIQ_ALERT_WEBHOOK_URL": "ftp://hooks.example.com/T000/B000/secret-token"})
    assert "secret-token" not in str(caught.value)
    assert str(caught.value).startswith("RYTHMIQ_ALERT_WEBHOOK_URL must be an http:// or https:// URL")


def test_docs_list_every_variable() -> None:
    text = DOCS.read_text()
    missing = [variable for variable in known_variables() if f"`{variable}`" not in text]
    assert missing == []
