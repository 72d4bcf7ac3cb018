"""The one interface every payment provider implements (sandbox today; sslcommerz, wave, stripe next)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from harambee.errors import BadRequest, DomainError, NotFound, Unauthorized
from payments.domain.payment import Payment, Signal


class ProviderNotConfigured(NotFound):
    code = "PROVIDER_NOT_CONFIGURED"


class MalformedWebhook(BadRequest):
    code = "MALFORMED_WEBHOOK"


class InvalidSignature(Unauthorized):
    code = "INVALID_SIGNATURE"


class ProviderUnavailable(DomainError):
    """The provider timed out or failed; the payment keeps its state and reconciliation retries."""

    status = 502
    code = "PROVIDER_UNAVAILABLE"


class Checkout(BaseModel):
    """Where the payer goes next: a checkout page, or a reference to pay against."""

    model_config = ConfigDict(frozen=True)

    provider_reference: str
    checkout_url: str | None = None
    # For providers whose client confirms the payment itself (Stripe): returned to the payer, not kept
    # with the payment (the idempotency record keeps the first response, secret included, for 24 h).
    client_secret: str | None = None


class WebhookEvent(BaseModel):
    """A verified provider notification: its own id (for deduplication), our payment id, the signal.

    `signal=None` means "verified and recorded, but no transition": a failed attempt the payer may
    still retry at the provider, or an event type we do not act on (acknowledged, so the provider
    stops resending it).
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    payment_id: str | None
    signal: Signal | None
    amount: int | None = None
    currency: str | None = None


class RefundReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: str
    provider_reference: str


class PaymentProvider(Protocol):
    """Real providers talk HTTP (httpx, timeouts, retries); each names our payment id as its merchant
    reference, so webhooks and status checks lead back to the payment without a lookup table."""

    name: str
    methods: frozenset[str]

    def create_checkout(self, payment: Payment) -> Checkout: ...

    def fetch_status(self, payment: Payment) -> Signal | None:
        """What the provider knows now; None while the payer has not finished."""
        ...

    def refund(self, payment: Payment, amount: int, refund_id: str) -> RefundReceipt: ...

    def cancel(self, payment: Payment) -> Signal | None:
        """Stop the payer from paying where the provider allows it, then what it knows: FAILED once
        cancelled, CAPTURED/COMPLETED when the payment went through first, None when it cannot tell."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> WebhookEvent:
        """The notification if its signature and timestamp hold (else InvalidSignature, MalformedWebhook)."""
        ...
