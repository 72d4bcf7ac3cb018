"""Stripe (cards) through its REST API with plain httpx: PaymentIntents, refunds, signed webhooks.

- `create_checkout`: `POST /v1/payment_intents`, form encoded: `amount` (integer minor units), `currency`
  (lower case), `metadata[payment_id]` (our payment id, so webhooks lead back to the payment),
  `automatic_payment_methods[enabled]=true`, `capture_method=automatic`, with
  `Idempotency-Key: harambee-checkout-<payment id>`, so a retry never creates a second intent. Stripe has
  no checkout page: the payer's client confirms the intent with its `client_secret`. The intent id is the
  `provider_reference`; `checkout_url` stays None.
- `fetch_status`: `GET /v1/payment_intents/{id}`. `succeeded` is completed, `requires_capture` authorized,
  `canceled` failed; the rest (`requires_payment_method`, `requires_confirmation`, `requires_action`,
  `processing`) is None: the payer has not finished, or Stripe has no outcome yet. A payment with no
  intent id (the checkout call failed or its answer was lost) is failed: its client secret never reached
  the payer, so nothing can ever be paid against it, and failing it frees the payable.
- `cancel`: `POST /v1/payment_intents/{id}/cancel` (`cancellation_reason=abandoned`, `Idempotency-Key:
  harambee-cancel-<payment id>`), so the payer's client can no longer confirm it. Stripe refuses to
  cancel an intent that succeeded or is processing; the intent's status then says what happened.
- `refund`: `POST /v1/refunds` with `payment_intent` and `amount`, `Idempotency-Key:
  harambee-refund-<refund id>`. Stripe refuses more than is left (`StripeRefused`, 422).
- `verify_webhook`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` (several v1 while a secret
  rotates), HMAC-SHA256 of "<t>.<raw body>" with the endpoint secret (the `signing` scheme), at most five
  minutes either way. Events: `payment_intent.amount_capturable_updated` (authorized),
  `payment_intent.succeeded` (completed), `payment_intent.canceled` (failed). A
  `payment_intent.payment_failed` is a failed attempt the payer may retry on the same intent, so it
  is noted without a transition, like any other type (`charge.refunded` included: the domain has no
  provider-sent refund signal yet); both are acknowledged so Stripe stops resending them.

HTTP: explicit timeouts, connection retries in the transport (`retries=2`, connect errors only), and one
more attempt after a 5xx for GETs and requests carrying an Idempotency-Key (not when Stripe answers
`Stripe-Should-Retry: false`). Timeouts, transport errors, 5xx, 401/403/409/429 and unexpected answers
are `ProviderUnavailable` (502): the payment keeps its state and reconciliation asks again later. Other
4xx are `StripeRefused` (422), card errors `CardDeclined`; both are also `ProviderUnavailable`, so the
payments service, which releases a refund's hold when the provider does not refund, gives it back.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from harambee.errors import Unprocessable
from payments.domain.payment import Payment, Signal
from payments.providers import signing
from payments.providers.base import (
    Checkout,
    InvalidSignature,
    MalformedWebhook,
    ProviderUnavailable,
    RefundReceipt,
    WebhookEvent,
)
from payments.providers.secrets import provider_secret

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = signing.TOLERANCE_SECONDS
MAX_SIGNATURES = 8
PAYMENT_INTENTS = "/v1/payment_intents"
REFUNDS = "/v1/refunds"
EVENT_SIGNALS: dict[str, Signal | None] = {
    "payment_intent.amount_capturable_updated": Signal.AUTHORIZED,
    "payment_intent.succeeded": Signal.COMPLETED,
    # A failed attempt is not final: the payer may retry the same intent with another card.
    "payment_intent.payment_failed": None,
    "payment_intent.canceled": Signal.FAILED,
}
STATUS_SIGNALS: dict[str, Signal | None] = {
    "requires_payment_method": None,
    "requires_confirmation": None,
    "requires_action": None,
    "processing": None,
    "requires_capture": Signal.AUTHORIZED,
    "canceled": Signal.FAILED,
    "succeeded": Signal.COMPLETED,
}
# Refused by Stripe for reasons a retry may cure: bad key (our configuration), idempotent request still
# in flight, rate limit. The payment keeps its state.
_UNAVAILABLE_STATUSES = frozenset({401, 403, 409, 429})
_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9_]{1,250}$")


class StripeRefused(Unprocessable, ProviderUnavailable):
    """Stripe refused the request (4xx): a 422 for the caller, with Stripe's code and message. It is also a
    ProviderUnavailable so that a refused refund's hold is released by the payments service."""

    status = 422
    code = "PROVIDER_REFUSED"


class CardDeclined(StripeRefused):
    code = "CARD_DECLINED"


