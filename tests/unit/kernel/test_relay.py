"""The outbox relay: stream records of outbox rows become events on the bus, failures one by one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harambee import aws
from harambee.events import new_event
from harambee.outbox import outbox_put, transact_write
from harambee.relay import relay_outbox
from harambee.runtime import LambdaEntry
from tests.support.events import FakeLambdaContext
from tests.unit.kernel import harness


@pytest.fixture
def inbox(table: str) -> str:
    return harness.subscribe("probe-inbox", {"source": [{"prefix": "harambee."}]})


def _emit(table: str, event_type: str, **data: Any) -> Any:
    event = new_event(event_type, data)
    transact_write([outbox_put(event)])
    return event


def _bus_events(queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(message["Body"]) for message in harness.receive(queue_url)]


def test_given_an_outbox_row_when_the_stream_delivers_it_then_the_event_is_on_the_bus(
    table: str, inbox: str
) -> None:
    event = _emit(table, "pledge.created", pledgeId="p-1")

    response = relay_outbox(harness.stream_event(table), FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    (delivered,) = _bus_events(inbox)
    assert delivered["detail-type"] == "pledge.created"
    assert delivered["source"] == "harambee.probe"
    assert delivered["detail"] == event.to_envelope()


def test_the_lambda_entry_relays_stream_batches_by_default(table: str, inbox: str) -> None:
    event = _emit(table, "pledge.created")
    entry = LambdaEntry()
    assert entry(harness.stream_event(table), FakeLambdaContext()) == {"batchItemFailures": []}
    assert [bus["detail"]["eventId"] for bus in _bus_events(inbox)] == [event.event_id]


class _RefusingBus:
    """EventBridge that refuses one event type, as it does on a throttle or an internal failure."""

    def __init__(self, refused_type: str) -> None:
        self._real = aws.client("events")
        self._refused = refused_type

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if Entries[0]["DetailType"] == self._refused:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }
        return dict(self._real.put_events(Entries=Entries))


def test_given_eventbridge_refuses_one_event_then_only_that_record_is_reported(
    table: str, inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _emit(table, "pledge.created")
    _emit(table, "payment.failed")
    monkeypatch.setattr(aws, "events", lambda: _RefusingBus("payment.failed"))
    stream = harness.stream_event(table)
    refused_sequence = next(
        record["dynamodb"]["SequenceNumber"]
        for record in stream["Records"]
        if record["dynamodb"]["NewImage"]["eventType"]["S"] == "payment.failed"
    )

    response = relay_outbox(stream, FakeLambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": refused_sequence}]}
    assert [bus["detail"]["eventId"] for bus in _bus_events(inbox)] == [kept.event_id]


def test_given_a_malformed_outbox_row_then_only_it_fails(table: str, inbox: str) -> None:
    kept = _emit(table, "pledge.created")
    aws.client("dynamodb").put_item(
        TableName=table,
        Item={"pk": {"S": "OUTBOX#broken"}, "sk": {"S": "OUTBOX"}, "envelope": {"S": "{not json"}},
    )
    stream = harness.stream_event(table)

    response = relay_outbox(stream, FakeLambdaContext())

    assert response["batchItemFailures"] == [
        {"itemIdentifier": stream["Records"][1]["dynamodb"]["SequenceNumber"]}
    ]
    assert [bus["detail"]["eventId"] for bus in _bus_events(inbox)] == [kept.event_id]


def test_records_that_are_not_outbox_inserts_are_skipped(table: str, inbox: str) -> None:
    dynamodb = aws.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "PLEDGE#p-1"}, "sk": {"S": "PLEDGE"}})
    event = _emit(table, "pledge.created")
    dynamodb.delete_item(
        TableName=table, Key={"pk": {"S": f"OUTBOX#{event.event_id}"}, "sk": {"S": "OUTBOX"}}
    )
    stream = harness.stream_event(table, only_outbox_inserts=False)
    assert [record["eventName"] for record in stream["Records"]] == ["INSERT", "INSERT", "REMOVE"]

    response = relay_outbox(stream, FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    assert [bus["detail"]["eventId"] for bus in _bus_events(inbox)] == [event.event_id]
