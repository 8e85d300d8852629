"""The spec §1.4 PII blocklist as code: key rules, value detectors, a recursive walker and a marker.

All three layers apply these same rules -- the in-process SDK before anything is written or exported, the
collector config (tested against them), and the sink before a row is written -- so this module is standard
library only: the store half imports it without loading OpenTelemetry.

How a value is judged (see ``docs/pii.md``):

1. **Key rules.** A value under a blocked key (``email``, ``original_filename``, ``user_id``,
   ``storage_path``, ``ocr_text``, ``payload`` ...) is replaced whole -- dicts and lists included -- because
   its key says what it is, whatever it looks like.
2. **Safe keys.** The §1.1 fields and the OpenTelemetry attributes we emit (``job_id``,
   ``user_id_hash``, ``trace_id``, ``code.filepath`` ...) are exempt from key rules. Those with a known
   shape (a UUID ``job_id``) skip the value scan when the value has that shape; anything else is scanned.
3. **Value detectors.** Every other string -- including ``message`` and exception text -- is searched by
   the detectors (emails, IPv4/IPv6, storage URIs and paths, document filenames, base64 blobs,
   ``key=value`` pairs whose key is blocked, long prose such as OCR text), each behind a cheap gate so a
   clean message costs a few substring tests. Strings that are JSON documents are parsed and walked like
   dicts; bytes are always file contents.

A hit is replaced by ``vocab.REDACTED_MARKER_FORMAT`` naming the rule -- never the value, nor a prefix or a
hash of it -- and reported as a :class:`Redaction` (key path + rule). Scrubbing already-scrubbed data finds
nothing, so the collector and sink layers never double-count the SDK's work.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from rythmiq_otel._pii_values import (
    RULE_BANK_ACCOUNT,
    RULE_DATE_OF_BIRTH,
    RULE_NATIONAL_ID,
    RULE_PAYMENT_CARD,
    RULE_PHONE,
    RULE_SECRET,
    RULE_STREET_ADDRESS,
    document_value_spans,
    secret_spans,
)
from rythmiq_otel.vocab import CPU_METRICS_COLUMNS, EXTRA_PREFIX, LOG_FIELDS, REDACTED_MARKER_FORMAT

__all__ = [
    "BLOCKED_KEYS",
    "DECLARED_EXTRA_KEYS",
    "DEFAULT_SCRUBBER",
    "DOC_EXTENSIONS",
    "ENV_EXTRA_KEYS",
    "ENV_EXTRA_MODE",
    "EXTRA_MODES",
    "KEY_PLACEHOLDER",
    "MAX_DEPTH",
    "NOOP_SCRUBBER",
    "PROSE_WORDS",
    "RULES",
    "RULE_BANK_ACCOUNT",
    "RULE_CUSTOM",
    "RULE_DATE_OF_BIRTH",
    "RULE_EMAIL",
    "RULE_EXTRACTED_DATA",
    "RULE_EXTRACTED_TEXT",
    "RULE_FILENAME",
    "RULE_FILE_CONTENT",
    "RULE_IP",
    "RULE_NATIONAL_ID",
    "RULE_PAYMENT_CARD",
    "RULE_PERSON_NAME",
    "RULE_PHONE",
    "RULE_SCHEMA_VALUES",
    "RULE_SECRET",
    "RULE_STORAGE_PATH",
    "RULE_STREET_ADDRESS",
    "RULE_TOO_DEEP",
    "RULE_UNDECLARED_EXTRA",
    "RULE_USER_ID",
    "RULE_WEBHOOK_BODY",
    "SAFE_KEYS",
    "SERVER_ADDRESS_KEYS",
    "STRICT_PROSE_WORDS",
    "NoopScrubber",
    "Redaction",
    "Scrubber",
    "extra_keys",
    "extra_settings",
    "hash_user_id",
    "is_marker",
    "marker",
    "register_operational_addresses",
]


def hash_user_id(user_id: str) -> str:
    """Return the anonymised user identifier of spec §1.6: the first 16 hex digits of SHA-256(user_id).

    This is the only form of a user id that may appear in telemetry (as ``user_id_hash``).
    """
    return hashlib.sha256(user_id.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------------
# Rules: one name per §1.4 bullet. The name is what the marker and the redaction metric's `rule` label say.
# ----------------------------------------------------------------------------------------------------------
RULE_EMAIL: Final = "email"
RULE_IP: Final = "ip_address"
RULE_FILENAME: Final = "filename"
RULE_USER_ID: Final = "user_id"
RULE_STORAGE_PATH: Final = "storage_path"
RULE_EXTRACTED_TEXT: Final = "extracted_text"
RULE_FILE_CONTENT: Final = "file_content"
RULE_SCHEMA_VALUES: Final = "schema_field_values"
RULE_EXTRACTED_DATA: Final = "extracted_data"
RULE_WEBHOOK_BODY: Final = "webhook_body"
RULE_PERSON_NAME: Final = "person_name"
RULE_CUSTOM: Final = "blocked_key"  # extra_blocked_keys given without a rule name
# RYTHMIQ_PII_EXTRA=allowlist: an `extra` key nobody declared keeps its key, its value becomes this marker.
RULE_UNDECLARED_EXTRA: Final = "undeclared_extra"
# Nested deeper than MAX_DEPTH, or an object whose str() fails: not inspected, so not let through.
RULE_TOO_DEEP: Final = "too_deep"

RULES: Final[tuple[str, ...]] = (
    RULE_EMAIL, RULE_IP, RULE_FILENAME, RULE_USER_ID, RULE_STORAGE_PATH, RULE_EXTRACTED_TEXT,
    RULE_FILE_CONTENT, RULE_SCHEMA_VALUES, RULE_EXTRACTED_DATA, RULE_WEBHOOK_BODY, RULE_PAYMENT_CARD,
    RULE_BANK_ACCOUNT, RULE_NATIONAL_ID, RULE_PHONE, RULE_STREET_ADDRESS, RULE_DATE_OF_BIRTH,
    RULE_PERSON_NAME, RULE_SECRET, RULE_CUSTOM, RULE_UNDECLARED_EXTRA, RULE_TOO_DEEP,
)
# Containers nested deeper than this (counted in the key path) are replaced whole: hostile input must not
# exhaust the stack, and what cannot be inspected cannot be let through.
MAX_DEPTH: Final = 64


def marker(rule: str) -> str:
    """The text a redacted value is replaced with: names the rule, never contains the value."""
    return REDACTED_MARKER_FORMAT.format(rule=rule)


_MARKER_RE: Final = re.compile(re.escape(REDACTED_MARKER_FORMAT).replace(r"\{rule\}", r"[a-z_]+"))


def is_marker(value: object) -> bool:
    """True when ``value`` is exactly a redaction marker (already scrubbed by an earlier layer)."""
    return isinstance(value, str) and _MARKER_RE.fullmatch(value) is not None


@dataclass(frozen=True)
class Redaction:
    """One redacted value: where it was (a key path such as ``extra.customer.email``) and which rule fired.

    Deliberately holds no part of the value, so it can be logged and counted anywhere: a key that is not
    a plain identifier (or that itself tripped a rule) appears in the path as ``KEY_PLACEHOLDER``.
    """

    path: str
    rule: str


# ----------------------------------------------------------------------------------------------------------
# Key rules. Keys are matched on their normalised words (camelCase, dots, dashes and underscores all split
# words; lower case): a listed name as the whole key or its last dotted segment, a listed name of two or more
# words (or a SUFFIX_WORDS word) as the last words of the key, a blocked token among the last segment's
# words, or a container name (CONTAINER_RULES) as an earlier dotted segment -- ``doc.fields.total`` is what
# ``{"doc": {"fields": {"total": ...}}}`` flattens to. A blocked key's value is replaced whole, whatever its
# type (except None and booleans, which cannot carry PII).
# ----------------------------------------------------------------------------------------------------------
_NAMES_BY_RULE: Final[dict[str, tuple[str, ...]]] = {
    RULE_EMAIL: (
        "email", "e_mail", "mail", "email_address", "emailaddress", "user_email", "customer_email",
        "contact_email", "reply_to", "recipient", "recipients", "sender", "to_address", "from_address",
    ),
    RULE_IP: (
        "ip", "ips", "ipv4", "ipv6", "ip_address", "ipaddress", "client_ip", "remote_ip", "remote_addr",
        "remote_address", "client_addr", "client_address", "peer_ip", "peer_addr", "source_ip",
        "source_address", "x_forwarded_for", "forwarded_for", "forwarded", "x_real_ip", "real_ip",
        "http_client_ip", "net_peer_ip", "net_sock_peer_addr", "network_peer_address",
    ),
    RULE_USER_ID: (
        "user_id", "userid", "uid", "user", "user_uuid", "owner_id", "customer_id", "account_id",
        "member_id", "subscriber_id", "profile_id", "enduser_id", "enduser", "user_name", "username",
        "login", "owner", "created_by", "uploaded_by", "auth_user_id", "supabase_user_id",
    ),
    RULE_FILENAME: (
        "filename", "file_name", "filenames", "original_filename", "original_name", "originalname",
        "document_name", "doc_name", "upload_name", "uploaded_filename", "attachment_name", "fname",
        "basename", "file",
    ),
    RULE_STORAGE_PATH: (
        "storage_path", "file_path", "filepath", "object_key", "object_path", "object_name", "blob_path",
        "blob_name", "storage_key", "storage_url", "s3_key", "s3_path", "s3_uri", "s3_url", "gcs_path",
        "gcs_uri", "bucket_key", "bucket_path", "input_path", "output_path", "source_path", "dest_path",
        "destination_path", "download_url", "signed_url", "upload_url", "presigned_url", "file_url",
        "document_url", "local_path", "tmp_path", "temp_path",
    ),
    RULE_EXTRACTED_TEXT: (
        "text", "ocr_text", "raw_text", "full_text", "extracted_text", "page_text", "document_text",
        "body_text", "plain_text", "ocr", "ocr_result", "ocr_results", "ocr_output", "ocr_lines",
        "ocr_words", "ocr_blocks", "transcript", "snippet", "excerpt", "line_text",
    ),
    RULE_FILE_CONTENT: (
        "content", "contents", "file_content", "file_contents", "file_bytes", "file_data", "raw_bytes",
        "content_bytes", "image_bytes", "image_data", "data_base64", "base64", "b64", "blob", "binary",
        "attachment", "document", "file_body", "page_image", "image", "thumbnail", "pdf_bytes",
        "raw_content", "data_url",
    ),
    RULE_SCHEMA_VALUES: (
        "schema_field_values", "field_values", "field_value", "schema_fields", "schema_values", "fields",
        "form_fields", "form_data", "form_values", "document_fields", "portal_fields", "mapped_fields",
        "output_fields",
    ),
    RULE_EXTRACTED_DATA: (
        "extracted_data", "extracted_fields", "extracted_values", "extraction", "extraction_result",
        "parsed_data", "parsed_fields", "parsed_document", "document_data", "document_content", "entities",
        "key_values", "kv_pairs", "user_content", "ocr_data", "output_data", "result_data",
    ),
    RULE_WEBHOOK_BODY: (
        "payload", "body", "webhook_body", "webhook_payload", "request_body", "response_body", "raw_body",
        "http_body", "post_body", "json_body", "req_body", "resp_body", "http_request_body",
        "http_response_body", "camber_payload", "job_payload", "stdin_payload", "message_body",
    ),
    RULE_PAYMENT_CARD: (
        "card", "card_number", "cardnumber", "credit_card", "creditcard", "debit_card", "cc_number", "ccnum",
        "pan", "cvv", "cvc", "cvv2", "card_cvv", "card_cvc", "card_verification",
    ),
    RULE_BANK_ACCOUNT: (
        "iban", "account_number", "bank_account", "bank_account_number", "routing_number", "sort_code",
        "bank_details",
    ),
    RULE_NATIONAL_ID: (
        "ssn", "social_security_number", "national_id", "national_id_number", "national_insurance_number",
        "nino", "tax_id", "tin", "taxpayer_id", "tax_number", "passport", "passport_number", "driver_license",
        "drivers_license", "driving_licence", "driving_license", "id_number", "id_card", "personal_id",
        "identity_number", "sin",
    ),
    RULE_PHONE: (
        "phone", "phone_number", "phonenumber", "telephone", "tel", "mobile", "mobile_number", "cell",
        "cellphone", "fax", "msisdn",
    ),
    RULE_STREET_ADDRESS: (
        "street", "street_address", "address_line", "address_line1", "address_line_1", "address_line2",
        "address_line_2", "address1", "address2", "home_address", "billing_address", "shipping_address",
        "mailing_address", "postal_address", "postcode", "post_code", "postal_code", "zip", "zip_code",
        "zipcode",
    ),
    RULE_DATE_OF_BIRTH: ("dob", "date_of_birth", "birth_date", "birthdate", "birthday"),
    RULE_PERSON_NAME: (
        "first_name", "firstname", "last_name", "lastname", "full_name", "fullname", "surname", "given_name",
        "family_name", "middle_name", "maiden_name", "customer_name", "holder_name", "cardholder_name",
        "account_holder", "patient_name", "person_name", "contact_name",
    ),
    RULE_SECRET: (
        "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "client_secret", "token",
        "tokens", "access_token", "refresh_token", "id_token", "auth_token", "bearer_token", "api_token",
        "session_token", "csrf_token", "xsrf_token", "api_key", "apikey", "x_api_key", "access_key",
        "access_key_id", "secret_key", "secret_access_key", "private_key", "signing_key", "encryption_key",
        "authorization", "proxy_authorization", "auth", "credential", "credentials", "cookie", "cookies",
        "set_cookie", "session", "session_id", "sessionid", "session_key", "otp", "jwt", "signature",
    ),
}

# Normalised key -> rule. Exported so the collector config's tests can check it deletes the same keys.
BLOCKED_KEYS: Final[Mapping[str, str]] = {
    name: rule for rule, names in _NAMES_BY_RULE.items() for name in names
}

# A key containing one of these tokens is blocked even when the whole name is not listed
# ("customer_email", "client_ip_v4", "ocr_page_text", "raw_webhook_payload").
_TOKEN_RULES: Final[Mapping[str, str]] = {
    "email": RULE_EMAIL, "emails": RULE_EMAIL, "mail": RULE_EMAIL,
    "ip": RULE_IP, "ipv4": RULE_IP, "ipv6": RULE_IP,
    "filename": RULE_FILENAME, "filenames": RULE_FILENAME,
    "text": RULE_EXTRACTED_TEXT, "texts": RULE_EXTRACTED_TEXT, "transcript": RULE_EXTRACTED_TEXT,
    "base64": RULE_FILE_CONTENT, "b64": RULE_FILE_CONTENT,
    "extracted": RULE_EXTRACTED_DATA,
    "body": RULE_WEBHOOK_BODY, "payload": RULE_WEBHOOK_BODY,
    "phone": RULE_PHONE, "iban": RULE_BANK_ACCOUNT, "ssn": RULE_NATIONAL_ID,
    "password": RULE_SECRET, "passwd": RULE_SECRET, "apikey": RULE_SECRET, "secret": RULE_SECRET,
    "authorization": RULE_SECRET, "cookie": RULE_SECRET, "credential": RULE_SECRET,
    "credentials": RULE_SECRET,
}
# Single words that block a key when they are its last word ("github_access_token", "userSession",
# "x-amz-signature"); other one-word names block only as a whole segment ("docker_image" is no file).
SUFFIX_WORDS: Final = frozenset({"token", "session", "signature", "card", "dob", "passport"})
# Names of containers of user data: a dotted key under one (``doc.fields.total``) is blocked like the
# nested value it was flattened from.
CONTAINER_RULES: Final = frozenset({RULE_SCHEMA_VALUES, RULE_EXTRACTED_DATA, RULE_WEBHOOK_BODY})
# "<something>_path" / "<something>_url" is a storage location when <something> names a file or a store.
_LOCATION_TOKENS: Final = frozenset({
    "storage", "file", "object", "blob", "s3", "gcs", "bucket", "upload", "download", "document", "signed",
    "presigned", "input", "output",
})

# ----------------------------------------------------------------------------------------------------------
# Safe keys: exempt from key rules. A shape, when given, lets a well-formed value skip the value scan too;
# a malformed one (a job_id that is not a UUID) is scanned like any other string.
# ----------------------------------------------------------------------------------------------------------
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_ID: Final = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")
# user_id_hash (the spec's own examples are not hex); sixteen digits alone are no hash but a card number.
_ALNUM16: Final = re.compile(r"(?=[0-9]{0,15}[a-z])[0-9a-z]{16}")
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")  # enumerations: stage, level, error_code, method ...
_ISO_TIME: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?")

_SHAPED_SAFE_KEYS: Final[dict[str, re.Pattern[str]]] = {
    "job_id": _UUID, "correlation_id": _UUID,
    "trace_id": _HEX_ID, "span_id": _HEX_ID, "otelTraceID": _HEX_ID, "otelSpanID": _HEX_ID,
    "user_id_hash": _ALNUM16, "timestamp": _ISO_TIME,
    "level": _TOKEN, "service": _TOKEN, "stage": _TOKEN, "error_code": _TOKEN, "error_stage": _TOKEN,
    "http_method": _TOKEN, "http.method": _TOKEN, "http.request.method": _TOKEN, "method": _TOKEN,
    "status": _TOKEN, "processing_path": _TOKEN, "execution_temperature": _TOKEN, "execution_temp": _TOKEN,
    "severity_text": _TOKEN, "exception.type": _TOKEN,
    # What the collector's k8s_attributes processor adds (a UUID, not a user id despite the ``uid`` word).
    "k8s.pod.uid": _UUID,
}
# A safe key whose value lacks its shape is scanned like any text -- except these, where a value of another
# shape is itself the thing the key stands in for: a ``user_id_hash`` that is no hash is a raw user id.
_MALFORMED_RULES: Final[Mapping[str, str]] = {"user_id_hash": RULE_USER_ID}
SAFE_KEYS: Final[frozenset[str]] = frozenset({
    *_SHAPED_SAFE_KEYS,
    *(field for field in LOG_FIELDS if field not in ("message", "extra")),
    *CPU_METRICS_COLUMNS,
    "event", "event.name", "timestamp", "trace_flags", "otelServiceName", "otelTraceSampled",
    "http.route", "http.status_code", "http.response.status_code", "http.request.body.size",
    "http.response.body.size", "code.filepath", "code.file.path", "code.function", "code.function.name",
    "code.lineno", "code.line.number", "code.namespace", "exception.escaped", "service.name",
    "rythmiq.service", "logger", "logger.name", "thread.name", "thread.id", "process.pid",
    "messaging.message.body.size", "http.request.header.content-type", "http.response.header.content-type",
})
# Attributes naming the *server* a CLIENT span called: our own infrastructure, not user data, so they are
# exempt from key rules and the IP detector there (``Scrubber.scrub_attributes(..., client_span=True)``).
# Their other detectors still run (credentials in ``url.full`` are still cut). ``client.address`` and the
# peer of a SERVER span are the user's and stay redacted.
SERVER_ADDRESS_KEYS: Final[frozenset[str]] = frozenset({
    "server.address", "server.port", "url.full", "http.url", "network.peer.address", "network.peer.port",
    "net.peer.name", "net.peer.ip", "net.peer.port", "net.sock.peer.addr", "net.sock.peer.port",
    "url.domain", "http.host", "db.connection_string",
})

# ----------------------------------------------------------------------------------------------------------
# Value detectors: one per kind of value, all with one signature (text -> spans). Each sits behind a gate --
# a C-speed substring or length test every match must pass -- so a typical log message pays for a few `in`
# tests, not a regex scan. Every pattern is bounded or anchored on a rare character so that no input, however
# hostile (the sink scans whatever it is sent), costs more than linear time.
# ----------------------------------------------------------------------------------------------------------
Span = tuple[int, int, str]  # start, end, rule


@dataclass(frozen=True, slots=True)
class _RegexDetector:
    """Spans of ``pattern`` in texts passing ``gate``; ``confirm`` (optional) says how much of a candidate is
    really a hit (0: none), so a loose pattern can be checked by a parser and trimmed."""

    rule: str
    gate: Callable[[str], bool]
    pattern: re.Pattern[str]
    confirm: Callable[[str], int] | None = None

    def __call__(self, text: str) -> list[Span]:
        if not self.gate(text):
            return []
        spans = []
        for match in self.pattern.finditer(text):
            start, end = match.span()
            if self.confirm is not None:
                end = start + self.confirm(match.group())
            if end > start:
                spans.append((start, end, self.rule))
        return spans


# Extensions of documents a user uploads (never source files such as .py, so tracebacks are kept).
DOC_EXTENSIONS: Final[tuple[str, ...]] = (
    "pdf", "png", "jpg", "jpeg", "tif", "tiff", "heic", "heif", "gif", "bmp", "webp", "doc", "docx", "xls",
    "xlsx", "ppt", "pptx", "csv", "txt", "rtf", "odt", "ods", "zip", "eml", "msg",
)
# Not followed by ".<word>": "extra.doc.fields" is an attribute path, "scan.pdf.zip" is found at ".zip".
_DOC_EXT_RE: Final = re.compile(
    r"\.(?:" + "|".join(sorted(DOC_EXTENSIONS, key=len, reverse=True)) + r")\b(?!\.\w)", re.IGNORECASE
)
# Characters of a path or filename token, matched backwards from the extension.
_NAME_CHARS_RE: Final = re.compile(r"[\w.~%+()/\\-]{1,1024}")
_QUOTED_NAME_MAX: Final = 200


def _documents(text: str) -> list[Span]:
    """Filenames and paths of user documents, found from their extension backwards (linear time).

    A token containing a slash is a storage path, else a filename; a quoted name may contain spaces
    (``'My Tax Return 2024.pdf'``).
    """
    if "." not in text:
        return []
    spans = []
    for match in _DOC_EXT_RE.finditer(text):
        start, end = match.span()
        quote = text[end:end + 1]
        opening = text.rfind(quote, max(0, start - _QUOTED_NAME_MAX), start) if quote in ("'", '"') else -1
        if opening >= 0 and not any(c in text[opening:start] for c in "\n/\\"):
            spans.append((opening + 1, end, RULE_FILENAME))
            continue
        before = _NAME_CHARS_RE.match(text[max(0, start - 1024):start][::-1])
        if before is None:
            continue
        token = text[start - before.end():start]
        if token.strip("./\\-"):
            rule = RULE_STORAGE_PATH if ("/" in token or "\\" in token) else RULE_FILENAME
            spans.append((start - before.end(), end, rule))
    return spans


# Addresses that are never a user's: loopback, unspecified (``0.0.0.0``, ``::``), and the addresses the
# service itself listens on (``register_operational_addresses``). Everything else -- private ranges
# included, a user behind the same NAT is still a user -- is redacted.
_operational: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()


def register_operational_addresses(*addresses: str) -> None:
    """Declare the service's own listen addresses: they stay readable in logs ("Uvicorn running on ...").

    Host names and unparseable values are ignored: only literal addresses are ever redacted.
    """
    for address in addresses:
        try:
            _operational.add(ipaddress.ip_address(address.strip("[]")))
        except ValueError:
            continue


def _user_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not (address.is_loopback or address.is_unspecified or address in _operational)


def _ipv4_length(candidate: str) -> int:
    return len(candidate) if _user_address(ipaddress.IPv4Address(candidate)) else 0


def _ipv6_length(candidate: str) -> int:
    """Length of the IPv6 address the candidate starts with (0 if none): "2001:db8::1:" is 11 long."""
    address = candidate.rstrip(":.")
    if not any(c.isalnum() for c in address):
        return 0
    try:
        parsed = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return 0
    return len(address) if _user_address(parsed) else 0


def _base64_length(candidate: str) -> int:
    """Long runs of one case (identifiers, hex, URL paths) are not file contents; base64 mixes all three."""
    if candidate.startswith("data:"):
        return len(candidate)
    mixed = (
        any(c.isdigit() for c in candidate)
        and any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
    )
    return len(candidate) if mixed else 0


_OCTET: Final = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_BASE64_MIN: Final = 80
_URL_CHARS: Final = r"[^\s\"'<>]{0,2048}"

_DETECTORS: Final[tuple[Callable[[str], list[Span]], ...]] = (
    _RegexDetector(
        RULE_EMAIL,
        lambda text: "@" in text or "%40" in text,
        re.compile(
            r"[\w.%+-]{1,64}(?:@|%40)[^\W_]{1,63}(?:[.-][^\W_]{1,63}){0,8}\.[^\W\d_]{2,24}"
        ),
    ),
    _RegexDetector(
        RULE_STORAGE_PATH,
        lambda text: "://" in text,
        re.compile(
            rf"\b(?:s3a?|gs|gcs|az|abfss?|wasbs?|hdfs|file)://{_URL_CHARS}"
            rf"|https?://[^\s\"'<>/]{{0,255}}/storage/v1/(?:object|render)/{_URL_CHARS}"
        ),
    ),
    _documents,
    _RegexDetector(
        RULE_IP,
        lambda text: text.count(".") >= 3,
        # After a letter, "_" or "." too ("doc.203.0.113.7"), never inside a longer dotted number or a
        # version ("v1.2.3.4").
        re.compile(rf"(?<![\dvV])(?<![\dvV]\.)(?:{_OCTET}\.){{3}}{_OCTET}(?!\d)(?!\.\d)"),
        _ipv4_length,
    ),
    _RegexDetector(
        RULE_IP,
        lambda text: text.count(":") >= 2,
        re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,8}[0-9A-Fa-f.]{0,15}(?:%[\w.]{1,32})?(?![\w:])"),
        _ipv6_length,
    ),
    _RegexDetector(
        RULE_FILE_CONTENT,
        lambda text: len(text) >= _BASE64_MIN or "base64," in text,
        re.compile(rf"data:[\w/+.-]{{1,128}};base64,[A-Za-z0-9+/=_-]*|[A-Za-z0-9+/_-]{{{_BASE64_MIN},}}={{0,2}}"),
        _base64_length,
    ),
)

# key=value / "key": "value" / 'key': 'value' inside text; redacted only when the key is blocked. Matched on
# the reversed text, so the regex starts at the rare separator instead of at every word.
_KV_REVERSED_RE: Final = re.compile(r"[=:][ \t]{0,3}[\"']?([\w.-]{1,64})")
_KV_VALUE_RE: Final = re.compile(
    r"[ \t]{0,3}(?P<value>"
    + _MARKER_RE.pattern
    + r"|\"(?:[^\"\\\n]|\\.){0,4096}\"?|'(?:[^'\\\n]|\\.){0,4096}'?|[^\s,;&)}\]]{1,4096})"
)
# Long prose (OCR output, document text): PROSE_WORDS words in a row, separated by spaces or by line breaks
# not followed by indentation -- so a traceback's indented frame lines never form a run.
PROSE_WORDS: Final = 20
_PROSE_RE: Final = re.compile(rf"(?<!\S)(?:\S+(?:[ \t]+|\r?\n(?=\S))){{{PROSE_WORDS - 1},}}\S+")
# The arguments of a `%s` message and the values in `extra` are data, not the developer's template: judged
# strictly, a run of this many words is document text (a sentence of a contract with a person's name).
STRICT_PROSE_WORDS: Final = 10
_STRICT_PROSE_RE: Final = re.compile(
    rf"(?<!\S)(?:\S+(?:[ \t]+|\r?\n(?=\S))){{{STRICT_PROSE_WORDS - 1},}}\S+"
)

# Every detector of _DETECTORS and every key=value needs one of these characters, or a string of at least
# _BASE64_MIN. The document kinds and the secrets (``_pii_values``) carry their own gates.
_TRIGGER_RE: Final = re.compile(r"[@%.:/\\=]")
_CAMEL_RE: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM_RE: Final = re.compile(r"[^a-z0-9]+")
_SCALARS: Final = frozenset({int, float, bool, type(None)})
_BINARY: Final = (bytes, bytearray, memoryview)
# Bounded per-scrubber caches (cleared when full): key -> policy, and strings already found clean.
_CACHE_MAX: Final = 4096
_CLEAN_CACHE_MAX_LEN: Final = 256


def _normalise(key: str) -> str:
    return _NON_ALNUM_RE.sub("_", _CAMEL_RE.sub("_", key).lower()).strip("_")


def _nothing_to_hide(value: object) -> bool:
    """None, a boolean, "" or an earlier layer's marker: leave it, so re-scrubbing counts nothing."""
    if isinstance(value, str):
        return not value or is_marker(value)
    return value is None or isinstance(value, bool)


