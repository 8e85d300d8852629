"""Alert settings: every variable the alerts read, declared once and parsed once into ``AlertSettings``.

Each rule has a default threshold from the spec (§7.1, §7.4), a window and a minimum sample; all three can
be changed per rule with ``RYTHMIQ_ALERT_<RULE>_<FIELD>`` (``RYTHMIQ_ALERT_ERROR_RATE_THRESHOLD=5``), and a
rule is turned off by naming it in ``RYTHMIQ_ALERTS_DISABLED``. The defaults live in one table,
``RULE_DEFAULTS``; docs/alerts.md lists every variable with its default and a test keeps the two in step.
A variable starting with ``RYTHMIQ_ALERT`` that is not declared here is an error, so a typo is not a
silently ignored threshold. Precedence: explicit ``environ`` argument, then ``os.environ``, then default.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final, Literal
from urllib.parse import urlsplit

from rythmiq_otel.store import SettingsError

RuleName = Literal[
    "error_rate", "p95_latency", "cpu_burn", "cpu_projection", "cold_starts", "cpu_spike", "quality_shift",
    "api_5xx",
]

ENV_DISABLED: Final = "RYTHMIQ_ALERTS_DISABLED"
"""Comma-separated rule names to turn off (``cpu_spike,quality_shift``). Default: none; every rule runs."""

ENV_WEBHOOK_URL: Final = "RYTHMIQ_ALERT_WEBHOOK_URL"
"""http(s) URL each incident is POSTed to when it opens and when it resolves. Default: unset, no posts."""

ENV_WEBHOOK_SECRET: Final = "RYTHMIQ_ALERT_WEBHOOK_SECRET"
"""Shared secret; when set each post carries ``X-Rythmiq-Signature-256: sha256=<HMAC-SHA256 of the body>``."""

ENV_WEBHOOK_MAX_ATTEMPTS: Final = "RYTHMIQ_ALERT_WEBHOOK_MAX_ATTEMPTS"
"""Posts of one notification before giving up (backoff 10 s doubling, at most 15 min apart). Default 12."""

ENV_INTERVAL: Final = "RYTHMIQ_ALERT_INTERVAL_SECONDS"
"""Seconds between evaluations in ``rythmiq-otel up``; 0 turns the loop off. Default 60."""

ENV_DASHBOARD_URL: Final = "RYTHMIQ_ALERT_DASHBOARD_URL"
"""Link put in each notification (the operations dashboard as your team reaches it). Default: no link."""

#: The per-rule fields and the suffix of their variables.
FIELDS: Final[dict[str, str]] = {
    "threshold": "THRESHOLD",
    "warning": "WARNING",
    "window": "WINDOW",
    "min_sample": "MIN_SAMPLE",
    "baseline": "BASELINE",
    "floor": "FLOOR",
}


@dataclass(frozen=True, kw_only=True)
class RuleConfig:
    """One rule's knobs.

    Attributes:
        name: the rule (``error_rate`` ...); its variables are ``RYTHMIQ_ALERT_<NAME>_<FIELD>``.
        enabled: ``False`` when listed in ``RYTHMIQ_ALERTS_DISABLED``.
        threshold: fires when the value is above it (strictly). ``None`` for ``cpu_projection``: the budget.
        warning: a lower level reported as ``warning``; ``None`` for no warning level.
        window: how far back the value looks.
        min_sample: below this many observations the rule says ``insufficient_data`` instead of judging.
        baseline: what the value is compared with (``cpu_spike``, ``quality_shift``), else ``None``.
        floor: ``cpu_spike`` only: CPU hours in the window below which nothing is a spike.
    """

    name: RuleName
    enabled: bool = True
    threshold: float | None
    warning: float | None = None
    window: timedelta
    min_sample: int
    baseline: timedelta | None = None
    floor: float | None = None

    def variable(self, field: str) -> str:
        """The environment variable of ``field`` for this rule."""
        return f"RYTHMIQ_ALERT_{self.name.upper()}_{FIELDS[field]}"

    def settable(self) -> tuple[str, ...]:
        """The fields this rule has a variable for (a rule without a baseline has no ``_BASELINE``)."""
        return tuple(
            f for f in FIELDS
            if not (f in ("baseline", "floor") and getattr(self, f) is None)
            and not (self.name == "cpu_projection" and f in ("threshold", "window"))
        )


_H = timedelta(hours=1)
RULE_DEFAULTS: Final[tuple[RuleConfig, ...]] = (
    # §7.4 "error rate spike > 2 %"; the 1 % target of §7.4/§5.2 is the warning level.
    RuleConfig(name="error_rate", threshold=2.0, warning=1.0, window=_H, min_sample=20),
    # §7.1 "P95 > 30s", §7.4.
    RuleConfig(name="p95_latency", threshold=30.0, window=_H, min_sample=20),
    # §7.4 "CPU burn rate > 10 hrs/day".
    RuleConfig(name="cpu_burn", threshold=10.0, window=24 * _H, min_sample=1),
    # §5.3 / §7.4 "on track for < 200 hrs/month": threshold = RYTHMIQ_CPU_BUDGET_HOURS; the sample is hours
    # of the month elapsed, because a projection from the first hours multiplies noise by ~700.
    RuleConfig(name="cpu_projection", threshold=None, window=timedelta(0), min_sample=24),
    # §7.4 "cold starts > 10 % of jobs".
    RuleConfig(name="cold_starts", threshold=10.0, window=24 * _H, min_sample=20),
    # §7.1 "anomaly detection (CPU spike alerts)": threshold is k in median + k x robust sigma (MAD), the
    # sample is days of history behind the baseline (docs/alerts.md).
    RuleConfig(name="cpu_spike", threshold=4.0, window=_H, min_sample=3, baseline=timedelta(days=7),
               floor=0.5),
    # §7.4 "quality score distribution shift": PSI on the §3.2 buckets; 0.1 / 0.25 are the usual levels.
    RuleConfig(name="quality_shift", threshold=0.25, warning=0.1, window=24 * _H, min_sample=100,
               baseline=timedelta(days=7)),
    # API 5xx share of requests (rythmiq_api_requests_total), over 15 minutes.
    RuleConfig(name="api_5xx", threshold=5.0, warning=1.0, window=timedelta(minutes=15), min_sample=20),
)
RULE_NAMES: Final[tuple[str, ...]] = tuple(rule.name for rule in RULE_DEFAULTS)


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    """The parsed alert configuration: the rules, where to post, how often ``up`` evaluates."""

    rules: tuple[RuleConfig, ...] = RULE_DEFAULTS
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = 12
    interval_seconds: float = 60.0
    dashboard_url: str | None = None
    cpu_budget_hours: float | None = None

    def rule(self, name: str) -> RuleConfig:
        """The configuration of rule ``name``."""
        return next(rule for rule in self.rules if rule.name == name)


_DURATION_RE: Final = re.compile(r"([0-9]+)\s*([smhd])")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_OFF: Final = ("", "off", "none")
#: No window or baseline reaches further back than the retention of the tables the rules read.
MAX_DURATION: Final = timedelta(days=90)


def format_duration(value: timedelta) -> str:
    """``15m``, ``1h``, ``24h``, ``7d``: the largest unit that divides the duration (days from two on)."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0 and (unit != "d" or seconds >= 2 * _UNITS["d"]):
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def _duration(variable: str, raw: str) -> timedelta:
    match = _DURATION_RE.fullmatch(raw.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise SettingsError(
            f"{variable}={raw!r} is not a duration; expected a positive whole number and a unit, "
            "like 90s, 15m, 1h or 7d"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():  # compared as an int: a huge value overflows timedelta
        raise SettingsError(
            f"{variable}={raw!r} is longer than {MAX_DURATION.days}d, the longest the store keeps the rows "
            "the rules read (cpu_metrics, error_events: §4.5)"
        )
    return timedelta(seconds=seconds)


def _number(variable: str, raw: str, *, optional: bool = False) -> float | None:
    if optional and raw.strip().lower() in _OFF:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        also = " (or off for none)" if optional else ""
        raise SettingsError(f"{variable}={raw!r} is not a number >= 0{also}")
    return value


#: The largest count a setting takes (it is stored in a bigint column; a billion jobs is no sample).
MAX_COUNT: Final = 1_000_000_000


def _count(variable: str, raw: str, *, least: int = 0) -> int:
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() else least - 1
    if not least <= value <= MAX_COUNT:
        raise SettingsError(f"{variable}={raw!r} is not a whole number from {least} to {MAX_COUNT:,}")
    return value


def _rule(rule: RuleConfig, env: Mapping[str, str], disabled: set[str]) -> RuleConfig:
    changes: dict[str, object] = {"enabled": rule.name not in disabled}
    for field in rule.settable():
        variable = rule.variable(field)
        raw = env.get(variable)
        if raw is None or not raw.strip():
            continue
        if field in ("window", "baseline"):
            changes[field] = _duration(variable, raw)
        elif field == "min_sample":
            changes[field] = _count(variable, raw)
        else:
            changes[field] = _number(variable, raw, optional=field == "warning")
    configured = replace(rule, **changes)  # type: ignore[arg-type]
    if configured.baseline is not None and configured.baseline % timedelta(days=1):
        raise SettingsError(
            f"{rule.variable('baseline')}={env.get(rule.variable('baseline'))!r} must be whole days "
            "(the baseline compares the same hours of earlier days)"
        )
    return configured


def known_variables() -> tuple[str, ...]:
    """Every variable the alerts read, in documentation order."""
    per_rule = [rule.variable(field) for rule in RULE_DEFAULTS for field in rule.settable()]
    return (ENV_DISABLED, ENV_INTERVAL, ENV_WEBHOOK_URL, ENV_WEBHOOK_SECRET, ENV_WEBHOOK_MAX_ATTEMPTS,
            ENV_DASHBOARD_URL, *per_rule)


def _url(variable: str, raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{variable} must be an http:// or https:// URL with a host, got one with scheme "
            f"{parts.scheme!r} (the rest is not shown: webhook URLs often hold a token)"
        )
    return url


def load_alert_settings(environ: Mapping[str, str] | None = None) -> AlertSettings:
    """Read the alert settings once from ``environ`` (default ``os.environ``).

    Raises:
        SettingsError: a variable is unknown (a typo) or set to something unusable.
    """
    env = os.environ if environ is None else environ
    known = set(known_variables())
    unknown = sorted(k for k in env if k.startswith("RYTHMIQ_ALERT") and k not in known)
    if unknown:
        raise SettingsError(
            f"{unknown[0]} is not a setting of the alerts (a typo?); see docs/alerts.md for the variables"
        )
    disabled = {name.strip() for name in env.get(ENV_DISABLED, "").split(",") if name.strip()}
    if bad := sorted(disabled - set(RULE_NAMES)):
        raise SettingsError(
            f"{ENV_DISABLED} names {bad[0]!r}, which is not a rule; the rules are {', '.join(RULE_NAMES)}"
        )
    from rythmiq_otel.store import load_settings

    store = load_settings(env)
    interval = env.get(ENV_INTERVAL, "").strip()
    attempts = env.get(ENV_WEBHOOK_MAX_ATTEMPTS, "").strip()
    return AlertSettings(
        rules=tuple(_rule(rule, env, disabled) for rule in RULE_DEFAULTS),
        webhook_url=_url(ENV_WEBHOOK_URL, env.get(ENV_WEBHOOK_URL, "")),
        webhook_secret=env.get(ENV_WEBHOOK_SECRET) or None,
        webhook_max_attempts=_count(ENV_WEBHOOK_MAX_ATTEMPTS, attempts, least=1) if attempts else 12,
        interval_seconds=(_number(ENV_INTERVAL, interval) or 0.0) if interval else 60.0,
        dashboard_url=_url(ENV_DASHBOARD_URL, env.get(ENV_DASHBOARD_URL, "")),
        cpu_budget_hours=store.cpu_budget_hours if store.cpu_budget_from_env else None,
    )
