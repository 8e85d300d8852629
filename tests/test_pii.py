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
from tests.pii_false_positives import OPERATIONAL_VALUES, false_positive_records

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
    ("paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111", "payment_card"),
    ("card=5555-5555-5555-4444;", "5555-5555-5555-4444", "payment_card"),
    ("amex 378282246310005 declined", "378282246310005", "payment_card"),
    ("to DE89 3704 0044 0532 0130 00 by Friday", "DE89 3704 0044 0532 0130 00", "bank_account"),
    ("iban GB82WEST12345698765432.", "GB82WEST12345698765432", "bank_account"),
    ("SSN 123-45-6789 on file", "123-45-6789", "national_id"),
    ("NI number AB 12 34 56 C", "AB 12 34 56 C", "national_id"),
    ("call +44 20 7946 0958 now", "+44 20 7946 0958", "phone_number"),
    ("phone (415) 555-0132", "(415) 555-0132", "phone_number"),
    ("Tel. 030 1234567", "030 1234567", "phone_number"),
    ("ship to 221B Baker Street, London", "221B Baker Street", "street_address"),
    ("Anschrift: Hauptstraße 12, Berlin", "Hauptstraße 12", "street_address"),
    ("patient John Smith, 1985-03-12 admitted", "John Smith, 1985-03-12", "date_of_birth"),
    ("date of birth: 12/03/1985", "12/03/1985", "date_of_birth"),
    (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTQyIn0.c2lnbmF0dXJlLWJ5dGVz expired",
        "eyJzdWIiOiJ1LTQyIn0",
        "secret",
    ),
    ("Authorization: Bearer 9f8e7d6c5b4a3210", "9f8e7d6c5b4a3210", "secret"),
    ("dsn postgres://app:s3cr3t-pw@db.internal/app", "s3cr3t-pw", "secret"),
    ("GET /v1/export?api_key=k-55ab91&page=2", "k-55ab91", "secret"),
    ("retrying with password=hunter2 now", "hunter2", "secret"),
    ("key AKIAIOSFODNN7EXAMPLE rotated", "AKIAIOSFODNN7EXAMPLE", "secret"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc", "secret"),
    ("opened doc.203.0.113.7 and host_198.51.100.4", "203.0.113.7", "ip_address"),
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
    # Normalised words: camelCase, dots, dashes and underscores spell the same key.
    ("schemaFieldValue", "schema_field_values"), ("schema_field_value", "schema_field_values"),
    ("doc.fields.iban", "bank_account"), ("doc.fields.total", "schema_field_values"),
    ("cardNumber", "payment_card"), ("billing.card", "payment_card"), ("payeeIban", "bank_account"),
    ("ssn", "national_id"), ("passportNumber", "national_id"), ("phoneNumber", "phone_number"),
    ("shipping_address", "street_address"), ("birthDate", "date_of_birth"), ("lastName", "person_name"),
    ("password", "secret"), ("db.passwd", "secret"), ("client_secret", "secret"), ("accessToken", "secret"),
    ("github_access_token", "secret"), ("X-Api-Key", "secret"),
    ("http.request.header.authorization", "secret"),
    ("cookie", "secret"), ("session_id", "secret"), ("x-amz-signature", "secret"),
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
        ("span_id", "00f067aa0ba902b7"),
        ("token_count", 512),
        ("docker_image", "ghcr.io/rythmiq/worker:1.4.2"),
        ("server.address", "api.internal"),
        ("message", "Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"),
        ("message", "exporting to http://127.0.0.1:4318 and [::1]:4320"),
    ],
)
def test_safe_keys_and_ordinary_values_pass_unchanged(key: str, value: object) -> None:
    assert DEFAULT_SCRUBBER.scrub_value(key, value) == (value, [])


def test_a_safe_key_with_a_malformed_value_is_still_scanned() -> None:
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"job_id": "bob@example.com"})
    assert scrubbed == {"job_id": marker("email")}
    assert redactions == [Redaction("job_id", "email")]


def test_a_user_id_hash_that_is_no_hash_is_a_raw_user_id() -> None:
    assert DEFAULT_SCRUBBER.scrub_value("user_id_hash", "usr_8812") == (
        marker("user_id"), [Redaction("user_id_hash", "user_id")]
    )
    assert DEFAULT_SCRUBBER.scrub_value("user_id_hash", "a3f2b8c1d4e5f6g7") == ("a3f2b8c1d4e5f6g7", [])


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


