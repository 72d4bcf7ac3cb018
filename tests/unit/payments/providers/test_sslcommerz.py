"""SSLCommerz against a local fake of its v4 API: checkout, signed IPNs confirmed by the validation
API, status checks, refunds, and how timeouts and 5xx answers surface."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import boto3
import pytest
from moto import mock_aws

from payments.domain.payment import PayableKind, Payment, PaymentStatus, Signal
from payments.providers.base import (
    InvalidSignature,
    MalformedWebhook,
    ProviderNotConfigured,
    ProviderUnavailable,
)
from payments.providers.sslcommerz import (
    RefundRefused,
    SslcommerzProvider,
    SslcommerzSettings,
    format_amount,
    store_password,
)
from tests.support.fake_sslcommerz import (
    STORE_ID,
    STORE_PASSWORD,
    FakeSslcommerz,
    Transaction,
    dhaka_time,
    running_sslcommerz,
)

PUBLIC = "https://api.test.harambee.app"
VALIDATION = "/validator/api/validationserverAPI.php"
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"
SESSION = "/gwprocess/v4/api.php"


@pytest.fixture
def fake() -> Iterator[FakeSslcommerz]:
    with running_sslcommerz() as server:
        yield server


def settings_for(fake: FakeSslcommerz, **extra: object) -> SslcommerzSettings:
    return SslcommerzSettings.model_validate(
        {
            "SSLCOMMERZ_BASE_URL": fake.base_url,
            "SSLCOMMERZ_STORE_ID": STORE_ID,
            "SSLCOMMERZ_STORE_PASSWORD": STORE_PASSWORD,
            "PUBLIC_BASE_URL": PUBLIC,
            "SSLCOMMERZ_TIMEOUT_SECONDS": 2,
            **extra,
        }
    )


@pytest.fixture
def provider(fake: FakeSslcommerz) -> SslcommerzProvider:
    return SslcommerzProvider(settings_for(fake))


def payment(payment_id: str = "pay-1", *, amount: int = 150_050, currency: str = "BDT") -> Payment:
    now = datetime.now(UTC)
    return Payment(
        payment_id=payment_id,
        payable_kind=PayableKind.PLEDGE,
        payable_id="pl-1",
        owner_id=None,
        amount=amount,
        currency=currency,
        provider="sslcommerz",
        method="bkash",
        created_at=now,
        updated_at=now,
    )


def paid(fake: FakeSslcommerz, provider: SslcommerzProvider, **options: str) -> Transaction:
    provider.create_checkout(payment())
    return fake.pay("pay-1", **options)


def verify(provider: SslcommerzProvider, body: bytes, now: datetime | None = None):
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return provider.verify_webhook(headers, body, now or datetime.now(UTC))


# ------------------------------------------------------------------ checkout


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [
        (150_050, "BDT", "1500.50"),
        (1_000, "BDT", "10.00"),
        (2_500, "USD", "25.00"),
        (5_000, "XOF", "5000.00"),
    ],
)
def test_amounts_go_out_as_two_decimal_major_strings(amount: int, currency: str, wire: str) -> None:
    assert format_amount(amount, currency) == wire


def test_checkout_opens_a_session_named_by_the_payment_id(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    checkout = provider.create_checkout(payment())

    form = fake.sessions["pay-1"]
    assert (form["tran_id"], form["total_amount"], form["currency"]) == ("pay-1", "1500.50", "BDT")
    assert (form["store_id"], form["store_passwd"]) == (STORE_ID, STORE_PASSWORD)
    assert form["ipn_url"] == f"{PUBLIC}/api/payments/webhooks/sslcommerz"
    assert form["success_url"].startswith(f"{PUBLIC}/")
    assert form["multi_card_name"] == "bkash"
    assert checkout.checkout_url is not None
    assert checkout.checkout_url.startswith(f"{fake.base_url}/EasyCheckOut/")
    assert checkout.checkout_url.endswith(checkout.provider_reference)
    assert fake.requests == [("POST", SESSION)]


def test_a_refused_session_is_provider_unavailable(fake: FakeSslcommerz) -> None:
    wrong = SslcommerzProvider(settings_for(fake, SSLCOMMERZ_STORE_PASSWORD="not-the-password"))
    with pytest.raises(ProviderUnavailable) as raised:
        wrong.create_checkout(payment())
    assert "Credential" in raised.value.details["reason"]


def test_a_provider_without_a_store_id_is_not_configured(fake: FakeSslcommerz) -> None:
    with pytest.raises(ProviderNotConfigured):
        SslcommerzProvider(settings_for(fake, SSLCOMMERZ_STORE_ID=""))


# ------------------------------------------------------------------ IPN


def test_a_valid_ipn_confirmed_by_the_validation_api_completes(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)

    event = verify(provider, fake.ipn_body(transaction))

    assert event.signal is Signal.COMPLETED
    assert (event.payment_id, event.amount, event.currency) == ("pay-1", 150_050, "BDT")
    assert event.event_id == f"{transaction.val_id}:completed"
    assert ("GET", VALIDATION) in fake.requests


def test_a_repeated_ipn_is_the_same_event(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    transaction = paid(fake, provider)
    body = fake.ipn_body(transaction)
    first, again = verify(provider, body), verify(provider, body)  # VALID, then VALIDATED
    assert first == again


def test_a_wrong_verify_sign_is_refused(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    transaction = paid(fake, provider)
    with pytest.raises(InvalidSignature):
        verify(provider, fake.ipn_body(transaction, password="someone-elses-password"))
    with pytest.raises(InvalidSignature):
        verify(provider, fake.ipn_body(transaction, signature="0" * 32))
    assert ("GET", VALIDATION) not in fake.requests


def test_one_byte_changed_is_refused(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    transaction = paid(fake, provider)
    body = bytearray(fake.ipn_body(transaction))
    at = body.index(b"bank_tran_id=") + len(b"bank_tran_id=")
    body[at] = ord("X")
    with pytest.raises(InvalidSignature):
        verify(provider, bytes(body))


def test_an_ipn_whose_signature_leaves_out_the_status_is_refused(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)
    body = fake.ipn_body(transaction, verify_key="amount,tran_id,tran_date,val_id,currency")
    with pytest.raises(InvalidSignature):
        verify(provider, body)


@pytest.mark.parametrize("missing", ["verify_sign", "verify_key", "tran_id", "status", "tran_date", "amount"])
def test_an_ipn_missing_fields_is_malformed(
    fake: FakeSslcommerz, provider: SslcommerzProvider, missing: str
) -> None:
    transaction = paid(fake, provider)
    with pytest.raises(MalformedWebhook):
        verify(provider, fake.ipn_body(transaction, drop=(missing,)))


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b'{"status": "VALID"}', b"status=VALID"])
def test_something_that_is_not_an_ipn_is_malformed(provider: SslcommerzProvider, body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        verify(provider, body)


def test_a_signed_valid_ipn_the_validation_api_does_not_know_is_refused(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)
    body = fake.ipn_body(transaction, val_id="val-forged-by-nobody")
    with pytest.raises(InvalidSignature):
        verify(provider, body)
    assert ("GET", VALIDATION) in fake.requests


def test_a_valid_ipn_for_another_transaction_than_validated_is_refused(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)
    with pytest.raises(InvalidSignature):
        verify(provider, fake.ipn_body(transaction, tran_id="pay-other"))


def test_a_risky_transaction_is_held_as_authorized_not_completed(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider, risk_level="1")

    event = verify(provider, fake.ipn_body(transaction))

    assert event.signal is Signal.AUTHORIZED
    _, after = payment().on_signal(event.signal, datetime.now(UTC))
    assert (after.status, after.captured_amount) == (PaymentStatus.AUTHORIZED, 0)
    assert provider.fetch_status(payment()) is Signal.AUTHORIZED


@pytest.mark.parametrize("age", [timedelta(days=2), -timedelta(hours=1)])
def test_an_ipn_outside_the_window_is_refused(
    fake: FakeSslcommerz, provider: SslcommerzProvider, age: timedelta
) -> None:
    transaction = paid(fake, provider)
    body = fake.ipn_body(transaction, tran_date=dhaka_time(datetime.now(UTC) - age))
    with pytest.raises(InvalidSignature):
        verify(provider, body)


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"])
def test_failure_ipns_fail_the_payment(
    fake: FakeSslcommerz, provider: SslcommerzProvider, status: str
) -> None:
    transaction = paid(fake, provider, status=status)

    event = verify(provider, fake.ipn_body(transaction))

    assert (event.signal, event.event_id) == (Signal.FAILED, f"pay-1:{status.lower()}")
    assert ("GET", QUERY) in fake.requests


def test_a_failure_ipn_loses_to_a_validated_attempt(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    failed = paid(fake, provider, status="FAILED")
    succeeded = fake.pay("pay-1")

    event = verify(provider, fake.ipn_body(failed))

    assert (event.signal, event.event_id) == (Signal.COMPLETED, f"{succeeded.val_id}:completed")
    assert event.amount == 150_050


def test_an_unknown_ipn_status_is_malformed(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    transaction = paid(fake, provider, status="FAILED")
    with pytest.raises(MalformedWebhook):
        verify(provider, fake.ipn_body(transaction, status="MAYBE"))


# ------------------------------------------------------------------ status


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((), None),
        (("PENDING",), None),
        (("VALID",), Signal.COMPLETED),
        (("VALIDATED",), Signal.COMPLETED),
        (("FAILED",), Signal.FAILED),
        (("CANCELLED", "EXPIRED"), Signal.FAILED),
        (("FAILED", "VALID"), Signal.COMPLETED),
        (("FAILED", "PENDING"), None),
    ],
)
def test_fetch_status_reads_the_transaction_query(
    fake: FakeSslcommerz, provider: SslcommerzProvider, statuses: tuple[str, ...], expected: Signal | None
) -> None:
    provider.create_checkout(payment())
    for status in statuses:
        fake.pay("pay-1", status=status)
    assert provider.fetch_status(payment()) is expected


# ------------------------------------------------------------------ refunds


def test_a_refund_goes_to_the_bank_transaction_in_major_units(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)

    receipt = provider.refund(payment(), 50_025, "rf-1")

    sent = fake.refunds["rf-1"]
    assert (sent["bank_tran_id"], sent["refund_amount"], sent["refe_id"]) == (
        transaction.bank_tran_id,
        "500.25",
        "rf-1",
    )
    assert (receipt.refund_id, receipt.provider_reference) == ("rf-1", sent["refund_ref_id"])
    assert provider.refund(payment(), 50_025, "rf-1") == receipt  # same refe_id: already processing


def test_a_refund_sslcommerz_refuses_is_refund_refused(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    paid(fake, provider)
    with pytest.raises(RefundRefused) as raised:
        provider.refund(payment(), 150_051, "rf-too-much")
    assert isinstance(raised.value, ProviderUnavailable)
    assert raised.value.status == 422


def test_a_refund_of_an_unpaid_payment_is_refused(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    provider.create_checkout(payment())
    with pytest.raises(RefundRefused):
        provider.refund(payment(), 100, "rf-1")
    assert fake.refunds == {}


# ------------------------------------------------------------------ transport


def test_a_timeout_is_provider_unavailable(fake: FakeSslcommerz) -> None:
    slow = SslcommerzProvider(settings_for(fake, SSLCOMMERZ_TIMEOUT_SECONDS=0.2))
    fake.delay_seconds = 0.6
    with pytest.raises(ProviderUnavailable):
        slow.create_checkout(payment())
    with pytest.raises(ProviderUnavailable):
        slow.fetch_status(payment())


def test_a_5xx_on_a_get_is_retried_once(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    paid(fake, provider)
    fake.requests.clear()
    fake.fail_next = [503]

    assert provider.fetch_status(payment()) is Signal.COMPLETED
    assert fake.requests == [("GET", QUERY), ("GET", QUERY)]


def test_two_5xx_on_a_get_are_provider_unavailable(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    fake.fail_next = [500, 502, 503]
    with pytest.raises(ProviderUnavailable):
        provider.fetch_status(payment())
    assert len(fake.requests) == 2


def test_a_5xx_on_the_session_post_is_not_retried(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    fake.fail_next = [500]
    with pytest.raises(ProviderUnavailable):
        provider.create_checkout(payment())
    assert fake.requests == [("POST", SESSION)]
    assert fake.sessions == {}


def test_a_5xx_from_the_validation_api_leaves_the_ipn_unanswered(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    transaction = paid(fake, provider)
    fake.fail_next = [500, 500]
    with pytest.raises(ProviderUnavailable):
        verify(provider, fake.ipn_body(transaction))


def test_an_unreachable_provider_is_unavailable(fake: FakeSslcommerz) -> None:
    gone = SslcommerzProvider(settings_for(fake, SSLCOMMERZ_BASE_URL="http://127.0.0.1:9"))
    with pytest.raises(ProviderUnavailable):
        gone.fetch_status(payment())


# ------------------------------------------------------------------ configuration


def test_settings_come_from_the_environment_with_the_sandbox_as_default() -> None:
    settings = SslcommerzSettings.model_validate({"SSLCOMMERZ_STORE_ID": "s"})
    assert settings.base_url == "https://sandbox.sslcommerz.com"
    assert settings.store_password is None


def test_the_store_password_falls_back_to_ssm() -> None:
    settings = SslcommerzSettings.model_validate(
        {"SSLCOMMERZ_STORE_ID": "s", "SECRETS_PREFIX": "/harambee/ssl-test"}
    )
    with mock_aws():
        boto3.client("ssm").put_parameter(
            Name="/harambee/ssl-test/payments/sslcommerz/store-password",
            Value="from-ssm",
            Type="SecureString",
        )
        assert store_password(settings) == "from-ssm"


def test_the_registry_builds_it_where_the_stage_enables_it(
    fake: FakeSslcommerz, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments import providers, settings
    from payments.providers import sslcommerz

    for name, value in {
        "PAYMENT_PROVIDERS": "sslcommerz",
        "SSLCOMMERZ_BASE_URL": fake.base_url,
        "SSLCOMMERZ_STORE_ID": STORE_ID,
        "SSLCOMMERZ_STORE_PASSWORD": STORE_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    for cache in (settings.payments_settings, sslcommerz.sslcommerz_settings):
        cache.cache_clear()
    try:
        chosen = providers.provider("sslcommerz")
        assert isinstance(chosen, SslcommerzProvider)
        assert chosen.methods == {
            "bkash",
            "nagad",
            "rocket",
            "card",
        }
    finally:
        for cache in (settings.payments_settings, sslcommerz.sslcommerz_settings):
            cache.cache_clear()


def test_the_fake_signs_as_documented(fake: FakeSslcommerz, provider: SslcommerzProvider) -> None:
    transaction = paid(fake, provider)
    fields = dict(parse_qsl(fake.ipn_body(transaction).decode()))
    assert set(fields["verify_key"].split(",")) >= {"status", "tran_id", "tran_date", "val_id", "amount"}
    reordered = urlencode(dict(reversed(list(fields.items())))).encode()
    assert verify(provider, reordered).signal is Signal.COMPLETED


def test_cancel_has_no_api_so_it_only_reads_the_transaction_query(
    fake: FakeSslcommerz, provider: SslcommerzProvider
) -> None:
    # SSLCommerz cannot void an open session: cancel says what the transaction query says, and no more
    provider.create_checkout(payment())
    fake.requests.clear()
    assert provider.cancel(payment()) is None
    fake.pay("pay-1", status="VALID")
    assert provider.cancel(payment()) is Signal.COMPLETED
    assert set(fake.requests) == {("GET", QUERY)}