def _too_deep(path: str) -> bool:
    return path.count(".") + path.count("[") > MAX_DEPTH


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _strict(prefix: str, key: str) -> bool:
    """Values in ``extra`` and the arguments of a ``%s`` message are data: judged strictly."""
    path = prefix or key
    return path == "extra" or path.startswith(("extra.", "extra["))


# How a key appears in a reported path: as written when it is a plain identifier, else KEY_PLACEHOLDER --
# a key that holds text, or a long number, could be the very value the report must not repeat.
KEY_PLACEHOLDER: Final = "<key>"
_PATH_KEY_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_DIGIT_RUN_RE: Final = re.compile(r"\d{5}")
_SERVER_RULES: Final = frozenset({RULE_IP})


def _path_key(key: str, key_rules: tuple[str, ...]) -> str:
    if key_rules or not _PATH_KEY_RE.fullmatch(key) or _DIGIT_RUN_RE.search(key):
        return KEY_PLACEHOLDER
    return key


# ----------------------------------------------------------------------------------------------------------
# RYTHMIQ_PII_EXTRA: `extra` is free-form, and a blocklist can never be complete. In allowlist mode only
# declared `extra` keys keep their values (still scanned); any other key keeps its key and gets the marker
# of RULE_UNDECLARED_EXTRA. Declared: the spec's own keys, our events' keys, keys a service registers
# (``Scrubber.declare_extra_keys``) or lists in RYTHMIQ_PII_EXTRA_KEYS. Read by the distro's and the sink's
# settings (this module is where both halves meet).
# ----------------------------------------------------------------------------------------------------------
ENV_EXTRA_MODE: Final = "RYTHMIQ_PII_EXTRA"
"""``blocklist`` (default) or ``allowlist``: how values in a log record's ``extra`` are judged."""
ENV_EXTRA_KEYS: Final = "RYTHMIQ_PII_EXTRA_KEYS"
"""Comma-separated ``extra`` keys declared safe in allowlist mode, beyond ``DECLARED_EXTRA_KEYS``."""
EXTRA_MODES: Final = ("blocklist", "allowlist")
DECLARED_EXTRA_KEYS: Final[frozenset[str]] = frozenset({
    *CPU_METRICS_COLUMNS, "execution_temp", "status", "reason", "content_length", "output_size_bytes",
    "retry_count", "attempt", "value", "layer", "rules", "paths", "repeats",
})


