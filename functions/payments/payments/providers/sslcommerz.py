"""SSLCommerz (Bangladesh: bKash, Nagad, Rocket, cards) over its v4 API, with httpx.

- Checkout: `POST {base}/gwprocess/v4/api.php` (form) opens a session whose `tran_id` is our payment
  id; the payer goes to its `GatewayPageURL`.
- IPN: a form POST to `/api/payments/webhooks/sslcommerz`. `verify_sign` is the MD5 of the fields
  named in `verify_key` plus `store_passwd=md5(<store password>)`, sorted by name and joined as
  `name=value&…`. A signed `VALID` is still only a claim: the order validation API
  (`validationserverAPI.php?val_id=…`) must confirm it, and its answer (amount, currency, risk) is
  the one we use. A signed failure (`FAILED`, `CANCELLED`, `UNATTEMPTED`, `EXPIRED`) is checked
  against the transaction query by `tran_id`: a validated transaction there wins over it.
- Staleness: the IPN has no signed timestamp header, but `tran_date` (Asia/Dhaka wall time, UTC+6)
  must be among the signed fields and within `SSLCOMMERZ_IPN_MAX_AGE_MINUTES` (default a day) of
  now, and at most five minutes ahead. Replays inside that window are harmless: event ids are
  stable (`<val_id>:<signal>`, or `<tran_id>:<status>` for failures) so the webhook receipt
  deduplicates them, and a success is re-confirmed by the validation API every time.
- Risk: a validated transaction with `risk_level` 1 is held for review by SSLCommerz; it maps to
  `authorized` (never `completed`), so the payment does not settle until a later status check
  (verify, reconciliation) finds it cleared.

Transport: explicit timeouts, connection retries (`HTTPTransport(retries=2)`), one more attempt on
a 5xx for the read-only GETs (validation, transaction query); never for the session POST or the
refund. Timeouts, 5xx and unreadable answers are `ProviderUnavailable`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from harambee.errors import Unprocessable
from harambee.money import Money, exponent
from payments.domain.payment import Payment, Signal
from payments.providers.base import (
    Checkout,
    InvalidSignature,
    MalformedWebhook,
    ProviderNotConfigured,
    ProviderUnavailable,
    RefundReceipt,
    WebhookEvent,
)
from payments.providers.secrets import provider_secret

SANDBOX_BASE_URL = "https://sandbox.sslcommerz.com"
METHODS = frozenset({"bkash", "nagad", "rocket", "card"})
# Narrows the gateway page to the method the payer chose (SSLCommerz `multi_card_name`).
GATEWAYS = {
    "bkash": "bkash",
    "nagad": "nagad",
    "rocket": "dbblmobilebanking",
    "card": "visacard,mastercard,amexcard",
}
SESSION_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
TRANSACTION_PATH = "/validator/api/merchantTransIDvalidationAPI.php"
WEBHOOK_PATH = "/api/payments/webhooks/sslcommerz"
PARAMETER_SUFFIX = "payments/sslcommerz/store-password"

SUCCESS_STATUSES = frozenset({"VALID", "VALIDATED"})
FAILURE_STATUSES = frozenset({"FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"})
RISKY = "1"
# Bangladesh has kept UTC+6 without daylight saving since 2009; tran_date is Dhaka wall time.
DHAKA = timezone(timedelta(hours=6), "Asia/Dhaka")
TRAN_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
FUTURE_SKEW = timedelta(minutes=5)
# What every IPN must carry, and what its signature must cover for us to trust it.
IPN_REQUIRED = ("status", "tran_id", "verify_sign", "verify_key")
SIGNED_REQUIRED = frozenset({"status", "tran_id", "tran_date"})
GET_ATTEMPTS = 2
SUPPORTED_DECIMALS = 2


class RefundRefused(ProviderUnavailable):
    """SSLCommerz answered and said no; the service releases the held amount as for an outage."""

    status = 422
    code = "PROVIDER_REFUSED_REFUND"


class CurrencyNotSupported(Unprocessable):
    code = "CURRENCY_NOT_SUPPORTED"


class SslcommerzSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    base_url: str = Field(SANDBOX_BASE_URL, alias="SSLCOMMERZ_BASE_URL")
    store_id: str = Field("", alias="SSLCOMMERZ_STORE_ID")
    # Local stacks only; deployed stages read SSM `${SECRETS_PREFIX}/payments/sslcommerz/store-password`.
    store_password: SecretStr | None = Field(None, alias="SSLCOMMERZ_STORE_PASSWORD")
    public_base_url: str = Field("http://127.0.0.1:3000", alias="PUBLIC_BASE_URL")
    # Where SSLCommerz sends the payer's browser back to: the web app's payment page. Only the IPN
    # changes a payment; the return visit just shows its state.
    web_app_url: str | None = Field(None, alias="WEB_APP_URL")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    timeout_seconds: float = Field(10.0, gt=0, le=25, alias="SSLCOMMERZ_TIMEOUT_SECONDS")
    ipn_max_age_minutes: int = Field(1440, ge=1, alias="SSLCOMMERZ_IPN_MAX_AGE_MINUTES")
    # The gateway insists on customer details; a payment carries none, so these stand in.
    customer_name: str = Field("Harambee payer", alias="SSLCOMMERZ_CUSTOMER_NAME")
    customer_email: str = Field("payer@harambee.invalid", alias="SSLCOMMERZ_CUSTOMER_EMAIL")
    customer_phone: str = Field("01700000000", alias="SSLCOMMERZ_CUSTOMER_PHONE")
    customer_city: str = Field("Dhaka", alias="SSLCOMMERZ_CUSTOMER_CITY")
    customer_country: str = Field("Bangladesh", alias="SSLCOMMERZ_CUSTOMER_COUNTRY")

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def callback_base(self) -> str:
        return self.public_base_url.rstrip("/")

    @property
    def password_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/{PARAMETER_SUFFIX}"


@functools.cache
def sslcommerz_settings() -> SslcommerzSettings:
    return SslcommerzSettings.model_validate(dict(os.environ))


def store_password(settings: SslcommerzSettings) -> str:
    return provider_secret(settings.store_password, settings.password_parameter)


@functools.cache
def _client(timeout_seconds: float) -> httpx.Client:
    """One pooled client per execution environment (connections reused across invocations)."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(retries=2))


