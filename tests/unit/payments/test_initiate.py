"""POST /api/payments/initiate: the amount is the payable's, the key is required, one active payment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tokens import access_token, new_key, publish_jwks
from tests.unit.payments.conftest import DONOR, announce, call, initiate, items, outbox_types, pledge

BODY = {"pledgeId": "pl-1", "provider": "sandbox", "method": "bkash"}


def test_an_anonymous_pledge_is_paid_without_a_token_for_the_pledges_own_amount(payments_table: str) -> None:
    # Given an anonymous pledge of 1,500.00 BDT announced by donations
    pledge("pl-1", amount=150_000, currency="BDT")
    # When someone initiates its payment without signing in
    started = initiate("pl-1")
    # Then a pending sandbox payment for exactly the pledge's amount exists, with a checkout URL
    assert started.status == 201, started
    assert (started.data["status"], started.data["amount"], started.data["currency"]) == (
        "pending",
        150_000,
        "BDT",
    )
    assert started.data["checkoutUrl"].endswith(f"/api/payments/sandbox/checkout/{started.data['paymentId']}")
    assert started.data["paymentReference"] == f"sbx_{started.data['paymentId']}"
    assert started.headers["location"] == f"/api/payments/{started.data['paymentId']}"
    assert outbox_types(payments_table) == ["payment.initiated"]


@pytest.mark.parametrize("forged", [{"amount": 1}, {"currency": "USD"}, {"ownerId": "u-x"}])
def test_the_client_cannot_name_the_amount_or_currency(payments_table: str, forged: dict[str, Any]) -> None:
    pledge("pl-1")
    reply = call("POST", "/api/payments/initiate", body={**BODY, **forged}, key="forged-key-1")
    assert (reply.status, reply.error["code"]) == (422, "VALIDATION_FAILED")
    assert items(payments_table, "PAYMENT#") == []


def test_a_money_route_without_an_idempotency_key_is_a_400(payments_table: str) -> None:
    pledge("pl-1")
    reply = call("POST", "/api/payments/initiate", body=BODY)
    assert (reply.status, reply.error["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert items(payments_table, "PAYMENT#") == []


def test_the_same_key_replays_and_the_same_key_with_another_body_is_a_422(payments_table: str) -> None:
    pledge("pl-1")
    pledge("pl-2")
    first = call("POST", "/api/payments/initiate", body=BODY, key="same-key-0001")
    again = call("POST", "/api/payments/initiate", body=BODY, key="same-key-0001")
    other = call("POST", "/api/payments/initiate", body={**BODY, "pledgeId": "pl-2"}, key="same-key-0001")
    assert (first.status, again.status, again.headers.get("idempotent-replayed")) == (201, 201, "true")
    assert again.data["paymentId"] == first.data["paymentId"]
    assert (other.status, other.error["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len([item for item in items(payments_table, "PAYMENT#") if item["sk"]["S"] == "PAYMENT"]) == 1


def test_a_second_payment_for_a_pledge_with_a_live_payment_is_a_409(payments_table: str) -> None:
    pledge("pl-1")
    first = initiate("pl-1")
    second = initiate("pl-1")
    assert (second.status, second.error["code"]) == (409, "PAYMENT_ALREADY_ACTIVE")
    assert second.error["details"] == {"paymentId": first.data["paymentId"]}


def test_a_failed_payment_closes_its_pledge_so_try_again_cannot_take_money_for_a_failed_pledge(
    payments_table: str,
) -> None:
    # Given a pledge whose card was declined (its saga then fails the pledge)
    pledge("pl-1")
    first = initiate("pl-1").data["paymentId"]
    call("POST", f"/api/payments/sandbox/{first}/complete", body={"outcome": "failure"})
    # When the donor taps "try again"
    retry = initiate("pl-1")
    # Then no second payment starts: the pledge can no longer be paid
    assert (retry.status, retry.error["code"]) == (422, "PAYABLE_CLOSED")
    payable = next(i for i in items(payments_table, "PAYABLE#pledge#pl-1") if i["sk"]["S"] == "PAYABLE")
    assert payable["closedReason"]["S"] == "payment_failed"
    assert "activePaymentId" not in payable


def test_a_failed_payment_frees_an_order_for_another_attempt(payments_table: str) -> None:
    announce("order.created", {"orderId": "o-1", "buyerId": None, "amount": 2_000, "currency": "BDT"})
    body = {"orderId": "o-1", "provider": "sandbox", "method": "bkash"}
    first = call("POST", "/api/payments/initiate", body=body, key="order-key-1").data["paymentId"]
    call("POST", f"/api/payments/sandbox/{first}/complete", body={"outcome": "failure"})
    retry = call("POST", "/api/payments/initiate", body=body, key="order-key-2")
    assert retry.status == 201
    assert retry.data["paymentId"] != first


def test_a_signed_in_donors_pledge_needs_their_token(payments_table: str) -> None:
    # Given a pledge owned by u-donor and the identity keys published
    key = new_key()
    publish_jwks(key)
    pledge("pl-own", donor="u-donor")
    body = {"pledgeId": "pl-own", "provider": "sandbox", "method": "card"}
    # Then no token is a 401, a bad token a 401, someone else's a 403, and the donor's own a 201
    assert call("POST", "/api/payments/initiate", body=body, key="own-key-0001").status == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert call("POST", "/api/payments/initiate", body=body, key="own-key-0002", headers=bad).status == 401
    other = {"Authorization": f"Bearer {access_token(key, user_id='u-other')}"}
    assert call("POST", "/api/payments/initiate", body=body, key="own-key-0003", headers=other).status == 403
    own = {"Authorization": f"Bearer {access_token(key, user_id='u-donor')}"}
    started = call("POST", "/api/payments/initiate", body=body, key="own-key-0004", headers=own)
    assert started.status == 201, started
    assert started.data["ownerId"] == "u-donor"
    assert call("GET", f"/api/payments/{started.data['paymentId']}", caller=DONOR).status == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**BODY, "pledgeId": "pl-unknown"}, 404, "PAYABLE_NOT_FOUND"),
        ({**BODY, "provider": "stripe"}, 422, "PROVIDER_NOT_CONFIGURED"),
        ({**BODY, "method": "cash"}, 422, "METHOD_NOT_SUPPORTED"),
        (
            {"orderId": "o-1", "pledgeId": "pl-1", "provider": "sandbox", "method": "card"},
            422,
            "VALIDATION_FAILED",
        ),
    ],
)
def test_what_cannot_be_paid_is_refused(
    payments_table: str, body: dict[str, Any], status: int, code: str
) -> None:
    pledge("pl-1")
    reply = call("POST", "/api/payments/initiate", body=body, key="refused-key-1")
    assert (reply.status, reply.error["code"]) == (status, code)


def test_orders_and_invoices_are_payable_by_their_owner(payments_table: str) -> None:
    announce("order.created", {"orderId": "o-1", "buyerId": "u-donor", "amount": 2500, "currency": "usd"})
    announce(
        "invoice.issued", {"invoiceId": "i-1", "customerId": "u-donor", "amount": 990, "currency": "XOF"}
    )
    order = call(
        "POST",
        "/api/payments/initiate",
        body={"orderId": "o-1", "provider": "sandbox", "method": "credit_card"},
        caller=DONOR,
        key="order-key-01",
    )
    invoice = call(
        "POST",
        "/api/payments/initiate",
        body={"invoiceId": "i-1", "provider": "sandbox", "method": "wave"},
        caller=DONOR,
        key="invoice-key-01",
    )
    assert (order.status, order.data["amount"], order.data["currency"]) == (201, 2500, "USD")
    assert (invoice.status, invoice.data["amount"], invoice.data["currency"]) == (201, 990, "XOF")


def test_without_the_sandbox_enabled_the_sandbox_is_neither_a_provider_nor_a_page(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments.settings import payments_settings

    pledge("pl-1")
    payment_id = initiate("pl-1").data["paymentId"]
    monkeypatch.setenv("SANDBOX_PAYMENTS_ENABLED", "false")
    payments_settings.cache_clear()
    pledge("pl-2")
    assert initiate("pl-2").error["code"] == "PROVIDER_NOT_CONFIGURED"
    assert call("GET", f"/api/payments/sandbox/checkout/{payment_id}").status == 404
    complete = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert complete.status == 404


def test_the_canonical_initiate_event_starts_a_payment(payments_table: str) -> None:
    from tests.support.events import load_event
    from tests.unit.payments.conftest import Reply, invoke

    pledge("pl-sample-1")
    started = Reply(invoke(load_event("payments/api_initiate")))
    assert (started.status, started.data["status"], started.data["payableId"]) == (
        201,
        "pending",
        "pl-sample-1",
    )


def test_a_stripe_payment_hands_the_payer_its_client_secret(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage configured for Stripe (against the local fake) and a payable pledge
    from payments import settings
    from tests.support.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, running_stripe

    with running_stripe() as stripe:
        for name, value in {
            "PAYMENT_PROVIDERS": "stripe",
            "STRIPE_BASE_URL": stripe.base_url,
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        settings.payments_settings.cache_clear()
        pledge("pl-stripe")
        # When the donor initiates with Stripe, Then the answer carries what Stripe.js needs to confirm
        started = call(
            "POST",
            "/api/payments/initiate",
            body={"pledgeId": "pl-stripe", "provider": "stripe", "method": "card"},
            headers={"Idempotency-Key": "key-stripe-0001"},
        )
    assert started.status == 201
    assert started.data["paymentReference"].startswith("pi_")
    assert started.data["clientSecret"].startswith(started.data["paymentReference"])
    assert started.data["checkoutUrl"] is None
