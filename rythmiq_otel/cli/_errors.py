"""How a command fails: the one exception type for a one-line message, and the helpers that make one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rythmiq_otel.console._errors import first_line

__all__ = ["CommandError", "first_line", "guarded"]

T = TypeVar("T")


class CommandError(Exception):
    """A user-facing failure: the message is one sentence naming what was wrong and what was expected."""


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``, turning the store's one-sentence errors (``StoreError``) into a ``CommandError``."""
    from rythmiq_otel.store import StoreError

    try:
        return action()
    except StoreError as err:
        raise CommandError(str(err)) from err


