"""Sink configuration: every variable the sink reads, declared once and parsed once into `SinkSettings`.

Precedence is explicit argument (CLI flag), then environment, then default. Nothing else in the sink
reads ``os.environ``. Invalid values fail fast with one sentence naming the variable (STYLE 5, 12).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from rythmiq_otel import pii

from .._errors import SettingsError  # the store's one family: a StoreError and a ValueError

#: Bearer token clients must send (``Authorization: Bearer <token>``). Required unless ``insecure_no_auth``.
ENV_TOKEN = "RYTHMIQ_SINK_TOKEN"
#: Interface to bind. Default ``127.0.0.1``: the sink is reachable from this machine only unless told.
ENV_HOST = "RYTHMIQ_SINK_HOST"
#: TCP port. Default 4320, so a collector on the same machine keeps the standard OTLP/HTTP port 4318.
ENV_PORT = "RYTHMIQ_SINK_PORT"
#: Largest accepted request body in bytes, after gzip inflation. Default 16 MiB; larger answers 413.
ENV_MAX_BODY = "RYTHMIQ_SINK_MAX_BODY_BYTES"
#: Requests being decoded or written at once per process; more wait in the queue. Default 4.
ENV_MAX_INFLIGHT = "RYTHMIQ_SINK_MAX_INFLIGHT"
#: Requests allowed to wait for a slot; one more is answered 429 + Retry-After. Default 64.
ENV_MAX_QUEUE = "RYTHMIQ_SINK_MAX_QUEUE"
#: Request bytes held in memory at once per process, counted from each request's first byte until it is
#: answered. Default 64 MiB (four bodies of the largest size); a request that would pass it is 429.
ENV_MAX_BUFFERED = "RYTHMIQ_SINK_MAX_BUFFERED_BYTES"
#: Log records, spans or metric data points one request may carry. Default 16384 (the collector config
#: sends at most 4096); more is 413, so one small body cannot expand into gigabytes of rows.
ENV_MAX_ITEMS = "RYTHMIQ_SINK_MAX_ITEMS"
#: Seconds a client has to send a request body once its headers arrived; slower is 408. Default 60.
ENV_READ_TIMEOUT = "RYTHMIQ_SINK_READ_TIMEOUT_SECONDS"
#: Seconds suggested to clients in Retry-After on 429/503. Default 2.
ENV_RETRY_AFTER = "RYTHMIQ_SINK_RETRY_AFTER_SECONDS"
#: Decoding processes (uvicorn workers). Default 1; 2 on a 2-core machine roughly doubles decode capacity.
ENV_WORKERS = "RYTHMIQ_SINK_WORKERS"
#: Seconds between maintenance runs (partitions, retention, view refresh); 0 disables. Default 300.
ENV_MAINTENANCE_INTERVAL = "RYTHMIQ_SINK_MAINTENANCE_INTERVAL_SECONDS"
#: Postgres connections per process. Default: max_inflight + 1 (one spare for /readyz and /metrics).
ENV_POOL_SIZE = "RYTHMIQ_SINK_POOL_SIZE"
#: Development only: ``1`` accepts requests without a token (same as ``--insecure-no-auth``).
ENV_INSECURE = "RYTHMIQ_SINK_INSECURE_NO_AUTH"

DEFAULT_PORT = 4320


@dataclass(frozen=True, kw_only=True)
class SinkSettings:
    """The sink's whole configuration, frozen after parsing.

    ``database_url`` is resolved by the store (embedded Postgres or ``DATABASE_URL``) and passed in.
    """

    database_url: str
    token: str | None = None
    insecure_no_auth: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_bytes: int = 16 * 1024 * 1024
    max_inflight: int = 4
    max_queue: int = 64
    max_buffered_bytes: int = 64 * 1024 * 1024
    max_items: int = 16_384
    read_timeout_seconds: float = 60.0
    retry_after_seconds: int = 2
    workers: int = 1
    maintenance_interval_seconds: float = 300.0
    pool_size: int = 0
    pii_extra_mode: str = "blocklist"  # pii.ENV_EXTRA_MODE
    pii_extra_keys: str = ""  # pii.ENV_EXTRA_KEYS, comma-separated

    def __post_init__(self) -> None:
        if not self.insecure_no_auth and not self.token:
            raise SettingsError(
                f"{ENV_TOKEN} is not set; set it to the bearer token clients will send, "
                "or pass --insecure-no-auth for local development"
            )
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"{ENV_PORT}={self.port!r} is not a TCP port (expected 0-65535)")
        for least, names in ((1, ("max_body_bytes", "max_inflight", "workers", "retry_after_seconds",
                                  "max_items", "read_timeout_seconds")),
                             (0, ("max_queue", "maintenance_interval_seconds", "pool_size"))):
            for name in names:
                value = getattr(self, name)
                if value < least:
                    raise SettingsError(f"{_ENV[name][0]}={value!r} must be at least {least}")
        if self.max_buffered_bytes < self.max_body_bytes:
            raise SettingsError(
                f"{ENV_MAX_BUFFERED}={self.max_buffered_bytes!r} must be at least {ENV_MAX_BODY} "
                f"({self.max_body_bytes}), or a body of the largest size could never be admitted"
            )

    @property
    def effective_pool_size(self) -> int:
        """Connections per process: one per in-flight request plus one for probes and gauges."""
        return self.pool_size or self.max_inflight + 1


_ENV: dict[str, tuple[str, type]] = {
    "token": (ENV_TOKEN, str),
    "host": (ENV_HOST, str),
    "port": (ENV_PORT, int),
    "max_body_bytes": (ENV_MAX_BODY, int),
    "max_inflight": (ENV_MAX_INFLIGHT, int),
    "max_queue": (ENV_MAX_QUEUE, int),
    "max_buffered_bytes": (ENV_MAX_BUFFERED, int),
    "max_items": (ENV_MAX_ITEMS, int),
    "read_timeout_seconds": (ENV_READ_TIMEOUT, float),
    "retry_after_seconds": (ENV_RETRY_AFTER, int),
    "workers": (ENV_WORKERS, int),
    "maintenance_interval_seconds": (ENV_MAINTENANCE_INTERVAL, float),
    "pool_size": (ENV_POOL_SIZE, int),
    "insecure_no_auth": (ENV_INSECURE, bool),
}


def _parse(variable: str, kind: type, raw: str) -> Any:
    if kind is bool:
        if raw.strip().lower() in ("1", "true", "yes"):
            return True
        if raw.strip().lower() in ("", "0", "false", "no"):
            return False
        raise SettingsError(f"{variable}={raw!r} is not a boolean (expected 1/0, true/false)")
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None


def load_settings(
    *, database_url: str, environ: Mapping[str, str] | None = None, **overrides: Any
) -> SinkSettings:
    """Build settings from explicit overrides (``None`` means "not given"), then the environment.

    Raises:
        SettingsError: a variable does not parse or the combination is invalid (e.g. no token).
    """
    env = os.environ if environ is None else environ
    known = {f.name for f in fields(SinkSettings)}
    values: dict[str, Any] = {}
    for name, (variable, kind) in _ENV.items():
        if overrides.get(name) is not None:
            values[name] = overrides[name]
        elif env.get(variable):
            values[name] = _parse(variable, kind, env[variable])
    unknown = set(overrides) - known
    if unknown:
        raise SettingsError(f"unknown sink settings {sorted(unknown)!r}")
    try:
        mode, keys = pii.extra_settings(env)
    except ValueError as err:
        raise SettingsError(str(err)) from None
    extra = {"pii_extra_mode": mode, "pii_extra_keys": ",".join(sorted(keys))}
    return SinkSettings(database_url=database_url, **extra, **values)


#: Private: how ``run`` hands the parsed settings to its worker processes (JSON of the dataclass fields).
HANDOFF_VARIABLE = "_RYTHMIQ_SINK_SETTINGS_JSON"


def to_handoff(settings: SinkSettings) -> str:
    """Serialise settings for worker processes (they must not re-resolve the environment differently)."""
    import json
    from dataclasses import asdict

    return json.dumps(asdict(settings))


def from_handoff(environ: Mapping[str, str] | None = None) -> SinkSettings:
    """The settings a parent ``run`` handed to this worker process."""
    import json

    env = os.environ if environ is None else environ
    return SinkSettings(**json.loads(env[HANDOFF_VARIABLE]))
