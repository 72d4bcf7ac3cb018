"""HMAC-SHA256 webhook signatures: `Harambee-Signature: t=<unix seconds>,v1=<hex>` over "<t>.<raw body>"."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from payments.providers.base import InvalidSignature, MalformedWebhook

SIGNATURE_HEADER = "Harambee-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, raw_body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str | None, raw_body: bytes, now: datetime) -> None:
    """Raise unless `header` signs `raw_body` with `secret` within five minutes of `now`."""
    if not header:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is missing")
    parts: dict[str, str] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        parts.setdefault(name, value)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not signature:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is not t=<unix>,v1=<hex>")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("The webhook's timestamp is outside the five-minute window")
    expected = sign(secret, raw_body, int(timestamp)).partition(",v1=")[2]
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignature("The webhook's signature does not match its body")
