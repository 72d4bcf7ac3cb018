"""Wave (mobile money, West Africa) through its Checkout API.

- `create_checkout`: `POST /v1/checkout/sessions` with the amount as a string in major units (XOF has
  no decimals), our payment id as `client_reference` and `Idempotency-Key: harambee-checkout-<payment
  id>`, so a retried initiate gets the same session back. The payer goes to `wave_launch_url`.
- `fetch_status`: `GET /v1/checkout/sessions/{id}` (our `provider_reference`), or, when the checkout
  call never stored one, `GET /v1/checkout/sessions/search?client_reference=<payment id>`.
- `cancel`: `POST /v1/checkout/sessions/{id}/expire` for a session still `open`, so the payer can no
  longer pay it; a session that is not open (or refuses to expire) answers with its own status.
- `refund`: `POST /v1/checkout/sessions/{id}/refund`. Wave refunds a whole session; a partial refund
  is refused before anything is sent (`PARTIAL_REFUND_NOT_SUPPORTED`, 422).
- `verify_webhook`: `Wave-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of "<t>.<raw body>"
  with the webhook secret (the same scheme as `signing`), five minutes either way. Only Wave's
  "signing secret" webhook strategy is accepted, not its "shared secret" (bearer) one.

Signals: a session whose `payment_status` is `succeeded` (event `checkout.session.completed`) is
`completed`: Wave settles at once, there is no separate authorization or capture. Event
`checkout.session.payment_failed` is `failed`; a status check says `failed` only once the session has
`expired` unpaid, and nothing (None) while it is `open`. Any other event type, even correctly signed,
is a `MalformedWebhook` (400): the interface has no "ignored" answer, so the Wave webhook should be
subscribed to those two event types only.

HTTP: httpx with explicit timeouts, connection retries in the transport (`retries=2`, connect errors
only), and one more attempt after a 5xx for GETs and requests carrying an Idempotency-Key. Timeouts,
transport errors, 5xx and unexpected answers are `ProviderUnavailable`: the payment keeps its state and
reconciliation asks again later.
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from harambee.errors import DomainError, Unprocessable
from harambee.money import Money
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

SIGNATURE_HEADER = "Wave-Signature"
TOLERANCE_SECONDS = signing.TOLERANCE_SECONDS
COMPLETED_EVENT = "checkout.session.completed"
PAYMENT_FAILED_EVENT = "checkout.session.payment_failed"
EVENT_SIGNALS: dict[str, Signal] = {COMPLETED_EVENT: Signal.COMPLETED, PAYMENT_FAILED_EVENT: Signal.FAILED}
SESSIONS = "/v1/checkout/sessions"


class PartialRefundNotSupported(Unprocessable, ProviderUnavailable):
    """Wave refunds whole checkout sessions only. A 422 for the caller; it is also a
    ProviderUnavailable so that the payments service, which releases a refund's hold when the provider
    does not refund, gives the held amount back."""

    status = 422
    code = "PARTIAL_REFUND_NOT_SUPPORTED"


class WaveSettings(BaseModel):
    """Wave's part of the environment. Secrets left unset here are read from SSM (SecureString)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    base_url: str = Field("https://api.wave.com", alias="WAVE_BASE_URL")
    api_key: SecretStr | None = Field(None, alias="WAVE_API_KEY")
    webhook_secret: SecretStr | None = Field(None, alias="WAVE_WEBHOOK_SECRET")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    web_app_url: str | None = Field(None, alias="WEB_APP_URL")
    public_base_url: str = Field("http://127.0.0.1:3000", alias="PUBLIC_BASE_URL")
    connect_timeout_seconds: float = Field(3.0, gt=0, alias="WAVE_CONNECT_TIMEOUT_SECONDS")
    timeout_seconds: float = Field(10.0, gt=0, alias="WAVE_TIMEOUT_SECONDS")

    @property
    def api_key_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/payments/wave/api-key"

    @property
    def webhook_secret_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/payments/wave/webhook-secret"

    def return_url(self, payment_id: str, outcome: str) -> str:
        """Where Wave sends the payer back: the web app's payment page (else the API's base URL)."""
        base = (self.web_app_url or self.public_base_url).rstrip("/")
        return f"{base}/payments/{quote(payment_id, safe='')}/{outcome}"


@functools.cache
def wave_settings() -> WaveSettings:
    return WaveSettings.model_validate(dict(os.environ))


