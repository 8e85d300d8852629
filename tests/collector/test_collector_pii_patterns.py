"""The collector's PII layer judges keys and values as the shared rules in ``rythmiq_otel.pii`` do, and
``collector/config.yaml`` carries exactly the ``transform/pii`` block derived from them (no collector
needed here; the end-to-end canary test runs it in the real binary)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from rythmiq_otel import pii, vocab
from rythmiq_otel.store.collector import config_files
from rythmiq_otel.store.collector._pii_patterns import (
    KV_REPLACEMENT,
    VALUE_PATTERNS,
    key_pattern,
    kv_pattern,
    restored_safe_keys,
    rewrite,
    transform_yaml,
)
from tests.pii_canaries import Canary, canaries
from tests.pii_false_positives import OPERATIONAL_VALUES, false_positive_records

CONFIG = config_files("sidecar")[0].read_text()
# Keys our services and their instrumentations really emit, beyond the pii tables themselves.
SEMCONV_KEYS = (
    "http.client_ip", "client.address", "net.peer.ip", "url.full", "http.url", "server.address",
    "network.peer.address", "user_agent.original", "http.target", "enduser.id", "exception.message",
    "exception.stacktrace", "host.name", "service.instance.id", "telemetry.sdk.name", "mime_type",
    "file_size_bytes", "http.request.header.x_forwarded_for", "http.request.header.authorization",
    "session.id", "container.image.name", "process.command_args", "db.statement",
)
# Spellings of the same words: camelCase, dots, dashes, underscores, and keys that only look alike.
WORD_KEYS = (
    "schemaFieldValue", "schema_field_value", "doc.fields.iban", "doc.fields.total", "payeeIban",
    "github_access_token", "githubAccessToken", "X-Api-Key", "billingUserId", "uploadObjectKey",
    "customerEmailAddress", "HTTPClientIP", "extraIP", "docker_image", "token_count", "last_login",
    "zipCode", "shipDate", "iphone_model", "x-amz-signature", "userSession", "cardNumber", "payment.card",
)


def _key_corpus() -> list[str]:
    keys = set(pii.BLOCKED_KEYS) | set(pii.SAFE_KEYS) | set(SEMCONV_KEYS) | set(vocab.LOG_ATTRIBUTE_FIELDS)
    keys |= {vocab.EXTRA_PREFIX + key for key in (*pii.BLOCKED_KEYS, *vocab.CPU_METRICS_COLUMNS)}
    keys |= {canary.key for canary in canaries(per_category=5)} | set(WORD_KEYS)
    return sorted(keys)


def test_the_config_carries_the_generated_transform() -> None:
    assert transform_yaml() in CONFIG
    assert rewrite(CONFIG) == CONFIG


def test_key_pattern_blocks_exactly_what_pii_blocks() -> None:
    matcher = re.compile(key_pattern())

    def blocked(key: str) -> bool:
        return key not in pii.SAFE_KEYS and pii.DEFAULT_SCRUBBER._key_rule(key) is not None

    restored = restored_safe_keys()
    disagreements = [
        key for key in _key_corpus() if bool(matcher.search(key)) != blocked(key) and key not in restored
    ]
    assert disagreements == []


def test_the_config_puts_back_every_safe_key_the_pattern_would_delete() -> None:
    restored = set(re.findall(r"set\(attributes\[\"([^\"]+)\"\], cache\[", CONFIG))
    assert restored == set(restored_safe_keys())
    assert restored  # the safe-key exemption is exercised, not vacuous


def _python_replacement(replacement: str) -> str:
    return re.sub(r"\$\{(\d)\}", r"\\g<\1>", replacement)


def _mask(text: str) -> str:
    """What the collector does to one string value: prose, the kv rule, then the detectors, in order."""
    prose, *others = VALUE_PATTERNS
    text = re.sub(prose[1], prose[2], text)
    text = re.sub(kv_pattern(), _python_replacement(KV_REPLACEMENT), text)
    for _, pattern, replacement in others:
        text = re.sub(pattern, _python_replacement(replacement), text)
    return text


def test_a_key_value_hit_keeps_the_key_and_the_quotes() -> None:
    masked = _mask('user_id=usr_1 and {"meta": {"user_id": "usr_2", "fields": {"total": "9"}}}')
    assert masked == (
        'user_id=[REDACTED:blocked_key] and {"meta": {"user_id": "[REDACTED:blocked_key]", '
        '"fields": {"total": "9"}}}'  # a nested document is left whole for the sink's JSON walk
    )


def test_context_captured_around_a_hit_is_put_back() -> None:
    assert _mask("postgres://app:pw-1@db.internal/x") == f"postgres://{pii.marker('secret')}@db.internal/x"
    assert _mask("doc.203.0.113.7 and a_198.51.100.4") == (
        f"doc.{pii.marker('ip_address')} and a_{pii.marker('ip_address')}"
    )


def test_every_detector_has_its_marker_in_the_replacement() -> None:
    for rule, _, replacement in VALUE_PATTERNS:
        assert pii.marker(rule) in replacement, rule


@pytest.mark.parametrize("canary", [c for c in canaries(per_category=8) if c.text], ids=lambda c: c.token)
def test_value_detectors_mask_every_canary_text_form(canary: Canary) -> None:
    masked = _mask(f"while handling job 42: {canary.text} (retrying)")
    assert not any(needle.lower() in masked.lower() for needle in canary.needles)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.mark.parametrize("value", sorted({*OPERATIONAL_VALUES, *_strings(false_positive_records())}))
def test_value_detectors_leave_the_false_positive_corpus_alone(value: str) -> None:
    assert _mask(value) == value


def test_loopback_and_unspecified_addresses_are_kept() -> None:
    for text in ("http://127.0.0.1:8000", "http://0.0.0.0:8000", "[::1]:4318", "[::]:4320"):
        assert _mask(text) == text


def test_a_raw_user_id_becomes_the_spec_hash() -> None:
    statement = next(line for line in CONFIG.splitlines() if 'set(attributes["user_id_hash"]' in line)
    assert 'Substring(SHA256(String(attributes["user_id"])), 0, 16)' in statement
    assert json.dumps(pii.hash_user_id("u-42")) == '"16ec525b74b75626"'  # what the e2e test expects


@pytest.mark.parametrize("args", [["--write"], ["--write", "no/such/config.yaml"], ["--wirte", "x.yaml"]])
def test_the_generator_refuses_bad_arguments_in_one_line(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "rythmiq_otel.store.collector._pii_patterns", *args],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and not result.stdout, result
    assert len(result.stderr.strip().splitlines()) == 1 and "usage" in result.stderr, result.stderr
