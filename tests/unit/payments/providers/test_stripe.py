"""The Stripe provider against a local fake Stripe (tests.support.fake_stripe): PaymentIntents, status
checks, refunds, signed webhooks, timeouts and 5xx."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import httpx
import pytest
from moto import mock_aws

from payments.domain.payment import PayableKind, Payment, Signal
from payments.providers.base import InvalidSignature, MalformedWebhook, ProviderUnavailable
from payments.providers.stripe import (
    CardDeclined,
    StripeProvider,
    StripeRefused,
    StripeSettings,
)
from tests.support import fake_stripe
from tests.support.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, running_stripe


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with running_stripe() as server:
        yield server


def settings_for(stripe: FakeStripe, **overrides: object) -> StripeSettings:
    return StripeSettings.model_validate(
        {
            "STRIPE_BASE_URL": stripe.base_url,
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_READ_TIMEOUT_SECONDS": 2,
            **overrides,
        }
    )


@pytest.fixture
def provider(stripe: FakeStripe) -> StripeProvider:
    return StripeProvider(settings_for(stripe))


@pytest.fixture
def receiver() -> StripeProvider:
    """For webhooks only: verifying one makes no HTTP call."""
    return StripeProvider(StripeSettings.model_validate({"STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}))


def payment(amount: int = 150_000, currency: str = "USD", reference: str | None = None) -> Payment:
    now = datetime.now(UTC)
    return Payment(
        payment_id=str(uuid.uuid4()),
        payable_kind=PayableKind.PLEDGE,
        payable_id="pl-1",
        owner_id=None,
        amount=amount,
        currency=currency,
        provider="stripe",
        method="card",
        provider_reference=reference,
        created_at=now,
        updated_at=now,
    )


def checked_out(provider: StripeProvider, amount: int = 150_000) -> Payment:
    fresh = payment(amount)
    return fresh.model_copy(update={"provider_reference": provider.create_checkout(fresh).provider_reference})


# ------------------------------------------------------------------ create_checkout


def test_checkout_creates_a_form_encoded_intent_naming_our_payment(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    ours = payment(amount=2_599, currency="USD")
    checkout = provider.create_checkout(ours)

    assert checkout.checkout_url is None
    assert checkout.provider_reference.startswith("pi_")
    [sent] = stripe.requests
    assert (sent.method, sent.path) == ("POST", "/v1/payment_intents")
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["idempotency-key"] == f"harambee-checkout-{ours.payment_id}"
    assert sent.form == {
        "amount": "2599",
        "currency": "usd",
        "metadata[payment_id]": ours.payment_id,
        "metadata[payable_kind]": "pledge",
        "metadata[payable_id]": "pl-1",
        "automatic_payment_methods[enabled]": "true",
        "capture_method": "automatic",
    }
    intent = stripe.intents[checkout.provider_reference]
    assert intent["metadata"]["payment_id"] == ours.payment_id
    assert (intent["amount"], intent["currency"]) == (2_599, "usd")


def test_a_repeated_checkout_replays_the_same_intent(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = payment()
    first, again = provider.create_checkout(ours), provider.create_checkout(ours)
    assert first == again
    assert len(stripe.intents) == 1
    assert len({request.headers["idempotency-key"] for request in stripe.requests}) == 1


def test_a_zero_decimal_currency_is_sent_as_is(stripe: FakeStripe, provider: StripeProvider) -> None:
    provider.create_checkout(payment(amount=5_000, currency="XOF"))
    assert (stripe.requests[0].form["amount"], stripe.requests[0].form["currency"]) == ("5000", "xof")


def test_a_wrong_secret_key_is_provider_unavailable(stripe: FakeStripe) -> None:
    wrong = StripeProvider(settings_for(stripe, STRIPE_SECRET_KEY="sk_test_wrong"))
    with pytest.raises(ProviderUnavailable) as raised:
        wrong.create_checkout(payment())
    assert type(raised.value) is ProviderUnavailable
    assert raised.value.details["httpStatus"] == 401
    assert stripe.intents == {}


# ------------------------------------------------------------------ timeouts and 5xx


def test_a_5xx_is_retried_once_with_the_same_idempotency_key(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    stripe.fail_next = 1
    checkout = provider.create_checkout(payment())
    assert checkout.provider_reference in stripe.intents
    assert len(stripe.requests) == 2
    assert stripe.requests[0].headers["idempotency-key"] == stripe.requests[1].headers["idempotency-key"]


def test_two_5xx_in_a_row_are_provider_unavailable(stripe: FakeStripe, provider: StripeProvider) -> None:
    stripe.fail_next = 2
    with pytest.raises(ProviderUnavailable) as raised:
        provider.create_checkout(payment())
    assert raised.value.status == 502
    assert raised.value.details["httpStatus"] == 503
    assert len(stripe.requests) == 2
    assert stripe.intents == {}


def test_a_get_is_retried_once_after_a_5xx(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider)
    stripe.fail_next = 1
    assert provider.fetch_status(ours) is None
    assert [request.method for request in stripe.requests] == ["POST", "GET", "GET"]


def test_a_post_without_idempotency_key_is_never_retried(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    stripe.fail_next = 1
    with pytest.raises(ProviderUnavailable):
        provider._call("POST", "/v1/payment_intents", form={"amount": "100", "currency": "usd"})
    assert len(stripe.requests) == 1


def test_stripe_should_retry_false_is_honoured() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            500, json={"error": {"type": "api_error"}}, headers={"Stripe-Should-Retry": "false"}
        )

    mocked = StripeProvider(
        StripeSettings.model_validate({"STRIPE_SECRET_KEY": SECRET_KEY}),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(ProviderUnavailable):
        mocked.create_checkout(payment())
    assert len(calls) == 1


def test_a_timeout_is_provider_unavailable_and_not_retried(stripe: FakeStripe) -> None:
    impatient = StripeProvider(settings_for(stripe, STRIPE_READ_TIMEOUT_SECONDS=0.2))
    stripe.delay = 1.0
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as raised:
        impatient.create_checkout(payment())
    assert time.monotonic() - started < 0.9
    assert raised.value.details == {"timeout": True}
    assert len(stripe.requests) == 1


def test_an_unreachable_stripe_is_provider_unavailable() -> None:
    with running_stripe() as gone:
        base_url = gone.base_url
    unreachable = StripeProvider(
        StripeSettings.model_validate({"STRIPE_BASE_URL": base_url, "STRIPE_SECRET_KEY": SECRET_KEY})
    )
    with pytest.raises(ProviderUnavailable):
        unreachable.create_checkout(payment())


def test_a_card_error_is_card_declined() -> None:
    def declined(request: httpx.Request) -> httpx.Response:
        error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}
        return httpx.Response(402, json={"error": {**error, "message": "Your card has insufficient funds."}})

    mocked = StripeProvider(
        StripeSettings.model_validate({"STRIPE_SECRET_KEY": SECRET_KEY}),
        transport=httpx.MockTransport(declined),
    )
    with pytest.raises(CardDeclined) as raised:
        mocked.create_checkout(payment())
    assert (raised.value.status, raised.value.code) == (422, "CARD_DECLINED")
    assert raised.value.message == "Your card has insufficient funds."
    assert raised.value.details["declineCode"] == "insufficient_funds"


# ------------------------------------------------------------------ fetch_status


@pytest.mark.parametrize(
    ("status", "signal"),
    [
        ("requires_payment_method", None),
        ("requires_confirmation", None),
        ("requires_action", None),
        ("processing", None),
        ("requires_capture", Signal.AUTHORIZED),
        ("canceled", Signal.FAILED),
        ("succeeded", Signal.COMPLETED),
    ],
)
def test_fetch_status_maps_the_intent_status(
    stripe: FakeStripe, provider: StripeProvider, status: str, signal: Signal | None
) -> None:
    ours = checked_out(provider)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, status)
    assert provider.fetch_status(ours) is signal
    assert stripe.requests[-1].path == f"/v1/payment_intents/{ours.provider_reference}"


def test_a_payment_whose_intent_was_never_recorded_has_failed(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    assert provider.fetch_status(payment(reference=None)) is Signal.FAILED
    assert stripe.requests == []


def test_an_intent_stripe_does_not_know_is_refused(stripe: FakeStripe, provider: StripeProvider) -> None:
    with pytest.raises(StripeRefused) as raised:
        provider.fetch_status(payment(reference="pi_unknown"))
    assert raised.value.details["stripeCode"] == "resource_missing"


def test_an_unknown_intent_status_is_provider_unavailable(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    ours = checked_out(provider)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "something_new")
    with pytest.raises(ProviderUnavailable):
        provider.fetch_status(ours)


# ------------------------------------------------------------------ refunds


def test_a_partial_then_the_full_rest_is_refunded(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider, amount=10_000)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "succeeded")

    first = provider.refund(ours, 2_500, "rf-1")
    rest = provider.refund(ours, 7_500, "rf-2")

    assert first.refund_id == "rf-1"
    assert first.provider_reference.startswith("re_")
    assert rest.refund_id == "rf-2"
    assert rest.provider_reference != first.provider_reference
    sent = stripe.requests[-1]
    assert (sent.path, sent.headers["idempotency-key"]) == ("/v1/refunds", "harambee-refund-rf-2")
    assert sent.form == {
        "payment_intent": ours.provider_reference,
        "amount": "7500",
        "metadata[payment_id]": ours.payment_id,
        "metadata[refund_id]": "rf-2",
    }
    assert stripe.intents[ours.provider_reference]["amount_refunded"] == 10_000


def test_a_repeated_refund_refunds_once(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider, amount=10_000)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "succeeded")
    stripe.fail_next = 1  # the first attempt fails at Stripe's edge; the retry carries the same key
    receipts = {provider.refund(ours, 4_000, "rf-1"), provider.refund(ours, 4_000, "rf-1")}
    assert len(receipts) == 1
    assert stripe.intents[ours.provider_reference]["amount_refunded"] == 4_000


def test_an_over_refund_is_refused(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider, amount=10_000)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "succeeded")
    provider.refund(ours, 6_000, "rf-1")

    with pytest.raises(StripeRefused) as raised:
        provider.refund(ours, 4_001, "rf-2")

    assert (raised.value.status, raised.value.code) == (422, "PROVIDER_REFUSED")
    # Also a ProviderUnavailable: the payments service releases the refund's hold on it.
    assert isinstance(raised.value, ProviderUnavailable)
    assert raised.value.details["stripeCode"] == "amount_too_large"
    assert "greater than unrefunded amount" in raised.value.message
    assert stripe.intents[ours.provider_reference]["amount_refunded"] == 6_000
    assert len([request for request in stripe.requests if request.path == "/v1/refunds"]) == 2


def test_a_payment_with_no_intent_cannot_be_refunded(stripe: FakeStripe, provider: StripeProvider) -> None:
    with pytest.raises(StripeRefused):
        provider.refund(payment(reference=None), 100, "rf-1")
    assert stripe.requests == []


# ------------------------------------------------------------------ webhooks


def _webhook(event_type: str, payment_id: str | None = "pay-1", **intent: object) -> bytes:
    obj = fake_stripe.intent_object(payment_id, amount=150_000, currency="usd")
    return fake_stripe.event(event_type, {**obj, **intent}, event_id="evt_1")


@pytest.mark.parametrize(
    ("event_type", "signal"),
    [
        ("payment_intent.amount_capturable_updated", Signal.AUTHORIZED),
        ("payment_intent.succeeded", Signal.COMPLETED),
        ("payment_intent.canceled", Signal.FAILED),
    ],
)
def test_a_signed_event_is_verified_and_mapped(
    receiver: StripeProvider, event_type: str, signal: Signal
) -> None:
    body = _webhook(event_type)
    event = receiver.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC))
    assert (event.event_id, event.payment_id, event.signal) == ("evt_1", "pay-1", signal)
    assert (event.amount, event.currency) == (150_000, "USD")


def test_an_event_from_the_fake_server_round_trips(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "succeeded")
    body = stripe.event("payment_intent.succeeded", ours.provider_reference)
    headers = {"Stripe-Signature": fake_stripe.signed_webhook(body)["stripe-signature"]}  # any header case
    event = provider.verify_webhook(headers, body, datetime.now(UTC))
    assert (event.payment_id, event.signal, event.amount) == (ours.payment_id, Signal.COMPLETED, ours.amount)


def test_any_of_several_v1_signatures_may_match(receiver: StripeProvider) -> None:
    body = _webhook("payment_intent.succeeded")
    headers = fake_stripe.signed_webhook(body, extra_signatures=("00" * 32, "not-hex"))
    assert receiver.verify_webhook(headers, body, datetime.now(UTC)).signal is Signal.COMPLETED


def test_a_signature_with_another_secret_is_refused(receiver: StripeProvider) -> None:
    body = _webhook("payment_intent.succeeded")
    with pytest.raises(InvalidSignature):
        receiver.verify_webhook(fake_stripe.signed_webhook(body, valid=False), body, datetime.now(UTC))


@pytest.mark.parametrize("offset", [-301, 301, -3_600, 86_400])
def test_a_stale_or_future_timestamp_is_refused(receiver: StripeProvider, offset: int) -> None:
    body = _webhook("payment_intent.succeeded")
    now = int(time.time())
    headers = fake_stripe.signed_webhook(body, timestamp=now + offset)
    with pytest.raises(InvalidSignature, match="five-minute window"):
        receiver.verify_webhook(headers, body, datetime.fromtimestamp(now, UTC))


@pytest.mark.parametrize("offset", [-300, 300])
def test_five_minutes_either_way_is_accepted(receiver: StripeProvider, offset: int) -> None:
    body = _webhook("payment_intent.succeeded")
    now = int(time.time())
    headers = fake_stripe.signed_webhook(body, timestamp=now + offset)
    assert receiver.verify_webhook(headers, body, datetime.fromtimestamp(now, UTC)).event_id == "evt_1"


def test_one_byte_changed_is_refused(receiver: StripeProvider) -> None:
    body = _webhook("payment_intent.succeeded")
    headers = fake_stripe.signed_webhook(body)
    tampered = body.replace(b"150000", b"150001", 1)
    assert len(tampered) == len(body)
    assert tampered != body
    with pytest.raises(InvalidSignature):
        receiver.verify_webhook(headers, tampered, datetime.now(UTC))


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", "t=now,v1=abc", "t=1700000000", "t=1700000000,v0=abc", "t=1700000000,v1="],
)
def test_a_missing_or_malformed_header_is_malformed(receiver: StripeProvider, header: str | None) -> None:
    body = _webhook("payment_intent.succeeded")
    headers = {} if header is None else {"stripe-signature": header}
    with pytest.raises(MalformedWebhook):
        receiver.verify_webhook(headers, body, datetime.now(UTC))


def test_a_signed_body_that_is_not_an_event_is_malformed(receiver: StripeProvider) -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(MalformedWebhook):
        receiver.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC))


@pytest.mark.parametrize(
    "event_type",
    ["payment_intent.payment_failed", "charge.refunded", "payment_intent.created", "customer.created"],
)
def test_events_we_do_not_act_on_are_acknowledged_once_their_signature_holds(
    receiver: StripeProvider, event_type: str
) -> None:
    """A failed attempt is not final at Stripe (the payer may retry the intent; `canceled` is final),
    and other types change nothing: verified, noted, no transition, so Stripe stops resending."""
    body = _webhook(event_type)
    event = receiver.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC))
    assert (event.event_id, event.signal) == ("evt_1", None)
    # The signature is checked first: a forged event is still a 401.
    with pytest.raises(InvalidSignature):
        receiver.verify_webhook(fake_stripe.signed_webhook(body, valid=False), body, datetime.now(UTC))


def test_an_intent_without_our_payment_id_is_noted_not_applied(receiver: StripeProvider) -> None:
    body = _webhook("payment_intent.succeeded", payment_id=None)
    event = receiver.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC))
    assert (event.payment_id, event.signal) == (None, None)


def test_a_float_amount_in_an_event_is_malformed(receiver: StripeProvider) -> None:
    body = _webhook("payment_intent.succeeded", amount_received=1500.0)
    with pytest.raises(MalformedWebhook):
        receiver.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC))


# ------------------------------------------------------------------ configuration


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRIPE_BASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = StripeProvider().settings
    assert settings.base_url == "https://api.stripe.com"
    assert settings.secret_key is None
    assert settings.webhook_secret is None
    assert settings.secret_key_parameter == "/harambee/test/payments/stripe/secret-key"
    assert settings.webhook_secret_parameter == "/harambee/test/payments/stripe/webhook-secret"
    monkeypatch.setenv("STRIPE_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_env")
    settings = StripeProvider().settings
    assert settings.base_url == "http://127.0.0.1:1"
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "sk_test_env"
    assert "sk_test_env" not in repr(settings)
    assert StripeProvider.methods == frozenset({"card", "credit_card"})


def test_secrets_fall_back_to_ssm(stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters

    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRIPE_BASE_URL", stripe.base_url)
    with mock_aws():
        parameters.clear_caches()
        monkeypatch.setattr(parameters.ssm, "DEFAULT_PROVIDERS", {})
        ssm = boto3.client("ssm")
        ssm.put_parameter(
            Name="/harambee/test/payments/stripe/secret-key", Value=SECRET_KEY, Type="SecureString"
        )
        ssm.put_parameter(
            Name="/harambee/test/payments/stripe/webhook-secret", Value=WEBHOOK_SECRET, Type="SecureString"
        )
        from_ssm = StripeProvider()
        assert from_ssm.create_checkout(payment()).provider_reference.startswith("pi_")
        body = _webhook("payment_intent.succeeded")
        assert from_ssm.verify_webhook(fake_stripe.signed_webhook(body), body, datetime.now(UTC)).event_id
        parameters.clear_caches()


def test_the_registry_builds_the_stripe_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from payments import providers, settings

    monkeypatch.setenv("PAYMENT_PROVIDERS", "stripe")
    settings.payments_settings.cache_clear()
    try:
        assert isinstance(providers.provider("stripe"), StripeProvider)
    finally:
        settings.payments_settings.cache_clear()


def test_no_float_amount_reaches_stripe(stripe: FakeStripe, provider: StripeProvider) -> None:
    ours = checked_out(provider)
    with pytest.raises(StripeRefused):
        provider.refund(ours, 12.5, "rf-1")  # type: ignore[arg-type]
    assert json.dumps([request.form for request in stripe.requests]).count("12.5") == 0


# ------------------------------------------------------------------ cancel


def test_cancel_stops_an_unfinished_intent_so_the_payer_cannot_confirm_it(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    ours = checked_out(provider)
    assert provider.cancel(ours) is Signal.FAILED
    sent = stripe.requests[-1]
    assert (sent.method, sent.path) == ("POST", f"/v1/payment_intents/{ours.provider_reference}/cancel")
    assert sent.headers["idempotency-key"] == f"harambee-cancel-{ours.payment_id}"
    assert provider.fetch_status(ours) is Signal.FAILED


def test_cancel_of_an_intent_that_already_succeeded_says_completed(
    stripe: FakeStripe, provider: StripeProvider
) -> None:
    ours = checked_out(provider)
    assert ours.provider_reference is not None
    stripe.set_status(ours.provider_reference, "succeeded")
    # Stripe refuses the cancel; its status check then tells us the money was taken
    assert provider.cancel(ours) is Signal.COMPLETED