def format_amount(amount: int, currency: str) -> str:
    """Minor units as the gateway's major-unit string with two decimals ("1500.50"); never a float."""
    code = currency.upper()
    if exponent(code) > SUPPORTED_DECIMALS:
        raise CurrencyNotSupported(
            f"SSLCommerz takes two decimals; {code} has more", details={"currency": code}
        )
    major = Money(amount=amount, currency=code).to_major()
    return f"{major.quantize(Decimal('0.01')):f}"


def parse_amount(value: str, currency: str) -> int:
    """The gateway's major-unit string in minor units; anything not exactly representable is refused."""
    try:
        major = Decimal(value.strip())
        minor = major.scaleb(exponent(currency.upper()))
    except (InvalidOperation, ArithmeticError, Unprocessable) as error:
        raise MalformedWebhook(
            "SSLCommerz sent an amount that is not money", details={"amount": value, "currency": currency}
        ) from error
    if not minor.is_finite() or minor != minor.to_integral_value() or minor < 0:
        raise MalformedWebhook(
            "SSLCommerz sent an amount that is not money", details={"amount": value, "currency": currency}
        )
    return int(minor)


def verify_sign(fields: Mapping[str, str], password: str) -> str:
    """The MD5 SSLCommerz puts in `verify_sign` for the fields named in `verify_key`."""
    names = [name for name in fields.get("verify_key", "").split(",") if name]
    signed = {name: fields[name] for name in names}
    # MD5 is SSLCommerz's choice, not ours; usedforsecurity=False only keeps FIPS builds from refusing it.
    signed["store_passwd"] = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    text = "&".join(f"{name}={signed[name]}" for name in sorted(signed))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class _Outcome(BaseModel):
    """What SSLCommerz's own servers say about one transaction (validation API or query element)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str
    tran_id: str = ""
    val_id: str = ""
    amount: str = ""
    currency: str = ""
    currency_type: str = ""
    currency_amount: str = ""
    bank_tran_id: str = ""
    risk_level: str = "0"

    @property
    def succeeded(self) -> bool:
        return self.status.upper() in SUCCESS_STATUSES

    @property
    def signal(self) -> Signal:
        if not self.succeeded:
            return Signal.FAILED
        return Signal.AUTHORIZED if str(self.risk_level).strip() == RISKY else Signal.COMPLETED

    def money(self) -> tuple[int | None, str | None]:
        """The amount in the currency the session was opened in (currency_* when converted)."""
        currency = (self.currency_type or self.currency).upper()
        amount = self.currency_amount if self.currency_type else self.amount
        if not currency or not amount:
            return None, None
        return parse_amount(amount, currency), currency


class SslcommerzProvider:
    name = "sslcommerz"
    methods = METHODS

    def __init__(self, settings: SslcommerzSettings | None = None) -> None:
        self.settings = settings or sslcommerz_settings()
        if not self.settings.store_id:
            raise ProviderNotConfigured(
                "SSLCommerz has no store id (SSLCOMMERZ_STORE_ID)", details={"provider": self.name}
            )

    # ------------------------------------------------------------------ checkout

    def create_checkout(self, payment: Payment) -> Checkout:
        return_base = (self.settings.web_app_url or self.settings.callback_base).rstrip("/")
        callbacks = f"{return_base}/payments/{payment.payment_id}"
        form = {
            **self._credentials(),
            "total_amount": format_amount(payment.amount, payment.currency),
            "currency": payment.currency.upper(),
            "tran_id": payment.payment_id,
            "success_url": f"{callbacks}?outcome=success",
            "fail_url": f"{callbacks}?outcome=fail",
            "cancel_url": f"{callbacks}?outcome=cancel",
            "ipn_url": f"{self.settings.callback_base}{WEBHOOK_PATH}",
            "product_name": f"{payment.payable_kind} {payment.payable_id}"[:255],
            "product_category": str(payment.payable_kind),
            "product_profile": "non-physical-goods",
            "shipping_method": "NO",
            "num_of_item": "1",
            "cus_name": self.settings.customer_name,
            "cus_email": self.settings.customer_email,
            "cus_phone": self.settings.customer_phone,
            "cus_add1": self.settings.customer_city,
            "cus_city": self.settings.customer_city,
            "cus_country": self.settings.customer_country,
            "value_a": str(payment.payable_kind),
            "value_b": payment.payable_id,
        }
        if payment.method in GATEWAYS:
            form["multi_card_name"] = GATEWAYS[payment.method]
        answer = self._send("POST", SESSION_PATH, data=form, attempts=1)
        page = answer.get("GatewayPageURL")
        if str(answer.get("status", "")).upper() != "SUCCESS" or not isinstance(page, str) or not page:
            raise ProviderUnavailable(
                "SSLCommerz refused to open a checkout session",
                details={"provider": self.name, "reason": str(answer.get("failedreason") or "")},
            )
        reference = str(answer.get("sessionkey") or payment.payment_id)
        return Checkout(provider_reference=reference, checkout_url=page)

    # ------------------------------------------------------------------ status

    def fetch_status(self, payment: Payment) -> Signal | None:
        elements = self._transactions(payment.payment_id)
        decided = _decisive(elements)
        return None if decided is None else decided.signal

    def cancel(self, payment: Payment) -> Signal | None:
        # SSLCommerz has no API to void an open session (it expires on its own): its status is all we get.
        return self.fetch_status(payment)

    # ------------------------------------------------------------------ refunds

    def refund(self, payment: Payment, amount: int, refund_id: str) -> RefundReceipt:
        if payment.currency.upper() != "BDT":
            # The refund API takes an amount in the settled currency (BDT); converting is not ours to guess.
            raise RefundRefused(
                "SSLCommerz refunds are made in BDT; refund this payment from the merchant panel",
                details={"currency": payment.currency},
            )
        paid = next((e for e in self._transactions(payment.payment_id) if e.succeeded), None)
        if paid is None or not paid.bank_tran_id:
            raise RefundRefused(
                "SSLCommerz has no validated transaction to refund", details={"paymentId": payment.payment_id}
            )
        answer = self._send(
            "GET",
            TRANSACTION_PATH,
            params={
                **self._credentials(),
                "bank_tran_id": paid.bank_tran_id,
                "refund_amount": format_amount(amount, payment.currency),
                "refund_remarks": f"Harambee refund {refund_id}",
                "refe_id": refund_id,
                "format": "json",
            },
            attempts=1,
        )
        status = str(answer.get("status", "")).lower()
        if str(answer.get("APIConnect", "")).upper() != "DONE" or status not in {"success", "processing"}:
            raise RefundRefused(
                "SSLCommerz refused the refund",
                details={"status": status, "reason": str(answer.get("errorReason") or "")},
            )
        return RefundReceipt(
            refund_id=refund_id, provider_reference=str(answer.get("refund_ref_id") or refund_id)
        )

    # ------------------------------------------------------------------ IPN

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> WebhookEvent:
        fields = _form(raw_body)
        self._check_signature(fields)
        self._check_fresh(fields["tran_date"], now)
        status, tran_id = fields["status"].upper(), fields["tran_id"]
        if status == "VALID":
            return self._confirmed_success(fields)
        if status not in FAILURE_STATUSES:
            raise MalformedWebhook("SSLCommerz sent an IPN status we do not know", details={"status": status})
        # A failure may be an abandoned attempt; if SSLCommerz holds a validated one, that one wins.
        decided = _decisive(self._transactions(tran_id))
        if decided is not None and decided.succeeded:
            return _event(decided, tran_id)
        return WebhookEvent(event_id=f"{tran_id}:{status.lower()}", payment_id=tran_id, signal=Signal.FAILED)

    def _check_signature(self, fields: Mapping[str, str]) -> None:
        names = {name for name in fields["verify_key"].split(",") if name}
        missing = sorted(names - fields.keys())
        if missing:
            raise MalformedWebhook("The IPN lacks fields its verify_key names", details={"missing": missing})
        uncovered = sorted(
            (SIGNED_REQUIRED | ({"val_id"} if fields["status"].upper() == "VALID" else set())) - names
        )
        if uncovered:
            raise InvalidSignature("The IPN's signature does not cover", details={"unsigned": uncovered})
        expected = verify_sign(fields, store_password(self.settings))
        if not hmac.compare_digest(expected, fields["verify_sign"].strip().lower()):
            raise InvalidSignature("The IPN's verify_sign does not match its fields")
        store = fields.get("store_id")
        if store is not None and store != self.settings.store_id:
            raise InvalidSignature("The IPN is for another store")

    def _check_fresh(self, tran_date: str, now: datetime) -> None:
        try:
            at = datetime.strptime(tran_date.strip(), TRAN_DATE_FORMAT).replace(tzinfo=DHAKA)
        except ValueError as error:
            raise MalformedWebhook("The IPN's tran_date is not YYYY-MM-DD HH:MM:SS") from error
        current = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        oldest = current - timedelta(minutes=self.settings.ipn_max_age_minutes)
        if not oldest <= at <= current + FUTURE_SKEW:
            raise InvalidSignature(
                "The IPN's tran_date is outside the accepted window", details={"tranDate": tran_date}
            )

    def _confirmed_success(self, fields: Mapping[str, str]) -> WebhookEvent:
        val_id = fields.get("val_id", "")
        if not val_id:
            raise MalformedWebhook("A VALID IPN carries a val_id")
        answer = self._send(
            "GET", VALIDATION_PATH, params={"val_id": val_id, **self._credentials(), "format": "json"}
        )
        validated = _outcome(answer)
        if not validated.succeeded:
            raise InvalidSignature(
                "SSLCommerz's validation API does not confirm this IPN", details={"status": validated.status}
            )
        if validated.tran_id != fields["tran_id"] or (validated.val_id and validated.val_id != val_id):
            raise InvalidSignature("SSLCommerz validated another transaction than the IPN names")
        return _event(validated.model_copy(update={"val_id": val_id}), fields["tran_id"])

    # ------------------------------------------------------------------ HTTP

    def _credentials(self) -> dict[str, str]:
        return {"store_id": self.settings.store_id, "store_passwd": store_password(self.settings)}

    def _transactions(self, tran_id: str) -> list[_Outcome]:
        answer = self._send(
            "GET", TRANSACTION_PATH, params={"tran_id": tran_id, **self._credentials(), "format": "json"}
        )
        if str(answer.get("APIConnect", "")).upper() != "DONE":
            raise ProviderUnavailable(
                "SSLCommerz's transaction query did not answer",
                details={"provider": self.name, "apiConnect": str(answer.get("APIConnect", ""))},
            )
        elements = answer.get("element") or []
        if not isinstance(elements, list):
            raise ProviderUnavailable("SSLCommerz's transaction query answered garbage")
        found = [_outcome(element) for element in elements if isinstance(element, dict)]
        return [element for element in found if element.tran_id in ("", tran_id)]

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        attempts: int = GET_ATTEMPTS,
    ) -> dict[str, Any]:
        """One call's JSON answer; a 5xx is tried `attempts` times in all (GETs only)."""
        url = f"{self.settings.api_base}{path}"
        client = _client(self.settings.timeout_seconds)
        for attempt in range(1, attempts + 1):
            try:
                response = client.request(method, url, params=params, data=data)
            except httpx.TimeoutException as error:
                raise ProviderUnavailable(
                    "SSLCommerz timed out", details={"provider": self.name, "path": path}
                ) from error
            except httpx.TransportError as error:
                raise ProviderUnavailable(
                    "SSLCommerz could not be reached", details={"provider": self.name, "path": path}
                ) from error
            if response.status_code >= 500 and attempt < attempts:
                continue
            if not response.is_success:
                raise ProviderUnavailable(
                    "SSLCommerz answered with an error",
                    details={"provider": self.name, "path": path, "status": response.status_code},
                )
            try:
                answer = response.json()
            except ValueError as error:
                raise ProviderUnavailable("SSLCommerz answered with something other than JSON") from error
            if not isinstance(answer, dict):
                raise ProviderUnavailable("SSLCommerz answered with something other than an object")
            return answer
        raise ProviderUnavailable("SSLCommerz did not answer")  # pragma: no cover - the loop returns


