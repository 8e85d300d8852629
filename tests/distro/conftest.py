"""Fixtures for the in-process half's tests: the real OTLP receiver (see ``tests/otlp_capture.py``)."""

from __future__ import annotations

from tests.otlp_capture import otlp_capture

__all__ = ["otlp_capture"]
