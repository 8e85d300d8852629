"""The doctor's report masks every secret and lists each settings problem."""

from __future__ import annotations

from rythmiq_otel.distro.setup._doctor import describe, mask_url
from rythmiq_otel.distro.setup._settings import load_settings


def test_passwords_in_endpoint_urls_are_masked() -> None:
    assert mask_url("http://user:hunter2@sink:4318/v1/logs") == "http://user:****@sink:4318/v1/logs"
    assert mask_url("http://sink:4318/v1/logs") == "http://sink:4318/v1/logs"


def test_the_report_shows_header_names_never_values() -> None:
    settings = load_settings({
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20s3cret,x-tenant=acme",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:pw@sink:4318",
        "LOG_LEVEL": "warning",
    })
    report = "\n".join(describe(settings))
    assert "s3cret" not in report and "acme" not in report and ":pw@" not in report
    assert "headers=Authorization=****, x-tenant=****" in report
    assert "log level: WARN" in report


def test_the_report_lists_every_problem() -> None:
    lines = describe(load_settings({"OTEL_TRACES_SAMPLER_ARG": "-1", "LOG_LEVEL": "LOUD"}))
    problems = [line for line in lines if line.startswith("problem: ")]
    assert len(problems) == 2
