"""No donor's money is kept for a pledge that failed: compensation cancels at the provider and refunds
what was captured, and money taken after we gave a payment up is refunded and flagged for an admin."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harambee.events import DomainEvent
from payments import repository
from payments.domain.payment import PayableKind
from payments.providers.base import ProviderUnavailable
from payments.providers.sandbox import SandboxProvider
from tests.unit.kernel import harness
from tests.unit.payments.conftest import ADMIN, call, initiate, invoke, items, pledge
from tests.unit.payments.test_webhooks import deliver, notification


def _compensate(pledge_id: str, reason: str) -> Any:
    return invoke({"task": "payments.compensate-pledge", "pledgeId": pledge_id, "reason": reason})


def _outbox(table: str, event_type: str) -> list[DomainEvent]:
    envelopes = [json.loads(item["envelope"]["S"]) for item in items(table, "OUTBOX#")]
    return [DomainEvent.model_validate(e) for e in envelopes if e["eventType"] == event_type]


def _inbox(*events: DomainEvent) -> None:
    """Deliver our own events back to the payments inbox, as the bus rule does."""
    assert invoke(harness.deliveries(*events)) == {"batchItemFailures": []}


def _payment(payment_id: str) -> dict[str, Any]:
    reply = call("GET", f"/api/payments/{payment_id}", caller=ADMIN)
    assert reply.status == 200, reply
    return dict(reply.data)


@pytest.fixture
def payment_id(payments_table: str) -> str:
    pledge("pl-1")
    return str(initiate("pl-1").data["paymentId"])


def test_a_timeout_cancels_the_checkout_so_the_payer_can_no_longer_pay(
    payments_table: str, payment_id: str
) -> None:
    # Given an open payment whose pledge timed out, When the saga compensates
    answer = _compensate("pl-1", "payment_timeout")
    # Then the payment is failed and the sandbox checkout is cancelled: paying it now is refused
    assert (answer["result"], answer["status"]) == ("failed", "failed")
    assert repository.sandbox_outcome(payment_id) == "cancelled"
    paid = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert paid.status == 409
    assert _payment(payment_id)["status"] == "failed"


def test_a_late_completion_after_the_timeout_is_recorded_refunded_and_flagged(
    payments_table: str, payment_id: str
) -> None:
    # Given the timeout failed the payment, but the provider could not cancel it (Stripe's page still
    # held the client secret and the donor confirmed thirty minutes later)
    _compensate("pl-1", "payment_timeout")
    # When the provider's signed completed webhook arrives
    late = deliver(notification(payment_id, "completed"))
    # Then the money taken is recorded (not swallowed) and flagged for an admin
    assert (late.status, late.data["applied"], late.data["status"]) == (200, True, "completed")
    recorded = _payment(payment_id)
    assert (recorded["flagged"], recorded["flagReason"]) == (True, "captured_after_failure")
    entry = recorded["history"][-1]
    assert (entry["from"], entry["to"], entry["reason"]) == ("failed", "completed", "captured_after_failure")
    [flagged] = _outbox(payments_table, "payment.flagged")
    assert flagged.data["reason"] == "captured_after_failure"
    [completed] = _outbox(payments_table, "payment.completed")
    assert completed.data["previousStatus"] == "failed"
    # And when our inbox hears of it (twice: a redelivery), the money goes back once
    _inbox(completed, flagged, flagged)
    refunded = _payment(payment_id)
    assert (refunded["status"], refunded["refundedAmount"]) == ("refunded", 150_000)
    [refund] = _outbox(payments_table, "payment.refunded")
    assert (refund.data["refundAmount"], refund.data["compensation"]) == (150_000, True)
    # And no donation saga is resumed by a completion we had already given up
    saga = [i for i in items(payments_table, "PAYABLE#pledge#pl-1") if i["sk"]["S"] == "SAGA"]
    assert saga == []


def test_a_captured_payment_is_refunded_by_compensation_not_marked_failed(
    payments_table: str, payment_id: str
) -> None:
    # Given a payment the provider captured (money taken, completion not reported yet)
    deliver(notification(payment_id, "captured"))
    # When the campaign closed meanwhile and the saga compensates
    answer = _compensate("pl-1", "campaign_closed")
    # Then the captured money is refunded
    assert (answer["result"], answer["status"]) == ("refunded", "refunded")
    assert _payment(payment_id)["refundedAmount"] == 150_000


def test_a_payment_completed_for_a_closed_pledge_is_refunded_and_flagged(
    payments_table: str, payment_id: str
) -> None:
    # Given a pledge closed by its failing saga while its payment was still open at the provider
    repository.close_payable(PayableKind.PLEDGE, "pl-1", "campaign_invalid")
    # When the payment completes anyway
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "completed"})
    [completed] = _outbox(payments_table, "payment.completed")
    _inbox(completed)
    # Then it is flagged, and the flag's event makes our inbox give the money back
    flagged = _payment(payment_id)
    assert (flagged["status"], flagged["flagReason"]) == ("completed", "completed_for_closed_pledge")
    [flag] = _outbox(payments_table, "payment.flagged")
    _inbox(flag, completed)
    refunded = _payment(payment_id)
    assert (refunded["status"], refunded["refundedAmount"]) == ("refunded", 150_000)
    assert len(_outbox(payments_table, "payment.flagged")) == 1


def test_a_completion_the_saga_still_waits_for_is_not_flagged(payments_table: str, payment_id: str) -> None:
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "completed"})
    [completed] = _outbox(payments_table, "payment.completed")
    _inbox(completed)
    kept = _payment(payment_id)
    assert (kept["status"], kept["flagged"]) == ("completed", False)
    assert _outbox(payments_table, "payment.flagged") == []


def test_a_provider_outage_during_compensation_fails_the_task_for_the_saga_to_retry(
    payments_table: str, payment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(self: SandboxProvider, payment: object) -> None:
        raise ProviderUnavailable("The sandbox is down")

    monkeypatch.setattr(SandboxProvider, "cancel", unreachable)
    # When the provider cannot be asked, Then the task fails by name (the machine retries it for hours)
    with pytest.raises(ProviderUnavailable):
        _compensate("pl-1", "saga_failed")
    # And nothing was decided without the provider: the payment is still open, the pledge closed
    assert _payment(payment_id)["status"] == "pending"
    assert initiate("pl-1").error["code"] in {"PAYMENT_ALREADY_ACTIVE", "PAYABLE_CLOSED"}
    monkeypatch.undo()
    # And the retry, once the provider answers, fails and cancels it
    assert _compensate("pl-1", "saga_failed")["result"] == "failed"


def test_the_sample_late_money_flag_refunds_the_payment_once(payments_table: str) -> None:
    from datetime import UTC, datetime

    from harambee.outbox import PendingWrite
    from payments.domain.payment import Payment, PaymentStatus
    from tests.support.events import load_event

    # Given the payment the sample names, completed after we failed it (flagged with the move)
    sample = load_event("payments/sqs_payment_flagged_late_money")
    data = json.loads(sample["Records"][0]["body"])["detail"]["data"]
    now = datetime.now(UTC)
    late = Payment(
        payment_id=data["paymentId"],
        payable_kind=PayableKind.PLEDGE,
        payable_id=data["pledgeId"],
        owner_id=None,
        amount=data["amount"],
        currency=data["currency"],
        provider="sandbox",
        method="bkash",
        status=PaymentStatus.COMPLETED,
        captured_amount=data["amount"],
        flagged=True,
        flag_reason=data["reason"],
        created_at=now,
        updated_at=now,
    )
    PendingWrite([repository.put_new_payment(late)]).commit()
    # When the payments inbox receives the flag, twice (SQS redelivers)
    assert invoke(sample) == {"batchItemFailures": []}
    assert invoke(sample) == {"batchItemFailures": []}
    # Then the money is refunded once
    refunded = _payment(data["paymentId"])
    assert (refunded["status"], refunded["refundedAmount"]) == ("refunded", 9_000)
    assert len(_outbox(payments_table, "payment.refunded")) == 1


def test_a_flag_for_a_payment_we_do_not_know_fails_the_message_for_the_dead_letter_queue(
    payments_table: str,
) -> None:
    from tests.support.events import load_event

    sample = load_event("payments/sqs_payment_flagged_late_money")
    assert invoke(sample)["batchItemFailures"] == [{"itemIdentifier": sample["Records"][0]["messageId"]}]
