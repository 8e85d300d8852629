"""The one exception type a command raises to fail with a one-line message."""

from __future__ import annotations


class CommandError(Exception):
    """A user-facing failure: the message is one sentence naming what was wrong and what was expected."""
