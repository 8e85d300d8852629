"""Auto-instrumentation hook: ``rythmiq-otel instrument`` puts this directory first on PYTHONPATH."""

# First: makes ``opentelemetry.propagate`` importable when OTEL_PROPAGATORS names an uninstalled propagator.
import rythmiq_otel.distro.context._propagation  # noqa: F401, I001
from opentelemetry.instrumentation.auto_instrumentation import initialize

initialize(swallow_exceptions=True)
