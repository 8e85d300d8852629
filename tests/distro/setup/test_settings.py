"""Settings: standard OTEL_* meanings, our defaults, explicit > env > default, one sentence per bad value."""

from __future__ import annotations

import logging

import pytest

from rythmiq_otel.distro.setup._settings import load_settings


def test_defaults_are_http_protobuf_delta_parent_based_always_on_and_info() -> None:
    settings = load_settings({})
    assert settings.traces.protocol == settings.metrics.protocol == settings.logs.protocol == "http/protobuf"
    assert settings.traces.endpoint == "http://localhost:4318/v1/traces"
    assert settings.logs.endpoint == "http://localhost:4318/v1/logs"
    assert settings.temporality == "delta"
    assert (settings.sampler, settings.sampler_arg) == ("parentbased_always_on", 1.0)
    assert settings.log_level == logging.INFO
    assert settings.pii_guard is True
    assert settings.metrics_persistence is True
    assert settings.sdk_disabled is False
    assert settings.propagators == ("tracecontext", "baggage")
    assert (settings.service, settings.service_name) == ("api", "rythmiq-api")
    assert settings.shutdown_timeout_s == 5.0
    assert settings.problems == ()


def test_base_endpoint_gets_signal_paths_and_per_signal_endpoint_is_used_as_given() -> None:
    settings = load_settings({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://sink:4318/",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://other:9999/custom",
    })
    assert settings.traces.endpoint == "http://sink:4318/v1/traces"
    assert settings.metrics.endpoint == "http://sink:4318/v1/metrics"
    assert settings.logs.endpoint == "http://other:9999/custom"


def test_grpc_protocol_uses_port_4317_without_signal_paths() -> None:
    settings = load_settings({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})
    assert (settings.traces.protocol, settings.traces.endpoint) == ("grpc", "http://localhost:4317")
    assert settings.logs.protocol == "http/protobuf"


def test_headers_are_url_decoded_and_per_signal_headers_replace_the_generic_ones() -> None:
    settings = load_settings({
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20s3cret, x-tenant=a",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "x-only=metrics",
    })
    assert settings.traces.headers == (("Authorization", "Bearer s3cret"), ("x-tenant", "a"))
    assert settings.metrics.headers == (("x-only", "metrics"),)


def test_malformed_header_list_is_reported_once_without_echoing_the_secret() -> None:
    settings = load_settings({"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer x,tokenwithoutkey"})
    assert settings.traces.headers == (("Authorization", "Bearer x"),)
    (problem,) = settings.problems
    assert problem.startswith("OTEL_EXPORTER_OTLP_HEADERS is malformed")
    assert "tokenwithoutkey" not in problem


def test_timeouts_are_milliseconds() -> None:
    settings = load_settings({"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "100"})
    assert (settings.traces.timeout_s, settings.logs.timeout_s) == (2.5, 0.1)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("OTEL_TRACES_EXPORTER", "zipkin", "OTEL_TRACES_EXPORTER='zipkin' is not valid: expected otlp"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5", "OTEL_TRACES_SAMPLER_ARG='1.5' is not valid: expected a ratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "half", "OTEL_TRACES_SAMPLER_ARG='half' is not valid: expected a ratio"),
        ("OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER='sometimes' is not valid: expected one of"),
        ("RYTHMIQ_SERVICE", "billing", "RYTHMIQ_SERVICE='billing' is not valid: expected one of api, worker"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is not valid: expected DEBUG, INFO, WARN or ERROR"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-3", "OTEL_BSP_MAX_QUEUE_SIZE='-3' is not valid: expected a positive"),
        ("OTEL_SDK_DISABLED", "maybe", "OTEL_SDK_DISABLED='maybe' is not valid: expected true/false"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not valid"),
    ],
)
def test_a_bad_value_is_one_sentence_naming_the_variable_and_the_default_is_used(
    variable: str, value: str, expected: str
) -> None:
    settings = load_settings({variable: value})
    (problem,) = settings.problems
    assert problem.startswith(expected)
    assert load_settings({}) == settings


@pytest.mark.parametrize(("value", "level"), [("WARN", 30), ("warning", 30), ("DEBUG", 10), ("error", 40)])
def test_log_level_accepts_the_spec_and_python_spellings(value: str, level: int) -> None:
    assert load_settings({"LOG_LEVEL": value}).log_level == level


def test_explicit_argument_beats_environment_which_beats_default() -> None:
    environ = {"RYTHMIQ_SERVICE": "worker", "LOG_LEVEL": "ERROR"}
    assert load_settings(environ).service == "worker"
    assert load_settings(environ, service="webhook", log_level="DEBUG").service == "webhook"
    assert load_settings(environ, log_level="DEBUG").log_level == logging.DEBUG
    assert load_settings(environ, pii_guard=False).pii_guard is False


@pytest.mark.parametrize(
    ("environ", "service"),
    [
        ({"OTEL_RESOURCE_ATTRIBUTES": "rythmiq.service=webhook,team=ocr"}, "webhook"),
        ({"OTEL_SERVICE_NAME": "rythmiq-worker"}, "worker"),
        ({"OTEL_SERVICE_NAME": "worker"}, "worker"),
        ({"OTEL_SERVICE_NAME": "something-else"}, "api"),
        ({"RYTHMIQ_SERVICE": "worker", "OTEL_RESOURCE_ATTRIBUTES": "rythmiq.service=webhook"}, "worker"),
    ],
)
def test_service_identity_comes_from_configuration(environ: dict[str, str], service: str) -> None:
    assert load_settings(environ).service == service


def test_service_name_stays_free_form_and_defaults_from_the_service() -> None:
    assert load_settings({"RYTHMIQ_SERVICE": "worker"}).service_name == "rythmiq-worker"
    assert load_settings({"RYTHMIQ_SERVICE": "worker", "OTEL_SERVICE_NAME": "ocr-1"}).service_name == "ocr-1"


def test_exporter_none_turns_a_signal_off_and_lists_are_accepted() -> None:
    settings = load_settings({"OTEL_LOGS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "otlp,console"})
    assert settings.logs.exporters == ()
    assert settings.traces.exporters == ("otlp", "console")


@pytest.mark.parametrize(("value", "on"), [("off", False), ("0", False), ("on", True), ("TRUE", True)])
def test_pii_guard_switch(value: str, on: bool) -> None:
    assert load_settings({"RYTHMIQ_PII_GUARD": value}).pii_guard is on


def test_unknown_override_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="unknown settings \\['colour'\\]"):
        load_settings({}, colour="red")


@pytest.mark.parametrize("prefix", ["OTEL_BSP", "OTEL_BLRP"])
def test_a_queue_smaller_than_the_export_batch_clamps_the_batch_with_one_sentence(prefix: str) -> None:
    settings = load_settings({f"{prefix}_MAX_QUEUE_SIZE": "100"})
    (problem,) = settings.problems
    assert problem == (
        f"{prefix}_MAX_EXPORT_BATCH_SIZE=512 is larger than {prefix}_MAX_QUEUE_SIZE=100: "
        "expected a batch no larger than the queue; using 100."
    )
    batch = settings.span_batch if prefix == "OTEL_BSP" else settings.log_batch
    assert (batch.max_queue_size, batch.max_export_batch_size) == (100, 100)
