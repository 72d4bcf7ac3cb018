"""Reconciliation finishes what webhooks could not; the inbox learns what can be paid."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.support.events import load_event
from tests.unit.payments.conftest import (
    ADMIN,
    announce,
    call,
    initiate,
    invoke,
    items,
    loopback,
    outbox_types,
    pledge,
)


def reconcile(minutes_later: int) -> dict[str, int]:
    from payments import reconciliation, service

    return reconciliation.run(
        {"schedule": "reconcile-payments"}, now=service.utcnow() + timedelta(minutes=minutes_later)
    )


def status_of(payment_id: str) -> dict[str, object]:
    return dict(call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data)


def test_a_provider_timeout_leaves_the_payment_pending_and_reconciliation_finishes_it(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments.providers import sandbox

    # Given a payer who paid, but every webhook delivery times out
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("provider could not reach us", request=request)

    monkeypatch.setattr(sandbox, "transport", httpx.MockTransport(time_out))
    pledge("pl-1")
    payment_id = initiate("pl-1").data["paymentId"]
    done = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert (done.status, done.data["delivered"], done.data["failed"]) == (200, 0, 3)
    assert status_of(payment_id)["status"] == "pending"
    # When the schedule runs before the threshold, nothing happens; after it, the payment completes
    assert reconcile(minutes_later=1)["checked"] == 0
    assert reconcile(minutes_later=20) == {
        "checked": 1,
        "advanced": 1,
        "unchanged": 0,
        "flagged": 0,
        "unreachable": 0,
    }
    payment = status_of(payment_id)
    assert payment["status"] == "completed"
    assert payment["history"][-1]["source"] == "reconciliation"  # type: ignore[index]
    assert outbox_types(payments_table)[-1] == "payment.completed"


def test_a_payment_the_provider_never_settles_is_flagged_once_for_an_admin(payments_table: str) -> None:
    pledge("pl-1")
    payment_id = initiate("pl-1").data["paymentId"]
    assert reconcile(minutes_later=20)["flagged"] == 0
    assert reconcile(minutes_later=61)["flagged"] == 1
    assert reconcile(minutes_later=90)["flagged"] == 0
    payment = status_of(payment_id)
    assert (payment["status"], payment["flagged"], payment["flagReason"]) == (
        "pending",
        True,
        "still_pending_at_provider",
    )
    assert outbox_types(payments_table).count("payment.flagged") == 1


def test_the_schedule_event_runs_reconciliation_through_the_handler(payments_table: str) -> None:
    assert invoke(load_event("payments/schedule_reconcile")) == {
        "checked": 0,
        "advanced": 0,
        "unchanged": 0,
        "flagged": 0,
        "unreachable": 0,
    }


def test_a_pledge_announcement_is_recorded_once(payments_table: str) -> None:
    event = load_event("payments/sqs_pledge_created")
    assert invoke(event) == {"batchItemFailures": []}
    assert invoke(event) == {"batchItemFailures": []}
    (payable,) = items(payments_table, "PAYABLE#")
    assert payable["pk"]["S"] == "PAYABLE#pledge#pl-sample-1"
    assert (payable["amount"]["N"], payable["currency"]["S"]) == ("150000", "BDT")
    assert initiate("pl-sample-1").data["amount"] == 150_000


@pytest.mark.parametrize(
    "data",
    [
        {"pledgeId": "pl-x", "amount": 10.5, "currency": "BDT"},
        {"pledgeId": "pl-x", "amount": 100, "currency": "ZZZ"},
        {"pledgeId": "pl-x", "amount": -1, "currency": "BDT"},
        {"amount": 100, "currency": "BDT"},
    ],
)
def test_an_announcement_that_is_not_a_payable_fails_alone(
    payments_table: str, data: dict[str, object]
) -> None:
    response = announce("pledge.created", data, event_id="bad-1")
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert items(payments_table, "PAYABLE#") == []


def test_a_payable_announced_again_with_another_amount_is_refused(payments_table: str) -> None:
    pledge("pl-1", amount=100)
    changed = announce(
        "pledge.created", {"pledgeId": "pl-1", "amount": 999, "currency": "BDT"}, event_id="again-1"
    )
    assert changed == {"batchItemFailures": [{"itemIdentifier": "again-1"}]}
    assert initiate("pl-1").data["amount"] == 100


def test_a_payment_stuck_at_authorized_is_finished_by_reconciliation(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments.providers import sandbox

    # Given a payer who paid, but only the `authorized` webhook got through
    delivered: list[bytes] = []

    def only_authorized(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if b'"payment.authorized"' not in body:
            raise httpx.ConnectTimeout("lost", request=request)
        delivered.append(body)
        return loopback(request)

    monkeypatch.setattr(sandbox, "transport", httpx.MockTransport(only_authorized))
    pledge("pl-held")
    payment_id = initiate("pl-held").data["paymentId"]
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert status_of(payment_id)["status"] == "authorized"
    # When the schedule runs past the threshold, Then the provider's answer completes it
    assert reconcile(minutes_later=20)["advanced"] == 1
    assert status_of(payment_id)["status"] == "completed"
