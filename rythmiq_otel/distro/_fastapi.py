"""FastAPI integration for the api and webhook services (being written; see issue 4)."""

from __future__ import annotations


def install() -> None:
    """Instrument FastAPI applications created from now on; called by ``configure()``."""
