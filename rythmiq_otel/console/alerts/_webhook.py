"""Posting the outbox: each incident transition to ``RYTHMIQ_ALERT_WEBHOOK_URL``, once, with retries.

A notification is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marked sent in the same
transaction as its post, so two deliverers on one database never post the same row: the second skips
the row the first holds, and finds it sent once the first commits. A failed post is retried with backoff
(10 s, doubling, at most 15 minutes apart) up to ``RYTHMIQ_ALERT_WEBHOOK_MAX_ATTEMPTS``, then given up
with a warning; a ``resolved`` waits for its incident's ``opened`` to be sent (or given up), so a
receiver never hears of a resolution before the incident.

Every post carries ``X-Rythmiq-Delivery`` (the notification's id: the same on every retry, so a receiver
can drop a duplicate should a commit be lost after a post succeeded) and, when a secret is set,
``X-Rythmiq-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` (GitHub's scheme).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import psycopg

from ._settings import AlertSettings

log = logging.getLogger("rythmiq_otel.alerts")

#: Seconds a receiver has to answer one post.
POST_TIMEOUT_SECONDS: Final = 10.0
FIRST_RETRY: Final = timedelta(seconds=10)
MAX_RETRY: Final = timedelta(minutes=15)

#: ``post(url, body, headers) -> None`` on a 2xx answer; raises ``OSError`` with a reason otherwise.
Post = Callable[[str, bytes, dict[str, str]], None]


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed post: 10 s, 20 s, 40 s ... at most 15 minutes."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Rythmiq-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a POST answered 301/302/303 into a bodiless GET, whose 200 would mark a notification
    delivered that nobody received: a redirect is a failed post instead (fix the URL)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST ``body``; returns on a 2xx answer, raises ``OSError`` saying why not (never the URL, which
    may carry a token)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=POST_TIMEOUT_SECONDS) as answer:
            answer.read(65536)
    except urllib.error.HTTPError as err:
        moved = " (a redirect: redirects are not followed)" if 300 <= err.code < 400 else ""
        raise OSError(f"the receiver answered HTTP {err.code}{moved}") from None
    except urllib.error.URLError as err:
        raise OSError(f"cannot reach the receiver ({type(err.reason).__name__}: {err.reason})") from None
    except TimeoutError:
        raise OSError(f"no answer within {POST_TIMEOUT_SECONDS:g} s") from None


_CLAIM = """
SELECT n.id, n.transition, n.payload, n.attempts
FROM alert_notifications n
WHERE n.sent_at IS NULL AND n.gave_up_at IS NULL AND n.next_attempt_at <= now()
  AND NOT (n.transition = 'resolved' AND EXISTS (
      SELECT 1 FROM alert_notifications o
      WHERE o.incident_id = n.incident_id AND o.transition = 'opened'
        AND o.sent_at IS NULL AND o.gave_up_at IS NULL))
ORDER BY n.id
LIMIT 1
FOR UPDATE OF n SKIP LOCKED
"""


def deliver_due(conn: psycopg.Connection, settings: AlertSettings, *, post: Post = http_post) -> int:
    """Post every notification that is due, one transaction each; returns how many were sent.

    Does nothing without a webhook URL. ``conn`` must be in autocommit mode.
    """
    url = settings.webhook_url
    if url is None:
        return 0
    sent = 0
    while True:
        with conn.transaction():
            row = conn.execute(_CLAIM).fetchone()
            if row is None:
                return sent
            notification_id, transition, payload, attempts = row
            body = json.dumps(payload, sort_keys=True).encode()
            headers = {"Content-Type": "application/json", "User-Agent": "rythmiq-otel-alerts",
                       "X-Rythmiq-Delivery": str(notification_id), "X-Rythmiq-Event": transition}
            if settings.webhook_secret:
                headers["X-Rythmiq-Signature-256"] = signature(settings.webhook_secret, body)
            try:
                post(url, body, headers)
            except OSError as err:
                _failed(conn, notification_id, attempts + 1, str(err), settings=settings, payload=payload)
                continue
            conn.execute("UPDATE alert_notifications SET sent_at = now(), attempts = attempts + 1,"
                         " last_error = NULL WHERE id = %s", (notification_id,))
            sent += 1


def _failed(conn: psycopg.Connection, notification_id: int, attempts: int, reason: str, *,
            settings: AlertSettings, payload: dict[str, object]) -> None:
    given_up = attempts >= settings.webhook_max_attempts
    conn.execute(
        "UPDATE alert_notifications SET attempts = %s, last_error = %s, next_attempt_at = now() + %s,"
        " gave_up_at = CASE WHEN %s THEN now() END WHERE id = %s",
        (attempts, reason, backoff(attempts), given_up, notification_id),
    )
    if given_up:
        log.warning("alert notification %s (%s of rule %s) given up after %d attempts: %s",
                    notification_id, payload.get("transition"), payload.get("rule"), attempts, reason)
    else:
        log.warning("alert notification %s not delivered (attempt %d, retry in %s): %s",
                    notification_id, attempts, backoff(attempts), reason)


def next_due_in(conn: psycopg.Connection) -> float | None:
    """Seconds until the next pending notification is due (0 when one is), ``None`` when none waits."""
    row = conn.execute(
        "SELECT greatest(extract(epoch FROM min(next_attempt_at) - now()), 0) FROM alert_notifications"
        " WHERE sent_at IS NULL AND gave_up_at IS NULL"
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])
