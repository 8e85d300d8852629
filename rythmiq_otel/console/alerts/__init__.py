"""Alerts: the §7.1/§7.4 rules evaluated against the store, their states, incidents and notifications.

Configured by ``RYTHMIQ_ALERT*`` variables (``_settings.py``, docs/alerts.md). Public names resolve lazily,
so importing the package loads nothing heavy.
"""

from __future__ import annotations

from rythmiq_otel._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AlertSettings": "._settings",
    "RuleConfig": "._settings",
    "load_alert_settings": "._settings",
    "RuleResult": "._rules",
    "Evaluation": "._evaluate",
    "evaluate": "._evaluate",
    "record": "._state",
    "deliver_due": "._webhook",
    "AlertLoop": "._loop",
    "start_alert_loop": "._loop",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 -- the public surface is the map above

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