def extra_settings(environ: Mapping[str, str]) -> tuple[str, frozenset[str]]:
    """(mode, declared keys) from RYTHMIQ_PII_EXTRA and RYTHMIQ_PII_EXTRA_KEYS; a bad mode is an error."""
    raw = environ.get(ENV_EXTRA_MODE, "")
    mode = raw.strip().lower() or EXTRA_MODES[0]
    if mode not in EXTRA_MODES:
        raise ValueError(f"{ENV_EXTRA_MODE} must be 'blocklist' or 'allowlist', got {raw!r}")
    return mode, frozenset(extra_keys(environ.get(ENV_EXTRA_KEYS)))


def extra_keys(raw: str | None) -> tuple[str, ...]:
    """The keys a RYTHMIQ_PII_EXTRA_KEYS value lists (comma-separated; spaces and empty items dropped)."""
    return tuple(key.strip() for key in (raw or "").split(",") if key.strip())


@dataclass(frozen=True, slots=True)
class _KeyPolicy:
    """What to do with the value under one key (cached per key string)."""

    rule: str | None  # blocked: replace the value whole with this rule's marker
    shape: re.Pattern[str] | None  # a safe key whose well-shaped values skip the value scan
    key: str  # the key as written out (itself scrubbed when the key text held PII)
    key_rules: tuple[str, ...]  # rules that fired on the key text
    plain: bool  # neither blocked nor holding PII itself: only the value needs judging
    path_key: str  # the key as it appears in a reported path