def wave_amount(payment: Payment) -> str:
    """The payment's amount as Wave takes it: major units as a string ("5000" XOF, "12.50" USD)."""
    return format(Money(amount=payment.amount, currency=payment.currency).to_major(), "f")


class WaveSession(BaseModel):
    """The fields of a Wave checkout session this provider reads (Wave sends more)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    amount: str
    currency: str
    checkout_status: str
    payment_status: str
    client_reference: str | None = None
    wave_launch_url: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.payment_status == "succeeded"

    def minor_amount(self) -> int:
        return Money.from_major(self.amount, self.currency).amount

    def signal(self) -> Signal | None:
        """Paid is completed; expired unpaid is failed; an open session (even after a failed attempt,
        which the payer may retry) is still undecided."""
        if self.succeeded:
            return Signal.COMPLETED
        if self.checkout_status == "expired":
            return Signal.FAILED
        return None


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    type: str
    data: dict[str, Any]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify_signature(secret: str, header: str | None, raw_body: bytes, now: datetime) -> None:
    """Raise unless one of the header's v1 signatures signs "<t>.<raw body>" and t is within 5 minutes."""
    if not header:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is missing")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1" and value:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise MalformedWebhook(f"The {SIGNATURE_HEADER} header is not t=<unix>,v1=<hex>")
    timestamp = int(timestamps[0])
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise InvalidSignature("The webhook's timestamp is outside the five-minute window")
    expected = signing.sign(secret, raw_body, timestamp).partition(",v1=")[2]
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures]
    if not any(matches):
        raise InvalidSignature("The webhook's signature does not match its body")


