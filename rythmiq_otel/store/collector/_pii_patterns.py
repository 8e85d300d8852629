"""The collector's PII layer as RE2 patterns and OTTL statements, derived from the shared rules in
``rythmiq_otel.pii``.

``collector/config.yaml`` carries the ``transform/pii`` processor this module generates, verbatim (a
collector config cannot import Python); tests/collector checks the config holds exactly
:func:`transform_yaml` and that the patterns judge keys and values as ``pii`` does. When ``pii`` changes,
``python -m rythmiq_otel.store.collector._pii_patterns --write collector/config.yaml`` rewrites the block.

RE2 has no look-around and no arithmetic, so the derivation differs from ``pii`` in form, not in intent:
- key rules: one case-insensitive pattern over the whole attribute key, on its words as ``pii`` splits
  them -- a listed name as the key or its last dotted segment; a name of two or more words (or a
  ``SUFFIX_WORDS`` word) as the key's last words, after a separator or a camelCase boundary (an upper-case
  first letter matched case-sensitively); a blocked token among the last segment's words; ``user..._id``;
  ``<location>_path|url|uri|key``; a container name as an earlier dotted segment. Safe keys it would also
  match are listed by :func:`restored_safe_keys` (the config sets them aside and puts them back).
- value detectors: the ``pii`` detectors with a captured prefix instead of a look-behind where the context
  matters (an IP after a letter), and without the checksums (Luhn, mod-97) and digit counts, which RE2
  cannot compute: the collector masks every card- or IBAN-shaped number with a card issuer prefix or an
  IBAN country, not only the valid ones.
- ``key=value`` inside text: the value after a blocked key is masked as ``blocked_key``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from rythmiq_otel import _pii_values, pii
from rythmiq_otel.store.collector import _pii_gates

_SEP: Final = "[^a-z0-9]?"
_SEGMENT_START: Final = r"(?:^|[.])"
# A word starts at the key's start, after a dot or a separator ...
_WORD_START: Final = r"(?:^|[.]|[^.]*[^a-z0-9.])"
# ... or at a camelCase boundary: a lower-case letter or digit, then the word with an upper-case first letter.
_CAMEL_BEFORE: Final = "[^.]*(?-i:[a-z0-9])"
# A word ends at the key's end, at a separator, or before an upper-case letter (then the segment goes on).
_WORD_END_IN_SEGMENT: Final = "(?:(?:[^a-z0-9.]|(?-i:[A-Z]))[^.]*)?$"
_DOC_EXT: Final = (
    "(?i:pdf|png|jpe?g|tiff?|heic|heif|gif|bmp|webp|docx?|xlsx?|pptx?|csv|txt|rtf|odt|ods|zip|eml|msg)"
)
_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# A first octet that is neither 0 (unspecified) nor 127 (loopback): those are not users' addresses.
_FIRST_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1(?:[013-9][0-9]|2[0-689])|[1-9][0-9]?)"
_HEX: Final = "[0-9a-f]{1,4}"


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(set(words), key=lambda word: (-len(word), word))


def _spelled(name: str) -> str:
    """A normalised name with its separators optional (``user_email`` also matches ``userEmail``)."""
    return name.replace("_", _SEP)


def _camel(name: str) -> str:
    """The name starting a camelCase word: its first letter upper case, matched case-sensitively."""
    return f"(?-i:{name[0].upper()}){_spelled(name[1:])}" if name[0].isalpha() else _spelled(name)


def _any_of(names: Iterable[str], *, camel: bool = False) -> str:
    return "|".join(_camel(name) if camel else _spelled(name) for name in _longest_first(names))


def _word_then(names: Iterable[str], tail: str) -> str:
    """One of ``names`` starting a word (after a separator or a camelCase boundary), then ``tail``."""
    names = list(names)
    return f"{_WORD_START}(?:{_any_of(names)}){tail}|{_CAMEL_BEFORE}(?:{_any_of(names, camel=True)}){tail}"


def key_pattern() -> str:
    """A key whose value ``pii`` blocks (before the safe-key exemption)."""
    suffix_names = [name for name in pii.BLOCKED_KEYS if "_" in name or name in pii.SUFFIX_WORDS]
    containers = [name for name, rule in pii.BLOCKED_KEYS.items() if rule in pii.CONTAINER_RULES]
    ends = "(?:[^a-z0-9.](?:path|url|uri|key)|(?-i:Path|Url|URL|Uri|URI|Key))$"
    return "(?i)" + "|".join((
        f"{_SEGMENT_START}(?:{_any_of(pii.BLOCKED_KEYS)})$",
        _word_then(suffix_names, "$"),
        _word_then(pii._TOKEN_RULES, _WORD_END_IN_SEGMENT),
        _word_then(["user"], "[^.]*(?:[^a-z0-9.]id|(?-i:Id|ID))$"),
        _word_then(pii._LOCATION_TOKENS, f"[^.]*{ends}"),
        f"{_SEGMENT_START}(?:{_any_of(containers)})[.]",
    ))


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
    names = _any_of(pii.BLOCKED_KEYS)
    return (
        f"(?i)(^|[^a-z0-9_.-])([\"']?(?:[a-z0-9_-]*[._-])?(?:{names})[\"']?[ \\t]{{0,3}}[=:][ \\t]{{0,3}})"
        "(?:(\")(?:[^\"\\\\\\n]|\\\\.)*(\")|(')(?:[^'\\\\\\n]|\\\\.)*(')|[^\\s,;&)}\\]{\\[][^\\s,;&)}\\]]*)"
    )


#: What a ``key=value`` hit becomes (Go regexp ``Expand`` syntax): the key kept, the value a marker.
KV_REPLACEMENT: Final = "${1}${2}${3}${5}" + pii.marker("blocked_key") + "${4}${6}"

_DATE: Final = (
    rf"(?:(?:19|20)[0-9]{{2}}-[01][0-9]-[0-3][0-9]|[0-3]?[0-9][./-][01]?[0-9][./-](?:19|20)[0-9]{{2}}"
    rf"|[0-3]?[0-9][.]? {_pii_values._MONTH} (?:19|20)[0-9]{{2}}"
    rf"|{_pii_values._MONTH} [0-3]?[0-9](?:st|nd|rd|th)?,? (?:19|20)[0-9]{{2}})\b"
)


def _years_to(last: int) -> str:
    """1900 to ``last`` (a year of the 2000s) as a regex: RE2 cannot compare numbers."""
    decade, year = divmod(last - 2000, 10)
    parts = ["19[0-9]{2}", f"20{decade}[0-{year}]"]
    if decade:
        parts.append(f"20[0-{decade - 1}][0-9]")
    return "(?:" + "|".join(parts) + ")"


# A date next to a name counts up to BIRTH_YEAR_MAX, as in ``pii``.
_BIRTH_DATE: Final = _DATE.replace("(?:19|20)[0-9]{2}", _years_to(_pii_values.BIRTH_YEAR_MAX))

#: Value detectors in the order the config applies them: (rule, pattern, replacement). Most replace the
#: whole match with the rule's marker; those that capture context (``${1}``) put it back.
VALUE_PATTERNS: Final[tuple[tuple[str, str, str], ...]] = tuple(
    (rule, pattern, replacement or pii.marker(rule))
    for rule, pattern, replacement in (
        (pii.RULE_EXTRACTED_TEXT, rf"(?:\S+[ \t]+){{{pii.PROSE_WORDS - 1},}}\S+", ""),
        (
            pii.RULE_SECRET,
            r"(://)[^\s/@:\"'<>\[\]]+:[^\s/@\"'<>]+(@)",
            "${1}" + pii.marker(pii.RULE_SECRET) + "${2}",
        ),
        (
            pii.RULE_STORAGE_PATH,
            r"\b(?:s3a?|gs|gcs|az|abfss?|wasbs?|hdfs|file)://[^\s\"'<>]+"
            r"|https?://[^\s\"'<>]*/storage/v1/(?:object|render)/[^\s\"'<>]+"
            rf"|(?:[A-Za-z]:)?[A-Za-z0-9_.~%+-]*(?:[/\\][A-Za-z0-9_~%+-][A-Za-z0-9_.~%+-]*)+[.]{_DOC_EXT}\b",
            "",
        ),
        (
            pii.RULE_FILENAME,
            rf"\"[^\"\n/\\]{{1,200}}[.]{_DOC_EXT}\"|'[^'\n/\\]{{1,200}}[.]{_DOC_EXT}'"
            rf"|[A-Za-z0-9_~%+()-][A-Za-z0-9_.~%+()-]*[.]{_DOC_EXT}\b",
            "",
        ),
        (
            pii.RULE_SECRET,
            r"\beyJ[A-Za-z0-9_-]{2,}[.][A-Za-z0-9_-]{2,}[.][A-Za-z0-9_-]*"
            r"|(?i:\b(?:bearer|basic|digest|negotiate))[ \t]{1,4}"
            r"(?:[A-Za-z0-9._~+/=-]*[0-9][A-Za-z0-9._~+/=-]*|[A-Za-z0-9._~+/=-]{20,})"
            r"|\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[A-Za-z0-9_-]{35}|SG[.][A-Za-z0-9_-]{16,}[.][A-Za-z0-9_-]{16,})",
            "",
        ),
        (pii.RULE_EMAIL, r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:[.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}", ""),
        (
            pii.RULE_DATE_OF_BIRTH,
            r"(?i:\b(?:dob|d[.]o[.]b[.]?|date of birth|birth ?date|birthday|born(?: on)?|geb[.]"
            rf"|geboren(?: am)?|n[ée]e? le))[\s:=,(-]{{0,5}}{_DATE}"
            rf"|\b[A-Z][a-z]{{1,20}}(?:[ -][A-Z][.]?)?(?: [A-Z][a-z'-]{{1,20}}){{1,2}},? [(]?{_BIRTH_DATE}",
            "",
        ),
        (
            pii.RULE_BANK_ACCOUNT,
            rf"\b(?:{'|'.join(sorted(_pii_values._IBAN_COUNTRIES))})[0-9]{{2}}(?: ?[A-Z0-9]){{11,30}}\b",
            "",
        ),
        (
            pii.RULE_PAYMENT_CARD,
            r"\b(?:4[0-9]|5[1-5]|2[2-7]|3[0-8]|6[0245])(?:[ -]?[0-9]){11,17}\b",
            "",
        ),
        (
            pii.RULE_NATIONAL_ID,
            r"\b[0-8][0-9]{2}-[0-9]{2}-[0-9]{4}\b|\b[0-8][0-9]{2} [0-9]{2} [0-9]{4}\b"
            r"|\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
            "",
        ),
        (
            pii.RULE_PHONE,
            r"[+][1-9][0-9]{0,2}(?:[ .-]?[(]?[0-9]{1,5}[)]?){2,6}"
            r"|(?:[(][0-9]{3}[)] ?|\b[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4}\b"
            r"|\b0[0-9]{1,4} [0-9]{2,8}(?: [0-9]{2,8}){0,4}\b",
            "",
        ),
        (
            pii.RULE_STREET_ADDRESS,
            rf"\b[0-9]{{1,5}}[A-Za-z]?,?(?: (?:[A-Z][A-Za-z'.-]{{1,30}}|of|de|la)){{1,5}} "
            rf"{_pii_values._STREET_SUFFIX}\b[.]?"
            r"|[A-ZÄÖÜ][a-zäöüß]{1,30}(?:straße|strasse|str[.]|weg|gasse|platz|allee) [0-9]{1,4}[a-z]?\b"
            r"|[A-ZÄÖÜ][a-zäöüß]{1,30} (?:Straße|Strasse|Weg|Gasse|Platz|Allee) [0-9]{1,4}[a-z]?\b"
            r"|\b[0-9]{1,4}(?:bis|ter)?,? (?:rue|avenue|boulevard|allée|chemin|impasse|place)"
            r" (?:(?:d[eu']|la|des)[ ']?){0,2}[A-Z][A-Za-z0-9_'-]{1,30}(?: [A-Z][A-Za-z0-9_'-]{1,30}){0,3}"
            r"|(?i:\bP[.]? ?O[.]? Box [0-9]{1,8}\b)",
            "",
        ),
        (
            pii.RULE_IP,
            rf"(^|[^0-9.vV]|[^0-9vV][.])(?:{_FIRST_OCTET}[.])(?:{_OCTET}[.]){{2}}{_OCTET}\b",
            "${1}" + pii.marker(pii.RULE_IP),
        ),
        (
            pii.RULE_IP,
            rf"(?i:\b(?:{_HEX}:){{7}}{_HEX}\b|\b(?:{_HEX}:){{1,6}}:(?:{_HEX}(?::{_HEX}){{0,5}})?"
            rf"|::(?:[02-9a-f]|[0-9a-f]{{2,4}})(?::{_HEX}){{0,6}}\b|::1(?::{_HEX}){{1,6}}\b)",
            "",
        ),
        (
            pii.RULE_FILE_CONTENT,
            r"data:[A-Za-z0-9/+.-]+;base64,[A-Za-z0-9+/=_-]*|[A-Za-z0-9+/_-]{80,}={0,2}",
            "",
        ),
    )
)


def ottl_literal(pattern: str) -> str:
    """``pattern`` as it is written inside an OTTL string in the config (Go-quoted, ``$`` doubled)."""
    return pattern.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")


def _ottl(text: str) -> str:
    return f'"{ottl_literal(text)}"'


def _yaml(statement: str) -> str:
    return "'" + statement.replace("'", "''") + "'"


def _key_statements(target: str, where: str = "") -> list[str]:
    """Delete the blocked keys of the map ``target``; for attributes, hash a raw ``user_id`` first and set
    aside the safe keys the pattern also matches, then put them back."""
    restored = restored_safe_keys() if target == "attributes" else []
    statements = []
    if target == "attributes":
        statements.append(
            'set(attributes["user_id_hash"], Substring(SHA256(String(attributes["user_id"])), 0, 16)) '
            'where attributes["user_id"] != nil and attributes["user_id_hash"] == nil '
            'and not IsMatch(String(attributes["user_id"]), "^[[]REDACTED:")'
        )
    statements += [f'set(cache["{k}"], attributes["{k}"]) where attributes["{k}"] != nil' for k in restored]
    statements.append(f"delete_matching_keys({target}, {_ottl(key_pattern())}){where}")
    statements += [f'set(attributes["{k}"], cache["{k}"]) where cache["{k}"] != nil' for k in restored]
    return statements


#: Where the values gate's verdict is kept. A gate that fails to evaluate (``String`` refuses a NaN double)
#: leaves it unset, and ``!= true`` then runs the detectors: the gate fails safe.
_CLEAN: Final = 'cache["pii_clean"]'


def _value_statements(target: str, where: str = "") -> list[str]:
    """Mask the string values of the map ``target``, unless the values gate vouches for all of them."""
    guard = f"{where} and {_CLEAN} != true" if where else f" where {_CLEAN} != true"
    replacements = [(prose[1], prose[2]) for prose in VALUE_PATTERNS[:1]]
    replacements += [(kv_pattern(), KV_REPLACEMENT)]
    replacements += [(pattern, replacement) for _, pattern, replacement in VALUE_PATTERNS[1:]]
    return [
        f"set({_CLEAN}, IsMatch(String(Values({target})), {_ottl(_pii_gates.values_gate())})){where}",
        *(
            f'replace_all_patterns({target}, "value", {_ottl(pattern)}, {_ottl(replacement)}){guard}'
            for pattern, replacement in replacements
        ),
    ]


def _text_statements(target: str, where: str = "") -> list[str]:
    """Mask the string ``target`` (a log body; a span, event, scope or metric name) with the detectors."""
    prose, *others = VALUE_PATTERNS
    return [
        f"replace_pattern({target}, {_ottl(prose[1])}, {_ottl(prose[2])}){where}",
        f"replace_pattern({target}, {_ottl(kv_pattern())}, {_ottl(KV_REPLACEMENT)}){where}",
        *(f"replace_pattern({target}, {_ottl(pattern)}, {_ottl(replacement)}){where}"
          for _, pattern, replacement in others),
    ]


def _keys_condition(target: str) -> str:
    """True unless every key of ``target`` is one no key rule matches."""
    gate = _pii_gates.keys_gate(re.compile(key_pattern()))
    return f"not IsMatch(String(Keys({target})), {_ottl(gate)})"


def _text_condition(target: str) -> str:
    """True unless ``target`` has a form no value detector matches."""
    return f"not IsMatch({target}, {_ottl(_pii_gates.text_gate())})"


def _group(
    context: str,
    statements: list[str] | str,
    conditions: list[str] | str = "",
    *,
    anchors: tuple[str, str] = ("", ""),
) -> list[str]:
    """One statement group; a ``str`` for statements or conditions is a YAML alias (``*name``)."""
    lines = [f"      - context: {context}"]
    fields = zip(("conditions", "statements"), (conditions, statements), anchors, strict=True)
    for field, body, anchor in fields:
        if isinstance(body, str):
            lines += [f"        {field}: {body}"] if body else []
        else:
            lines.append(f"        {field}:{f' &{anchor}' if anchor else ''}")
            lines += [f"          - {_yaml(item)}" for item in body]
    return lines


def _attribute_groups(context: str, *, first: bool = False) -> list[str]:
    """The keys group (gated) and the values group of a context's ``attributes``; anchored where first."""
    if first:
        return [
            *_group(context, _key_statements("attributes"), [_keys_condition("attributes")],
                    anchors=("pii_keys_gate", "pii_keys")),
            *_group(context, _value_statements("attributes"), anchors=("", "pii_values")),
        ]
    return [*_group(context, "*pii_keys", "*pii_keys_gate"), *_group(context, "*pii_values")]


