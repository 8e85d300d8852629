"""A generated corpus of PII canaries, and the check that none of them reached an output.

Every canary is a unique, recognisable value of one §1.4 category, with the key it would naturally live
under and -- when a value detector can find it in free text -- a text form to embed in messages,
exception messages and f-strings. The in-process, collector and sink tests all emit these and then search
what came out (stdout, stderr, raw OTLP bodies, Postgres rows) with :func:`assert_no_canary`.

Raw user ids, schema field values and webhook bodies are only recognisable by their key, so they have no
text form except ``user_id=<id>``, which the key=value detector catches. The values of the document kinds
(card numbers, IBANs, national ids, phone numbers, addresses, birth dates) and of secrets are generated to
pass their format's own check (Luhn, mod-97, ...), each unique, so the value itself is the needle.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["CATEGORIES", "Canary", "assert_no_canary", "canaries", "find_canaries", "nested_placements"]

CATEGORIES: tuple[str, ...] = (
    "email", "ipv4", "ipv6", "filename", "storage_path", "user_id", "extracted_text", "file_content",
    "schema_field_values", "webhook_body", "payment_card", "iban", "national_id", "phone", "street_address",
    "date_of_birth", "jwt", "bearer_token", "api_key", "password",
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
    "payment_card": ("card_number", "creditCard", "cc_number", "payment.card", "pan"),
    "iban": ("iban", "bankAccount", "account_number", "doc.fields.iban", "payee_iban"),
    "national_id": ("ssn", "socialSecurityNumber", "national_id", "tax_id", "passport_number"),
    "phone": ("phone", "phoneNumber", "mobile", "contact.phone", "tel"),
    "street_address": (
        "street_address", "billingAddress", "address_line1", "shipping_address", "home_address",
    ),
    "date_of_birth": ("date_of_birth", "dob", "birthDate", "patient.dob", "birthday"),
    "jwt": ("jwt", "id_token", "accessToken", "auth_token", "session_token"),
    "bearer_token": ("authorization", "Authorization", "http.request.header.authorization", "auth", "cookie"),
    "api_key": ("api_key", "apiKey", "x-api-key", "client_secret", "stripeSecretKey"),
    "password": ("password", "passwd", "db.password", "userPassword", "secret"),
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


def _base64_blob(token: str, index: int) -> str:
    digest = hashlib.sha512(token.encode()).digest()
    return base64.b64encode(digest + token.encode() + digest[::-1]).decode()


def _webhook_body(token: str, index: int) -> str:
    return json.dumps({"job_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "status": "completed", "by": token})


def _host(index: int) -> int:
    return index // 3 % 254 + 1


def _digits(seed: str, count: int) -> str:
    return "".join(str(byte % 10) for byte in hashlib.sha256(seed.encode()).digest()[:count])


def _luhn_complete(body: str) -> str:
    """``body`` plus the check digit that makes it pass Luhn."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str(-total % 10)


def _card(token: str, index: int) -> str:
    prefix, length = (("4", 16), ("5" + "12345"[index % 5], 16), ("37", 15), ("6011", 16))[index % 4]
    number = _luhn_complete(prefix + _digits(token, length - len(prefix) - 1))
    if index % 3 == 1:
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    return "-".join(number[i:i + 4] for i in range(0, len(number), 4)) if index % 3 == 2 else number


def _iban(token: str, index: int) -> str:
    country, bban = ("DE", _digits(token, 18)) if index % 2 == 0 else ("GB", "WEST" + _digits(token, 14))
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if index % 3 == 0 else iban


def _national_id(token: str, index: int) -> str:
    if index % 2:
        letters = "ABCEHJKLMNPRSTWXYZ"
        return f"{letters[index % 18]}{letters[index // 18 % 18]}{_digits(token, 6)}{'ABCD'[index % 4]}"
    area = 100 + index * 7 % 500
    return f"{area:03d}-{index % 89 + 10:02d}-{1000 + index * 37 % 9000:04d}"


def _phone(token: str, index: int) -> str:
    line = f"{index % 10000:04d}"
    return (
        f"+1 415 555 {line}", f"+44 20 7946 {line}", f"(212) 555-{line}", f"030 91{line}5",
        f"+49 30 12{line}", f"+33 6 12 34 {line[:2]} {line[2:]}",
    )[index % 6]


