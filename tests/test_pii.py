"""The shared PII rules (``rythmiq_otel.pii``): every default rule, the walker, the marker, the no-op."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from rythmiq_otel import pii
from rythmiq_otel.pii import (
    DEFAULT_SCRUBBER,
    NOOP_SCRUBBER,
    Redaction,
    Scrubber,
    hash_user_id,
    is_marker,
    marker,
)
from tests.pii_canaries import CATEGORIES, canaries, find_canaries, nested_placements

CORPUS = canaries(30)


def test_hash_user_id_is_the_first_16_hex_digits_of_sha256() -> None:
    # FIPS 180-2 test vector: SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
    assert hash_user_id("abc") == "ba7816bf8f01cfea"


def test_the_marker_names_the_rule_in_the_shared_format() -> None:
    assert marker("email") == "[REDACTED:email]"
    assert is_marker("[REDACTED:ip_address]")
    assert not is_marker("[REDACTED:email] bob")


# One example per default value detector: (text, the secret part, rule).
VALUE_EXAMPLES = [
    ("contact alice.smith@example.com today", "alice.smith@example.com", "email"),
    ("GET /verify?to=alice%40example.com", "alice%40example.com", "email"),
    ("from josé.müller@bücher-verlag.de!", "josé.müller@bücher-verlag.de", "email"),
    ("request from 203.0.113.7 refused", "203.0.113.7", "ip_address"),
    ("peer 2001:db8::8a2e:370:7334 closed", "2001:db8::8a2e:370:7334", "ip_address"),
    ("bound to fe80::1%eth0", "fe80::1%eth0", "ip_address"),
    ("mapped ::ffff:192.0.2.9 seen", "::ffff:192.0.2.9", "ip_address"),
    ("full 2001:0db8:85a3:0:0:8a2e:0370:7334 seen", "2001:0db8:85a3:0:0:8a2e:0370:7334", "ip_address"),
    ("lost 2001:db8::1: not found", "2001:db8::1", "ip_address"),
    ("stored s3://docs-bucket/u1/j1/original.pdf ok", "s3://docs-bucket/u1/j1/original.pdf", "storage_path"),
    (
        "GET https://x.supabase.co/storage/v1/object/sign/docs/a?token=t",
        "https://x.supabase.co/storage/v1/object/sign/docs/a?token=t",
        "storage_path",
    ),
    ("wrote user-uploads/u-123/j-9/scan.png", "user-uploads/u-123/j-9/scan.png", "storage_path"),
    (r"read C:\Users\bob\Tax.pdf", r"C:\Users\bob\Tax.pdf", "storage_path"),
    ("uploaded invoice_march.pdf", "invoice_march.pdf", "filename"),
    ("uploaded 'My Tax Return 2024.PDF'", "My Tax Return 2024.PDF", "filename"),
    (
        "blob QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkw",
        "QUJDREVGR0hJ",
        "file_content",
    ),
    ("img data:image/png;base64,iVBORw0KGgo=", "iVBORw0KGgo", "file_content"),
    ("lookup user_id=usr_8812 failed", "usr_8812", "user_id"),
    ('got {"email": "x-secret"} back', "x-secret", "email"),
    ("got {'original_filename': 'x-secret'} back", "x-secret", "filename"),
    (
        "page one reads: Pay to the order of Jane Q Public the sum of four thousand dollars and no cents "
        "drawn on account number ending in four four two one at First National Bank",
        "Jane Q Public",
        "extracted_text",
    ),
]


@pytest.mark.parametrize(("text", "secret", "rule"), VALUE_EXAMPLES, ids=[e[2] for e in VALUE_EXAMPLES])
def test_each_value_detector_redacts_its_example(text: str, secret: str, rule: str) -> None:
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_text(text)
    assert secret not in scrubbed
    assert marker(rule) in scrubbed
    assert Redaction("message", rule) in redactions


# One example per key rule, with the spellings it must catch.
KEY_EXAMPLES = [
    ("email", "email"), ("customerEmail", "email"), ("reply_to", "email"),
    ("client_ip", "ip_address"), ("http.client_ip", "ip_address"), ("X-Forwarded-For", "ip_address"),
    ("original_filename", "filename"), ("fileName", "filename"),
    ("user_id", "user_id"), ("userId", "user_id"), ("enduser.id", "user_id"), ("billing_user_id", "user_id"),
    ("storage_path", "storage_path"), ("signed_url", "storage_path"), ("upload_object_key", "storage_path"),
    ("ocr_text", "extracted_text"), ("page_text", "extracted_text"),
    ("file_bytes", "file_content"), ("data_base64", "file_content"),
    ("schema_field_values", "schema_field_values"), ("form_data", "schema_field_values"),
    ("extracted_fields", "extracted_data"), ("extracted_entities", "extracted_data"),
    ("payload", "webhook_body"), ("webhook_body", "webhook_body"), ("http.request.body", "webhook_body"),
]


@pytest.mark.parametrize(("key", "rule"), KEY_EXAMPLES, ids=[k for k, _ in KEY_EXAMPLES])
def test_each_key_rule_blocks_any_value_under_its_keys(key: str, rule: str) -> None:
    for value in ("plain words", 4711, {"nested": "x"}, ["a", "b"]):
        scrubbed, redactions = DEFAULT_SCRUBBER.scrub_value(key, value)
        assert scrubbed == marker(rule)
        assert redactions == [Redaction(key, rule)]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("job_id", "550e8400-e29b-41d4-a716-446655440000"),
        ("correlation_id", "7c9e6679-7425-40de-944b-e07fc1f90ae7"),
        ("user_id_hash", "a3f2b8c1d4e5f6a7"),
        ("trace_id", "7c9e667974254de0944be07fc1f90ae7"),
        ("timestamp", "2026-01-30T14:23:45.123Z"),
        ("http_path", "/jobs/{job_id}"),
        ("processing_path", "standard"),
        ("ocr_confidence", 0.87),
        ("input_file_size_bytes", 48213),
        ("code.filepath", "/srv/app/worker/stages.py"),
        ("message", "OCR stage completed in 1.2 s at 14:23:45 (v1.2.3)"),
        ("message", 'Traceback (most recent call last):\n  File "/srv/app/w.py", line 3, in run\n    x()'),
        ("http.url", "http://api.internal/jobs/550e8400-e29b-41d4-a716-446655440000"),
    ],
)
def test_safe_keys_and_ordinary_values_pass_unchanged(key: str, value: object) -> None:
    assert DEFAULT_SCRUBBER.scrub_value(key, value) == (value, [])


def test_a_safe_key_with_a_malformed_value_is_still_scanned() -> None:
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"job_id": "bob@example.com"})
    assert scrubbed == {"job_id": marker("email")}
    assert redactions == [Redaction("job_id", "email")]


def test_nothing_matched_returns_the_same_objects_and_no_redactions() -> None:
    fields = {
        "message": "Stage completed",
        "job_id": "550e8400-e29b-41d4-a716-446655440000",
        "extra": {"ocr_confidence": 0.9, "pages": [1, 2], "meta": '{"pages": 2}'},
    }
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields(fields)
    assert scrubbed is fields
    assert redactions == []


def test_the_walker_reports_key_paths_through_dicts_lists_and_json_strings() -> None:
    fields = {
        "message": "ok",
        "extra": {
            "customer": {"contact": {"email": "a@b.example"}},
            "items": ({"n": 1}, {"fileName": "x.pdf"}),
            "meta": json.dumps({"wrapper": {"user_id": "u-1"}, "n": 2}),
            "raw": b"%PDF-1.7",
        },
    }
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields(fields)
    assert redactions == [
        Redaction("extra.customer.contact.email", "email"),
        Redaction("extra.items[1].fileName", "filename"),
        Redaction("extra.meta.wrapper.user_id", "user_id"),
        Redaction("extra.raw", "file_content"),
    ]
    extra = scrubbed["extra"]
    assert isinstance(extra["items"], tuple)
    assert json.loads(extra["meta"]) == {"wrapper": {"user_id": marker("user_id")}, "n": 2}
    assert fields["extra"]["customer"]["contact"]["email"] == "a@b.example", "the input is never mutated"


def test_pii_in_a_key_is_redacted_and_the_path_names_the_redacted_key() -> None:
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"extra": {"alice@example.com": 3}})
    assert scrubbed == {"extra": {marker("email"): 3}}
    assert redactions == [Redaction(f"extra.{marker('email')}", "email")]


def test_objects_are_judged_by_the_text_they_would_be_written_as() -> None:
    error = ValueError("could not reach 203.0.113.9")
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_value("cause", error)
    assert scrubbed == f"could not reach {marker('ip_address')}"
    assert redactions == [Redaction("cause", "ip_address")]


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


def test_an_object_that_cannot_be_printed_is_replaced_not_raised() -> None:
    assert DEFAULT_SCRUBBER.scrub_value("cause", _Unprintable()) == (
        marker("too_deep"),
        [Redaction("cause", "too_deep")],
    )


def test_flat_attribute_keys_are_judged_whole_and_by_their_last_segment() -> None:
    attrs = {"extra.email": "x", "net.peer.ip": "::1", "code.filepath": "/srv/w.py", "extra.score": 0.4}
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_attributes(attrs)
    assert scrubbed == {**attrs, "extra.email": marker("email"), "net.peer.ip": marker("ip_address")}
    assert [r.path for r in redactions] == ["extra.email", "net.peer.ip"]


def test_scrubbing_scrubbed_data_finds_nothing_so_later_layers_do_not_double_count() -> None:
    for canary in CORPUS:
        for extra in nested_placements(canary):
            once, first = DEFAULT_SCRUBBER.scrub_fields({"message": f"see {canary.text}", "extra": extra})
            assert first
            assert DEFAULT_SCRUBBER.scrub_fields(once) == (once, [])


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_canary_in_every_placement_is_redacted_and_the_marker_never_holds_it(category: str) -> None:
    for canary in (c for c in CORPUS if c.category == category):
        for extra in nested_placements(canary):
            scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"message": "m", "extra": extra})
            written = json.dumps(scrubbed)
            assert redactions, (canary, extra)
            assert not find_canaries(written, [canary]), written
            assert hash_user_id(str(canary.value)) not in written
            assert all(r.path.startswith("extra.") and canary.token not in r.path for r in redactions)
        if canary.text is not None:
            for text in (f"failed on {canary.text}", f"{canary.text}: not found", f"x\n{canary.text}\ny"):
                scrubbed_text, redactions = DEFAULT_SCRUBBER.scrub_text(text)
                assert redactions, text
                assert not find_canaries(scrubbed_text, [canary]), scrubbed_text


def test_the_noop_scrubber_changes_and_reports_nothing() -> None:
    fields = {"message": "alice@example.com", "extra": {"email": "alice@example.com"}}
    assert NOOP_SCRUBBER.scrub_fields(fields) == (fields, [])
    attrs = {"extra.email": "a@b.example"}
    assert NOOP_SCRUBBER.scrub_attributes(attrs) == (attrs, [])
    assert NOOP_SCRUBBER.scrub_value("email", "a@b.example") == ("a@b.example", [])
    assert NOOP_SCRUBBER.scrub_text("a@b.example") == ("a@b.example", [])


def test_custom_blocked_and_safe_keys() -> None:
    scrubber = Scrubber(extra_blocked_keys={"tenantSecret": "tenant"}, extra_safe_keys=["payload"])
    blocked = Redaction("tenant_secret", "tenant")
    assert scrubber.scrub_value("tenant_secret", "s") == (marker("tenant"), [blocked])
    assert scrubber.scrub_value("payload", "completed") == ("completed", [])
    assert scrubber.scrub_value("payload", "to a@b.example")[1] == [Redaction("payload", "email")]
    listed = Scrubber(extra_blocked_keys=["national_id"])
    assert listed.scrub_value("nationalId", "123")[0] == marker("blocked_key")


def test_blocked_none_booleans_empties_and_markers_are_left_alone() -> None:
    fields = {"email": None, "email_verified": True, "user_id": "", "filename": marker("filename")}
    assert DEFAULT_SCRUBBER.scrub_fields(fields) == (fields, [])


def test_the_rules_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, rythmiq_otel.pii\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'opentelemetry', 'google', 'psycopg'}"
        " or m.startswith(('rythmiq_otel.distro', 'rythmiq_otel.store')))\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_surface() -> None:
    assert set(pii.__all__) >= {"DEFAULT_SCRUBBER", "NOOP_SCRUBBER", "Redaction", "Scrubber", "hash_user_id"}
    assert all(hasattr(pii, name) for name in pii.__all__)


HOSTILE = {
    "slashes then a document extension": "a/b/c/" * 20_000 + ".pdf",
    "dots then a document extension": "a.b." * 25_000 + "pdf",
    "one @ after a long local part": "a" * 100_000 + "@",
    "many url schemes": "http://" * 15_000,
    "colon runs": "1:2:3:4:5:6:7:8:9:" * 5_000,
    "blocked keys without values": "user_id=" * 12_000,
    "an unclosed quote after a key": 'email="a ' * 11_000,
    "a quote then a document extension": "'" * 100_000 + ".pdf'",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_scanned_in_linear_time(text: str) -> None:
    # Each of these took minutes with a naive pattern (nested quantifiers, unanchored starts); the sink
    # scans whatever a client sends, so they must stay in the milliseconds.
    started = time.perf_counter()
    DEFAULT_SCRUBBER.scrub_text(text)
    assert time.perf_counter() - started < 2.0


def test_structures_nested_too_deep_are_replaced_not_walked() -> None:
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(5_000):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    nested: list[object] = []
    for _ in range(5_000):
        nested = [nested]
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"extra": deep, "items": nested})
    assert [r.rule for r in redactions] == ["too_deep", "too_deep"]
    assert json.dumps(scrubbed).count(marker("too_deep")) == 2


def test_json_too_deep_to_parse_is_scanned_as_text_instead_of_raising() -> None:
    text = '{"email": "a@b.example", "n": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_text(text)
    assert "a@b.example" not in scrubbed
    assert redactions
