"""A small Stripe on loopback, following the public REST contract the Stripe provider uses.

- Every request needs `Authorization: Bearer <SECRET_KEY>` (else 401, as Stripe answers a bad key).
- `POST /v1/payment_intents` (form encoded) creates an intent in `requires_payment_method` with an id
  `pi_…` and a `client_secret`; `GET /v1/payment_intents/{id}` returns it (404 `resource_missing`).
- `POST /v1/refunds` refunds (`payment_intent`, optional `amount`: all that is left) a `succeeded`
  intent; more than is left is 400 `invalid_request_error` / `amount_too_large` ("Refund amount … is
  greater than unrefunded amount on charge …"), nothing left is `charge_already_refunded`.
- `Idempotency-Key` on a POST: the first answer is stored and replayed for the same key; the same key
  with other parameters is 400 `idempotency_error`.
- Test controls: `fail_next` answers the next N requests with `fail_status` (503 by default, in front of
  the idempotency layer, as a transient failure at Stripe's edge would, so nothing is stored), `delay`
  holds every answer that many seconds, `set_status` moves an intent, `requests` records what came.

`sign`/`signed_webhook`/`event` build webhook deliveries signed correctly or not (`Stripe-Signature:
t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlparse

from tests.support.loopback import serving

SECRET_KEY = "sk_test_harambee_fake"
WEBHOOK_SECRET = "whsec_harambee_fake"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripe:
    base_url: str = ""
    secret_key: str = SECRET_KEY
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_status(self, intent_id: str, status: str) -> None:
        with self.lock:
            intent = self.intents[intent_id]
            intent["status"] = status
            if status == "succeeded":
                intent["amount_received"] = intent["amount"]

    def handle(
        self, method: str, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, Any]:
        """Stripe's answer to one request: (status, JSON document)."""
        with self.lock:
            self.requests.append(Recorded(method, path, headers, form))
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, _error("api_error", None, "Something went wrong on Stripe's end.")
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                return 401, _error("invalid_request_error", None, "Invalid API Key provided")
            key = headers.get("idempotency-key")
            if method == "POST" and key is not None:
                if key in self.idempotent:
                    first_path, first_form, status, document = self.idempotent[key]
                    if (first_path, first_form) != (path, form):
                        return 400, _error(
                            "idempotency_error",
                            None,
                            "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with.",
                        )
                    return status, document
                status, document = self._route(method, path, form)
                self.idempotent[key] = (path, form, status, document)
                return status, document
            return self._route(method, path, form)

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, Any]:
        if method == "POST" and path == "/v1/payment_intents":
            return self._create_intent(form)
        if method == "GET" and path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(path.removeprefix("/v1/payment_intents/"))
            if intent is None:
                return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
            return 200, intent
        if method == "POST" and path == "/v1/refunds":
            return self._refund(form)
        if method == "POST" and path.startswith("/v1/payment_intents/") and path.endswith("/cancel"):
            return self._cancel(path.removeprefix("/v1/payment_intents/").removesuffix("/cancel"))
        return 404, _error("invalid_request_error", None, f"Unrecognized request URL ({method}: {path})")

    def _cancel(self, intent_id: str) -> tuple[int, Any]:
        """Stripe cancels an intent the payer has not finished; a succeeded or processing one is refused."""
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
        if intent["status"] in {"succeeded", "processing", "canceled"}:
            message = (
                f"This PaymentIntent could not be canceled because it has a status of {intent['status']}."
            )
            return 400, _error("invalid_request_error", "payment_intent_unexpected_state", message)
        intent["status"] = "canceled"
        return 200, intent

    def _create_intent(self, form: dict[str, str]) -> tuple[int, Any]:
        amount, currency = form.get("amount", ""), form.get("currency", "")
        if not amount.isdigit() or int(amount) <= 0:
            return 400, _error(
                "invalid_request_error", "parameter_invalid_integer", "Invalid integer", "amount"
            )
        if len(currency) != 3 or currency != currency.lower():
            return 400, _error("invalid_request_error", "parameter_invalid", "Invalid currency", "currency")
        intent_id = f"pi_{secrets.token_hex(12)}"
        metadata = {
            name.removeprefix("metadata[").removesuffix("]"): value
            for name, value in form.items()
            if name.startswith("metadata[")
        }
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(amount),
            "amount_received": 0,
            "amount_refunded": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "capture_method": form.get("capture_method", "automatic"),
            "metadata": metadata,
            "created": int(time.time()),
            "livemode": False,
        }
        return 200, self.intents[intent_id]

    def _refund(self, form: dict[str, str]) -> tuple[int, Any]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return 404, _error("invalid_request_error", "resource_missing", "No such payment_intent")
        if intent["status"] != "succeeded":
            return 400, _error(
                "invalid_request_error", "payment_intent_unexpected_state", "This PaymentIntent has no charge"
            )
        left = intent["amount_received"] - intent["amount_refunded"]
        if left <= 0:
            return 400, _error(
                "invalid_request_error", "charge_already_refunded", "Charge has already been refunded."
            )
        wanted = int(form["amount"]) if "amount" in form else left
        if wanted > left:
            return 400, _error(
                "invalid_request_error",
                "amount_too_large",
                f"Refund amount ({wanted}) is greater than unrefunded amount on charge ({left})",
                "amount",
            )
        intent["amount_refunded"] += wanted
        refund_id = f"re_{secrets.token_hex(12)}"
        self.refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": wanted,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
        }
        return 200, self.refunds[refund_id]

    def event(self, event_type: str, intent_id: str, *, event_id: str | None = None) -> bytes:
        """A webhook body for one of this fake's intents, as Stripe would send it."""
        with self.lock:
            obj = dict(self.intents[intent_id])
        return event(event_type, obj, event_id=event_id)


