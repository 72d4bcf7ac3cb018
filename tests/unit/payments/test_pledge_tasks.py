"""The tasks donations runs on payments: donate's synchronous initiation and the saga's compensation."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.payments.conftest import ADMIN, call, initiate, invoke, items, pledge


def _task(name: str, **payload: Any) -> Any:
    return invoke({"task": name, **payload})


def _initiate_pledge(pledge_id: str = "pl-d", *, donor: str | None = "u-donor", amount: int = 20_000) -> Any:
    payable = {
        "pledgeId": pledge_id,
        "campaignId": "c-1",
        "donorId": donor,
        "amount": amount,
        "currency": "BDT",
    }
    return _task("payments.initiate-pledge", pledge=payable, provider="sandbox", method="bkash")


def _events(table: str, event_type: str) -> list[dict[str, Any]]:
    envelopes = [json.loads(item["envelope"]["S"]) for item in items(table, "OUTBOX#")]
    return [e for e in envelopes if e["eventType"] == event_type]


def _status(payment_id: str) -> str:
    return str(call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["status"])


def test_given_donations_vouches_for_a_donor_then_the_payment_starts_without_the_inbox(
    payments_table: str,
) -> None:
    answer = _initiate_pledge()

    payment = answer["payment"]
    assert (payment["payableId"], payment["ownerId"], payment["amount"], payment["status"]) == (
        "pl-d",
        "u-donor",
        20_000,
        "pending",
    )
    assert payment["checkoutUrl"].endswith(f"/api/payments/sandbox/checkout/{payment['paymentId']}")
    assert payment["accessToken"]
    # The later pledge.created announcement agrees, so the inbox accepts it; another amount would not.
    pledge("pl-d", donor="u-donor", amount=20_000)


def test_refusals_come_back_as_errors_for_the_callers_http_answer(payments_table: str) -> None:
    _initiate_pledge()

    twice = _initiate_pledge()
    other_amount = _initiate_pledge(amount=1)
    no_provider = _task(
        "payments.initiate-pledge",
        pledge={"pledgeId": "pl-x", "amount": 100, "currency": "BDT"},
        provider="stripe",
        method="card",
    )

    assert (twice["error"]["status"], twice["error"]["code"]) == (409, "PAYMENT_ALREADY_ACTIVE")
    assert (other_amount["error"]["status"], other_amount["error"]["code"]) == (422, "PAYABLE_MISMATCH")
    assert (no_provider["error"]["status"], no_provider["error"]["code"]) == (422, "PROVIDER_NOT_CONFIGURED")


def test_compensating_a_pledge_without_a_payment_closes_it_to_new_payments(payments_table: str) -> None:
    answer = _task("payments.compensate-pledge", pledgeId="pl-1", reason="campaign_invalid")
    pledge("pl-1")  # the announcement may arrive after the saga gave the pledge up

    refused = initiate("pl-1")

    assert answer == {"pledgeId": "pl-1", "result": "no_payment"}
    assert (refused.status, refused.error["code"]) == (422, "PAYABLE_CLOSED")


def test_compensating_an_open_payment_fails_it_once(payments_table: str) -> None:
    payment_id = _initiate_pledge()["payment"]["paymentId"]

    first = _task("payments.compensate-pledge", pledgeId="pl-d", reason="payment_timeout")
    again = _task("payments.compensate-pledge", pledgeId="pl-d", reason="payment_timeout")

    assert (first["result"], first["status"]) == ("failed", "failed")
    assert again["result"] == "no_payment"  # the failure released the payable
    assert _status(payment_id) == "failed"
    assert len(_events(payments_table, "payment.failed")) == 1


def test_compensating_a_completed_payment_refunds_it_once_without_an_audit(payments_table: str) -> None:
    payment_id = _initiate_pledge()["payment"]["paymentId"]
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})

    first = _task("payments.compensate-pledge", pledgeId="pl-d", reason="campaign_closed")
    again = _task("payments.compensate-pledge", pledgeId="pl-d", reason="campaign_closed")

    assert (first["result"], first["status"]) == ("refunded", "refunded")
    assert again["result"] == "nothing_to_do"
    [event] = _events(payments_table, "payment.refunded")
    assert (event["data"]["refundAmount"], event["data"]["payableKind"]) == (20_000, "pledge")
    assert "audit" not in event["data"]  # a system compensation, not a person's change


def test_a_payment_the_provider_completed_is_refunded_not_failed(payments_table: str) -> None:
    from payments import repository

    payment_id = _initiate_pledge()["payment"]["paymentId"]
    # The payer paid at the provider but no webhook has arrived yet.
    repository.record_sandbox_outcome(payment_id, "success")

    answer = _task("payments.compensate-pledge", pledgeId="pl-d", reason="payment_timeout")

    assert (answer["result"], answer["status"]) == ("refunded", "refunded")


def test_an_admin_refund_carries_the_audit_record(payments_table: str) -> None:
    payment_id = _initiate_pledge()["payment"]["paymentId"]
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})

    reply = call(
        "POST",
        f"/api/payments/{payment_id}/refund",
        body={"amount": 5_000, "reason": "donor asked"},
        caller=ADMIN,
        key="refund-audit-01",
    )

    assert reply.status == 201, reply
    [event] = _events(payments_table, "payment.refunded")
    audit = event["data"]["audit"]
    assert (audit["actorId"], audit["action"], audit["entityType"], audit["entityId"]) == (
        "u-admin",
        "refund_payment",
        "payment",
        payment_id,
    )
    assert audit["before"] == {"status": "completed", "refundedAmount": 0}
    assert audit["after"] == {"status": "partially_refunded", "refundedAmount": 5_000}
    assert audit["requestId"]
