"""The collector's PII layer as RE2 patterns, derived from the shared rules in ``rythmiq_otel.pii``.

``collector/config.yaml`` carries these patterns as literals (a collector config cannot import Python);
tests/collector checks the literals equal what this module derives and that the patterns judge keys and
values as ``pii`` does. When ``pii`` changes, the test names the new literal to paste.

RE2 has no look-around, so the derivation differs from ``pii`` in form, not in intent:
- key rules: one case-insensitive pattern over the whole attribute key -- a listed name as the key or its
  last dotted segment (camelCase spellings included via optional separators), a blocked token inside the
  last segment (snake/kebab case), ``user..._id``, and ``<location>_path|url|uri|key``. Safe keys it would
  also match are listed by :func:`restored_safe_keys` (the config sets them aside and puts them back).
- value detectors: the ``pii`` detectors minus their look-behind guards, in the order ``pii`` prefers
  (prose first, then locations before bare filenames).
- ``key=value`` inside text: the value after a listed name is masked as ``blocked_key``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from rythmiq_otel import pii

_SEP: Final = "[^a-z0-9]?"
_SEGMENT_START: Final = r"(?:^|[.])"
_TOKEN_BEFORE: Final = r"(?:[^.]*[^a-z0-9.])?"
_TOKEN_AFTER: Final = r"(?:[^a-z0-9.][^.]*)?"
_DOC_EXT: Final = (
    "(?i:pdf|png|jpe?g|tiff?|heic|heif|gif|bmp|webp|docx?|xlsx?|pptx?|csv|txt|rtf|odt|ods|zip|eml|msg)"
)
_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX: Final = "[0-9a-f]{1,4}"


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(set(words), key=lambda word: (-len(word), word))


def _names() -> str:
    """Every listed blocked name, separators optional (``user_email`` also matches ``userEmail``)."""
    return "|".join(name.replace("_", _SEP) for name in _longest_first(pii.BLOCKED_KEYS))


def key_pattern() -> str:
    """A key whose value ``pii`` blocks (before the safe-key exemption)."""
    tokens = "|".join(_longest_first(pii._TOKEN_RULES))
    locations = "|".join(_longest_first(pii._LOCATION_TOKENS))
    return (
        f"(?i){_SEGMENT_START}(?:{_names()})$"
        f"|{_SEGMENT_START}{_TOKEN_BEFORE}(?:{tokens}){_TOKEN_AFTER}$"
        f"|{_SEGMENT_START}{_TOKEN_BEFORE}user{_TOKEN_AFTER}[^a-z0-9.]id$"
        f"|{_SEGMENT_START}{_TOKEN_BEFORE}(?:{locations}){_TOKEN_AFTER}[^a-z0-9.](?:path|url|uri|key)$"
    )


def restored_safe_keys() -> list[str]:
    """The ``pii.SAFE_KEYS`` that :func:`key_pattern` matches: the config must keep them."""
    matcher = re.compile(key_pattern())
    return sorted(key for key in pii.SAFE_KEYS if matcher.search(key))


def kv_pattern() -> str:
    """``<blocked name> = value`` or ``"<blocked name>": "value"`` inside text.

    Groups: 1 what precedes the key, 2 the key and separator, 3/4 and 5/6 the quotes of a quoted value
    (kept, so a JSON document stays JSON and the sink can still walk it). An unquoted value never starts
    with ``{`` or ``[``: a nested document is left whole for the sink's JSON walk rather than cut open.
    """
    return (
        f"(?i)(^|[^a-z0-9_.-])([\"']?(?:[a-z0-9_-]*[.])?(?:{_names()})[\"']?[ \\t]{{0,3}}[=:][ \\t]{{0,3}})"
        "(?:(\")(?:[^\"\\\\\\n]|\\\\.)*(\")|(')(?:[^'\\\\\\n]|\\\\.)*(')|[^\\s,;&)}\\]{\\[][^\\s,;&)}\\]]*)"
    )


#: What a ``key=value`` hit becomes (Go regexp ``Expand`` syntax): the key kept, the value a marker.
KV_REPLACEMENT: Final = "${1}${2}${3}${5}" + pii.marker("blocked_key") + "${4}${6}"


#: Value detectors in the order the config applies them -> the rule their marker names.
VALUE_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    (pii.RULE_EXTRACTED_TEXT, rf"(?:\S+[ \t]+){{{pii.PROSE_WORDS - 1},}}\S+"),
    (
        pii.RULE_STORAGE_PATH,
        r"\b(?:s3a?|gs|gcs|az|abfss?|wasbs?|hdfs|file)://[^\s\"'<>]+"
        r"|https?://[^\s\"'<>]*/storage/v1/(?:object|render)/[^\s\"'<>]+"
        rf"|(?:[A-Za-z]:)?[A-Za-z0-9_.~%+-]*(?:[/\\][A-Za-z0-9_~%+-][A-Za-z0-9_.~%+-]*)+[.]{_DOC_EXT}\b",
    ),
    (
        pii.RULE_FILENAME,
        rf"\"[^\"\n/\\]{{1,200}}[.]{_DOC_EXT}\"|'[^'\n/\\]{{1,200}}[.]{_DOC_EXT}'"
        rf"|[A-Za-z0-9_~%+()-][A-Za-z0-9_.~%+()-]*[.]{_DOC_EXT}\b",
    ),
    (pii.RULE_EMAIL, r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:[.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}"),
    (
        pii.RULE_IP,
        rf"\b(?:{_OCTET}[.]){{3}}{_OCTET}\b"
        rf"|(?i:\b(?:{_HEX}:){{7}}{_HEX}\b|\b(?:{_HEX}:){{1,6}}:(?:{_HEX}(?::{_HEX}){{0,5}})?"
        rf"|::{_HEX}(?::{_HEX}){{0,6}}\b)",
    ),
    (pii.RULE_FILE_CONTENT, r"data:[A-Za-z0-9/+.-]+;base64,[A-Za-z0-9+/=_-]*|[A-Za-z0-9+/_-]{80,}={0,2}"),
)


def ottl_literal(pattern: str) -> str:
    """``pattern`` as it is written inside an OTTL string in the config (Go-quoted, ``$`` doubled)."""
    return pattern.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")


def config_literals() -> dict[str, str]:
    """Each pattern as it is written in ``config.yaml``: OTTL-quoted inside a YAML single-quoted scalar."""
    named = {"keys": key_pattern(), "key_value_in_text": kv_pattern(), **dict(VALUE_PATTERNS)}
    return {name: '"' + ottl_literal(pattern).replace("'", "''") + '"' for name, pattern in named.items()}


if __name__ == "__main__":  # python -m rythmiq_otel.store.collector._pii_patterns: the literals to paste
    for name, literal in config_literals().items():
        print(f"{name}:\n{literal}\n")
