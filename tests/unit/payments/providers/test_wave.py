"""The Wave provider against a local fake of Wave's Checkout API: checkout, status, refunds, webhooks."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harambee.errors import Unprocessable
from payments.domain.payment import PayableKind, Payment, PaymentStatus, Signal
from payments.providers.base import (
    InvalidSignature,
    MalformedWebhook,
    PaymentProvider,
    ProviderUnavailable,
    WebhookEvent,
)
from payments.providers.wave import (
    COMPLETED_EVENT,
    PAYMENT_FAILED_EVENT,
    PartialRefundNotSupported,
    WaveProvider,
    WaveSettings,
    wave_amount,
    wave_settings,
)
from tests.support import fake_wave
from tests.support.fake_wave import FakeWave, running_wave, signature_header, tampered, webhook_body

WEB_APP = "https://app.test.harambee.app"


@pytest.fixture
def wave() -> Iterator[FakeWave]:
    with running_wave() as fake:
        yield fake


def settings_for(wave: FakeWave, **overrides: Any) -> WaveSettings:
    values: dict[str, Any] = {
        "base_url": wave.base_url,
        "api_key": fake_wave.API_KEY,
        "webhook_secret": fake_wave.WEBHOOK_SECRET,
        "web_app_url": WEB_APP,
        "timeout_seconds": 2.0,
        **overrides,
    }
    return WaveSettings(**values)


@pytest.fixture
def provider(wave: FakeWave) -> WaveProvider:
    return WaveProvider(settings_for(wave))


def a_payment(amount: int = 5_000, currency: str = "XOF", **changes: Any) -> Payment:
    now = datetime.now(UTC)
    payment = Payment(
        payment_id=str(uuid.uuid4()),
        payable_kind=PayableKind.PLEDGE,
        payable_id="pl-1",
        owner_id=None,
        amount=amount,
        currency=currency,
        provider="wave",
        method="wave",
        created_at=now,
        updated_at=now,
    )
    return payment.model_copy(update=changes)


def checked_out(provider: WaveProvider, payment: Payment | None = None) -> Payment:
    payment = payment or a_payment()
    checkout = provider.create_checkout(payment)
    return payment.with_checkout(checkout.provider_reference, checkout.checkout_url, datetime.now(UTC))


def completed(payment: Payment) -> Payment:
    return payment.model_copy(update={"status": PaymentStatus.COMPLETED, "captured_amount": payment.amount})


# ------------------------------------------------------------------ checkout


def test_it_is_a_payment_provider_for_the_wave_method(provider: WaveProvider) -> None:
    as_protocol: PaymentProvider = provider
    assert (as_protocol.name, as_protocol.methods) == ("wave", frozenset({"wave"}))


def test_checkout_creates_a_session_naming_our_payment(provider: WaveProvider, wave: FakeWave) -> None:
    payment = a_payment(150_000)
    checkout = provider.create_checkout(payment)

    session = wave.sessions[checkout.provider_reference]
    assert checkout.checkout_url == session["wave_launch_url"]
    assert str(checkout.checkout_url).startswith("https://pay.wave.com/c/cos-")
    [request] = wave.calls("POST")
    assert request.path == "/v1/checkout/sessions"
    assert request.headers["authorization"] == f"Bearer {fake_wave.API_KEY}"
    assert request.headers["idempotency-key"] == f"harambee-checkout-{payment.payment_id}"
    assert request.json == {
        "amount": "150000",
        "currency": "XOF",
        "success_url": f"{WEB_APP}/payments/{payment.payment_id}/success",
        "error_url": f"{WEB_APP}/payments/{payment.payment_id}/error",
        "client_reference": payment.payment_id,
    }


def test_a_repeated_checkout_gets_the_same_session_back(provider: WaveProvider, wave: FakeWave) -> None:
    payment = a_payment()
    first, again = provider.create_checkout(payment), provider.create_checkout(payment)
    assert first == again
    assert len(wave.sessions) == 1
    assert {r.headers["idempotency-key"] for r in wave.calls("POST")} == {
        f"harambee-checkout-{payment.payment_id}"
    }


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [(5_000, "XOF", "5000"), (1, "XOF", "1"), (1_250, "USD", "12.50"), (7, "USD", "0.07")],
)
def test_amounts_go_to_wave_in_major_units_as_strings(amount: int, currency: str, expected: str) -> None:
    assert wave_amount(a_payment(amount, currency)) == expected


def test_success_and_error_urls_fall_back_to_the_public_base_url(wave: FakeWave) -> None:
    settings = settings_for(wave, web_app_url=None, public_base_url="https://api.test.harambee.app/")
    assert settings.return_url("p-1", "success") == "https://api.test.harambee.app/payments/p-1/success"


def test_a_wrong_api_key_is_a_provider_failure(wave: FakeWave) -> None:
    provider = WaveProvider(settings_for(wave, api_key="wave_sn_prod_revoked"))
    with pytest.raises(ProviderUnavailable) as raised:
        provider.create_checkout(a_payment())
    assert raised.value.details["waveCode"] == "api-key-not-found"
    assert wave.sessions == {}


# ------------------------------------------------------------------ status


def test_an_open_session_has_no_outcome_yet(provider: WaveProvider) -> None:
    assert provider.fetch_status(checked_out(provider)) is None


def test_a_paid_session_is_completed(provider: WaveProvider, wave: FakeWave) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.pay(payment.provider_reference)
    assert provider.fetch_status(payment) is Signal.COMPLETED
    assert wave.calls("GET")[-1].path == f"/v1/checkout/sessions/{payment.provider_reference}"


def test_a_failed_attempt_leaves_the_session_open_and_undecided(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.fail_attempt(payment.provider_reference)
    assert provider.fetch_status(payment) is None


def test_an_expired_unpaid_session_is_failed(provider: WaveProvider, wave: FakeWave) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.expire(payment.provider_reference)
    assert provider.fetch_status(payment) is Signal.FAILED


def test_without_a_stored_reference_the_session_is_found_by_client_reference(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = a_payment()
    assert provider.fetch_status(payment) is None  # nothing at Wave yet
    session_id = provider.create_checkout(payment).provider_reference  # answer lost: nothing stored
    wave.pay(session_id)
    assert provider.fetch_status(payment) is Signal.COMPLETED
    assert wave.calls("GET")[-1].path == f"/v1/checkout/sessions/search?client_reference={payment.payment_id}"


def test_a_session_for_another_amount_never_settles_the_payment(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.pay(payment.provider_reference)
    with pytest.raises(ProviderUnavailable):
        provider.fetch_status(payment.model_copy(update={"amount": 4_000}))


# ------------------------------------------------------------------ refunds


def test_a_full_refund_refunds_the_session(provider: WaveProvider, wave: FakeWave) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.pay(payment.provider_reference)
    receipt = provider.refund(completed(payment), payment.amount, "rf-1")
    assert (receipt.refund_id, receipt.provider_reference) == ("rf-1", payment.provider_reference)
    assert wave.refunds == {payment.provider_reference: "harambee-refund-rf-1"}
    # The same refund sent again (a retry) is answered as the first time, not refused.
    assert provider.refund(completed(payment), payment.amount, "rf-1") == receipt


def test_a_partial_refund_is_refused_before_anything_is_sent(provider: WaveProvider, wave: FakeWave) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.pay(payment.provider_reference)
    before = len(wave.received)
    with pytest.raises(PartialRefundNotSupported) as raised:
        provider.refund(completed(payment), 1_000, "rf-1")
    assert isinstance(raised.value, Unprocessable)
    assert (raised.value.status, raised.value.code) == (422, "PARTIAL_REFUND_NOT_SUPPORTED")
    # The service releases a refund's hold on ProviderUnavailable; this refusal must release it too.
    assert isinstance(raised.value, ProviderUnavailable)
    with pytest.raises(PartialRefundNotSupported):
        provider.refund(completed(payment).model_copy(update={"refunded_amount": 1}), 4_999, "rf-2")
    assert len(wave.received) == before
    assert wave.refunds == {}


def test_an_unpaid_session_cannot_be_refunded(provider: WaveProvider, wave: FakeWave) -> None:
    with pytest.raises(ProviderUnavailable):
        provider.refund(checked_out(provider), 5_000, "rf-1")
    assert wave.refunds == {}


# ------------------------------------------------------------------ failures


def test_a_timeout_is_provider_unavailable(wave: FakeWave) -> None:
    provider = WaveProvider(settings_for(wave, timeout_seconds=0.2))
    wave.delay = 0.6
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="in time"):
        provider.create_checkout(a_payment())
    assert time.monotonic() - started < 0.6


def test_a_5xx_is_retried_once_with_the_same_idempotency_key(provider: WaveProvider, wave: FakeWave) -> None:
    wave.fail_next = [503]
    payment = a_payment()
    checkout = provider.create_checkout(payment)
    posts = wave.calls("POST")
    assert len(posts) == 2
    assert {r.headers["idempotency-key"] for r in posts} == {f"harambee-checkout-{payment.payment_id}"}
    assert list(wave.sessions) == [checkout.provider_reference]


def test_a_second_5xx_is_provider_unavailable(provider: WaveProvider, wave: FakeWave) -> None:
    wave.fail_next = [502, 503, 500]
    with pytest.raises(ProviderUnavailable) as raised:
        provider.create_checkout(a_payment())
    assert raised.value.details["status"] == 503
    assert len(wave.received) == 2
    assert wave.fail_next == [500]


def test_status_checks_are_retried_once_on_5xx(provider: WaveProvider, wave: FakeWave) -> None:
    payment = checked_out(provider)
    wave.fail_next = [500]
    assert provider.fetch_status(payment) is None
    assert len(wave.calls("GET")) == 2


def test_an_unreachable_wave_is_provider_unavailable(wave: FakeWave) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    provider = WaveProvider(settings_for(wave, base_url=f"http://127.0.0.1:{closed}"))
    with pytest.raises(ProviderUnavailable, match="reached"):
        provider.fetch_status(a_payment(provider_reference="cos-1"))


# ------------------------------------------------------------------ webhooks


def paid_session(wave: FakeWave, provider: WaveProvider, payment: Payment | None = None) -> dict[str, Any]:
    payment = checked_out(provider, payment)
    assert payment.provider_reference is not None
    return wave.pay(payment.provider_reference)


def verify(provider: WaveProvider, body: bytes, headers: dict[str, str], now: datetime | None = None):
    return provider.verify_webhook(headers, body, now or datetime.now(UTC))


def test_a_signed_completed_event_is_the_payment_completed(provider: WaveProvider, wave: FakeWave) -> None:
    payment = a_payment(150_000)
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider, payment), event_id="AE_sn_1")
    event = verify(provider, body, signature_header(body))
    assert event == WebhookEvent(
        event_id="AE_sn_1",
        payment_id=payment.payment_id,
        signal=Signal.COMPLETED,
        amount=150_000,
        currency="XOF",
    )


def test_a_failed_attempt_on_a_session_still_open_is_noted_not_final(
    provider: WaveProvider, wave: FakeWave
) -> None:
    # The payer can still pay this session: failing the payment now would ignore a later success.
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    body = webhook_body(PAYMENT_FAILED_EVENT, wave.fail_attempt(payment.provider_reference))
    event = verify(provider, body, {"Wave-Signature": signature_header(body)["wave-signature"]})
    assert (event.payment_id, event.signal) == (payment.payment_id, None)


def test_a_payment_failed_event_on_a_closed_session_fails_the_payment(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.fail_attempt(payment.provider_reference)
    body = webhook_body(PAYMENT_FAILED_EVENT, wave.expire(payment.provider_reference))
    event = verify(provider, body, signature_header(body))
    assert (event.payment_id, event.signal) == (payment.payment_id, Signal.FAILED)


def test_one_of_several_signatures_may_match(provider: WaveProvider, wave: FakeWave) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    old = fake_wave.signature(body, int(time.time()), "a-rotated-secret")
    assert (
        verify(provider, body, signature_header(body, extra_signatures=(old, "00" * 32))).signal
        is Signal.COMPLETED
    )


def test_a_signature_with_another_secret_is_refused(provider: WaveProvider, wave: FakeWave) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    with pytest.raises(InvalidSignature):
        verify(provider, body, signature_header(body, secret="not-the-webhook-secret"))


def test_one_byte_changed_is_refused(provider: WaveProvider, wave: FakeWave) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    headers = signature_header(body)
    assert verify(provider, body, headers).amount == 5_000
    with pytest.raises(InvalidSignature):
        verify(provider, tampered(body), headers)
    with pytest.raises(InvalidSignature):
        verify(provider, body[:-1] + b" ", headers)


@pytest.mark.parametrize("offset", [-301, 301, -3_600, 86_400])
def test_stale_and_future_timestamps_are_refused(provider: WaveProvider, wave: FakeWave, offset: int) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    now = datetime.now(UTC)
    headers = signature_header(body, timestamp=int(now.timestamp()) + offset)
    with pytest.raises(InvalidSignature, match="five-minute"):
        verify(provider, body, headers, now)


@pytest.mark.parametrize("offset", [-300, 300])
def test_five_minutes_either_way_is_still_accepted(
    provider: WaveProvider, wave: FakeWave, offset: int
) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    now = datetime.fromtimestamp(int(time.time()), UTC)
    headers = signature_header(body, timestamp=int(now.timestamp()) + offset)
    assert verify(provider, body, headers, now).signal is Signal.COMPLETED


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", "t=now,v1=abc", "t=1700000000", "t=1,t=2,v1=abc", "sha256=abc"],
)
def test_a_missing_or_malformed_signature_header_is_malformed(
    provider: WaveProvider, wave: FakeWave, header: str | None
) -> None:
    body = webhook_body(COMPLETED_EVENT, paid_session(wave, provider))
    with pytest.raises(MalformedWebhook):
        verify(provider, body, {} if header is None else {"wave-signature": header})


@pytest.mark.parametrize(
    "event_type", ["merchant.payment_received", "b2b.payment_received", "test.test_event"]
)
def test_a_signed_event_of_another_type_is_acknowledged_without_a_transition(
    provider: WaveProvider, wave: FakeWave, event_type: str
) -> None:
    body = webhook_body(event_type, paid_session(wave, provider))
    assert verify(provider, body, signature_header(body)).signal is None


@pytest.mark.parametrize(
    "change",
    [
        {"client_reference": None},
        {"payment_status": "processing"},
        {"amount": "12.5"},
        {"amount": 5000.0},
        {"currency": "ZZZ"},
    ],
)
def test_a_signed_event_with_an_unusable_session_is_malformed(
    provider: WaveProvider, wave: FakeWave, change: dict[str, Any]
) -> None:
    body = webhook_body(COMPLETED_EVENT, {**paid_session(wave, provider), **change})
    with pytest.raises(MalformedWebhook):
        verify(provider, body, signature_header(body))


def test_a_signed_body_that_is_not_json_is_malformed(provider: WaveProvider) -> None:
    body = b"not json"
    with pytest.raises(MalformedWebhook):
        verify(provider, body, signature_header(body))


# ------------------------------------------------------------------ configuration


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("WAVE_BASE_URL", "WAVE_API_KEY", "WAVE_WEBHOOK_SECRET", "WEB_APP_URL"):
        monkeypatch.delenv(name, raising=False)
    wave_settings.cache_clear()
    yield
    wave_settings.cache_clear()


def test_settings_default_to_wave_s_api(clean_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.test.harambee.app")
    settings = wave_settings()
    assert settings.base_url == "https://api.wave.com"
    assert settings.api_key_parameter == "/harambee/test/payments/wave/api-key"
    assert settings.webhook_secret_parameter == "/harambee/test/payments/wave/webhook-secret"
    assert settings.return_url("p-1", "error") == "https://api.test.harambee.app/payments/p-1/error"


def test_secrets_come_from_ssm_when_the_environment_has_none(
    clean_settings: None, monkeypatch: pytest.MonkeyPatch, wave: FakeWave
) -> None:
    from aws_lambda_powertools.utilities import parameters

    monkeypatch.setenv("WAVE_BASE_URL", wave.base_url)
    monkeypatch.setenv("WAVE_API_KEY", "")
    monkeypatch.setenv("WEB_APP_URL", WEB_APP)
    with mock_aws():
        ssm = boto3.client("ssm")
        for name, value in (
            ("/harambee/test/payments/wave/api-key", fake_wave.API_KEY),
            ("/harambee/test/payments/wave/webhook-secret", fake_wave.WEBHOOK_SECRET),
        ):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        parameters.clear_caches()
        try:
            provider = WaveProvider()
            payment = a_payment()
            session_id = provider.create_checkout(payment).provider_reference
            body = webhook_body(COMPLETED_EVENT, wave.pay(session_id))
            assert verify(provider, body, signature_header(body)).payment_id == payment.payment_id
        finally:
            parameters.clear_caches()
    assert wave.calls("POST")[0].headers["authorization"] == f"Bearer {fake_wave.API_KEY}"


def test_cancel_expires_an_open_session_so_the_payer_cannot_pay_it(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = checked_out(provider)
    assert provider.cancel(payment) is Signal.FAILED
    assert wave.calls("POST")[-1].path == f"/v1/checkout/sessions/{payment.provider_reference}/expire"
    assert provider.fetch_status(payment) is Signal.FAILED


def test_cancel_of_a_paid_session_says_completed_and_sends_no_expiry(
    provider: WaveProvider, wave: FakeWave
) -> None:
    payment = checked_out(provider)
    assert payment.provider_reference is not None
    wave.pay(payment.provider_reference)
    assert provider.cancel(payment) is Signal.COMPLETED
    assert not any(call.path.endswith("/expire") for call in wave.calls("POST"))
