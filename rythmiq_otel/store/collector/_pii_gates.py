"""Cheap tests that let the collector's PII layer skip work that cannot change anything.

Go's ``regexp`` has no DFA: every pattern of ``_pii_patterns`` costs about 1-4 µs per string, and the key
pattern (hundreds of names, each with optional separators) about 100 µs per key, so running them all on
every attribute of every record cost the collector ~1.4 ms of CPU per log record. Most records carry only
keys and values of a few well-known forms (the spec's fields, UUIDs, hex hashes, short tokens), which no
rule can touch. The gates here recognise exactly those forms with small anchored patterns; the config runs
the full rules only when a gate does not vouch for the whole record.

Each gate is a *sufficient condition for "no rule matches"*, i.e. its negation is a necessary condition of
every rule it stands in for:

- :func:`keys_gate` accepts the JSON list of a map's keys (OTTL ``String(Keys(m))``) only when every key is
  one of :func:`clean_keys`, which the key pattern does not match (checked when the list is built).
- :func:`values_gate` accepts the JSON list of a map's values (``String(Values(m))``) only when every
  string value has one of the :data:`CLEAN_TEXT` forms and every other value is a JSON number, boolean or
  null (``replace_all_patterns`` never touches those). A map or list nested in a value fails the gate.
- :func:`text_gate` accepts a whole string (a text body, a name) of one of the :data:`CLEAN_TEXT` forms.

JSON is what keeps the lists exact: ``"``, ``\\`` and control characters inside a key or value are escaped,
so no element can pose as two, and no :data:`CLEAN_TEXT` form contains a character JSON escapes. Why each
form escapes every value detector is argued next to it; tests/collector checks it on generated matches of
every detector and on every canary.
"""

from __future__ import annotations

import re
from typing import Final

from rythmiq_otel import pii, vocab

# Keys our services, their instrumentations and the collector itself put on records, beyond ``pii``'s and
# ``vocab``'s tables. Only those the key pattern does not match are used (``clean_keys`` filters them).
_SEMCONV_KEYS: Final = (
    "service.name", "service.version", "service.namespace", "service.instance.id",
    "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version", "telemetry.auto.version",
    "telemetry.distro.name", "telemetry.distro.version", "host.name", "host.arch", "host.id", "os.type",
    "os.description", "os.name", "os.version", "process.pid", "process.parent_pid", "process.runtime.name",
    "process.runtime.version", "process.runtime.description", "process.executable.name",
    "deployment.environment.name", "deployment.environment", "container.id", "container.name",
    "container.image.tag", "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time",
    "k8s.deployment.name", "k8s.node.name", "k8s.container.name", "cloud.provider", "cloud.region",
    "http.method", "http.request.method", "http.status_code", "http.response.status_code", "http.route",
    "http.scheme", "http.flavor", "url.scheme", "server.port", "client.port", "network.protocol.name",
    "network.protocol.version", "network.transport", "network.type", "db.system", "db.system.name",
    "db.operation", "db.operation.name", "db.collection.name", "messaging.system", "rpc.system",
    "rpc.service", "rpc.method", "error.type", "exception.type", "exception.escaped", "otel.status_code",
    "otel.scope.name", "otel.scope.version", "thread.id", "thread.name", "code.function",
    "code.function.name", "code.namespace", "code.lineno", "code.line.number", "code.column.number",
    "event.name", "log.iostream", "status", "outcome",
    # HTTP server and client spans: their values (URLs, addresses) still go through the value rules.
    "http.url", "http.target", "http.host", "http.server_name", "http.user_agent", "http.response.start",
    "url.full", "url.path", "url.query", "url.domain", "url.port", "server.address", "net.host.name",
    "net.host.port", "net.peer.name", "net.peer.port", "net.sock.peer.port", "network.peer.port",
    "network.local.port", "user_agent.original", "exception.message", "exception.stacktrace",
    "db.statement", "db.namespace", "db.name",
)


def clean_keys(key_rule: re.Pattern[str]) -> list[str]:
    """Keys ``key_rule`` (the collector's key pattern) does not match: the spec's fields and the attributes
    our stack emits."""
    candidates = {
        *pii.SAFE_KEYS, *vocab.LOG_ATTRIBUTE_FIELDS, *_SEMCONV_KEYS, vocab.RESOURCE_SERVICE_ATTR,
        *(vocab.EXTRA_PREFIX + column for column in vocab.CPU_METRICS_COLUMNS),
        *(label for labels in vocab.METRIC_LABELS.values() for label in labels),
    }
    return sorted(key for key in candidates if _JSON_PLAIN.fullmatch(key) and not key_rule.search(key))


