"""The store half: embedded Postgres, migrations, the OTLP sink and the readers of what it stored.

Never imports ``rythmiq_otel.distro``: the only contract between the halves is OTLP plus the shared
``rythmiq_otel.vocab`` and ``rythmiq_otel.pii`` modules.
"""
