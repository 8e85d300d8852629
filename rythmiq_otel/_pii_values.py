"""Value detectors for the personal data in the documents Rythmiq One reads (invoices, tax forms, IDs).

Part of the shared PII rules (``rythmiq_otel.pii`` runs them), standard library only. Each detector is a
function ``text -> [(start, end, rule)]`` that

- sits behind cheap gates (a digit count, substring tests -- all at C speed), so an ordinary message with
  a number in it pays for a dozen ``in`` tests, not a dozen regex scans;
- runs in linear time on any input: every pattern either starts on a rare anchor or is bounded, and
  repetitions are bounded too, so a hostile 100 KB string costs milliseconds (the sink scans whatever a
  client sends);
- confirms a candidate with the format's own check where it has one -- Luhn for card numbers, ISO 13616
  mod-97 for IBANs, the SSA's never-issued ranges for SSNs, a JSON header for JWTs, a digit count for
  phone numbers, a plausible birth year for a date next to a name -- so ordinary ids, counts and
  timestamps do not trip them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Final

__all__ = [
    "BIRTH_YEAR_MAX",
    "RULE_BANK_ACCOUNT",
    "RULE_DATE_OF_BIRTH",
    "RULE_NATIONAL_ID",
    "RULE_PAYMENT_CARD",
    "RULE_PHONE",
    "RULE_SECRET",
    "RULE_STREET_ADDRESS",
    "Span",
    "document_value_spans",
    "secret_spans",
]

RULE_PAYMENT_CARD: Final = "payment_card"
RULE_BANK_ACCOUNT: Final = "bank_account"
RULE_NATIONAL_ID: Final = "national_id"
RULE_PHONE: Final = "phone_number"
RULE_STREET_ADDRESS: Final = "street_address"
RULE_DATE_OF_BIRTH: Final = "date_of_birth"
RULE_SECRET: Final = "secret"

Span = tuple[int, int, str]  # start, end, rule

# ----------------------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------------------
# Issuer prefixes of the card networks (Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/
# 64/65, JCB 35, Diners 30/36/38, UnionPay 62): an epoch in milliseconds or nanoseconds (1...) never is.
_CARD_PREFIX: Final = re.compile(r"4|5[1-5]|2[2-7]|3[0-8]|6[0245]")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_length(candidate: str) -> int:
    digits = candidate.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
        return 0
    return len(candidate) if _luhn(digits) else 0


# ISO 13616 registry countries: a country code outside it is not an IBAN, whatever its remainder.
_IBAN_COUNTRIES: Final = frozenset(re.findall(
    "..", "ADAEALATAZBABEBGBHBIBRBYCHCRCYCZDEDJDKDOEEEGESFIFKFOFRGBGEGIGLGRGTHNHRHUIEILIQISITJOKWKZLBLCLI"
    "LTLULVLYMCMDMEMKMNMRMTMUNINLNOOMPKPLPSPTQAROSRSRUSASCSDSESISKSMSOSTSVTLTNTRUAVAVGXKYE",
))


def _iban_valid(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1."""
    if not 15 <= len(compact) <= 34 or compact[:2] not in _IBAN_COUNTRIES:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _iban_length(candidate: str) -> int:
    """The longest prefix of the candidate (cut at a space) that is a valid IBAN: a trailing word written
    in capitals after the IBAN is not part of it."""
    end = len(candidate)
    while end >= 15:
        if _iban_valid(candidate[:end].replace(" ", "")):
            return end
        end = candidate.rfind(" ", 0, end)
    return 0


def _phone_length(candidate: str) -> int:
    digits = sum(char.isdigit() for char in candidate)
    international = candidate.startswith("+")
    return len(candidate) if (8 if international else 9) <= digits <= 15 else 0


_YEAR: Final = re.compile(r"(?:19|20)\d\d")
# A date next to a name is a birth date when its year is at most this: an adult's, and never a date of the
# operations being logged ("Report Generated 2026-01-30"). A fixed year, so the collector's RE2 pattern
# (which cannot compare numbers) says exactly the same.
BIRTH_YEAR_MAX: Final = 2009


