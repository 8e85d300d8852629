"""Auto-instrumentation hook: ``rythmiq-otel instrument`` puts this directory first on PYTHONPATH."""

from opentelemetry.instrumentation.auto_instrumentation import initialize

initialize(swallow_exceptions=True)
