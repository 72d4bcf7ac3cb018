"""Refunds (admin, full or partial, never beyond the captured amount) and the read routes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.payments.conftest import (
    ADMIN,
    DONOR,
    OTHER,
    Reply,
    call,
    initiate,
    items,
    outbox_types,
    pledge,
)


def paid(pledge_id: str = "pl-1", *, donor: str | None = None) -> str:
    pledge(pledge_id, donor=donor, amount=10_000)
    caller = DONOR if donor else None
    payment_id = str(initiate(pledge_id, caller=caller).data["paymentId"])
    call("POST", f"/api/payments/sandbox/{payment_id}/complete", body={"outcome": "success"})
    return payment_id


def refund(payment_id: str, body: dict[str, object], *, key: str, admin_path: bool = False, caller=ADMIN):
    path = f"/api/admin/payments/{payment_id}/refund" if admin_path else f"/api/payments/{payment_id}/refund"
    return call("POST", path, body=body, caller=caller, key=key)


def test_partial_refunds_then_the_rest(payments_table: str) -> None:
    payment_id = paid()
    first = refund(payment_id, {"amount": 4_000, "reason": "duplicate pledge"}, key="refund-key-01")
    assert first.status == 201, first
    assert (first.data["payment"]["status"], first.data["payment"]["refundedAmount"]) == (
        "partially_refunded",
        4_000,
    )
    assert (first.data["refund"]["amount"], first.data["refund"]["status"]) == (4_000, "succeeded")
    rest = refund(payment_id, {"reason": "campaign cancelled"}, key="refund-key-02", admin_path=True)
    assert (rest.status, rest.data["payment"]["status"], rest.data["refund"]["amount"]) == (
        201,
        "refunded",
        6_000,
    )
    assert outbox_types(payments_table).count("payment.refunded") == 2
    envelopes = [json.loads(item["envelope"]["S"]) for item in items(payments_table, "OUTBOX#")]
    refunded = sorted(e["data"]["refundedAmount"] for e in envelopes if e["eventType"] == "payment.refunded")
    assert refunded == [4_000, 10_000]


def test_a_refund_beyond_the_captured_amount_is_a_422_and_changes_nothing(payments_table: str) -> None:
    payment_id = paid()
    reply = refund(payment_id, {"amount": 10_001, "reason": "too much"}, key="refund-key-03")
    assert (reply.status, reply.error["code"]) == (422, "REFUND_EXCEEDS_CAPTURED")
    assert call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["refundedAmount"] == 0
    assert not [
        item
        for item in items(payments_table, f"PAYMENT#{payment_id}")
        if item["sk"]["S"].startswith("REFUND#")
    ]


def test_a_replayed_refund_key_refunds_once(payments_table: str) -> None:
    payment_id = paid()
    body = {"amount": 1_000, "reason": "goodwill"}
    first, again = (refund(payment_id, body, key="refund-key-04") for _ in range(2))
    assert (first.status, again.headers.get("idempotent-replayed")) == (201, "true")
    assert call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data["refundedAmount"] == 1_000


def test_refunds_are_for_admins_and_settled_payments_only(payments_table: str) -> None:
    payment_id = paid()
    assert refund(payment_id, {"reason": "mine"}, key="refund-key-05", caller=DONOR).status == 403
    pledge("pl-2")
    pending = initiate("pl-2").data["paymentId"]
    reply = refund(pending, {"reason": "not paid yet"}, key="refund-key-06")
    assert (reply.status, reply.error["code"]) == (422, "PAYMENT_NOT_REFUNDABLE")
    assert (
        call("POST", f"/api/payments/{payment_id}/refund", body={"reason": "no key"}, caller=ADMIN).status
        == 400
    )


def test_a_payment_is_visible_to_its_payer_and_admins_only(payments_table: str) -> None:
    mine = paid("pl-own", donor="u-donor")
    assert call("GET", f"/api/payments/{mine}", caller=DONOR).status == 200
    assert call("GET", f"/api/payments/{mine}", caller=OTHER).status == 404
    assert call("GET", f"/api/payments/{mine}", caller=ADMIN).status == 200
    assert call("GET", f"/api/payments/{mine}").status == 401


def test_the_status_route_needs_the_access_token_from_initiate(payments_table: str) -> None:
    pledge("pl-anon")
    started = initiate("pl-anon").data
    path = f"/api/payments/status/{started['paymentId']}"
    seen = call("GET", path, headers={"X-Payment-Token": started["accessToken"]})
    assert (seen.status, seen.data["status"]) == (200, "pending")
    assert call("GET", path, headers={"X-Payment-Token": "guess"}).status == 404
    assert call("GET", path).status == 404


def test_a_pledges_payments_for_its_donor(payments_table: str) -> None:
    payment_id = paid("pl-own", donor="u-donor")
    listed = call("GET", "/api/payments/pledge/pl-own", caller=DONOR)
    assert [payment["paymentId"] for payment in listed.data] == [payment_id]
    assert call("GET", "/api/payments/pledge/pl-own", caller=OTHER).status == 404
    assert call("GET", "/api/payments/pledge/pl-own", caller=ADMIN).status == 200


def test_verify_asks_the_provider_again(payments_table: str) -> None:
    pledge("pl-own", donor="u-donor")
    payment_id = initiate("pl-own", caller=DONOR).data["paymentId"]
    from payments import repository

    repository.record_sandbox_outcome(payment_id, "success")  # the payer paid; no webhook came
    verified = call("POST", f"/api/payments/{payment_id}/verify", caller=DONOR)
    assert (verified.status, verified.data["status"]) == (200, "completed")
    history = call("GET", f"/api/payments/{payment_id}", caller=DONOR).data["history"]
    assert history[-1]["source"] == "api:verify:u-donor"


def test_admins_page_through_payments_by_status(payments_table: str) -> None:
    completed = {paid(f"pl-{n}") for n in range(3)}
    pledge("pl-pending")
    pending = initiate("pl-pending").data["paymentId"]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"status": "completed", "limit": "2", **({"next": cursor} if cursor else {})}
        page = call("GET", "/api/admin/payments", caller=ADMIN, query=query)
        assert page.status == 200, page
        seen += [payment["paymentId"] for payment in page.data]
        cursor = page.body["pagination"]["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(completed)
    everything = call("GET", "/api/admin/payments", caller=ADMIN, query={"limit": "10"})
    assert {payment["paymentId"] for payment in everything.data} == completed | {pending}
    by_pledge = call("GET", "/api/admin/payments", caller=ADMIN, query={"pledgeId": "pl-pending"})
    assert [payment["paymentId"] for payment in by_pledge.data] == [pending]
    assert call("GET", "/api/admin/payments", caller=DONOR).status == 403
    garbled = call("GET", "/api/admin/payments", caller=ADMIN, query={"next": "bm9wZQ"})
    assert (garbled.status, garbled.error["code"]) == (400, "INVALID_CURSOR")


def test_a_cursor_from_one_status_is_refused_for_another(payments_table: str) -> None:
    for n in range(3):
        paid(f"pl-{n}")
    first = call("GET", "/api/admin/payments", caller=ADMIN, query={"status": "completed", "limit": "1"})
    cursor = first.body["pagination"]["next"]
    reply = call("GET", "/api/admin/payments", caller=ADMIN, query={"status": "failed", "next": cursor})
    assert (reply.status, reply.error["code"]) == (400, "INVALID_CURSOR")


def test_a_refund_that_races_another_still_records_both_and_never_exceeds_the_capture(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto does not serialise concurrent transactions, so the race is staged: while the provider
    # handles the first refund, a second one is requested and settled.
    from payments.providers.sandbox import SandboxProvider

    original = SandboxProvider.refund
    raced: list[Reply] = []
    staged: list[bool] = []

    def refund_while_another_lands(self: SandboxProvider, payment: Any, amount: int, refund_id: str) -> Any:
        if not staged:
            staged.append(True)
            raced.append(
                refund(payment.payment_id, {"amount": 3_000, "reason": "second"}, key="race-refund-2")
            )
            raced.append(
                refund(payment.payment_id, {"amount": 3_000, "reason": "third"}, key="race-refund-3")
            )
        return original(self, payment, amount, refund_id)

    payment_id = paid()
    monkeypatch.setattr(SandboxProvider, "refund", refund_while_another_lands)
    first = refund(payment_id, {"amount": 6_000, "reason": "first"}, key="race-refund-1")
    # Then the first and second refund both land; the third would exceed the capture and is refused
    assert [reply.status for reply in (first, *raced)] == [201, 201, 422]
    assert raced[1].error["details"] == {"requested": 3_000, "refundable": 1_000, "currency": "BDT"}
    payment = call("GET", f"/api/payments/{payment_id}", caller=ADMIN).data
    assert (payment["status"], payment["refundedAmount"]) == ("partially_refunded", 9_000)
    assert outbox_types(payments_table).count("payment.refunded") == 2


def test_a_refund_the_provider_refuses_gives_the_held_amount_back(
    payments_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments.providers.base import ProviderUnavailable
    from payments.providers.sandbox import SandboxProvider

    def unavailable(*args: object) -> None:
        raise ProviderUnavailable("sandbox refund timed out")

    payment_id = paid()
    with monkeypatch.context() as patch:
        patch.setattr(SandboxProvider, "refund", unavailable)
        reply = refund(payment_id, {"amount": 2_000, "reason": "provider down"}, key="refund-key-07")
    assert (reply.status, reply.error["code"]) == (502, "PROVIDER_UNAVAILABLE")
    retried = refund(payment_id, {"reason": "provider back"}, key="refund-key-08")
    assert (retried.status, retried.data["refund"]["amount"]) == (201, 10_000)


def test_lists_read_keys_from_the_indexes_and_still_answer_whole_payments_newest_first(
    payments_table: str,
) -> None:
    # Given three settled payments (the indexes project only keys)
    ids = [paid(f"pl-{n}", donor="u-donor") for n in range(3)]
    from harambee import aws

    index_rows = aws.dynamodb().query(
        TableName=payments_table,
        IndexName="gsi3",
        KeyConditionExpression="gsi3pk = :all",
        ExpressionAttributeValues={":all": {"S": "PAYMENTS"}},
    )["Items"]
    assert {frozenset(row) for row in index_rows} == {frozenset({"pk", "sk", "gsi3pk", "gsisk"})}
    # When an admin lists them, by status, all, and by pledge
    by_status = call("GET", "/api/admin/payments", caller=ADMIN, query={"status": "completed"}).data
    everything = call("GET", "/api/admin/payments", caller=ADMIN).data
    by_pledge = call("GET", "/api/payments/pledge/pl-1", caller=DONOR).data
    # Then each row is the whole payment, newest first
    for listed in (by_status, everything):
        assert [payment["paymentId"] for payment in listed] == ids[::-1]
    for payment in [*by_status, *everything, *by_pledge]:
        assert (payment["amount"], payment["currency"], payment["status"]) == (10_000, "BDT", "completed")
        assert (payment["provider"], payment["capturedAmount"], payment["ownerId"]) == (
            "sandbox",
            10_000,
            "u-donor",
        )
    assert [payment["paymentId"] for payment in by_pledge] == [ids[1]]


def test_a_payment_item_stays_under_one_kilobyte_through_its_life(payments_table: str) -> None:
    # Given a payment paid, then partly refunded and flagged (its largest document)
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from payments import repository, service

    payment_id = paid("pl-big", donor="u-donor")
    assert refund(payment_id, {"amount": 1_000, "reason": "part back"}, key="big-part").status == 201
    service.flag(service.get(payment_id), "still_authorized_at_provider", "reconciliation")
    # Then its item is one write unit (DynamoDB bills per started KB of the item)
    stored = items(payments_table, f"PAYMENT#{payment_id}")
    payment_item = next(item for item in stored if item["sk"]["S"] == repository.PAYMENT_SK)
    keys = DynamoType(payment_item["pk"]), DynamoType(payment_item["sk"])
    assert Item(hash_key=keys[0], range_key=keys[1], attrs=payment_item).size() < 1024
    # And nothing was lost by leaving defaults out of the document
    assert service.get(payment_id).refunded_amount == 1_000
