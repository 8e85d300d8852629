"""The gates that let the collector's PII block skip records are safe: whatever a rule would change, its
gate lets through to the rule (no collector needed; the end-to-end canary test runs them in the binary).

Both directions are checked on generated strings, not only on examples: strings of every form a gate
vouches for are matched by no detector, and strings every detector matches (alone and inside other text)
fail every gate; the same for keys, every canary, and lists built to confuse the JSON framing.
"""

from __future__ import annotations

import json
import re
import string

import pytest

from rythmiq_otel.store.collector import config_files
from rythmiq_otel.store.collector._pii_gates import (
    CLEAN_TEXT,
    clean_keys,
    keys_gate,
    text_gate,
    values_gate,
)
from rythmiq_otel.store.collector._pii_patterns import VALUE_PATTERNS, key_pattern, kv_pattern
from tests.collector._regex_samples import samples
from tests.collector.test_collector_pii_patterns import _key_corpus
from tests.pii_canaries import canaries

KEY_RULE = re.compile(key_pattern())
KEYS_GATE = re.compile(keys_gate(KEY_RULE))
VALUES_GATE = re.compile(values_gate())
TEXT_GATE = re.compile(text_gate())
DETECTORS = {"key_value": kv_pattern(), **{f"{i}:{rule}": p for i, (rule, p, _) in enumerate(VALUE_PATTERNS)}}
# A worker stage log's keys and values: what the gates exist for (they must vouch for these).
RECORD_KEYS = ["job_id", "correlation_id", "stage", "cpu_seconds", "latency_ms", "user_id_hash", "event.name",
               "extra.processing_path", "extra.ocr_confidence", "extra.execution_temperature"]
RECORD_VALUES: list[object] = [
    "8f2c3a9e-41d7-4b6a-9c0e-2f5d8e7a1b3c", "ocr", 0.501, 12.5, "a3f2b8c1d4e5f6a7", "stage.completed",
    "standard", 0.87, "warm", 200, True, None, -1.5e-07,
]


def _json(items: list[object]) -> str:
    """What OTTL's ``String(Keys(m))`` / ``String(Values(m))`` produce: Go's compact ``json.Marshal``."""
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def _detectors_matching(text: str) -> list[str]:
    return [name for name, pattern in DETECTORS.items() if re.search(pattern, text)]


def test_the_gates_vouch_for_a_typical_record() -> None:
    assert KEYS_GATE.search(_json(RECORD_KEYS))
    assert KEYS_GATE.search(_json([]))
    assert VALUES_GATE.search(_json(RECORD_VALUES))
    for text in ("Stage completed", "stage pre_ocr", "job.started", "POST", "stage.enhancement_skipped"):
        assert TEXT_GATE.search(text), text


def test_no_clean_key_is_blocked() -> None:
    keys = clean_keys(KEY_RULE)
    assert set(RECORD_KEYS) <= set(keys)
    assert [key for key in keys if KEY_RULE.search(key)] == []


def _unclean_keys() -> list[str]:
    """Keys the pattern deletes (the corpus, generated ones) and keys built to pass for clean ones."""
    generated = [key for key in samples(key_pattern(), 400, seed=3) if "\n" not in key]
    hostile = [
        'job_id","stage', "job_id\nuser_id", "user_id_hash\njob_id", 'stage"', "stage\\", "stage,", "Stage",
        "stage ", " stage", "job_id\u0000", "job_id\u2028",
    ]
    clean = set(clean_keys(KEY_RULE))
    return [key for key in {*_key_corpus(), *generated, *hostile} if key not in clean]


def test_the_keys_gate_lets_every_deleted_key_through() -> None:
    unclean = _unclean_keys()
    assert len([key for key in unclean if KEY_RULE.search(key)]) > 300
    for key in unclean:
        for keys in ([key], ["job_id", key], [key, "stage"], ["job_id", key, "stage"]):
            assert not KEYS_GATE.search(_json(keys)), keys


# Narrow alphabets, one per clean form and a few across them: where a detector's match could pass for one.
ALPHABETS = ("", string.ascii_lowercase + "._", string.ascii_letters + " ", string.hexdigits.lower() + "-",
             string.digits + "-", string.digits + "abcdef", string.ascii_lowercase + "_")


def _samples(pattern: str, per_alphabet: int) -> list[str]:
    found = []
    for seed, chars in enumerate(ALPHABETS):
        found += samples(pattern, per_alphabet, seed=seed, prefer=chars)
    return found


def _clean_samples(form: str) -> list[str]:
    pattern = f"^(?:{CLEAN_TEXT[form]})$"
    return _samples(pattern, 100)


@pytest.mark.parametrize("form", sorted(CLEAN_TEXT))
def test_no_detector_matches_a_form_the_gates_vouch_for(form: str) -> None:
    texts = _clean_samples(form)
    assert len(texts) > 100
    for text in texts:
        assert TEXT_GATE.search(text) and VALUES_GATE.search(_json([text, 1.5]))
        assert _detectors_matching(text) == [], text


def test_the_uuid_form_stops_where_a_card_number_starts() -> None:
    """All-digit groups 1-3 or 4-5 make a card-shaped run: such ids are scanned (and were masked before)."""
    for text in ("41111111-1111-1111-a111-111111111111", "a1111111-1111-1111-4111-111111111111"):
        assert _detectors_matching(text) and not TEXT_GATE.search(text)
    assert TEXT_GATE.search("41111111-1111-111a-4111-11111111111a")


def _in_context(match: str) -> list[str]:
    return [match, f"job {match}", f"{match} done", f"stage.{match}", f"{match}.completed", f"ocr_{match}",
            f"{match}x", f"x{match}"]


@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_every_detector_match_fails_the_gates(detector: str) -> None:
    pattern = DETECTORS[detector]
    matches = _samples(pattern, 60)
    assert len(matches) > 100
    for match in matches:
        for text in _in_context(match):
            if re.search(pattern, text):
                assert not TEXT_GATE.search(text), text
                assert not VALUES_GATE.search(_json(["ocr", text, 0.5])), text


def test_every_canary_fails_the_gates() -> None:
    for canary in canaries(per_category=20):
        texts = [canary.text] if canary.text else []
        texts += [canary.value] if isinstance(canary.value, str) else []
        for text in texts:
            assert not TEXT_GATE.search(text), text
            assert not VALUES_GATE.search(_json([RECORD_VALUES[0], text])), text
        assert not KEYS_GATE.search(_json(["job_id", canary.key])), canary.key


@pytest.mark.parametrize(
    "value", [{"stage": "ocr"}, ["ocr"], 'ocr","warm', "ocr\\", "", "ocr\n", " ocr", "Stage  completed"]
)
def test_the_values_gate_lets_nested_and_framing_values_through(value: object) -> None:
    verdict = VALUES_GATE.search(_json(["ocr", value]))
    assert (verdict is not None) == (value == ""), value  # only the empty string is clean here


def test_the_config_runs_the_detectors_unless_a_gate_said_clean() -> None:
    """A gate that errors (Go's json.Marshal refuses a NaN double) leaves the verdict unset: rules run."""
    config = config_files("sidecar")[0].read_text()
    scans = [line for line in config.splitlines() if "replace_all_patterns(" in line]
    assert scans and all(line.rstrip("'").endswith('cache["pii_clean"] != true') for line in scans)
    assert config.count('set(cache["pii_clean"], IsMatch(String(Values(') == 2  # attributes and map bodies
