"""Install the ``OTEL_PROPAGATORS`` text-map propagators (default W3C tracecontext + baggage).

The baggage propagator is what carries correlation_id, job_id and user_id_hash between services. Names
are resolved through the ``opentelemetry_propagator`` entry points, as the API does; an unknown name is
reported once and skipped instead of failing the service.
"""

from __future__ import annotations

import logging

from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.util._importlib_metadata import entry_points

__all__ = ["install_propagators"]

_log = logging.getLogger(__name__)


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
    set_global_textmap(CompositePropagator(propagators))
