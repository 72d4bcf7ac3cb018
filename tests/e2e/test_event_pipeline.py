"""Events travel outbox -> stream -> relay -> EventBridge -> SQS -> consumer, exactly once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


def _envelope(event_type: str, source: str) -> dict:
    return {
        "eventId": str(uuid.uuid4()),
        "eventType": event_type,
        "schemaVersion": 1,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "source": source,
        "correlationId": "e2e",
        "data": {"probe": True},
    }


def _event_count(stack, event_type: str) -> int:
    item = stack.client("dynamodb").get_item(
        TableName=stack.physical_name("AnalyticsTable"),
        Key={"pk": {"S": f"EVENTCOUNT#{event_type}"}, "sk": {"S": datetime.now(UTC).strftime("%Y-%m-%d")}},
        ConsistentRead=True,
    )
    return int(item.get("Item", {}).get("count", {}).get("N", 0))


def _processed(stack, event_id: str) -> bool:
    found = stack.client("dynamodb").query(
        TableName=stack.physical_name("AnalyticsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PROCESSED#{event_id}"}},
    )
    return bool(found["Items"])


def test_given_an_outbox_row_in_catalog_when_relayed_twice_then_analytics_counts_it_once(stack):
    event_type = f"probe_{uuid.uuid4().hex[:8]}.recorded"
    envelope = _envelope(event_type, "harambee.catalog")

    # Given: catalog commits an outbox row (the relay's stream filter keeps only OUTBOX# inserts).
    stack.client("dynamodb").put_item(
        TableName=stack.physical_name("CatalogTable"),
        Item={
            "pk": {"S": f"OUTBOX#{envelope['eventId']}"},
            "sk": {"S": "OUTBOX"},
            "eventType": {"S": event_type},
            "source": {"S": "harambee.catalog"},
            "envelope": {"S": json.dumps(envelope)},
            "createdAt": {"S": envelope["timestamp"]},
        },
    )

    # Then: the analytics consumer counted it.
    eventually(lambda: _event_count(stack, event_type) == 1, timeout=30)
    assert _processed(stack, envelope["eventId"])

    # When: the same event reaches the analytics inbox twice more (at-least-once delivery).
    entry = {
        "Source": "harambee.catalog",
        "DetailType": event_type,
        "Detail": json.dumps(envelope),
        "EventBusName": stack.physical_name("EventBus"),
    }
    stack.client("events").put_events(Entries=[entry, entry])
    queue_url = stack.physical_name("AnalyticsQueue")
    eventually(lambda: _queue_is_drained(stack, queue_url), timeout=20)

    # Then: still counted once.
    assert _event_count(stack, event_type) == 1


def _queue_is_drained(stack, queue_url: str) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def test_given_a_poison_message_when_it_keeps_failing_then_it_lands_in_the_dead_letter_queue(stack):
    sqs = stack.client("sqs")
    marker = f"poison-{uuid.uuid4()}"

    sqs.send_message(QueueUrl=stack.physical_name("AnalyticsQueue"), MessageBody=marker)

    dead_letters = stack.physical_name("AnalyticsDeadLetterQueue")

    def landed() -> bool:
        found = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return any(message["Body"] == marker for message in found.get("Messages", []))

    eventually(landed, timeout=40, interval=0.5)
