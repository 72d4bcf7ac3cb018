"""Signed sandbox webhooks: verified, stored raw, deduplicated, applied once, in any order."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from payments.providers import signing
from tests.unit.payments.conftest import ADMIN, SECRET, call, initiate, items, outbox_types, pledge, receipts

WEBHOOK = "/api/payments/webhooks/sandbox"


def notification(
    payment_id: str, signal: str, *, amount: int = 150_000, event_id: str | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{payment_id}_{signal}",
            "type": f"payment.{signal}",
            "created": int(time.time()),
            "data": {"paymentId": payment_id, "amount": amount, "currency": "BDT"},
        }
    ).encode()


def deliver(raw: bytes, *, timestamp: int | None = None, secret: str = SECRET, signature: str | None = None):
    header = signature if signature is not None else signing.sign(secret, raw, timestamp or int(time.time()))
    return call("POST", WEBHOOK, body=raw.decode(), headers={signing.SIGNATURE_HEADER: header})


def status_of(payment_id: str) -> str:
    return str(call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["status"])


@pytest.fixture
def payment_id(payments_table: str) -> str:
    pledge("pl-1")
    return str(initiate("pl-1").data["paymentId"])


def test_the_sandbox_pays_through_its_signed_webhooks(payments_table: str, payment_id: str) -> None:
    done = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert done.data == {
        "paymentId": payment_id,
        "outcome": "success",
        "sent": 3,
        "delivered": 3,
        "failed": 0,
    }
    payment = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data
    assert (payment["status"], payment["capturedAmount"]) == ("completed", 150_000)
    applied = [(entry["from"], entry["to"]) for entry in payment["history"] if entry.get("applied", True)]
    assert applied == [
        (None, "pending"),
        ("pending", "authorized"),
        ("authorized", "captured"),
        ("captured", "completed"),
    ]
    assert outbox_types(payments_table) == [
        "payment.initiated",
        "payment.authorized",
        "payment.captured",
        "payment.completed",
    ]
    stored = receipts(payments_table, "WEBHOOK#sandbox#")
    assert len(stored) == 3
    assert all(json.loads(receipt["rawBody"]["S"])["data"]["paymentId"] == payment_id for receipt in stored)


def test_the_completed_outcome_settles_with_the_one_signal_real_providers_send(
    payments_table: str, payment_id: str
) -> None:
    # Given a pending sandbox payment; When the payer pays with the single-signal outcome, twice over
    done = call(
        "POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "completed", "duplicates": 2}
    )
    # Then one completion webhook (sent twice) took it straight from pending to completed
    assert (done.data["outcome"], done.data["sent"], done.data["delivered"]) == ("completed", 2, 2)
    payment = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data
    assert (payment["status"], payment["capturedAmount"]) == ("completed", 150_000)
    assert [(entry["from"], entry["to"]) for entry in payment["history"]] == [
        (None, "pending"),
        ("pending", "completed"),
    ]
    assert outbox_types(payments_table) == ["payment.initiated", "payment.completed"]
    # And the payer cannot change their mind to the other success path
    again = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    assert again.status == 409


def test_one_webhook_delivered_fifty_times_is_one_transition(payments_table: str, payment_id: str) -> None:
    raw = notification(payment_id, "completed")
    replies = [deliver(raw) for _ in range(50)]
    assert {reply.status for reply in replies} == {200}
    assert [reply.data["duplicate"] for reply in replies].count(False) == 1
    history = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["history"]
    assert [entry["to"] for entry in history] == ["pending", "completed"]
    assert outbox_types(payments_table) == ["payment.initiated", "payment.completed"]
    assert len(receipts(payments_table, "WEBHOOK#")) == 1


def test_a_webhooks_receipt_is_its_history_entry_so_its_transaction_has_no_extra_item(
    payments_table: str, payment_id: str
) -> None:
    # Given a pending payment; When its completion webhook arrives
    raw = notification(payment_id, "completed")
    assert deliver(raw).data["applied"] is True
    # Then the payment's partition holds the payment and the raw receipt, which carries the entry
    partition = items(payments_table, f"PAYMENT#{payment_id}")
    assert sorted(item["sk"]["S"] for item in partition) == [
        "PAYMENT",
        f"WEBHOOK#sandbox#evt_{payment_id}_completed",
    ]
    [stored] = receipts(payments_table)
    assert stored["rawBody"]["S"] == raw.decode()
    assert json.loads(stored["entry"]["S"]) | {"at": None} == {
        "at": None,
        "from": "pending",
        "to": "completed",
        "source": f"webhook:evt_{payment_id}_completed",
        "signal": "completed",
        "applied": True,
    }
    # And the history still reads from the opening to the webhook's transition
    history = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["history"]
    assert [(entry["from"], entry["to"], entry["source"]) for entry in history] == [
        (None, "pending", "api:initiate"),
        ("pending", "completed", f"webhook:evt_{payment_id}_completed"),
    ]


def test_the_simulator_sending_fifty_shuffled_copies_still_completes_once(
    payments_table: str, payment_id: str
) -> None:
    body = {"outcome": "success", "duplicates": 50, "shuffle": True}
    done = call("POST", f"/api/payments/sandbox/{payment_id}/complete", body=body)
    assert (done.data["sent"], done.data["delivered"]) == (150, 150)
    assert status_of(payment_id) == "completed"
    assert outbox_types(payments_table).count("payment.completed") == 1
    assert len(receipts(payments_table, "WEBHOOK#")) == 3


@pytest.mark.parametrize(
    ("signals", "final"),
    [
        *[(order, "completed") for order in itertools.permutations(["authorized", "captured", "completed"])],
        *[(order, "failed") for order in itertools.permutations(["authorized", "failed"])],
    ],
)
def test_every_ordering_of_a_payments_webhooks_ends_in_the_same_state(
    payments_table: str, payment_id: str, signals: tuple[str, ...], final: str
) -> None:
    for signal in signals:
        assert deliver(notification(payment_id, signal)).status == 200
    assert status_of(payment_id) == final
    assert outbox_types(payments_table).count(f"payment.{final}") == 1


def test_a_late_authorized_after_completed_is_recorded_and_ignored(
    payments_table: str, payment_id: str
) -> None:
    deliver(notification(payment_id, "completed"))
    late = deliver(notification(payment_id, "authorized"))
    assert (late.status, late.data["applied"], late.data["status"]) == (200, False, "completed")
    history = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["history"]
    assert history[-1] | {"at": None} == {
        "at": None,
        "from": "completed",
        "to": "completed",
        "source": f"webhook:evt_{payment_id}_authorized",
        "signal": "authorized",
        "applied": False,
        "reason": "stale_signal",
    }


def _tampered(raw: bytes) -> bytes:
    flipped = bytearray(raw)
    flipped[-3] = ord("X") if flipped[-3] != ord("X") else ord("Y")
    return bytes(flipped)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong_secret", 401),
        ("stale", 401),
        ("future", 401),
        ("one_byte_changed", 401),
        ("missing", 400),
        ("garbled", 400),
    ],
)
def test_a_bad_or_stale_signature_is_refused_and_nothing_is_written(
    payments_table: str, payment_id: str, case: str, status: int
) -> None:
    before = items(payments_table)
    raw = notification(payment_id, "completed")
    now = int(time.time())
    good = signing.sign(SECRET, raw, now)
    reply = {
        "wrong_secret": lambda: deliver(raw, secret="not-the-secret"),
        "stale": lambda: deliver(raw, timestamp=now - 301),
        "future": lambda: deliver(raw, timestamp=now + 301),
        "one_byte_changed": lambda: deliver(_tampered(raw), signature=good),
        "missing": lambda: call("POST", WEBHOOK, body=raw.decode()),
        "garbled": lambda: deliver(raw, signature="v1=abc"),
    }[case]()
    assert reply.status == status, reply
    assert items(payments_table) == before
    assert status_of(payment_id) == "pending"


def test_a_signed_webhook_for_an_unknown_payment_is_stored_and_acknowledged(payments_table: str) -> None:
    reply = deliver(notification("p-nobody", "completed"))
    assert (reply.status, reply.data["result"]) == (200, "unknown_payment")
    assert len(receipts(payments_table, "WEBHOOK#")) == 1


def test_a_webhook_naming_another_amount_changes_nothing(payments_table: str, payment_id: str) -> None:
    reply = deliver(notification(payment_id, "completed", amount=1))
    assert reply.data["result"] == "amount_mismatch"
    assert status_of(payment_id) == "pending"


def test_an_unconfigured_provider_has_no_webhook(payments_table: str) -> None:
    reply = call("POST", "/api/payments/webhooks/stripe", body="{}")
    assert (reply.status, reply.error["code"]) == (404, "PROVIDER_NOT_CONFIGURED")


def test_the_canonical_webhook_event_replayed_later_is_refused(payments_table: str) -> None:
    from tests.support.events import load_event
    from tests.unit.payments.conftest import Reply, invoke

    reply = Reply(invoke(load_event("payments/webhook_sandbox")))
    assert (reply.status, reply.error["code"]) == (401, "INVALID_SIGNATURE")
    assert receipts(payments_table, "WEBHOOK#") == []


def test_the_sandbox_checkout_page_offers_pay_and_fail(payments_table: str, payment_id: str) -> None:
    from tests.support.events import api_event
    from tests.unit.payments.conftest import invoke

    page = invoke(api_event("GET", f"/api/payments/sandbox/checkout/{payment_id}"))
    assert page["statusCode"] == 200
    assert f"/api/payments/sandbox/{payment_id}/complete" in page["body"]
    assert ">Pay</button>" in page["body"]
    assert ">Fail</button>" in page["body"]


def test_a_verified_event_that_asks_for_no_transition_is_acknowledged_once_and_changes_nothing(
    payments_table: str, payment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a provider whose verified notification is a failed attempt the payer may still retry
    from payments import service
    from payments.providers.base import WebhookEvent

    class RetryableFailure:
        def verify_webhook(self, headers: object, raw_body: bytes, now: object) -> WebhookEvent:
            return WebhookEvent(event_id="evt_attempt_1", payment_id=payment_id, signal=None)

    monkeypatch.setattr(service, "provider", lambda name: RetryableFailure())
    # When it arrives twice, Then it is acknowledged (so the provider stops resending), noted once,
    # and the payment stays pending
    first = call("POST", "/api/payments/webhooks/stripe", body='{"id": "evt_attempt_1"}')
    again = call("POST", "/api/payments/webhooks/stripe", body='{"id": "evt_attempt_1"}')
    assert (first.status, first.data["result"], again.data["duplicate"]) == (200, "noted", True)
    assert status_of(payment_id) == "pending"
    assert len(receipts(payments_table, "WEBHOOK#stripe#")) == 1