def _word(category: str, index: int) -> str:
    """A unique capitalised word (letters only: names and street names have no digits)."""
    number, letters = CATEGORIES.index(category) * 1000 + index, ""
    while number or not letters:
        number, digit = divmod(number, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
    return "Qz" + letters


def _street(token: str, index: int) -> str:
    name = _word("street_address", index)
    return (f"{index + 10} {name} Street", f"{name}straße {index % 90 + 1}", f"{index + 2} rue de la {name}",
            f"{index + 100} {name} Avenue")[index % 4]


def _birth(token: str, index: int) -> str:
    first, year = _word("date_of_birth", index), 1940 + index % 60
    month, day = index % 12 + 1, index % 28 + 1
    return (f"{first} Miller, {year}-{month:02d}-{day:02d}", f"DOB: {day:02d}/{month:02d}/{year}",
            f"{first} Jones (born {day} March {year})")[index % 3]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(token: str, index: int) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": token, "iat": 1700000000 + index}).encode())
    return f"{header}.{payload}.{_b64url(hashlib.sha256(token.encode()).digest())}"


def _api_key(token: str, index: int) -> str:
    upper = hashlib.sha256(token.encode()).hexdigest().upper()
    return (f"sk_live_{token}{upper[:12]}", f"AKIA{upper[:16]}", f"ghp_{token}{upper[:26]}",
            f"xoxb-{token}-{upper[:12]}")[index % 4]


# The shapes each category comes in, (token, index) -> value; canary i takes shape i % len(shapes).
_SHAPES: dict[str, tuple[Callable[[str, int], object], ...]] = {
    "email": (
        lambda t, i: f"{t}@example.com",
        lambda t, i: f"{t}.Smith+tag@mail.example.org",
        lambda t, i: f"{t.upper()}@EXAMPLE.NET",
    ),
    "ipv4": (  # the documentation ranges
        lambda t, i: f"203.0.113.{_host(i)}",
        lambda t, i: f"198.51.100.{_host(i)}",
        lambda t, i: f"192.0.2.{_host(i)}",
    ),
    "ipv6": (
        lambda t, i: f"2001:db8:{i:x}::{i + 1:x}",
        lambda t, i: f"2001:0db8:85a3:{i:04x}:0000:8a2e:0370:7334",
        lambda t, i: f"fe80::{i + 1:x}:1%eth0",
        lambda t, i: f"::ffff:192.0.2.{i % 250 + 1}",
    ),
    "filename": (
        lambda t, i: f"{t}_passport.pdf",
        lambda t, i: f"Scan-{t}.JPG",
        lambda t, i: f"{t} tax return 2024.docx",
    ),
    "storage_path": (
        lambda t, i: f"user-uploads/{t}/0f8fad5b-d9cb-469f-a165-70867728950e/original.pdf",
        lambda t, i: f"s3://rythmiq-documents/{t}/input.png",
        lambda t, i: f"https://abc.supabase.co/storage/v1/object/sign/documents/{t}/scan.tiff?token=x",
        lambda t, i: f"/var/lib/rythmiq/storage/{t}/page-1.png",
    ),
    "user_id": (lambda t, i: f"usr_{t}",),
    "extracted_text": (_prose,),
    "file_content": (_base64_blob,),
    "schema_field_values": (
        lambda t, i: {"invoice_total": f"$1,{i:03d}.00 {t}", "vendor_name": f"ACME {t}"},
    ),
    "webhook_body": (_webhook_body,),
    "payment_card": (_card,),
    "iban": (_iban,),
    "national_id": (_national_id,),
    "phone": (_phone,),
    "street_address": (_street,),
    "date_of_birth": (_birth,),
    "jwt": (_jwt,),
    "bearer_token": (lambda t, i: f"Bearer {t}{hashlib.md5(t.encode()).hexdigest()[:8]}",),
    "api_key": (_api_key,),
    "password": (lambda t, i: f"hunter2-{t}",),
}
# Kinds whose value has no room for a token: the value itself is the needle.
_VALUE_IS_NEEDLE = frozenset({
    "ipv4", "ipv6", "payment_card", "iban", "national_id", "phone", "street_address", "date_of_birth",
    "api_key",
})


def _text(category: str, value: object) -> str | None:
    """How the value appears in free text so that a value detector can still find it (None: it can't)."""
    if category in ("schema_field_values", "webhook_body"):
        return None
    if category == "user_id":
        return f"user_id={value}"
    if category == "password":
        return f"password={value}"
    if category == "api_key" and not str(value).startswith(("AKIA", "sk_live_")):
        if "xoxb" in str(value):
            return f"https://svc:{value}@api.example.com/v1"
        return f"GET /v1?api_key={value}"
    text = str(value)
    return f"'{text}'" if category == "filename" and " " in text else text


def _make(category: str, index: int) -> Canary:
    token = _token(category, index)
    shapes = _SHAPES[category]
    value = shapes[index % len(shapes)](token, index)
    if category in _VALUE_IS_NEEDLE:
        token = str(value)
    elif category == "file_content":
        token = str(value)[:40]  # the token is inside the encoded bytes: the blob's head is the needle
    key = _KEYS[category][index % len(_KEYS[category])]
    return Canary(category, token, key, value, _text(category, value))


def canaries(per_category: int = 30) -> list[Canary]:
    """``per_category`` canaries of every category (``len(CATEGORIES) * per_category`` in all), distinct."""
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
