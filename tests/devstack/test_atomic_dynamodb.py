"""The local stack's moto server keeps DynamoDB's transaction guarantees under concurrent clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import atomic_dynamodb
from devstack.resources import FAKE_CREDENTIALS

TABLE = "atomic-test"


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    atomic_dynamodb.install(server)
    host, port = server.get_host_and_port()
    client = boto3.client(
        "dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1", **FAKE_CREDENTIALS
    )
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client
    server.stop()


def _put_once(pk: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {"pk": {"S": pk}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _stream_keys(client: Any, endpoint: str) -> list[str]:
    streams = boto3.client(
        "dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", **FAKE_CREDENTIALS
    )
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    keys: list[str] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        keys += [
            record["dynamodb"]["Keys"]["pk"]["S"] for record in records if record["eventName"] == "INSERT"
        ]
    return keys


def test_a_cancelled_transaction_writes_nothing_and_emits_no_stream_record(dynamodb) -> None:
    # Given an item that exists
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "taken"}})
    # When a transaction writes a new item and fails its condition on the existing one
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[_put_once("fresh"), _put_once("taken")])
    # Then it is cancelled with the reasons, the old item returned, and nothing written or streamed
    reasons = cancelled.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"pk": {"S": "taken"}}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "fresh"}})
    assert "fresh" not in _stream_keys(dynamodb, dynamodb.meta.endpoint_url)


def test_failing_transactions_never_erase_concurrent_writes(dynamodb) -> None:
    # Given 8 clients each writing 40 items, every write followed by a transaction that fails
    # (moto's own rollback restored a whole-table copy here, erasing other clients' writes)
    def client_writes(number: int) -> None:
        for index in range(40):
            pk = f"c{number}-{index}"
            dynamodb.transact_write_items(TransactItems=[_put_once(pk)])
            with pytest.raises(ClientError):
                dynamodb.transact_write_items(TransactItems=[_put_once(f"x{number}-{index}"), _put_once(pk)])

    threads = [threading.Thread(target=client_writes, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every committed item is there, and no cancelled one
    stored = {
        item["pk"]["S"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
    }
    assert {f"c{n}-{i}" for n in range(8) for i in range(40)} <= stored
    assert not {pk for pk in stored if pk.startswith("x")}


def test_an_update_in_a_transaction_applies_with_its_condition(dynamodb) -> None:
    # Given a counter
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "counter"}, "n": {"N": "1"}})
    update = {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": "counter"}},
            "UpdateExpression": "ADD n :one",
            "ConditionExpression": "n = :expected",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":expected": {"N": "1"}},
        }
    }
    # When the same versioned update runs twice
    dynamodb.transact_write_items(TransactItems=[update])
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[update])
    # Then it applied once
    assert dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "counter"}})["Item"]["n"] == {"N": "2"}
