"""The operator part: reads the store for people -- dashboards, alerts, reports.

It may use the store half's settings and connection code (``rythmiq_otel.store``) and the shared modules
(``rythmiq_otel.vocab``, ``rythmiq_otel.pii``), never the in-process half (``rythmiq_otel.distro``); the
store half never imports it (``tests/test_layout.py`` holds both rules). Everything it runs against the
database is a parameterised, read-only query, so it can be given a read-only role (docs/dashboards.md).
"""