def _error(kind: str, code: str | None, message: str, param: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"type": kind, "message": message}
    if code is not None:
        document["code"] = code
    if param is not None:
        document["param"] = param
    return {"error": document}


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        },
        separators=(",", ":"),
    ).encode()


def intent_object(
    payment_id: str | None, *, amount: int = 150_000, currency: str = "usd", status: str = "succeeded"
) -> dict[str, Any]:
    """A PaymentIntent as a webhook carries it, for events about intents the fake server never made."""
    return {
        "id": f"pi_{secrets.token_hex(12)}",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "status": status,
        "metadata": {"payment_id": payment_id} if payment_id is not None else {},
    }


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The hex HMAC-SHA256 of "<t>.<body>", as Stripe computes v1."""
    at = int(time.time()) if timestamp is None else timestamp
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def signed_webhook(
    body: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    extra_signatures: tuple[str, ...] = (),
    valid: bool = True,
) -> dict[str, str]:
    """Headers for delivering `body`: `Stripe-Signature: t=…,v1=…` (and more v1 first, as during a secret
    rotation). `valid=False` signs with another secret."""
    at = int(time.time()) if timestamp is None else timestamp
    signature = sign(body, secret=secret if valid else f"{secret}-wrong", timestamp=at)
    v1 = ",".join(f"v1={candidate}" for candidate in (*extra_signatures, signature))
    return {"stripe-signature": f"t={at},{v1}", "content-type": "application/json"}


def _handler(stripe: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode() if length else ""
            form = dict(parse_qsl(raw, keep_blank_values=True))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, document = stripe.handle(method, urlparse(self.path).path, headers, form)
            if stripe.delay:
                time.sleep(stripe.delay)
            body = json.dumps(document).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a timeout test)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def running_stripe() -> Iterator[FakeStripe]:
    stripe = FakeStripe()
    with serving(_handler(stripe)) as base_url:
        stripe.base_url = base_url
        yield stripe
