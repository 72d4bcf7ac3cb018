"""A small Wave Checkout API on loopback, following the contract Wave documents.

`POST /v1/checkout/sessions` (bearer key checked, `Idempotency-Key` remembered: the same key and body
answer the same session, the same key with another body is refused), `GET /v1/checkout/sessions/{id}`,
`GET /v1/checkout/sessions/search?client_reference=…` and `POST /v1/checkout/sessions/{id}/refund`
(whole sessions only, once). The payer's side is driven from the test (`pay`, `fail_attempt`,
`expire`); faults are injected with `fail_next` (statuses answered before any work) and `delay`.
`webhook_body` and `signature_header` build Wave's signed notifications, rightly or wrongly signed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import serving

API_KEY = "wave_sn_prod_fake-test-key-0123456789"
WEBHOOK_SECRET = "wave_sn_WHS_fake-webhook-secret"
SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>cos-[A-Za-z0-9_-]+)$")
REFUND_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>cos-[A-Za-z0-9_-]+)/refund$")
EXPIRE_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>cos-[A-Za-z0-9_-]+)/expire$")
AMOUNT = {"XOF": re.compile(r"^[1-9][0-9]*$")}
DEFAULT_AMOUNT = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class FakeWave:
    base_url: str = ""
    api_key: str = API_KEY
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Idempotency-Key -> (method and path, body, status, answer)
    idempotency: dict[str, tuple[str, bytes, int, bytes]] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)  # session id -> Idempotency-Key
    received: list[Received] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ the payer's side

    def pay(self, session_id: str) -> dict[str, Any]:
        return self._update(
            session_id,
            checkout_status="complete",
            payment_status="succeeded",
            transaction_id=f"T_{secrets.token_hex(6).upper()}",
            when_completed=_iso(datetime.now(UTC)),
        )

    def fail_attempt(self, session_id: str) -> dict[str, Any]:
        """A failed attempt (low balance); the session stays open and the payer may try again."""
        return self._update(
            session_id,
            payment_status="cancelled",
            last_payment_error={"code": "insufficient-funds", "message": "Insufficient funds"},
        )

    def expire(self, session_id: str) -> dict[str, Any]:
        return self._update(
            session_id,
            checkout_status="expired",
            payment_status="cancelled",
            when_completed=_iso(datetime.now(UTC)),
        )

    def _update(self, session_id: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            self.sessions[session_id].update(changes)
            return dict(self.sessions[session_id])

    def calls(self, method: str, path_prefix: str = "/v1/") -> list[Received]:
        return [r for r in self.received if r.method == method and r.path.startswith(path_prefix)]

    # ------------------------------------------------------------------ the API

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _invalid_checkout(body)
        if problem:
            return 400, {"code": "request-validation-error", "message": problem}
        session_id = f"cos-{secrets.token_hex(8)}"
        now = datetime.now(UTC)
        session = {
            "id": session_id,
            "amount": body["amount"],
            "checkout_status": "open",
            "client_reference": body.get("client_reference"),
            "currency": body["currency"],
            "error_url": body["error_url"],
            "last_payment_error": None,
            "business_name": "Harambee Test",
            "payment_status": "processing",
            "success_url": body["success_url"],
            "transaction_id": None,
            "wave_launch_url": f"https://pay.wave.com/c/{session_id}?a={body['amount']}&c={body['currency']}",
            "when_completed": None,
            "when_created": _iso(now),
            "when_expires": _iso(now + timedelta(minutes=30)),
        }
        with self.lock:
            self.sessions[session_id] = session
        return 200, dict(session)

    def refund(self, session_id: str, key: str | None) -> tuple[int, dict[str, Any] | None]:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return 404, {"code": "checkout-session-not-found", "message": "No such checkout session"}
            if session["payment_status"] != "succeeded":
                return 400, {"code": "checkout-refund-failed", "message": "The session was not paid"}
            if session_id in self.refunds:
                return 400, {"code": "checkout-refund-failed", "message": "The session is already refunded"}
            self.refunds[session_id] = key or ""
        return 200, None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _invalid_checkout(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The body must be a JSON object"
    for name in ("amount", "currency", "success_url", "error_url"):
        if not isinstance(body.get(name), str):
            return f"{name} is required and must be a string"
    if not AMOUNT.get(body["currency"], DEFAULT_AMOUNT).match(body["amount"]):
        return f"amount {body['amount']!r} is not valid for {body['currency']}"
    for name in ("success_url", "error_url"):
        if not body[name].startswith("https://"):
            return f"{name} must be an https URL"
    return None


def _handler(wave: FakeWave) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, document: Any) -> None:
            body = b"" if document is None else json.dumps(document).encode()
            self._raw(status, body)

        def _raw(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _receive(self) -> tuple[Received, bool]:
            """Record the request; False when a fault or a bad key has already been answered."""
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            received = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with wave.lock:
                wave.received.append(received)
                fault = wave.fail_next.pop(0) if wave.fail_next else None
            if wave.delay:
                time.sleep(wave.delay)
            if fault is not None:
                self._answer(fault, {"code": "internal-server-error", "message": "Injected fault"})
                return received, False
            authorization = received.headers.get("authorization")
            if authorization is None:
                self._answer(401, {"code": "missing-auth-header", "message": "No Authorization header"})
                return received, False
            if not hmac.compare_digest(authorization.encode(), f"Bearer {wave.api_key}".encode()):
                self._answer(401, {"code": "api-key-not-found", "message": "Unknown API key"})
                return received, False
            return received, True

        def do_GET(self) -> None:
            received, proceed = self._receive()
            if not proceed:
                return
            url = urlparse(received.path)
            if url.path == "/v1/checkout/sessions/search":
                reference = parse_qs(url.query).get("client_reference", [""])[0]
                with wave.lock:
                    found = [dict(s) for s in wave.sessions.values() if s["client_reference"] == reference]
                self._answer(200, {"result": found})
                return
            match = SESSION_PATH.match(url.path)
            session = wave.sessions.get(match["id"]) if match else None
            if session is None:
                self._answer(404, {"code": "checkout-session-not-found", "message": "Not found"})
                return
            self._answer(200, dict(session))

        def do_POST(self) -> None:
            received, proceed = self._receive()
            if not proceed:
                return
            key = received.headers.get("idempotency-key")
            route = f"POST {urlparse(received.path).path}"
            if key is not None:
                with wave.lock:
                    seen = wave.idempotency.get(key)
                if seen is not None:
                    if (seen[0], seen[1]) != (route, received.body):
                        self._answer(409, {"code": "idempotency-mismatch", "message": "Key reused"})
                    else:
                        self._raw(seen[2], seen[3])
                    return
            status, document = self._route(received)
            answer = b"" if document is None else json.dumps(document).encode()
            if key is not None and status < 500:
                with wave.lock:
                    wave.idempotency[key] = (route, received.body, status, answer)
            self._raw(status, answer)

        def _route(self, received: Received) -> tuple[int, dict[str, Any] | None]:
            path = urlparse(received.path).path
            if path == "/v1/checkout/sessions":
                try:
                    body = json.loads(received.body)
                except ValueError:
                    return 400, {"code": "request-validation-error", "message": "Not JSON"}
                return wave.create(body)
            match = REFUND_PATH.match(path)
            if match:
                return wave.refund(match["id"], received.headers.get("idempotency-key"))
            match = EXPIRE_PATH.match(path)
            if match:
                session = wave.sessions.get(match["id"])
                if session is None:
                    return 404, {"code": "not-found", "message": "No such checkout session"}
                if session["checkout_status"] != "open":
                    return 409, {"code": "checkout-session-not-open", "message": "The session is not open"}
                return 200, wave.expire(match["id"])
            return 404, {"code": "not-found", "message": "No such endpoint"}

    return Handler


@contextmanager
def running_wave() -> Iterator[FakeWave]:
    wave = FakeWave()
    with serving(_handler(wave)) as base_url:
        wave.base_url = base_url
        yield wave


# ------------------------------------------------------------------ webhooks


def webhook_body(event_type: str, session: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Wave event as Wave posts it: {id, type, data: the checkout session}."""
    event = {"id": event_id or f"AE_{secrets.token_hex(8)}", "type": event_type, "data": session}
    return json.dumps(event, separators=(",", ":")).encode()


def signature(body: bytes, timestamp: int, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(
    body: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    extra_signatures: tuple[str, ...] = (),
) -> dict[str, str]:
    """The `Wave-Signature` header for `body`; `secret` or `timestamp` may be wrong on purpose, and
    other v1 values (a rotated secret's) may come before the real one."""
    moment = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={moment}", *(f"v1={value}" for value in extra_signatures)]
    parts.append(f"v1={signature(body, moment, secret)}")
    return {"wave-signature": ",".join(parts)}


def tampered(body: bytes, index: int | None = None) -> bytes:
    """`body` with one byte changed (by default one inside the amount's digits, when there is one)."""
    position = body.find(b'"amount":"') + len(b'"amount":"') if index is None else index
    changed = bytearray(body)
    changed[position] = ord("9") if changed[position] != ord("9") else ord("8")
    return bytes(changed)
