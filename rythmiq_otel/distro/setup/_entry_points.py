"""The ``opentelemetry_distro`` and ``opentelemetry_configurator`` entry points (declared in pyproject).

They let ``opentelemetry-instrument`` (and our own sitecustomize hook, which calls the same
``initialize()``) pick rythmiq-otel up. Both call the idempotent :func:`configure`, so whichever runs first
configures and the other is a no-op; instrumentors are then loaded by ``initialize()`` as usual.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk._configuration import _BaseConfigurator

from rythmiq_otel.distro.metrics import _runtime
from rythmiq_otel.distro.setup._configure import configure

__all__ = ["RythmiqConfigurator", "RythmiqDistro"]


class RythmiqDistro(BaseDistro):
    """The distro: configures rythmiq-otel from the environment before instrumentors load."""

    def _configure(self, **kwargs: Any) -> None:
        configure()

    def load_instrumentor(self, entry_point: EntryPoint, **kwargs: Any) -> None:
        """Every instrumentor as upstream, but system-metrics with the process set (``metrics._runtime``)."""
        if entry_point.name == _runtime.ENTRY_POINT:
            _runtime.instrument(entry_point.load(), **kwargs)
            return
        super().load_instrumentor(entry_point, **kwargs)


class RythmiqConfigurator(_BaseConfigurator):
    """The configurator ``initialize()`` runs after the distro; a no-op when the distro already ran."""

    def _configure(self, **kwargs: Any) -> None:
        configure()
