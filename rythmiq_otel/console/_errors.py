"""How a failure is shown in one line: the operator commands, the report and the alert loop share it."""

from __future__ import annotations

__all__ = ["first_line"]


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message (psycopg errors add DETAIL and HINT lines), else its type."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