def _old_date_length(candidate: str) -> int:
    years = _YEAR.findall(candidate)
    return len(candidate) if years and int(years[-1]) <= BIRTH_YEAR_MAX else 0


def _jwt_length(candidate: str) -> int:
    """A JWT's first segment is base64url JSON naming its algorithm or type."""
    header = candidate.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return 0
    return len(candidate) if isinstance(decoded, dict) and ("alg" in decoded or "typ" in decoded) else 0


def _credential_length(candidate: str) -> int:
    """``Bearer <token>``: the token has a digit, or is long -- "Basic validation passed" is prose."""
    token = candidate.split(None, 1)[1] if " " in candidate or "\t" in candidate else ""
    if any(char.isdigit() for char in token) or len(token) >= 20:
        return len(candidate)
    return 0


# ----------------------------------------------------------------------------------------------------------
# Patterns (all bounded; starts guarded by a look-behind so a long digit run is tried once, not per digit)
# ----------------------------------------------------------------------------------------------------------
_MONTH: Final = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]{0,6}\.?"
_DATE: Final = (
    rf"(?:(?:19|20)\d\d-[01]\d-[0-3]\d|[0-3]?\d[./-][01]?\d[./-](?:19|20)\d\d"
    rf"|[0-3]?\d\.? {_MONTH} (?:19|20)\d\d|{_MONTH} [0-3]?\d(?:st|nd|rd|th)?,? (?:19|20)\d\d)(?!\d|T\d|:\d)"
)
# A capitalised name of two or three words, after its first letter (the pattern starts with that letter).
_NAME_AFTER_INITIAL: Final = r"[a-z]{1,20}(?:[ -][A-Z]\.?)?(?: [A-Z][a-z'-]{1,20}){1,2}"
_STREET_SUFFIX: Final = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Way"
    r"|Parkway|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Close|Crescent)"
)

# Each pattern starts with a plain character class and checks what precedes it with a look-behind *after*
# that character: the regex engine then skips ahead to candidate characters at C speed, where a pattern
# opening with a look-behind is tried at every position.
_CARD_RE: Final = re.compile(r"\d(?<![\w.+-]\d)(?:[ -]?\d){12,18}(?![\w-])")
_IBAN_RE: Final = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d\d(?: ?[A-Z0-9]){11,40}(?![A-Za-z0-9])")
_SSN_RE: Final = re.compile(
    r"[0-8](?<![\w.-][0-8])\d\d(?<!000)(?<!666)([- ])(?!00)\d\d\1(?!0000)\d{4}(?![\w-])"
)
_NINO_RE: Final = re.compile(
    r"[A-CEGHJ-PR-TW-Z](?<![A-Za-z0-9].)[A-CEGHJ-NPR-TW-Z](?<!BG|GB|NK|KN|TN|NT|ZZ)"
    r" ?\d\d ?\d\d ?\d\d ?[A-D](?![A-Za-z0-9])"
)
_PHONE_INTERNATIONAL_RE: Final = re.compile(r"\+(?<![\w+]\+)[1-9]\d{0,2}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w])")
_PHONE_NANP_RE: Final = re.compile(r"\d(?<![\w.-]\d)\d\d[.-]\d{3}[.-]\d{4}(?![\w-])")
_PHONE_NANP_AREA_RE: Final = re.compile(r"\((?<![\w.-]\()\d{3}\) ?\d{3}[.-]\d{4}(?![\w-])")
_PHONE_NATIONAL_RE: Final = re.compile(r"0(?<![\w.+/:-]0)\d{1,4}([ -])\d{2,8}(?:\1\d{2,8}){0,4}(?![\w-])")
_STREET_NUMBER_FIRST_RE: Final = re.compile(
    rf"\d(?<![\w.,-]\d)\d{{0,4}}[A-Za-z]?,?(?: (?:[A-Z][A-Za-z'.-]{{1,30}}|of|de|la)){{1,5}}"
    rf" {_STREET_SUFFIX}\b\.?"
    r"|\d(?<![\w.,-]\d)\d{0,3}(?:bis|ter)?,? (?:rue|avenue|boulevard|allée|chemin|impasse|place)"
    r" (?:(?:d[eu']|la|des)[ ']?){0,2}[A-Z][\w'-]{1,30}(?: [A-Z][\w'-]{1,30}){0,3}"
)
_STREET_NAME_FIRST_RE: Final = re.compile(
    r"[A-ZÄÖÜ](?<!\w.)[a-zäöüß]{1,30}(?:straße|strasse|str\.|weg|gasse|platz|allee) \d{1,4}[a-z]?(?![\w])"
    r"|[A-ZÄÖÜ](?<!\w.)[a-zäöüß]{1,30} (?:Straße|Strasse|Weg|Gasse|Platz|Allee) \d{1,4}[a-z]?(?![\w])"
)
_PO_BOX_RE: Final = re.compile(r"(?i:\bP\.? ?O\.? Box \d{1,8}\b)")
_DOB_KEYWORD_RE: Final = re.compile(
    r"(?i:\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|birthday|born(?: on)?|geb\.|geboren(?: am)?"
    r"|n[ée]e? le)"
    rf"[\s:=,(-]{{0,5}}){_DATE}"
)
_DOB_NAME_RE: Final = re.compile(rf"[A-Z](?<![\w-][A-Z]){_NAME_AFTER_INITIAL},? \(?{_DATE}")


