"""The event pipeline in moto, step by step: a context's table and stream, the bus, an inbox queue.

Shared by the kernel unit tests and the admin/analytics contract tests. Each step turns what AWS
holds into the exact event Lambda would receive, so handlers run as they do in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from devstack.provision import create_table
from harambee import aws
from harambee.events import DomainEvent
from harambee.settings import platform_settings
from tests.support.aws import template

BUS_NAME = "harambee-test"
IDEMPOTENCY_TABLE = "test-IdempotencyTable"
_LAST_POSITION: dict[str, str] = {}


def use_context(monkeypatch: pytest.MonkeyPatch, service: str, table_name: str) -> None:
    """Environment of one context's function, as template.yaml sets it."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    monkeypatch.setenv("TABLE_NAME", table_name)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS_NAME)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY_TABLE)
    platform_settings.cache_clear()


@contextmanager
def fresh_caches() -> Iterator[None]:
    """Settings and cached clients are per execution environment; each test is a new one."""
    # Clients are stateless and moto intercepts them all: keeping them saves ~100 ms a test.
    from aws_lambda_powertools.utilities import parameters

    from harambee import auth, idempotency, relay

    caches = (
        platform_settings,
        relay._processor,
        idempotency._persistence,
        idempotency._config,
        auth._verifier,
    )

    def clear() -> None:
        for cache in caches:
            cache.cache_clear()
        parameters.clear_caches()  # SSM values cached by harambee.parameters

    clear()
    try:
        yield
    finally:
        clear()


def context_table(logical_id: str, table_name: str | None = None) -> str:
    """The template's table, created with the cached client (tests.support.aws builds a new one)."""
    name = table_name or f"test-{logical_id}"
    create_table(aws.client("dynamodb"), template(), logical_id, name)
    return name


def create_bus() -> None:
    aws.client("events").create_event_bus(Name=BUS_NAME)


def subscribe(queue_name: str, pattern: dict[str, Any]) -> str:
    """An inbox queue behind a rule on the bus, like a context's SubscriptionRule; returns its URL."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws.client("events")
    events.put_rule(Name=f"{queue_name}-rule", EventBusName=BUS_NAME, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=f"{queue_name}-rule", EventBusName=BUS_NAME, Targets=[{"Id": "inbox", "Arn": arn}]
    )
    return url


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def stream_event(table_name: str, *, only_outbox_inserts: bool = True) -> dict[str, Any]:
    """New stream records of the table since the last call, as the Lambda event the relay gets.

    `only_outbox_inserts` applies the template's filter (INSERT of `OUTBOX#` items).
    """
    stream_arn = aws.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    streams = aws.client("dynamodbstreams")
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    records: list[dict[str, Any]] = []
    for shard in shards:
        position = _LAST_POSITION.get(f"{stream_arn}/{shard['ShardId']}")
        iterator_args: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
            if position
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], **iterator_args)
        fetched = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        if fetched:
            _LAST_POSITION[f"{stream_arn}/{shard['ShardId']}"] = fetched[-1]["dynamodb"]["SequenceNumber"]
        for record in fetched:
            lambda_record = {**_plain(record), "eventSource": "aws:dynamodb", "eventSourceARN": stream_arn}
            records.append(lambda_record)
    if only_outbox_inserts:
        records = [
            record
            for record in records
            if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["pk"]["S"].startswith("OUTBOX#")
        ]
    return {"Records": records}


def receive(queue_url: str, *, max_messages: int = 10) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], WaitTimeSeconds=0
    )
    return list(response.get("Messages", []))


def sqs_event(
    messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:inbox"
) -> dict[str, Any]:
    """Received SQS messages as the Lambda event an SQS event source mapping delivers."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def bus_event(event: DomainEvent) -> dict[str, Any]:
    """The EventBridge event a rule delivers for `event` (the SQS message body)."""
    return {
        "version": "0",
        "id": f"bus-{event.event_id}",
        "detail-type": event.event_type,
        "source": event.source,
        "account": "123456789012",
        "time": event.to_envelope()["timestamp"],
        "region": "us-east-1",
        "resources": [],
        "detail": event.to_envelope(),
    }


def sqs_record(body: str, message_id: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbox",
        "awsRegion": "us-east-1",
    }


def deliveries(*events: DomainEvent) -> dict[str, Any]:
    """An SQS batch carrying these events, one message each (message id = event id)."""
    return {"Records": [sqs_record(json.dumps(bus_event(event)), event.event_id) for event in events]}


def get_item(table_name: str, pk: str, sk: str) -> dict[str, Any] | None:
    found = aws.client("dynamodb").get_item(TableName=table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    item: dict[str, Any] | None = found.get("Item")
    return item


def outbox_events(table_name: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The envelopes waiting in a context's outbox, oldest first (optionally of one type)."""
    items = aws.client("dynamodb").scan(TableName=table_name)["Items"]
    envelopes = [json.loads(item["envelope"]["S"]) for item in items if item["pk"]["S"].startswith("OUTBOX#")]
    envelopes.sort(key=lambda envelope: envelope["timestamp"])
    return [e for e in envelopes if event_type is None or e["eventType"] == event_type]
