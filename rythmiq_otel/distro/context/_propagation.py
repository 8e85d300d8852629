"""Install the ``OTEL_PROPAGATORS`` text-map propagators (default W3C tracecontext + baggage).

The baggage propagator is what carries correlation_id, job_id and user_id_hash between services. Names
are resolved through the ``opentelemetry_propagator`` entry points, as the API does; an unknown name is
reported once and skipped instead of failing the service.

The API's own ``opentelemetry.propagate`` reads ``OTEL_PROPAGATORS`` when it is first imported and raises
``ValueError`` for a name that is not installed (``tracecontext,xray`` without the xray package) -- in the
sitecustomize hook, in every instrumentation, in the user's own ``from opentelemetry import propagate``.
So this module imports it first (the hook imports this module before anything else), showing it only the
installed names for the length of that import; the variable itself is left as the user set it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from types import ModuleType

from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.util._importlib_metadata import entry_points

from rythmiq_otel.distro.setup._settings import OTEL_PROPAGATORS

__all__ = ["install_propagators", "installed"]

_log = logging.getLogger(__name__)


def installed(name: str) -> bool:
    """Whether ``name`` is an ``opentelemetry_propagator`` entry point of an installed package."""
    return any(True for _ in entry_points(group="opentelemetry_propagator", name=name))


def _import_propagate() -> ModuleType:
    """``opentelemetry.propagate``, imported with the unknown ``OTEL_PROPAGATORS`` names hidden from it."""
    module = sys.modules.get("opentelemetry.propagate")
    if module is not None:
        return module
    configured = os.environ.get(OTEL_PROPAGATORS)
    names = [name.strip() for name in (configured or "").split(",") if name.strip()]
    if configured is None or all(name.lower() == "none" or installed(name) for name in names):
        return importlib.import_module("opentelemetry.propagate")
    os.environ[OTEL_PROPAGATORS] = ",".join(n for n in names if installed(n)) or "none"
    try:
        return importlib.import_module("opentelemetry.propagate")
    finally:
        os.environ[OTEL_PROPAGATORS] = configured


_propagate = _import_propagate()


def install_propagators(names: tuple[str, ...]) -> None:
    """Make the named propagators the global text-map propagator."""
    propagators: list[TextMapPropagator] = []
    for name in names:
        found = list(entry_points(group="opentelemetry_propagator", name=name))
        if not found:
            _log.warning(
                "OTEL_PROPAGATORS names %r, which is not an installed propagator; skipping it.", name
            )
            continue
        propagators.append(found[0].load()())
    _propagate.set_global_textmap(CompositePropagator(propagators))
