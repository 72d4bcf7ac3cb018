"""The relay starts one saga per new pledge; the inbox records refunds of completed pledges once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harambee import aws
from tests.unit.donations.conftest import complete, create_pledge, invoke, pledge_item, refunded, task
from tests.unit.kernel import harness


def _executions() -> list[Any]:
    from donations.settings import donations_settings

    arn = donations_settings().donation_saga_arn
    listed = aws.stepfunctions().list_executions(stateMachineArn=arn)["executions"]
    return [aws.stepfunctions().describe_execution(executionArn=e["executionArn"]) for e in listed]


def test_given_a_new_pledge_when_the_stream_is_relayed_twice_then_one_saga_named_after_it(
    donations_table: str,
) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    records = harness.stream_event(donations_table)

    assert invoke(records) == {"batchItemFailures": []}
    assert invoke(records) == {"batchItemFailures": []}  # a redelivered batch: ExecutionAlreadyExists

    [execution] = _executions()
    assert execution["name"] == pledge_id
    started = json.loads(execution["input"])
    assert {key: started[key] for key in ("pledgeId", "campaignId", "amount", "currency", "donorId")} == {
        "pledgeId": pledge_id,
        "campaignId": "c-1",
        "amount": 150_000,
        "currency": "BDT",
        "donorId": "u-donor",
    }
    assert started["paymentTimeoutSeconds"] == 1800


def test_only_pledge_created_starts_a_saga(donations_table: str) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    invoke(harness.stream_event(donations_table))
    task("donations.await-payment", pledgeId=pledge_id, taskToken="token-1")

    assert invoke(harness.stream_event(donations_table)) == {"batchItemFailures": []}
    assert len(_executions()) == 1


def test_given_step_functions_refuses_the_start_then_only_that_record_fails(
    donations_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_pledge()
    monkeypatch.setenv("DONATION_SAGA_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:missing")
    from donations.settings import donations_settings

    donations_settings.cache_clear()
    records = harness.stream_event(donations_table)

    answer = invoke(records)

    assert answer["batchItemFailures"] == [
        {"itemIdentifier": records["Records"][0]["dynamodb"]["SequenceNumber"]}
    ]


def test_given_a_completed_pledge_when_partial_then_full_refunds_arrive_twice_then_each_counts_once(
    donations_table: str,
) -> None:
    pledge_id = create_pledge().data["pledgeId"]
    complete(pledge_id)
    part, rest = refunded(pledge_id, 50_000, 50_000), refunded(pledge_id, 100_000, 150_000)

    assert invoke(harness.deliveries(part, part)) == {"batchItemFailures": []}
    assert pledge_item(donations_table, pledge_id)["status"] == "completed"
    assert invoke(harness.deliveries(rest)) == {"batchItemFailures": []}
    assert invoke(harness.deliveries(rest)) == {"batchItemFailures": []}

    stored = pledge_item(donations_table, pledge_id)
    assert (stored["status"], stored["refundedAmount"]) == ("refunded", 150_000)
    events = harness.outbox_events(donations_table, "pledge.refunded")
    assert [
        (e["data"]["refundAmount"], e["data"]["refundedAmount"], e["data"]["fullyRefunded"]) for e in events
    ] == [
        (50_000, 50_000, False),
        (100_000, 150_000, True),
    ]
    assert events[0]["data"]["paymentId"] == "pay-1"
    assert events[0]["data"]["campaignTitle"] == "Clean water for Sylhet"
    assert task("donations.completed-sums", campaignId="c-1") == []


def test_a_refund_before_the_saga_confirmed_is_retried_and_one_of_a_failed_pledge_is_ignored(
    donations_table: str,
) -> None:
    waiting = create_pledge().data["pledgeId"]
    task("donations.await-payment", pledgeId=waiting, taskToken="token-1")
    given_up = create_pledge().data["pledgeId"]
    task("donations.fail-pledge", pledgeId=given_up, reason="campaign_closed")
    early, compensation = refunded(waiting, 150_000, 150_000), refunded(given_up, 150_000, 150_000)

    answer = invoke(harness.deliveries(early, compensation))

    assert answer == {"batchItemFailures": [{"itemIdentifier": early.event_id}]}
    assert pledge_item(donations_table, given_up)["status"] == "failed"
    assert harness.outbox_events(donations_table, "pledge.refunded") == []


def test_refunds_of_orders_are_not_donations_business(donations_table: str) -> None:
    assert invoke(harness.deliveries(refunded("order-1", 100, 100, kind="order"))) == {
        "batchItemFailures": []
    }
    assert harness.outbox_events(donations_table, "pledge.refunded") == []


def test_a_compensation_refund_of_a_pledge_the_last_resort_stranded_is_acknowledged(
    donations_table: str,
) -> None:
    # Given a pledge left awaiting payment by the saga's last resort, which refunded its payment
    stranded = create_pledge().data["pledgeId"]
    task("donations.await-payment", pledgeId=stranded, taskToken="token-1")
    given_back = refunded(stranded, 150_000, 150_000)
    given_back = given_back.model_copy(update={"data": {**given_back.data, "compensation": True}})
    # When payments announces the refund, Then it is acknowledged (no retries into the DLQ), not counted
    assert invoke(harness.deliveries(given_back)) == {"batchItemFailures": []}
    assert pledge_item(donations_table, stranded)["status"] == "payment_initiated"
    assert harness.outbox_events(donations_table, "pledge.refunded") == []