def test_pii_in_a_key_is_redacted_and_the_path_names_a_placeholder() -> None:
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"extra": {"alice@example.com": 3}})
    assert scrubbed == {"extra": {marker("email"): 3}}
    assert redactions == [Redaction(f"extra.{pii.KEY_PLACEHOLDER}", "email")]


@pytest.mark.parametrize(
    "key",
    ["ocr_text of Jane Doe's passport.pdf", "notes for 4111111111111111", "a key\nwith lines", "x" * 80],
)
def test_a_report_never_repeats_a_key_that_is_not_a_plain_identifier(key: str) -> None:
    _, redactions = DEFAULT_SCRUBBER.scrub_attributes({key: "ocr_text: " + "word " * 30})
    assert redactions
    assert all(r.path == pii.KEY_PLACEHOLDER for r in redactions), redactions


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


@pytest.mark.parametrize("record", false_positive_records(), ids=lambda r: str(r.get("message"))[:40])
def test_the_false_positive_corpus_is_left_alone(record: dict[str, object]) -> None:
    assert DEFAULT_SCRUBBER.scrub_fields(record) == (record, [])
    assert DEFAULT_SCRUBBER.scrub_attributes(record) == (record, [])


@pytest.mark.parametrize("value", OPERATIONAL_VALUES)
def test_operational_values_pass_even_when_judged_strictly(value: str) -> None:
    assert DEFAULT_SCRUBBER.scrub_text(value, strict=True) == (value, [])


CONTRACT = "The party of the first part, Jane Doe, agrees to pay the landlord on the first of each month"


def test_arguments_and_extra_are_judged_more_strictly_than_the_template() -> None:
    assert DEFAULT_SCRUBBER.scrub_text(CONTRACT) == (CONTRACT, [])  # 18 words: a developer's message
    assert DEFAULT_SCRUBBER.scrub_text(CONTRACT, strict=True, path="args[0]") == (
        marker("extracted_text"), [Redaction("args[0]", "extracted_text")]
    )
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_fields({"message": CONTRACT, "extra": {"note": CONTRACT}})
    assert scrubbed == {"message": CONTRACT, "extra": {"note": marker("extracted_text")}}
    assert redactions == [Redaction("extra.note", "extracted_text")]
    assert DEFAULT_SCRUBBER.scrub_attributes({"extra.note": CONTRACT})[1] == [
        Redaction("extra.note", "extracted_text")
    ]


def test_our_own_ids_are_never_secrets() -> None:
    ids = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
           "job_id": "550e8400-e29b-41d4-a716-446655440000", "otelSpanID": "00f067aa0ba902b7"}
    assert DEFAULT_SCRUBBER.scrub_fields(ids) == (ids, [])


def test_loopback_unspecified_and_own_listen_addresses_are_not_user_data() -> None:
    listen = ("http://127.0.0.1:8000", "http://0.0.0.0:8000", "[::1]:4318", "[::]:4320", "::ffff:127.0.0.9")
    for text in listen:
        assert DEFAULT_SCRUBBER.scrub_text(text) == (text, []), text
    scrubber = Scrubber()
    assert scrubber.scrub_text("bound to 192.0.2.77:8000")[1]
    pii.register_operational_addresses("192.0.2.77", "not-an-address")
    try:
        assert Scrubber().scrub_text("bound to 192.0.2.77:8000") == ("bound to 192.0.2.77:8000", [])
    finally:
        pii._operational.clear()


def test_a_client_span_keeps_the_server_it_called_but_not_the_client_address() -> None:
    attrs = {
        "server.address": "10.0.3.7", "network.peer.address": "10.0.3.7", "server.port": 5432,
        "url.full": "http://10.0.3.7:8080/v1/jobs?token=t-123", "client.address": "203.0.113.9",
    }
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_attributes(attrs, client_span=True)
    assert scrubbed == {
        **attrs, "url.full": f"http://10.0.3.7:8080/v1/jobs?token={marker('secret')}",
        "client.address": marker("ip_address"),
    }
    assert [r.path for r in redactions] == ["url.full", "client.address"]
    server_side, _ = DEFAULT_SCRUBBER.scrub_attributes(attrs)  # a SERVER span's peer is the user
    assert server_side["network.peer.address"] == marker("ip_address")
    assert server_side["server.address"] == marker("ip_address")


