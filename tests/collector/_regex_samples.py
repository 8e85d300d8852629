"""Random strings a regular expression matches, to test claims of the form "whatever X matches, Y ..."
on the pattern's whole shape rather than on a few hand-picked examples.

The sampler walks Python's parse of the pattern and picks, at every choice (alternative, repeat count,
character of a class, letter case under ``(?i)``), uniformly, or preferring the characters of ``prefer``
wherever a class has some: matches written in a narrow alphabet (lower-case letters, hex digits) are the
corners where a detector and a "clean" form could meet. Assertions (``\\b``,
``^``) are not enforced while sampling; callers keep the samples the pattern really matches.
"""

from __future__ import annotations

import random
import re
import string
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

__all__ = ["samples"]

# Characters a negated class or ``.`` may produce: printable ASCII, whitespace, and a few non-ASCII letters.
_POOL = string.printable + "äöüßéÄÖÜ\u00a0"
_CATEGORIES = {
    c.CATEGORY_DIGIT: string.digits,
    c.CATEGORY_NOT_DIGIT: "".join(ch for ch in _POOL if not ch.isdigit()),
    c.CATEGORY_SPACE: " \t\n\r\f\v", c.CATEGORY_NOT_SPACE: "".join(ch for ch in _POOL if not ch.isspace()),
    c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    c.CATEGORY_NOT_WORD: "".join(ch for ch in _POOL if not (ch.isalnum() or ch == "_")),
}
_EXTRA_REPEATS = 3


def _class_members(items: list[tuple[object, object]]) -> tuple[set[str], bool]:
    members: set[str] = set()
    negate = False
    for op, value in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            members.add(chr(value))  # type: ignore[arg-type]
        elif op is c.RANGE:
            low, high = value  # type: ignore[misc]
            members.update(chr(code) for code in range(low, high + 1))
        elif op is c.CATEGORY:
            members.update(_CATEGORIES[value])
    return members, negate


class _Sampler:
    def __init__(self, rng: random.Random, prefer: str) -> None:
        self.rng = rng
        self.prefer = prefer

    def char(self, choices: list[str] | str, ignore_case: bool) -> str:
        preferred = [ch for ch in choices if ch in self.prefer]
        ch = self.rng.choice(preferred or choices)
        swapped = ch.swapcase() if ignore_case and self.rng.random() < 0.5 else ch
        return swapped if not self.prefer or swapped in self.prefer else ch

    def walk(self, tokens: list[tuple[object, object]], ignore_case: bool) -> str:
        out = []
        for op, value in tokens:
            if op is c.LITERAL:
                out.append(self.char(chr(value), ignore_case))  # type: ignore[arg-type]
            elif op is c.NOT_LITERAL:
                out.append(self.char([ch for ch in _POOL if ch != chr(value)], False))  # type: ignore[arg-type]
            elif op is c.ANY:
                out.append(self.char(_POOL.replace("\n", ""), False))
            elif op is c.IN:
                members, negate = _class_members(value)  # type: ignore[arg-type]
                pool = [ch for ch in _POOL if ch not in members] if negate else sorted(members)
                out.append(self.char(pool, ignore_case and not negate))
            elif op is c.BRANCH:
                out.append(self.walk(self.rng.choice(value[1]), ignore_case))  # type: ignore[index]
            elif op is c.SUBPATTERN:
                _, add, remove, body = value  # type: ignore[misc]
                scoped = (ignore_case or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
                out.append(self.walk(body, scoped))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                low, high, body = value  # type: ignore[misc]
                top = low + _EXTRA_REPEATS if high is c.MAXREPEAT else min(high, low + _EXTRA_REPEATS)
                # Mostly the minimum: single separators, shortest runs -- the corners of a form.
                count = low if self.rng.random() < 0.9 else self.rng.randint(low, top)
                out.extend(self.walk(body, ignore_case) for _ in range(count))
            # AT (anchors, \b) and lookarounds are not enforced here; callers filter with re.search.
        return "".join(out)


def samples(pattern: str, count: int, *, seed: int = 0, prefer: str = "") -> list[str]:
    """Up to ``count`` distinct random strings that ``pattern`` matches (searched, as the collector does)."""
    parsed = _parser.parse(pattern)
    sampler = _Sampler(random.Random(seed), prefer)
    ignore_case = bool(parsed.state.flags & re.IGNORECASE)
    compiled = re.compile(pattern)
    found: set[str] = set()
    for _ in range(count * 4):
        text = sampler.walk(list(parsed), ignore_case)
        if compiled.search(text):
            found.add(text)
        if len(found) >= count:
            break
    return sorted(found)
