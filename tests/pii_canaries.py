"""A generated corpus of PII canaries, and the check that none of them reached an output.

Every canary is a unique, recognisable value of one §1.4 category, with the key it would naturally live
under and -- when a value detector can find it in free text -- a text form to embed in messages,
exception messages and f-strings. The in-process, collector and sink tests all emit these and then search
what came out (stdout, stderr, raw OTLP bodies, Postgres rows) with :func:`assert_no_canary`.

Raw user ids, schema field values and webhook bodies are only recognisable by their key, so they have no
text form except ``user_id=<id>``, which the key=value detector catches.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["CATEGORIES", "Canary", "assert_no_canary", "canaries", "find_canaries", "nested_placements"]

CATEGORIES: tuple[str, ...] = (
    "email", "ipv4", "ipv6", "filename", "storage_path", "user_id", "extracted_text", "file_content",
    "schema_field_values", "webhook_body",
)

# Keys each category naturally lives under (several spellings, to exercise the key rules).
_KEYS: dict[str, tuple[str, ...]] = {
    "email": ("email", "userEmail", "customer_email", "contact.email", "reply_to"),
    "ipv4": ("client_ip", "ip", "remote_addr", "x_forwarded_for", "http.client_ip"),
    "ipv6": ("client_ip", "ip_address", "remoteAddress", "net.peer.ip", "source_ip"),
    "filename": ("filename", "original_filename", "fileName", "document_name", "upload_name"),
    "storage_path": ("storage_path", "file_path", "object_key", "s3_uri", "download_url"),
    "user_id": ("user_id", "userId", "uid", "owner_id", "enduser.id"),
    "extracted_text": ("ocr_text", "text", "extracted_text", "page_text", "transcript"),
    "file_content": ("content", "file_bytes", "data_base64", "attachment", "image_data"),
    "schema_field_values": ("schema_field_values", "field_values", "fields", "form_data", "extracted_fields"),
    "webhook_body": ("payload", "body", "webhook_body", "request_body", "raw_body"),
}

_WORDS: tuple[str, ...] = (
    "invoice", "total", "due", "remit", "payment", "account", "holder", "address", "street", "city",
    "county", "postal", "statement", "period", "balance", "amount", "tax", "return", "employer", "wages",
    "withheld", "signature", "date", "patient", "name", "policy", "number",
)


@dataclass(frozen=True)
class Canary:
    """One planted value.

    Attributes:
        category: the §1.4 category (one of ``CATEGORIES``).
        token: a unique marker string; for most categories it is part of ``value``.
        key: a key this kind of value naturally lives under (a key rule must block it).
        value: the value to plant under ``key`` (a str, or a dict/list for schema values).
        text: a form a value detector finds inside free text, or ``None`` when only the key betrays it.
    """

    category: str
    token: str
    key: str
    value: object
    text: str | None

    @property
    def needles(self) -> tuple[str, ...]:
        """Strings that must never appear in any output: the token, and the value when it is a string."""
        if isinstance(self.value, str) and self.value != self.token:
            return (self.token, self.value)
        return (self.token,)


def _token(category: str, index: int) -> str:
    return f"cnry{CATEGORIES.index(category)}x{index:03d}"


def _prose(token: str, index: int) -> str:
    words = [_WORDS[(index * 7 + i * 3) % len(_WORDS)] for i in range(26)]
    words.insert(index % 20 + 2, token)
    return " ".join(words).capitalize()


def _make(category: str, index: int) -> Canary:
    token = _token(category, index)
    key = _KEYS[category][index % len(_KEYS[category])]
    if category == "email":
        value = (
            f"{token}@example.com", f"{token}.Smith+tag@mail.example.org", f"{token.upper()}@EXAMPLE.NET"
        )[index % 3]
        return Canary(category, token, key, value, value)
    if category == "ipv4":
        network = ("203.0.113", "198.51.100", "192.0.2")[index % 3]  # the documentation ranges
        value = f"{network}.{index // 3 % 254 + 1}"
        return Canary(category, value, key, value, value)
    if category == "ipv6":
        forms = (
            f"2001:db8:{index:x}::{index + 1:x}",
            f"2001:0db8:85a3:{index:04x}:0000:8a2e:0370:7334",
            f"fe80::{index + 1:x}:1%eth0",
            f"::ffff:192.0.2.{index % 250 + 1}",
        )
        value = forms[index % 4]
        return Canary(category, value, key, value, value)
    if category == "filename":
        forms = (f"{token}_passport.pdf", f"Scan-{token}.JPG", f"{token} tax return 2024.docx")
        value = forms[index % 3]
        return Canary(category, token, key, value, f"'{value}'" if " " in value else value)
    if category == "storage_path":
        forms = (
            f"user-uploads/{token}/0f8fad5b-d9cb-469f-a165-70867728950e/original.pdf",
            f"s3://rythmiq-documents/{token}/input.png",
            f"https://abc.supabase.co/storage/v1/object/sign/documents/{token}/scan.tiff?token=x",
            f"/var/lib/rythmiq/storage/{token}/page-1.png",
        )
        value = forms[index % 4]
        return Canary(category, token, key, value, value)
    if category == "user_id":
        value = f"usr_{token}"
        return Canary(category, token, key, value, f"user_id={value}")
    if category == "extracted_text":
        value = _prose(token, index)
        return Canary(category, token, key, value, value)
    if category == "file_content":
        digest = hashlib.sha512(token.encode()).digest()
        raw = digest + token.encode() + digest[::-1]
        value = base64.b64encode(raw).decode()
        return Canary(category, value[:40], key, value, value)
    if category == "schema_field_values":
        value = {"invoice_total": f"$1,{index:03d}.00 {token}", "vendor_name": f"ACME {token}"}
        return Canary(category, token, key, value, None)
    payload = {"job_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "status": "completed", "from": token}
    return Canary(category, token, key, json.dumps(payload), None)


def canaries(per_category: int = 30) -> list[Canary]:
    """``per_category`` canaries of every category (so ``10 * per_category`` in all), all distinct."""
    corpus = [_make(category, index) for category in CATEGORIES for index in range(per_category)]
    tokens = [canary.token for canary in corpus]
    assert len(set(tokens)) == len(tokens), "canary tokens must be unique"
    return corpus


def nested_placements(canary: Canary) -> Iterator[dict[str, object]]:
    """``extra`` dicts hiding the canary in different shapes: flat, nested, in a list, as JSON in a string."""
    yield {canary.key: canary.value}
    yield {"customer": {"profile": {canary.key: canary.value}}}
    yield {"items": [{"n": 1}, {canary.key: canary.value}]}
    yield {"meta": json.dumps({"wrapper": {canary.key: canary.value}})}
    if canary.text is not None:
        yield {"note": f"while handling: {canary.text}"}


def _texts(blob: bytes | str) -> Iterator[str]:
    if isinstance(blob, str):
        yield blob
        return
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    yield blob.decode("utf-8", errors="replace")


def find_canaries(blob: bytes | str, corpus: Iterable[Canary]) -> list[str]:
    """The needles of ``corpus`` found in ``blob`` (text, or raw bytes -- gzip is decompressed first)."""
    found = []
    for text in _texts(blob):
        lowered = text.lower()
        for canary in corpus:
            found += [needle for needle in canary.needles if needle.lower() in lowered]
    return found


def assert_no_canary(blob: bytes | str, corpus: Iterable[Canary]) -> None:
    """Fail, naming what leaked, if any canary of ``corpus`` appears in ``blob`` (case-insensitive)."""
    leaked = find_canaries(blob, list(corpus))
    assert not leaked, f"{len(leaked)} canaries leaked, e.g. {leaked[:5]}"
