"""The built-in simulator: a checkout page, signed webhooks (duplicated and shuffled on request),
status checks and refunds, for dev and test stages only. Its "provider side" is one item per payment
(the payer's choice) in the payments table."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from payments import repository
from payments.domain.payment import Payment, Signal
from payments.providers import signing
from payments.providers.base import Checkout, MalformedWebhook, RefundReceipt, WebhookEvent
from payments.providers.secrets import provider_secret
from payments.settings import payments_settings

if TYPE_CHECKING:
    import httpx

METHODS = frozenset(
    {
        "bkash",
        "nagad",
        "rocket",
        "card",
        "wave",
        "credit_card",
        "bank_transfer",
        "e-wallet",
        "virtual_account",
    }
)
SUCCESS = "success"
COMPLETED = "completed"
FAILURE = "failure"
# Not a payer's choice: payments cancelled the payment (the saga gave it up) before the payer chose.
CANCELLED = "cancelled"
# "success" walks every step (its tests exercise ordering); "completed" is the one completion signal a
# real provider sends (SSLCommerz IPN VALID, Stripe payment_intent.succeeded, Wave session completed).
OUTCOME_SIGNALS = {
    SUCCESS: (Signal.AUTHORIZED, Signal.CAPTURED, Signal.COMPLETED),
    COMPLETED: (Signal.COMPLETED,),
    FAILURE: (Signal.AUTHORIZED, Signal.FAILED),
    CANCELLED: (Signal.FAILED,),
}
DELIVERY_ATTEMPTS = 3
# Tests replace this with an httpx.MockTransport that feeds requests to the payments handler.
transport: httpx.BaseTransport | None = None


def webhook_secret() -> str:
    settings = payments_settings()
    return provider_secret(settings.sandbox_webhook_secret, settings.sandbox_secret_parameter)


class _Notification(BaseModel):
    id: str
    type: str
    created: int
    data: dict[str, Any]


class SandboxProvider:
    name = "sandbox"
    methods = METHODS

    def create_checkout(self, payment: Payment) -> Checkout:
        base = payments_settings().public_base_url.rstrip("/")
        return Checkout(
            provider_reference=f"sbx_{payment.payment_id}",
            checkout_url=f"{base}/api/payments/sandbox/checkout/{payment.payment_id}",
        )

    def fetch_status(self, payment: Payment) -> Signal | None:
        outcome = repository.sandbox_outcome(payment.payment_id)
        if outcome is None:
            return None
        return OUTCOME_SIGNALS[outcome][-1]

    def refund(self, payment: Payment, amount: int, refund_id: str) -> RefundReceipt:
        return RefundReceipt(refund_id=refund_id, provider_reference=f"sbx_refund_{refund_id}")

    def cancel(self, payment: Payment) -> Signal | None:
        # The payer's choice and the cancellation race on one conditional put: the first one wins.
        if repository.record_sandbox_outcome(payment.payment_id, CANCELLED):
            return Signal.FAILED
        return self.fetch_status(payment)

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> WebhookEvent:
        signing.verify(webhook_secret(), headers.get(signing.SIGNATURE_HEADER.lower()), raw_body, now)
        try:
            notification = _Notification.model_validate_json(raw_body)
            signal = Signal(notification.type.removeprefix("payment."))
            return WebhookEvent(
                event_id=notification.id,
                payment_id=str(notification.data["paymentId"]),
                signal=signal,
                amount=notification.data.get("amount"),
                currency=notification.data.get("currency"),
            )
        except (ValidationError, ValueError, KeyError) as error:
            raise MalformedWebhook("The sandbox notification is not one the simulator sends") from error


def notification_body(payment: Payment, signal: Signal) -> bytes:
    """The simulator's webhook for one signal; its id is stable, so a repeat is a true duplicate."""
    return json.dumps(
        {
            "id": f"evt_{payment.payment_id}_{signal}",
            "type": f"payment.{signal}",
            "created": int(time.time()),
            "data": {"paymentId": payment.payment_id, "amount": payment.amount, "currency": payment.currency},
        },
        separators=(",", ":"),
    ).encode()


def send_webhooks(payment: Payment, outcome: str, *, duplicates: int, shuffle: bool) -> dict[str, int]:
    """Post the outcome's signed webhooks to the webhook URL, `duplicates` copies each, maybe shuffled."""
    import httpx

    deliveries = [signal for signal in OUTCOME_SIGNALS[outcome] for _ in range(duplicates)]
    if shuffle:
        random.SystemRandom().shuffle(deliveries)
    secret, url = webhook_secret(), payments_settings().webhook_url
    delivered = 0
    with httpx.Client(timeout=httpx.Timeout(5.0), transport=transport) as client:
        for signal in deliveries:
            body = notification_body(payment, signal)
            headers = {
                "Content-Type": "application/json",
                signing.SIGNATURE_HEADER: signing.sign(secret, body, int(time.time())),
            }
            delivered += _deliver(client, url, body, headers)
    return {"sent": len(deliveries), "delivered": delivered, "failed": len(deliveries) - delivered}


def _deliver(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> int:
    """1 when the receiver acknowledged; retried on timeouts and 5xx, as a real provider would."""
    import httpx

    for _ in range(DELIVERY_ATTEMPTS):
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TransportError:
            continue
        if response.status_code < 500:
            return 1 if response.is_success else 0
    return 0