def _form(raw_body: bytes) -> dict[str, str]:
    """The IPN's form fields (first value of each); MalformedWebhook unless it is one."""
    try:
        pairs = parse_qsl(raw_body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedWebhook("The IPN is not a form body") from error
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    missing = [name for name in (*IPN_REQUIRED, "tran_date") if not fields.get(name)]
    if missing:
        raise MalformedWebhook("The IPN lacks required fields", details={"missing": missing})
    return fields


def _outcome(document: Mapping[str, Any]) -> _Outcome:
    try:
        return _Outcome.model_validate(
            {name: str(value) for name, value in document.items() if value is not None}
        )
    except ValueError as error:
        raise ProviderUnavailable("SSLCommerz answered without a status") from error


def _decisive(elements: list[_Outcome]) -> _Outcome | None:
    """The attempt that settles the payment: a validated one, else a final failure, else none yet."""
    succeeded = [element for element in elements if element.succeeded]
    if succeeded:
        cleared = [element for element in succeeded if element.signal is Signal.COMPLETED]
        return (cleared or succeeded)[0]
    if elements and all(element.status.upper() in FAILURE_STATUSES for element in elements):
        return elements[0]
    return None


def _event(outcome: _Outcome, tran_id: str) -> WebhookEvent:
    amount, currency = outcome.money()
    signal = outcome.signal
    return WebhookEvent(
        event_id=f"{outcome.val_id or tran_id}:{signal}",
        payment_id=tran_id,
        signal=signal,
        amount=amount,
        currency=currency,
    )