_JSON_PLAIN: Final = re.compile(r"[A-Za-z0-9_.-]+")  # characters json.Marshal writes as they are


def _repeat(chars: str, count: int) -> str:
    return f"{chars}{{{count}}}" if count else ""


def _with_a_letter(length: int) -> str:
    """``length`` lower-case hex digits, at least one of them a letter (the first letter after 0-n digits)."""
    forms = (
        _repeat("[0-9]", before) + "[a-f]" + _repeat("[0-9a-f]", length - 1 - before)
        for before in range(length)
    )
    return "(?:" + "|".join(forms) + ")"


def _hex(length: int) -> str:
    return _repeat("[0-9a-f]", length)


# The forms of a string no value detector matches, and why:
#
# - a dotted token: lower-case letters and ``_``, up to four ``.``-separated segments of at most 30
#   characters, the third character of each not ``_``, and the segments after the first at least 5 long:
#   no digit, space, upper-case letter or punctuation besides ``._``, which every detector but these three
#   needs; a document extension follows a dot and is at most 4 letters long, so a letter comes after it (no
#   ``\b``: no filename); a Stripe-style key starts a segment (``\b``) with ``sk_``-like three characters,
#   a GitHub token needs 31 characters without a dot, base64 80.
_SEGMENT: Final = "[a-z_]{2}[a-z][a-z_]{2,27}"
_TOKEN: Final = f"[a-z](?:[a-z_](?:[a-z][a-z_]{{0,27}})?)?(?:[.]{_SEGMENT}){{0,3}}"
# - words: 1-17 letters or ``_`` each (``stage pre_ocr``), single spaces, at most 19 words: no digit or
#   punctuation besides ``_`` (every detector but prose and the credential after ``Bearer`` needs one),
#   fewer than the 20 words prose needs, and no run of 18 characters, which a Stripe-style key (the one
#   form made of letters and ``_``), a credential after ``Bearer`` (20) and base64 (80) need.
_WORDS: Final = "[A-Za-z_]{1,17}(?: [A-Za-z_]{1,17}){0,18}"
# - a lower-case hex string of at most 63 characters with a letter (a hash like ``user_id_hash``): a card
#   number needs 13 digits between word boundaries, and a letter sits between any digit run and one end;
#   everything else needs characters that are not hex digits, or 80 of them.
_HEX_WITH_A_LETTER: Final = "[0-9]{0,31}[a-f][0-9a-f]{0,31}"
# - a lower-case UUID (8-4-4-4-12) where groups 1-3 and groups 4-5 each have a letter: only a card number
#   can match hex and dashes (no other detector fits these group lengths), and it must run from a word
#   boundary to a word boundary -- from a group start to a group end -- over 13-19 digits, i.e. all-digit
#   groups 1-3 or 4-5.
_UUID: Final = (
    f"(?:{_with_a_letter(8)}-{_hex(4)}-{_hex(4)}|{_hex(8)}-{_with_a_letter(4)}-{_hex(4)}"
    f"|{_hex(8)}-{_hex(4)}-{_with_a_letter(4)})"
    f"-(?:{_with_a_letter(4)}-{_hex(12)}|{_hex(4)}-{_with_a_letter(12)})"
)
#: Forms of a string that no value detector (nor the ``key=value`` rule) can match.
CLEAN_TEXT: Final[dict[str, str]] = {
    "token": _TOKEN, "words": _WORDS, "hex": _HEX_WITH_A_LETTER, "uuid": _UUID,
}

_ANY_CLEAN_TEXT: Final = "(?:" + "|".join(CLEAN_TEXT.values()) + ")"
# JSON numbers, booleans and null: values replace_all_patterns skips (it scans strings only).
_NOT_A_STRING: Final = "-?[0-9][0-9.eE+-]*|true|false|null"


def _json_list(element: str) -> str:
    return rf"^\[(?:{element}(?:,{element})*)?\]$"


def keys_gate(key_rule: re.Pattern[str]) -> str:
    """Matches ``String(Keys(m))`` when every key of ``m`` is one of :func:`clean_keys`: then ``key_rule``
    deletes nothing."""
    names = "|".join(re.escape(key) for key in clean_keys(key_rule))
    return _json_list(f'"(?:{names})"')


def values_gate() -> str:
    """Matches ``String(Values(m))`` when no value of ``m`` is a string a value detector could change."""
    return _json_list(f'(?:"{_ANY_CLEAN_TEXT}?"|{_NOT_A_STRING})')


def text_gate() -> str:
    """Matches a whole string no value detector could change."""
    return f"^{_ANY_CLEAN_TEXT}$"

