"""The sink package's public surface: a short ``__all__`` whose every name resolves (STYLE 2)."""

from __future__ import annotations

from rythmiq_otel.store import sink


def test_public_names_are_sorted_and_all_resolve() -> None:
    assert sink.__all__ == sorted(sink.__all__)
    for name in sink.__all__:
        assert getattr(sink, name) is not None, name

