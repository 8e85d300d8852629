"""The store's public names: a short, sorted list, and every one of them resolves."""

from __future__ import annotations

import re

import pytest

from rythmiq_otel import store


def test_every_public_name_resolves() -> None:
    assert store.__all__ == sorted(store._EXPORTS)
    for name in store.__all__:
        assert getattr(store, name) is not None, name


def test_unknown_name_is_an_attribute_error_naming_it() -> None:
    message = "module 'rythmiq_otel.store' has no attribute 'no_such_thing'"
    with pytest.raises(AttributeError, match=f"^{re.escape(message)}$"):
        store.no_such_thing  # noqa: B018
