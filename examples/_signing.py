"""HMAC-SHA256 signatures on webhook bodies: the platform signs, the webhook verifies."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Camber-Signature"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The ``X-Camber-Signature`` value for ``body``."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the signature of ``body`` (constant-time comparison)."""
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)