def _finder(
    pattern: re.Pattern[str], rule: str, confirm: Callable[[str], int] | None = None
) -> Callable[[str], list[Span]]:
    """Spans of ``pattern`` in text; ``confirm`` says how much of a candidate is a hit (0: none)."""

    def find(text: str) -> list[Span]:
        spans = []
        for match in pattern.finditer(text):
            start, end = match.span()
            if confirm is not None:
                end = start + confirm(match.group())
            if end > start:
                spans.append((start, end, rule))
        return spans

    return find


_find_card: Final = _finder(_CARD_RE, RULE_PAYMENT_CARD, _card_length)
_find_iban: Final = _finder(_IBAN_RE, RULE_BANK_ACCOUNT, _iban_length)
_find_ssn: Final = _finder(_SSN_RE, RULE_NATIONAL_ID)
_find_nino: Final = _finder(_NINO_RE, RULE_NATIONAL_ID)
_find_phone_international: Final = _finder(_PHONE_INTERNATIONAL_RE, RULE_PHONE, _phone_length)
_find_phone_nanp: Final = _finder(_PHONE_NANP_RE, RULE_PHONE)
_find_phone_nanp_area: Final = _finder(_PHONE_NANP_AREA_RE, RULE_PHONE)
_find_phone_national: Final = _finder(_PHONE_NATIONAL_RE, RULE_PHONE, _phone_length)
_find_street_number_first: Final = _finder(_STREET_NUMBER_FIRST_RE, RULE_STREET_ADDRESS)
_find_street_name_first: Final = _finder(_STREET_NAME_FIRST_RE, RULE_STREET_ADDRESS)
_find_po_box: Final = _finder(_PO_BOX_RE, RULE_STREET_ADDRESS)
_find_dob_keyword: Final = _finder(_DOB_KEYWORD_RE, RULE_DATE_OF_BIRTH)
_find_dob_name: Final = _finder(_DOB_NAME_RE, RULE_DATE_OF_BIRTH, _old_date_length)

# A number then a capitalised word or a French street word: what an address written number-first holds.
_NUMBER_THEN_NAME: Final = re.compile(
    r"\d[A-Za-z]?,? (?:[A-Z]|rue |avenue |boulevard |allée |chemin |impasse |place )"
)
# A German street word before a number; a birth word (searched in the lower-cased text). Patterns opening
# with literals, so the engine skips to their first letters at C speed.
_GERMAN_STREET_GATE: Final = re.compile(r"(?:aße|asse|str\.|weg|gasse|platz|allee|Weg|Gasse|Platz|Allee) \d")
_BIRTH_GATE: Final = re.compile(r"dob|d\.o\.b|birth|born|geb|n[ée]e? le")
_DIGITS: Final = "0123456789"