def _name_group(context: str, *, first: bool = False) -> list[str]:
    if first:
        return _group(context, _text_statements("name"), [_text_condition("name")],
                      anchors=("pii_name_gate", "pii_name"))
    return _group(context, "*pii_name", "*pii_name_gate")


def transform_yaml() -> str:
    """The ``transform/pii`` processor of ``collector/config.yaml``, as the config carries it."""
    lines = [
        "  transform/pii:",
        "    error_mode: ignore",
        "    trace_statements:",
        *_attribute_groups("resource", first=True),
        *_attribute_groups("scope"),
        *_name_group("scope", first=True),
        *_attribute_groups("span"),
        *_name_group("span"),
        *_attribute_groups("spanevent"),
        *_name_group("spanevent"),
        "    metric_statements:",
        *_attribute_groups("resource"),
        *_name_group("metric"),
        *_attribute_groups("datapoint"),
        "    log_statements:",
        *_attribute_groups("resource"),
        *_attribute_groups("scope"),
        *_name_group("scope"),
        *_attribute_groups("log"),
        "      # The body: a map body (structured logs) like attributes; a string is scanned as text.",
        *_group(
            "log",
            _key_statements("body", " where IsMap(body)"),
            [f"IsMap(body) and {_keys_condition('body')}"],
        ),
        *_group("log", _value_statements("body", " where IsMap(body)"), ["IsMap(body)"]),
        *_group(
            "log",
            _text_statements("body", " where IsString(body)"),
            [f"IsString(body) and {_text_condition('body')}"],
        ),
        *_group(
            "log",
            _text_statements("event_name", ' where event_name != ""'),
            [f'event_name != "" and {_text_condition("event_name")}'],
        ),
    ]
    return "\n".join(lines) + "\n"


_BLOCK_RE: Final = re.compile(r"^  transform/pii:\n(?:(?:    .*|)\n)*?(?=\n  \S|\n  #)", re.MULTILINE)


def rewrite(config_text: str) -> str:
    """``config_text`` with its ``transform/pii`` block replaced by :func:`transform_yaml`."""
    match = _BLOCK_RE.search(config_text)
    if match is None:
        raise ValueError("the config has no `  transform/pii:` block to rewrite")
    return config_text[: match.start()] + transform_yaml() + config_text[match.end():]


if __name__ == "__main__":  # python -m rythmiq_otel.store.collector._pii_patterns [--write config.yaml]
    import sys
    from pathlib import Path

    usage = "usage: python -m rythmiq_otel.store.collector._pii_patterns [--write CONFIG_YAML]"
    if sys.argv[1:] == []:
        print(transform_yaml(), end="")
    elif len(sys.argv) == 3 and sys.argv[1] == "--write" and Path(sys.argv[2]).is_file():
        path = Path(sys.argv[2])
        path.write_text(rewrite(path.read_text()))
    else:
        sys.exit(f"{usage} (got {' '.join(sys.argv[1:])!r}: --write takes one existing config file)")
