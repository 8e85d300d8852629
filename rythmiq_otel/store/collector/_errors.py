"""The collector tooling's exception: a store error whose message is one sentence the user can act on."""

from __future__ import annotations

from .._errors import StoreError


class CollectorError(StoreError):
    """Go or the binary is missing, the build failed, or a config did not validate."""