class Scrubber:
    """Applies the blocklist to log fields, attribute maps, single values and free text.

    Every method returns ``(scrubbed, redactions)``. When nothing matched, ``redactions`` is empty and the
    scrubbed value is the input object itself (no copy), so the common case allocates nothing; callers must
    treat the result as read-only.

    Args:
        extra_blocked_keys: more keys to block, as ``{key: rule}`` or an iterable of keys (rule
            ``blocked_key``). Matched after normalisation, like the built-in names.
        extra_safe_keys: more keys exempt from key rules (their values are still scanned).
        extra_mode: ``blocklist`` (default) or ``allowlist`` (see ``ENV_EXTRA_MODE``).
        declared_extra_keys: ``extra`` keys that keep their values in allowlist mode, beyond
            ``DECLARED_EXTRA_KEYS``.
    """

    def __init__(
        self,
        *,
        extra_blocked_keys: Mapping[str, str] | Iterable[str] = (),
        extra_safe_keys: Iterable[str] = (),
        extra_mode: str = "blocklist",
        declared_extra_keys: Iterable[str] = (),
    ) -> None:
        if extra_mode not in EXTRA_MODES:
            raise ValueError(f"extra_mode must be 'blocklist' or 'allowlist', got {extra_mode!r}")
        extra = (
            extra_blocked_keys.items() if isinstance(extra_blocked_keys, Mapping)
            else ((key, RULE_CUSTOM) for key in extra_blocked_keys)
        )
        self._blocked: dict[str, str] = {**BLOCKED_KEYS, **{_normalise(k): rule for k, rule in extra}}
        self._safe: frozenset[str] = SAFE_KEYS | frozenset(extra_safe_keys)
        self._allowlist = extra_mode == "allowlist"
        self._declared: set[str] = {*DECLARED_EXTRA_KEYS, *declared_extra_keys}
        self._server_keys: frozenset[str] = frozenset()
        self._client_view: Scrubber | None = None
        self._policies: dict[str, _KeyPolicy] = {}
        self._clean: set[str] = set()

    @property
    def extra_mode(self) -> str:
        """``allowlist`` or ``blocklist``."""
        return EXTRA_MODES[1] if self._allowlist else EXTRA_MODES[0]

    def declare_extra_keys(self, *keys: str) -> None:
        """Declare ``extra`` keys whose values are kept in allowlist mode (a service's own fields)."""
        self._declared.update(keys)
        if self._client_view is not None:
            self._client_view._declared.update(keys)

    # ------------------------------------------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------------------------------------------
    def scrub_fields(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[Redaction]]:
        """Scrub one log record's top-level fields (``message``, ``job_id``, ``extra`` ...), recursively.

        Values inside ``extra`` are judged strictly (``STRICT_PROSE_WORDS``) and, in allowlist mode, only
        declared ``extra`` keys keep their values.
        """
        out: list[Redaction] = []
        if self._allowlist:
            extra = fields.get("extra")
            if isinstance(extra, Mapping):
                allowed = self._allow_extra(extra, "extra", out)
                if allowed is not extra:
                    fields = {**fields, "extra": allowed}
        scrubbed = self._scrub_mapping(fields, "", out)
        return (scrubbed if isinstance(scrubbed, dict) else dict(scrubbed)), out

    def scrub_attributes(
        self, attrs: Mapping[str, Any], *, client_span: bool = False
    ) -> tuple[dict[str, Any], list[Redaction]]:
        """Scrub a flat OpenTelemetry attribute map (``{"extra.email": ..., "http.url": ...}``).

        Dotted keys are judged on their words (see the key rules), so ``extra.email`` and
        ``http.client_ip`` are blocked while ``code.filepath`` stays safe. ``extra.*`` values are judged
        strictly, and only declared ones are kept in allowlist mode. ``client_span``: the attributes of a
        CLIENT span, whose ``SERVER_ADDRESS_KEYS`` name our own servers and are kept.
        """
        if client_span:
            return self._client().scrub_attributes(attrs)
        if not self._allowlist:
            return self.scrub_fields(attrs)
        out: list[Redaction] = []
        cut = len(EXTRA_PREFIX)
        prefixed = {
            key[cut:]: value for key, value in attrs.items() if type(key) is str and key[:cut] == EXTRA_PREFIX
        }
        if prefixed:
            allowed = self._allow_extra(prefixed, "extra", out, dotted=True)
            if allowed is not prefixed:
                attrs = {key: allowed.get(key[cut:], value) if key[:cut] == EXTRA_PREFIX else value
                         for key, value in attrs.items()}
        scrubbed = self._scrub_mapping(attrs, "", out)
        return (scrubbed if isinstance(scrubbed, dict) else dict(scrubbed)), out

    def scrub_value(self, key: str, value: Any) -> tuple[Any, list[Redaction]]:
        """Scrub one value as if it were found under ``key`` (key rules apply, then the value scan)."""
        out: list[Redaction] = []
        return self._scrub_item(key, value, "", out)[1], out

    def scrub_data(self, value: Any, *, path: str) -> tuple[Any, list[Redaction]]:
        """Scrub a value of any shape found at ``path`` (a structured log body): no key rule for ``path``
        itself, the walk and the value scan for what it holds (bytes are file contents)."""
        out: list[Redaction] = []
        return self._scrub_any(value, "", path, out), out

    def scrub_text(
        self, text: str, *, path: str = "message", strict: bool = False
    ) -> tuple[str, list[Redaction]]:
        """Scrub free text (a message, an exception message or stack trace, a span name); no key rules.

        ``strict``: the text is data (a ``%s`` argument), judged like a value in ``extra``.
        """
        out: list[Redaction] = []
        return self._scrub_str(text, "", path, out, strict=strict or None), out

    # ------------------------------------------------------------------------------------------------------
    # Allowlist mode and CLIENT spans
    # ------------------------------------------------------------------------------------------------------
    def _allow_extra(
        self, extra: Mapping[Any, Any], prefix: str, out: list[Redaction], *, dotted: bool = False
    ) -> Mapping[Any, Any]:
        """``extra`` with the values of undeclared keys replaced (judged by the first dotted segment if
        ``dotted``)."""
        changed: dict[Any, Any] | None = None
        for key, value in extra.items():
            name = str(key).split(".", 1)[0] if dotted else key
            if name in self._declared or _nothing_to_hide(value):
                continue
            if changed is None:
                changed = dict(extra)
            changed[key] = marker(RULE_UNDECLARED_EXTRA)
            out.append(Redaction(_join(prefix, self._policy(str(key)).path_key), RULE_UNDECLARED_EXTRA))
        return extra if changed is None else changed

    def _client(self) -> Scrubber:
        """A twin that keeps SERVER_ADDRESS_KEYS (and IPs in them); its caches are its own."""
        if self._client_view is None:
            twin = Scrubber(extra_mode=self.extra_mode, declared_extra_keys=self._declared)
            twin._blocked = self._blocked
            twin._safe = self._safe | SERVER_ADDRESS_KEYS
            twin._server_keys = SERVER_ADDRESS_KEYS
            self._client_view = twin
        return self._client_view

    # ------------------------------------------------------------------------------------------------------
    # Keys
    # ------------------------------------------------------------------------------------------------------
    def _policy(self, key: str) -> _KeyPolicy:
        policy = self._policies.get(key)
        if policy is None:
            key_hits: list[Redaction] = []
            written = self._scan_text(key, "", "", key_hits, strict=False)
            rule = None if key in self._safe else self._key_rule(key)
            key_rules = tuple(hit.rule for hit in key_hits)
            shape = _SHAPED_SAFE_KEYS.get(key)
            policy = _KeyPolicy(
                rule, shape, written, key_rules, rule is None and not key_rules, _path_key(key, key_rules)
            )
            if len(self._policies) >= _CACHE_MAX:
                self._policies.clear()
            self._policies[key] = policy
        return policy

    def _key_rule(self, key: str) -> str | None:
        blocked = self._blocked
        words = _normalise(key).split("_")
        last = _normalise(key.rsplit(".", 1)[-1])
        for name in ("_".join(words), last):
            rule = blocked.get(name)
            if rule is not None:
                return rule
        for start in range(1, len(words)):  # the key's last words: "schemaFieldValue", "github_access_token"
            suffix = "_".join(words[start:])
            rule = blocked.get(suffix)
            if rule is not None and ("_" in suffix or suffix in SUFFIX_WORDS):
                return rule
        tokens = last.split("_")
        for token in tokens:
            rule = _TOKEN_RULES.get(token)
            if rule is not None:
                return rule
        if "user" in tokens and tokens[-1] == "id":
            return RULE_USER_ID
        if tokens[-1] in ("path", "url", "uri", "key") and _LOCATION_TOKENS.intersection(tokens):
            return RULE_STORAGE_PATH
        for segment in key.split(".")[:-1]:  # under a container of user data: "doc.fields.total"
            rule = blocked.get(_normalise(segment))
            if rule in CONTAINER_RULES:
                return rule
        return None

    # ------------------------------------------------------------------------------------------------------
    # The walker. A value's key path is passed as (prefix, key) and joined only on a hit or when descending,
    # so a clean record builds no strings.
    # ------------------------------------------------------------------------------------------------------
    def _scrub_mapping(self, mapping: Mapping[Any, Any], prefix: str, out: list[Redaction]) -> Any:
        if prefix and _too_deep(prefix):
            out.append(Redaction(prefix, RULE_TOO_DEEP))
            return marker(RULE_TOO_DEEP)
        policies, clean = self._policies, self._clean
        changed: dict[Any, Any] | None = None
        for index, (key, value) in enumerate(mapping.items()):
            # Hot path, inlined: a known plain key whose value is a scalar, a clean string or well-shaped.
            policy = policies.get(key)
            if policy is not None and policy.plain:
                kind = type(value)
                if kind in _SCALARS or (kind is str and value in clean):
                    if changed is not None:
                        changed[key] = value
                    continue
                # Not remembered as clean: the shape vouches for the value under this key only (a card
                # number is a well-formed ``stage`` token, and the clean set serves every key).
                if kind is str and policy.shape is not None and policy.shape.fullmatch(value):
                    if changed is not None:
                        changed[key] = value
                    continue
                if kind is dict:  # the `extra` object
                    new_key, new_value = key, self._scrub_mapping(value, _join(prefix, key), out)
                else:
                    new_key, new_value = self._scrub_item(key, value, prefix, out)
            else:
                new_key, new_value = self._scrub_item(key, value, prefix, out)
            if changed is None and (new_key is not key or new_value is not value):
                changed = dict(list(mapping.items())[:index])
            if changed is not None:
                changed[new_key] = new_value
        return mapping if changed is None else changed

    def _scrub_item(self, key: Any, value: Any, prefix: str, out: list[Redaction]) -> tuple[Any, Any]:
        """Scrub one ``key: value`` pair found under ``prefix``; returns the pair to write out."""
        if type(key) is not str:
            key = str(key)
        policy = self._policies.get(key) or self._policy(key)
        path_key = policy.path_key
        if policy.key_rules:
            key = policy.key
            out.extend(Redaction(_join(prefix, path_key), rule) for rule in policy.key_rules)
        if policy.rule is not None:
            if _nothing_to_hide(value):
                return key, value
            out.append(Redaction(_join(prefix, path_key), policy.rule))
            return key, marker(policy.rule)
        if type(value) is str and policy.shape is not None:
            if policy.shape.fullmatch(value):
                return key, value
            malformed = _MALFORMED_RULES.get(key)
            if malformed is not None and value and not is_marker(value):
                out.append(Redaction(_join(prefix, path_key), malformed))
                return key, marker(malformed)
        return key, self._scrub_any(value, prefix, path_key, out)

    def _scrub_any(self, value: Any, prefix: str, key: str, out: list[Redaction]) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is str:
            return self._scrub_str(value, prefix, key, out)
        if kind is dict or isinstance(value, Mapping):
            return self._scrub_mapping(value, _join(prefix, key), out)
        if kind is list or kind is tuple:
            if _too_deep(path := _join(prefix, key)):
                out.append(Redaction(path, RULE_TOO_DEEP))
                return marker(RULE_TOO_DEEP)
            scrubbed = [self._scrub_any(item, prefix, f"{key}[{i}]", out) for i, item in enumerate(value)]
            if all(new is old for new, old in zip(scrubbed, value, strict=True)):
                return value
            return tuple(scrubbed) if kind is tuple else scrubbed
        if isinstance(value, _BINARY):
            out.append(Redaction(_join(prefix, key), RULE_FILE_CONTENT))
            return marker(RULE_FILE_CONTENT)
        # Anything else is written out through str() by the formatters, so judge that text.
        try:
            text = str(value)
        except Exception:  # an object that cannot say what it holds is not let through
            out.append(Redaction(_join(prefix, key), RULE_TOO_DEEP))
            return marker(RULE_TOO_DEEP)
        scrubbed = self._scrub_str(text, prefix, key, out)
        return value if scrubbed is text else scrubbed

    def _scrub_str(
        self, text: str, prefix: str, key: str, out: list[Redaction], *, strict: bool | None = None
    ) -> str:
        """Scrub one string: a JSON document is walked as data, anything else is scanned as text.

        ``strict``: judge as data (None: decided by the path, see ``_strict``).
        """
        if text in self._clean:
            return text
        head = text[:1]
        if head in ("{", "[") or (head.isspace() and text.lstrip()[:1] in ("{", "[")):
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):
                pass
            else:
                if isinstance(document, dict | list):
                    before = len(out)
                    scrubbed = self._scrub_any(document, prefix, key, out)
                    if len(out) == before:
                        return text
                    return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":"))
        if strict is None:
            strict = _strict(prefix, key)
        skip = _SERVER_RULES if key in self._server_keys else ()
        scanned = self._scan_text(text, prefix, key, out, strict=strict, skip=skip)
        if scanned is text and not skip and len(text) <= _CLEAN_CACHE_MAX_LEN and (
            strict or text.count(" ") + text.count("\n") < STRICT_PROSE_WORDS - 1
        ):
            # Clean under either judgement, so the one set serves both; not when a rule was skipped (a
            # CLIENT span's server address): the set vouches for a string under any key.
            self._remember_clean(text)
        return scanned

    def _remember_clean(self, text: str) -> None:
        """Remember a string found clean; the set is bounded by clearing it when full."""
        if len(self._clean) >= _CACHE_MAX:
            self._clean.clear()
        self._clean.add(text)

    def _scan_text(
        self, text: str, prefix: str, key: str, out: list[Redaction], *, strict: bool,
        skip: Iterable[str] = (),
    ) -> str:
        """Run the value detectors over free text; returns ``text`` itself when nothing matched.

        ``skip``: rules not to apply (an IP in a CLIENT span's server address).
        """
        length = len(text)
        words, prose = (STRICT_PROSE_WORDS, _STRICT_PROSE_RE) if strict else (PROSE_WORDS, _PROSE_RE)
        is_prose = (
            length >= 2 * words - 1 and text.count(" ") + text.count("\n") >= words - 1
            and prose.search(text) is not None
        )
        if is_prose:
            out.append(Redaction(_join(prefix, key), RULE_EXTRACTED_TEXT))
            text = prose.sub(marker(RULE_EXTRACTED_TEXT), text)
        # Without one of _TRIGGER_RE's characters (or _BASE64_MIN characters) no detector can match.
        spans: list[Span] = (
            [span for detector in _DETECTORS for span in detector(text)]
            if is_prose or length >= _BASE64_MIN or _TRIGGER_RE.search(text) else []
        )
        spans += document_value_spans(text)
        spans += secret_spans(text)
        if "=" in text or ":" in text:
            spans.extend(self._kv_spans(text))
        if skip:
            spans = [span for span in spans if span[2] not in skip]
        if not spans:
            return text
        path = _join(prefix, key)
        pieces: list[str] = []
        done = 0
        for start, end, rule in sorted(spans, key=lambda span: (span[0], -span[1])):
            if start < done:
                continue  # overlaps a span already redacted (an email inside a storage URI)
            out.append(Redaction(path, rule))
            pieces += (text[done:start], marker(rule))
            done = end
        pieces.append(text[done:])
        return "".join(pieces)

    def _kv_spans(self, text: str) -> list[Span]:
        """Spans of values written after a blocked key inside text (``user_id=42``, ``"email": "..."``).

        Keys are visited left to right and a key inside a value already taken is skipped, so each
        character is scanned by at most one value match.
        """
        spans: list[Span] = []
        taken = 0
        size = len(text)
        for match in reversed(list(_KV_REVERSED_RE.finditer(text[::-1]))):
            separator = size - match.start()  # just after the = or :
            key = match.group(1)[::-1]
            if separator <= taken or not (key[0].isalpha() or key[0] == "_"):
                continue
            rule = (self._policies.get(key) or self._policy(key)).rule
            if rule is None:
                continue
            value = _KV_VALUE_RE.match(text, separator)
            if value is not None and not is_marker(value.group("value").strip("\"'")):
                spans.append((value.start("value"), value.end("value"), rule))
                taken = value.end("value")
        return spans