class WaveProvider:
    name = "wave"
    methods = frozenset({"wave"})

    def __init__(
        self, settings: WaveSettings | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings or wave_settings()
        timeouts = (self.settings.timeout_seconds, self.settings.connect_timeout_seconds)
        if transport is None:
            self._http = _shared_client(self.settings.base_url, *timeouts)
        else:
            self._http = _client(self.settings.base_url, *timeouts, transport=transport)

    # ------------------------------------------------------------------ the interface

    def create_checkout(self, payment: Payment) -> Checkout:
        body = {
            "amount": wave_amount(payment),
            "currency": payment.currency,
            "success_url": self.settings.return_url(payment.payment_id, "success"),
            "error_url": self.settings.return_url(payment.payment_id, "error"),
            "client_reference": payment.payment_id,
        }
        response = self._request(
            "POST", SESSIONS, json=body, idempotency_key=f"harambee-checkout-{payment.payment_id}"
        )
        session = self._check(payment, _session(response))
        if not session.wave_launch_url:
            raise ProviderUnavailable("Wave created a checkout session without a launch URL")
        return Checkout(provider_reference=session.id, checkout_url=session.wave_launch_url)

    def fetch_status(self, payment: Payment) -> Signal | None:
        session = self._find_session(payment)
        return None if session is None else session.signal()

    def cancel(self, payment: Payment) -> Signal | None:
        session = self._find_session(payment)
        if session is None or session.checkout_status != "open":
            return None if session is None else session.signal()
        response = self._request("POST", f"{SESSIONS}/{quote(session.id, safe='')}/expire")
        if response.is_success:
            return Signal.FAILED
        return self.fetch_status(payment)  # paid in the meantime, or already expired

    def refund(self, payment: Payment, amount: int, refund_id: str) -> RefundReceipt:
        if amount != payment.amount or payment.refunded_amount > 0:
            raise PartialRefundNotSupported(
                "Wave refunds only the whole payment",
                details={"requested": amount, "amount": payment.amount, "currency": payment.currency},
            )
        session = self._find_session(payment)
        if session is None or not session.succeeded:
            raise ProviderUnavailable(
                "Wave has no paid checkout session for this payment",
                details={"paymentId": payment.payment_id},
            )
        response = self._request(
            "POST",
            f"{SESSIONS}/{quote(session.id, safe='')}/refund",
            idempotency_key=f"harambee-refund-{refund_id}",
        )
        _require_success(response)
        return RefundReceipt(refund_id=refund_id, provider_reference=session.id)

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> WebhookEvent:
        secret = provider_secret(self.settings.webhook_secret, self.settings.webhook_secret_parameter)
        verify_signature(secret, _header(headers, SIGNATURE_HEADER), raw_body, now)
        try:
            event = _Event.model_validate_json(raw_body)
            signal = EVENT_SIGNALS.get(event.type)
            if signal is None:
                # Verified, but not one we act on: acknowledged so Wave stops resending it.
                return WebhookEvent(event_id=event.id, payment_id=None, signal=None)
            session = WaveSession.model_validate(event.data)
            if signal is Signal.FAILED and session.checkout_status == "open":
                # The payer can still pay this session: a failed attempt is noted, not final.
                signal = None
            if not session.client_reference:
                raise MalformedWebhook("The Wave checkout session carries no client_reference")
            if signal is Signal.COMPLETED and not session.succeeded:
                raise MalformedWebhook("A completed Wave checkout whose payment has not succeeded")
            if signal is None:
                return WebhookEvent(event_id=event.id, payment_id=session.client_reference, signal=None)
            return WebhookEvent(
                event_id=event.id,
                payment_id=session.client_reference,
                signal=signal,
                amount=session.minor_amount(),
                currency=session.currency.upper(),
            )
        except MalformedWebhook:
            raise
        except (ValidationError, ValueError, DomainError) as error:
            raise MalformedWebhook("The Wave notification is not a checkout session event") from error

    # ------------------------------------------------------------------ HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """The answer to one call; a 5xx is tried once more when repeating it is safe."""
        api_key = provider_secret(self.settings.api_key, self.settings.api_key_parameter)
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        attempts = 2 if method == "GET" or idempotency_key else 1
        for _ in range(attempts):
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx.TimeoutException as error:
                raise ProviderUnavailable(
                    "Wave did not answer in time", details={"operation": f"{method} {path}"}
                ) from error
            except httpx.TransportError as error:
                raise ProviderUnavailable(
                    "Wave could not be reached", details={"operation": f"{method} {path}"}
                ) from error
            if response.status_code < 500:
                return response
        raise ProviderUnavailable(
            f"Wave answered {response.status_code}",
            details={"operation": f"{method} {path}", "status": response.status_code},
        )

    def _find_session(self, payment: Payment) -> WaveSession | None:
        """The payment's session: by its reference, else the best of those naming it as client_reference."""
        if payment.provider_reference:
            path = f"{SESSIONS}/{quote(payment.provider_reference, safe='')}"
            return self._check(payment, _session(self._request("GET", path)))
        response = self._request("GET", f"{SESSIONS}/search", params={"client_reference": payment.payment_id})
        try:
            found = [WaveSession.model_validate(item) for item in _json(response)["result"]]
        except (KeyError, TypeError, ValidationError) as error:
            raise ProviderUnavailable("Wave answered a search with something unexpected") from error
        mine = [self._check(payment, session) for session in found]
        paid = [session for session in mine if session.succeeded]
        open_ = [session for session in mine if session.checkout_status == "open"]
        best = paid or open_ or mine
        return best[0] if best else None

    def _check(self, payment: Payment, session: WaveSession) -> WaveSession:
        """A session that is not for this payment, or for another amount, must never settle it."""
        try:
            same_amount = session.minor_amount() == payment.amount
        except DomainError:
            same_amount = False
        if (
            session.client_reference != payment.payment_id
            or not same_amount
            or session.currency.upper() != payment.currency
        ):
            raise ProviderUnavailable(
                "Wave answered with a checkout session that does not match the payment",
                details={"paymentId": payment.payment_id, "session": session.id},
            )
        return session


def _client(
    base_url: str, timeout: float, connect_timeout: float, *, transport: httpx.BaseTransport
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        transport=transport,
    )


@functools.cache
def _shared_client(base_url: str, timeout: float, connect_timeout: float) -> httpx.Client:
    """One pooled client per execution environment (its TLS context and connections stay warm);
    connect errors are retried twice by the transport. The API key goes on each request."""
    return _client(base_url, timeout, connect_timeout, transport=httpx.HTTPTransport(retries=2))


def _require_success(response: httpx.Response) -> None:
    if response.is_success:
        return
    code: Any = None
    try:
        document = response.json()
        code = document.get("code") if isinstance(document, dict) else None
    except ValueError:
        pass
    raise ProviderUnavailable(
        f"Wave refused the request ({response.status_code})",
        details={"status": response.status_code, "waveCode": code},
    )


def _json(response: httpx.Response) -> Any:
    _require_success(response)
    try:
        return response.json()
    except ValueError as error:
        raise ProviderUnavailable("Wave answered with something that is not JSON") from error


def _session(response: httpx.Response) -> WaveSession:
    try:
        return WaveSession.model_validate(_json(response))
    except ValidationError as error:
        raise ProviderUnavailable("Wave answered with something that is not a checkout session") from error