def document_value_spans(text: str) -> list[Span]:
    """Card numbers, IBANs, national ids, phone numbers, street addresses and birth dates in ``text``.

    Each kind runs only when the text could hold one -- enough digits (counted at C speed), an upper-case
    letter, a ``+``, a street or birth word -- so an ordinary message with a number in it ("Processed 1234
    rows in 56 ms") costs a few substring tests and one search, not a dozen scans.
    """
    digits = sum(map(text.count, _DIGITS))
    if not digits:
        return []
    spans: list[Span] = []
    if _NUMBER_THEN_NAME.search(text):
        spans += _find_street_number_first(text)
    if _GERMAN_STREET_GATE.search(text):
        spans += _find_street_name_first(text)
    lowered = text.lower()
    if "box" in lowered:
        spans += _find_po_box(text)
    if digits < 4:
        return spans
    upper = lowered != text
    if digits >= 13:
        spans += _find_card(text)
    if upper and len(text) >= 15:
        spans += _find_iban(text)
    if digits >= 9:
        spans += _find_ssn(text)
        if digits >= 10:
            spans += _find_phone_nanp(text) + _find_phone_nanp_area(text)
        if "0" in text:
            spans += _find_phone_national(text)
    if upper and digits >= 6:
        spans += _find_nino(text)
    if "+" in text and digits >= 8:
        spans += _find_phone_international(text)
    if _BIRTH_GATE.search(lowered):
        spans += _find_dob_keyword(text)
    if upper and ("19" in text or "200" in text):
        spans += _find_dob_name(text)
    return spans


# ----------------------------------------------------------------------------------------------------------
# Secrets: JWTs, Authorization credentials, credentials inside URLs, API keys with a vendor prefix
# ----------------------------------------------------------------------------------------------------------
_JWT_RE: Final = re.compile(r"eyJ(?<![\w-]eyJ)[\w-]{2,4096}\.[\w-]{2,16384}\.[\w-]{0,4096}")
_CREDENTIAL_RE: Final = re.compile(r"(?i:\b(?:bearer|basic|digest|negotiate))[ \t]{1,4}[\w.~+/=-]{8,4096}")
_URL_USERINFO_RE: Final = re.compile(r"(?<=://)[^\s/@:\"'<>\[\]]{1,256}:[^\s/@\"'<>]{1,256}(?=@)")
_API_KEY_RE: Final = re.compile(
    r"(?<![\w-])(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,256}|sk-[\w-]{20,256}|gh[pousr]_[A-Za-z0-9]{30,256}"
    r"|github_pat_\w{20,256}|glpat-[\w-]{20,256}|xox[abprs]-[\w-]{10,256}|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[\w-]{35}|SG\.[\w-]{16,64}\.[\w-]{16,64})(?![\w-])"
)
_API_KEY_GATE: Final = re.compile(r"_live_|_test_|sk-|gh[pousr]_|github_pat_|glpat-|xox|AKIA|ASIA|AIza|SG\.")
_find_jwt: Final = _finder(_JWT_RE, RULE_SECRET, _jwt_length)
_find_credential: Final = _finder(_CREDENTIAL_RE, RULE_SECRET, _credential_length)
_find_userinfo: Final = _finder(_URL_USERINFO_RE, RULE_SECRET)
_find_api_key: Final = _finder(_API_KEY_RE, RULE_SECRET)


def secret_spans(text: str) -> list[Span]:
    """JWTs, ``Bearer``/``Basic`` credentials, ``user:password@`` in URLs and vendor-prefixed API keys."""
    spans: list[Span] = []
    if "eyJ" in text:
        spans += _find_jwt(text)
    if "earer" in text or "EARER" in text or "asic" in text or "ASIC" in text or "igest" in text or (
        "egotiate" in text
    ):
        spans += _find_credential(text)
    if "://" in text and "@" in text:
        spans += _find_userinfo(text)
    if _API_KEY_GATE.search(text):
        spans += _find_api_key(text)
    return spans
