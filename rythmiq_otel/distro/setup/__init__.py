"""Turning the distro on: settings from the environment, the three SDK providers and their exporters, the
sampler, fork and exit hooks, the ``opentelemetry-instrument`` entry points and ``rythmiq-otel doctor``."""
