"""The store half's one exception family: every failure a user can fix, said in one sentence."""

from __future__ import annotations


class StoreError(Exception):
    """A store failure the user can act on; ``str(err)`` is one sentence naming what was wrong."""


class SettingsError(StoreError, ValueError):
    """A store setting (environment variable or argument) has a value that cannot be used."""


class EmbeddedServerError(StoreError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""


class MigrationError(StoreError):
    """A migration file is malformed, was edited after it was applied, or failed to apply."""
