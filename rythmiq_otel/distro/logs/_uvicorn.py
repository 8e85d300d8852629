"""Route uvicorn's own loggers through the rythmiq handler, so `instrument -- uvicorn ...` keeps stdout JSON.

uvicorn's default logging config writes its access log as plain text to stdout (and its server log to
stderr), which would break "every stdout line is one §1.1 JSON object". Its default config is a module
dict, ``uvicorn.config.LOGGING_CONFIG``, applied when uvicorn starts (in every worker too): we point the
``uvicorn`` and ``uvicorn.access`` loggers at the root logger instead, where ``configure()`` put the
rythmiq handler. uvicorn is patched when it is imported (an import hook, so processes that never import
uvicorn pay nothing); a user's own ``--log-config`` is left alone. Each ``uvicorn.Config`` also declares
its host to the PII guard as the service's own listen address.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from rythmiq_otel.pii import register_operational_addresses

__all__ = ["install"]

_MODULE = "uvicorn.config"
_LOGGERS = ("uvicorn", "uvicorn.access")


def _route_through_root(config: dict[str, Any]) -> None:
    for name in _LOGGERS:
        config["loggers"][name] = {"handlers": [], "level": "INFO", "propagate": True}


def _declare_listen_address(module: ModuleType) -> None:
    """Make every ``uvicorn.Config`` declare its host to the PII guard: the address the service listens
    on is not a user's ("Uvicorn running on http://10.0.3.7:8000" stays readable)."""
    config_class = module.Config
    init = config_class.__init__
    if getattr(init, "_declares_listen_address", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        register_operational_addresses(str(self.host))

    __init__._declares_listen_address = True  # type: ignore[attr-defined]
    config_class.__init__ = __init__


def _patch(module: ModuleType) -> None:
    _route_through_root(module.LOGGING_CONFIG)
    _declare_listen_address(module)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """One-shot finder: lets ``uvicorn.config`` load normally, then rewrites its default logging config."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Patch uvicorn's default logging config now if uvicorn is loaded, else when it is imported.

    Loggers uvicorn already configured are left as they are (they may follow the user's own config).
    """
    module = sys.modules.get(_MODULE)
    if module is not None:
        _patch(module)
        return
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
