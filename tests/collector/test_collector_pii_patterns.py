"""The collector's PII layer judges keys and values as the shared rules in ``rythmiq_otel.pii`` do, and
``collector/config.yaml`` carries exactly the patterns derived from them (no collector needed here; the
end-to-end canary test runs them in the real binary)."""

from __future__ import annotations

import json
import re

import pytest

from rythmiq_otel import pii, vocab
from rythmiq_otel.store.collector import config_files
from rythmiq_otel.store.collector._pii_patterns import (
    KV_REPLACEMENT,
    VALUE_PATTERNS,
    key_pattern,
    kv_pattern,
    ottl_literal,
    restored_safe_keys,
)
from tests.pii_canaries import Canary, canaries

CONFIG = config_files("sidecar")[0].read_text()
# Keys our services and their instrumentations really emit, beyond the pii tables themselves.
SEMCONV_KEYS = (
    "http.client_ip", "client.address", "net.peer.ip", "url.full", "http.url", "server.address",
    "network.peer.address", "user_agent.original", "http.target", "enduser.id", "exception.message",
    "exception.stacktrace", "host.name", "service.instance.id", "telemetry.sdk.name", "mime_type",
    "file_size_bytes", "http.request.header.x_forwarded_for",
)


def _key_corpus() -> list[str]:
    keys = set(pii.BLOCKED_KEYS) | set(pii.SAFE_KEYS) | set(SEMCONV_KEYS) | set(vocab.LOG_ATTRIBUTE_FIELDS)
    keys |= {vocab.EXTRA_PREFIX + key for key in (*pii.BLOCKED_KEYS, *vocab.CPU_METRICS_COLUMNS)}
    keys |= {canary.key for canary in canaries(per_category=5)}
    return sorted(keys)


_OTTL_STRING = r'"(?:[^"\\]|\\.)*"'


def _config_literals(function: str) -> set[str]:
    """Every pattern the config passes to ``function(<target>, ...)``, as written in the OTTL statement."""
    call = re.compile(rf'{function}\((?:attributes|body), (?:"value", )?({_OTTL_STRING})')
    yaml_unquoted = CONFIG.replace("''", "'")  # the statements are YAML single-quoted scalars
    return {match.group(1) for match in call.finditer(yaml_unquoted)}


def _ottl(pattern: str) -> str:
    return f'"{ottl_literal(pattern)}"'


def test_key_pattern_blocks_exactly_what_pii_blocks() -> None:
    matcher = re.compile(key_pattern())

    def blocked(key: str) -> bool:
        return key not in pii.SAFE_KEYS and pii.DEFAULT_SCRUBBER._key_rule(key) is not None

    restored = restored_safe_keys()
    disagreements = [
        key for key in _key_corpus() if bool(matcher.search(key)) != blocked(key) and key not in restored
    ]
    assert disagreements == []


def test_the_config_deletes_keys_with_the_derived_pattern() -> None:
    assert _config_literals("delete_matching_keys") == {_ottl(key_pattern())}


def test_the_config_puts_back_every_safe_key_the_pattern_would_delete() -> None:
    restored = set(re.findall(r"set\(attributes\[\"([^\"]+)\"\], cache\[", CONFIG))
    assert restored == set(restored_safe_keys())
    assert restored  # the safe-key exemption is exercised, not vacuous


def test_the_config_masks_values_with_the_derived_detectors() -> None:
    expected = {_ottl(pattern) for _, pattern in VALUE_PATTERNS} | {_ottl(kv_pattern())}
    assert _config_literals("replace_all_patterns") == expected
    assert _config_literals("replace_pattern") == expected


def test_a_key_value_hit_keeps_the_key_and_the_quotes() -> None:
    assert CONFIG.count(f'{_ottl(kv_pattern())}, {_ottl(KV_REPLACEMENT)}'.replace("'", "''")) == 3
    masked = _mask('user_id=usr_1 and {"meta": {"user_id": "usr_2", "fields": {"total": "9"}}}')
    assert masked == (
        'user_id=[REDACTED:blocked_key] and {"meta": {"user_id": "[REDACTED:blocked_key]", '
        '"fields": {"total": "9"}}}'  # a nested document is left whole for the sink's JSON walk
    )


def test_every_detector_has_a_marker_in_the_config() -> None:
    for rule, pattern in VALUE_PATTERNS:
        assert f'{_ottl(pattern)}, "{pii.marker(rule)}"' in CONFIG.replace("''", "'"), rule


def _mask(text: str) -> str:
    """What the collector does to one string value: the kv rule, then the detectors, in config order."""
    prose, *others = VALUE_PATTERNS
    text = re.sub(prose[1], pii.marker(prose[0]), text)
    text = re.sub(kv_pattern(), re.sub(r"\$\{(\d)\}", r"\\g<\1>", KV_REPLACEMENT), text)
    for rule, pattern in others:
        text = re.sub(pattern, pii.marker(rule), text)
    return text


@pytest.mark.parametrize("canary", [c for c in canaries(per_category=8) if c.text], ids=lambda c: c.token)
def test_value_detectors_mask_every_canary_text_form(canary: Canary) -> None:
    masked = _mask(f"while handling job 42: {canary.text} (retrying)")
    assert not any(needle.lower() in masked.lower() for needle in canary.needles)


def test_value_detectors_leave_spec_fields_alone() -> None:
    fields = {
        "message": "OCR stage completed", "http_path": "/jobs/{job_id}/output", "level": "WARN",
        "correlation_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "timestamp": "2026-01-30T14:23:45.123Z",
        "error_code": "OCR_FAILURE", "latency_ms": "1847", "source": "worker/ocr.py:88",
    }
    assert {key: _mask(value) for key, value in fields.items()} == fields


def test_a_raw_user_id_becomes_the_spec_hash() -> None:
    statement = next(line for line in CONFIG.splitlines() if 'set(attributes["user_id_hash"]' in line)
    assert 'Substring(SHA256(String(attributes["user_id"])), 0, 16)' in statement
    assert json.dumps(pii.hash_user_id("u-42")) == '"16ec525b74b75626"'  # what the e2e test expects
