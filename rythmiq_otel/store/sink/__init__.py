"""The OTLP/HTTP sink: receives logs, traces and metrics and writes them to the store's tables.

receiver (``_receiver``) → decode (``_decode``) → mapping (``_map_*``, pure) → writer (``_writer``), with
the third PII layer (``_pii_layer``) applied during mapping. See docs/sink.md.
"""

from __future__ import annotations

from ._receiver import create_app
from ._server import build_app, run
from ._settings import SettingsError, SinkSettings, load_settings
from ._writer import CopyWriter, MemoryWriter, Writer, WriterUnavailable

__all__ = [
    "CopyWriter",
    "MemoryWriter",
    "SettingsError",
    "SinkSettings",
    "Writer",
    "WriterUnavailable",
    "build_app",
    "create_app",
    "load_settings",
    "run",
]