class StripeSettings(BaseModel):
    """Stripe's part of the environment. Secrets left unset here are read from SSM (SecureString)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    base_url: str = Field("https://api.stripe.com", alias="STRIPE_BASE_URL")
    secret_key: SecretStr | None = Field(None, alias="STRIPE_SECRET_KEY")
    webhook_secret: SecretStr | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    api_version: str | None = Field(None, alias="STRIPE_API_VERSION")
    connect_timeout_seconds: float = Field(3.0, gt=0, alias="STRIPE_CONNECT_TIMEOUT_SECONDS")
    read_timeout_seconds: float = Field(10.0, gt=0, alias="STRIPE_READ_TIMEOUT_SECONDS")

    @property
    def secret_key_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/payments/stripe/secret-key"

    @property
    def webhook_secret_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/payments/stripe/webhook-secret"

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            self.read_timeout_seconds,
            connect=self.connect_timeout_seconds,
            pool=self.connect_timeout_seconds,
        )

    @classmethod
    def from_environment(cls) -> StripeSettings:
        import os

        return cls.model_validate(dict(os.environ))


class _Intent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str
    amount: int | None = None
    amount_received: int | None = None
    currency: str | None = None
    client_secret: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class _Refund(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str | None = None


class _EventData(BaseModel):
    object: dict[str, Any]


class _Event(BaseModel):
    id: str = Field(min_length=1)
    type: str
    data: _EventData


class StripeProvider:
    name = "stripe"
    methods = frozenset({"card", "credit_card"})

    def __init__(
        self, settings: StripeSettings | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings or StripeSettings.from_environment()
        self._transport = transport

    # ------------------------------------------------------------------ the interface

    def create_checkout(self, payment: Payment) -> Checkout:
        form = {
            "amount": _minor_units(payment.amount),
            "currency": payment.currency.lower(),
            "metadata[payment_id]": payment.payment_id,
            "metadata[payable_kind]": str(payment.payable_kind),
            "metadata[payable_id]": payment.payable_id,
            "automatic_payment_methods[enabled]": "true",
            "capture_method": "automatic",
        }
        answer = self._call(
            "POST", PAYMENT_INTENTS, form=form, idempotency_key=f"harambee-checkout-{payment.payment_id}"
        )
        intent = _parse(_Intent, answer)
        if not _INTENT_ID.match(intent.id):
            raise ProviderUnavailable("Stripe answered with no usable PaymentIntent id")
        return Checkout(provider_reference=intent.id, checkout_url=None, client_secret=intent.client_secret)

    def fetch_status(self, payment: Payment) -> Signal | None:
        reference = payment.provider_reference
        if reference is None:
            return Signal.FAILED
        if not _INTENT_ID.match(reference):
            raise StripeRefused(
                "The payment's provider reference is not a Stripe PaymentIntent id",
                details={"providerReference": reference},
            )
        intent = _parse(_Intent, self._call("GET", f"{PAYMENT_INTENTS}/{quote(reference, safe='')}"))
        if intent.status not in STATUS_SIGNALS:
            raise ProviderUnavailable(
                "Stripe answered with an unknown PaymentIntent status", details={"status": intent.status}
            )
        return STATUS_SIGNALS[intent.status]

    def cancel(self, payment: Payment) -> Signal | None:
        reference = payment.provider_reference
        if reference is None or not _INTENT_ID.match(reference):
            return self.fetch_status(payment)  # no intent: nothing the payer could confirm
        try:
            answer = self._call(
                "POST",
                f"{PAYMENT_INTENTS}/{quote(reference, safe='')}/cancel",
                form={"cancellation_reason": "abandoned"},
                idempotency_key=f"harambee-cancel-{payment.payment_id}",
            )
        except StripeRefused:
            return self.fetch_status(payment)  # too late to cancel: succeeded, processing or canceled
        return STATUS_SIGNALS.get(_parse(_Intent, answer).status)

    def refund(self, payment: Payment, amount: int, refund_id: str) -> RefundReceipt:
        if payment.provider_reference is None or not _INTENT_ID.match(payment.provider_reference):
            raise StripeRefused(
                "The payment has no Stripe PaymentIntent to refund",
                details={"providerReference": payment.provider_reference},
            )
        form = {
            "payment_intent": payment.provider_reference,
            "amount": _minor_units(amount),
            "metadata[payment_id]": payment.payment_id,
            "metadata[refund_id]": refund_id,
        }
        answer = self._call("POST", REFUNDS, form=form, idempotency_key=f"harambee-refund-{refund_id}")
        refund = _parse(_Refund, answer)
        if refund.status in {"failed", "canceled"}:
            raise StripeRefused(
                "Stripe did not refund the payment", details={"refund": refund.id, "status": refund.status}
            )
        # `pending` (some payment methods settle refunds later) counts as refunded, as Stripe commits to it.
        return RefundReceipt(refund_id=refund_id, provider_reference=refund.id)

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> WebhookEvent:
        header = _header(headers, SIGNATURE_HEADER)
        verify_signature(self._webhook_secret(), header, raw_body, now)
        try:
            event = _Event.model_validate_json(raw_body)
        except ValidationError as error:
            raise MalformedWebhook("The Stripe event is not valid JSON of the expected shape") from error
        return _webhook_event(event)

    # ------------------------------------------------------------------ secrets

    def _secret_key(self) -> str:
        return provider_secret(self.settings.secret_key, self.settings.secret_key_parameter)

    def _webhook_secret(self) -> str:
        return provider_secret(self.settings.webhook_secret, self.settings.webhook_secret_parameter)

    # ------------------------------------------------------------------ HTTP

    def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Stripe's JSON answer to one request; retried once after a 5xx when that cannot charge twice."""
        headers = {"Authorization": f"Bearer {self._secret_key()}", "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if self.settings.api_version:
            headers["Stripe-Version"] = self.settings.api_version
        attempts = 2 if method == "GET" or idempotency_key is not None else 1
        transport = self._transport or httpx.HTTPTransport(retries=2)
        url = f"{self.settings.base_url.rstrip('/')}{path}"
        with httpx.Client(timeout=self.settings.timeout, transport=transport) as client:
            for attempt in range(1, attempts + 1):
                response = _send(client, method, url, headers, form)
                retry = response.headers.get("stripe-should-retry", "").lower() != "false"
                if response.status_code >= 500 and attempt < attempts and retry:
                    continue
                return _answer(response)
        raise AssertionError("unreachable")  # pragma: no cover


def _send(
    client: httpx.Client, method: str, url: str, headers: dict[str, str], form: Mapping[str, str] | None
) -> httpx.Response:
    try:
        return client.request(method, url, headers=headers, data=dict(form) if form is not None else None)
    except httpx.TimeoutException as error:
        raise ProviderUnavailable("Stripe did not answer in time", details={"timeout": True}) from error
    except httpx.TransportError as error:
        raise ProviderUnavailable("Stripe could not be reached") from error


def _answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 2xx; a domain error for everything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if not isinstance(body, dict):
            raise ProviderUnavailable("Stripe answered with something that is not a JSON object")
        return body
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    details = {
        "httpStatus": response.status_code,
        "type": error.get("type"),
        "stripeCode": error.get("code"),
        "declineCode": error.get("decline_code"),
        "param": error.get("param"),
        "requestId": response.headers.get("request-id"),
    }
    details = {name: value for name, value in details.items() if value is not None}
    message = str(error.get("message") or f"Stripe answered {response.status_code}")
    if response.status_code >= 500 or response.status_code in _UNAVAILABLE_STATUSES:
        raise ProviderUnavailable(f"Stripe is unavailable: {message}", details=details)
    if response.status_code == 402 or error.get("type") == "card_error":
        raise CardDeclined(message, details=details)
    raise StripeRefused(message, details=details)


def _parse[Model: BaseModel](model: type[Model], answer: dict[str, Any]) -> Model:
    try:
        return model.model_validate(answer)
    except ValidationError as error:
        raise ProviderUnavailable("Stripe answered with an unexpected document") from error


def _minor_units(amount: int) -> str:
    """Stripe's `amount`: an integer in the currency's smallest unit, as our amounts are. Never floats."""
    if type(amount) is not int or amount <= 0:
        raise StripeRefused("An amount must be a positive integer of minor units", details={"amount": amount})
    return str(amount)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify_signature(secret: str, header: str | None, raw_body: bytes, now: datetime) -> None:
    """Raise unless one of `header`'s v1 signatures signs "<t>.<raw_body>" with `secret`, and t is
    within five minutes of `now` (either way)."""
    if not header:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is missing")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and timestamp is None:
            timestamp = value
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures or len(signatures) > MAX_SIGNATURES:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is not t=<unix>,v1=<hex>[,v1=<hex>]")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("The webhook's timestamp is outside the five-minute window")
    expected = signing.sign(secret, raw_body, int(timestamp)).partition(",v1=")[2]
    matched = False
    for signature in signatures:  # no early exit: every candidate is compared in constant time
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise InvalidSignature("The webhook's signature does not match its body")


def _webhook_event(event: _Event) -> WebhookEvent:
    obj = event.data.object
    metadata = obj.get("metadata")
    payment_id = metadata.get("payment_id") if isinstance(metadata, dict) else None
    signal = EVENT_SIGNALS.get(event.type)
    if signal is None or not isinstance(payment_id, str) or not payment_id:
        # Verified, but nothing to do (another type, a retryable failure, not one of our intents):
        # acknowledged and recorded, so Stripe stops resending it.
        return WebhookEvent(
            event_id=event.id, payment_id=payment_id if isinstance(payment_id, str) else None, signal=None
        )
    amount = obj.get("amount_received") if signal is Signal.COMPLETED else None
    amount = amount if amount is not None else obj.get("amount")
    currency = obj.get("currency")
    if (amount is not None and type(amount) is not int) or (
        currency is not None and not isinstance(currency, str)
    ):
        raise MalformedWebhook("The Stripe event's amount or currency is malformed")
    return WebhookEvent(
        event_id=event.id,
        payment_id=payment_id,
        signal=signal,
        amount=amount,
        currency=currency.upper() if currency is not None else None,
    )