def test_an_address_kept_under_a_server_key_is_still_masked_under_any_other_key_of_a_client_span() -> None:
    """The IP rule skipped for a CLIENT span's server address does not make that string clean elsewhere:
    the scrubber's memory of clean strings holds only strings every rule passed."""
    scrubber = Scrubber()
    for server_key in sorted(pii.SERVER_ADDRESS_KEYS):
        kept, _ = scrubber.scrub_attributes({server_key: "203.0.113.9"}, client_span=True)
        assert kept == {server_key: "203.0.113.9"}
        for key in ("note", "peer", "extra.origin"):
            scrubbed, redactions = scrubber.scrub_attributes({key: "203.0.113.9"}, client_span=True)
            assert scrubbed == {key: marker("ip_address")} and redactions, (server_key, key)


@pytest.mark.parametrize("value", ["4111111111111111", "sk_live_abcdefghij12345", "DE89370400440532013000"])
def test_a_value_a_shaped_key_lets_through_unscanned_is_still_scanned_under_any_other_key(value: str) -> None:
    """A well-shaped value of a safe key (``stage``: a token) skips the value scan there; that must not
    make the same string clean under every other key."""
    scrubber = Scrubber()
    for _ in range(2):  # the second time takes the hot path of a known key
        assert scrubber.scrub_attributes({"stage": value}) == ({"stage": value}, [])
    scrubbed, redactions = scrubber.scrub_attributes({"note": value})
    assert scrubbed["note"] != value and redactions


def test_allowlist_mode_keeps_declared_extra_keys_and_marks_the_rest() -> None:
    scrubber = Scrubber(extra_mode="allowlist", declared_extra_keys=["invoice_count"])
    fields = {"message": "done", "extra": {
        "ocr_confidence": 0.9, "invoice_count": 3, "vendor": "ACME Corp", "empty": None,
        "mail": "a@b.example",
    }}
    scrubbed, redactions = scrubber.scrub_fields(fields)
    assert scrubbed["extra"] == {
        "ocr_confidence": 0.9, "invoice_count": 3, "vendor": marker("undeclared_extra"), "empty": None,
        "mail": marker("undeclared_extra"),
    }
    assert {r.path for r in redactions} == {"extra.vendor", "extra.mail"}
    scrubber.declare_extra_keys("vendor")
    assert scrubber.scrub_fields(fields)[0]["extra"]["vendor"] == "ACME Corp"
    flat, _ = scrubber.scrub_attributes({"extra.vendor": "x", "extra.nested.deep": "y", "http.route": "/j"})
    assert flat == {"extra.vendor": "x", "extra.nested.deep": marker("undeclared_extra"), "http.route": "/j"}
    assert Scrubber().extra_mode == "blocklist"


def test_the_extra_mode_comes_from_the_environment_with_a_clear_error() -> None:
    assert pii.extra_settings({}) == ("blocklist", frozenset())
    assert pii.extra_settings({"RYTHMIQ_PII_EXTRA": " Allowlist ", "RYTHMIQ_PII_EXTRA_KEYS": "a, b,,"}) == (
        "allowlist", frozenset({"a", "b"})
    )
    expected = "RYTHMIQ_PII_EXTRA must be 'blocklist' or 'allowlist', got 'strict'"
    with pytest.raises(ValueError, match=expected):
        pii.extra_settings({"RYTHMIQ_PII_EXTRA": "strict"})


def test_structured_data_is_walked_without_a_key_rule_for_its_own_path() -> None:
    data = {"note": "mail bob@x.example", "raw": b"\x00"}
    scrubbed, redactions = DEFAULT_SCRUBBER.scrub_data(data, path="body")
    assert scrubbed == {"note": f"mail {marker('email')}", "raw": marker("file_content")}
    assert redactions == [Redaction("body.note", "email"), Redaction("body.raw", "file_content")]


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
    "one long digit run": "4" * 100_000,
    "digits and spaces": "4 " * 50_000,
    "digit groups and dashes": "4111-" * 20_000,
    "an almost-IBAN": "DE89 " + "3704 " * 20_000,
    "almost-phone numbers": "+1 (" * 25_000,
    "street numbers without a street": "12 Main " * 12_000,
    "capitalised names without a date": "John Smith, " * 8_000,
    "dates without a name": "1985-03-12 " * 9_000,
    "JWT headers": "eyJ" * 33_000,
    "credential schemes": "Bearer " * 14_000,
    "url userinfo without an @": "x://" + "a:b" * 30_000,
    "vendor key prefixes": "sk_live_" * 12_000,
    "dotted octets after letters": "a.1.2.3" * 14_000,
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