class NoopScrubber(Scrubber):
    """The guard switched off (``RYTHMIQ_PII_GUARD=off``): returns everything unchanged, reports nothing.

    For measuring the guard's cost, or when a later layer (collector, sink) is trusted to do the work.
    """

    def scrub_fields(self, fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[Redaction]]:
        """Return the fields unchanged."""
        return (fields if isinstance(fields, dict) else dict(fields)), []

    def scrub_attributes(
        self, attrs: Mapping[str, Any], *, client_span: bool = False
    ) -> tuple[dict[str, Any], list[Redaction]]:
        """Return the attributes unchanged."""
        return (attrs if isinstance(attrs, dict) else dict(attrs)), []

    def scrub_value(self, key: str, value: Any) -> tuple[Any, list[Redaction]]:
        """Return the value unchanged."""
        return value, []

    def scrub_data(self, value: Any, *, path: str) -> tuple[Any, list[Redaction]]:
        """Return the value unchanged."""
        return value, []

    def scrub_text(
        self, text: str, *, path: str = "message", strict: bool = False
    ) -> tuple[str, list[Redaction]]:
        """Return the text unchanged."""
        return text, []


DEFAULT_SCRUBBER: Final[Scrubber] = Scrubber()
NOOP_SCRUBBER: Final[Scrubber] = NoopScrubber()
