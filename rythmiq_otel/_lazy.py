"""Lazy public names for a package (PEP 562): resolve ``name -> module`` on first use, then cache.

The three public packages use it so that importing one costs nothing: ``import rythmiq_otel.store`` loads
neither psycopg nor the embedded server, and ``import rythmiq_otel`` never loads the OpenTelemetry SDK.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` for ``package`` exporting ``exports``.

    Args:
        package: the package's ``__name__``; relative module paths in ``exports`` resolve against it.
        exports: public name -> module defining it (``"._settings"`` or an absolute module name).
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
