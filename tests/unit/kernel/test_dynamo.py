"""harambee.dynamo.batch_get: the keys' order, chunks of 100, unprocessed keys asked again."""

from __future__ import annotations

from typing import Any

import pytest

from harambee import aws
from harambee.dynamo import BATCH_ATTEMPTS, batch_get
from harambee.outbox import TransactionContended


def _key(number: int) -> dict[str, Any]:
    return {"pk": {"S": f"ITEM#{number:03d}"}, "sk": {"S": "ITEM"}}


def _store(table: str, numbers: range) -> None:
    for number in numbers:
        aws.dynamodb().put_item(TableName=table, Item={**_key(number), "n": {"N": str(number)}})


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every BatchGetItem request (through to moto); backoff sleeps are recorded, not slept."""
    client = aws.dynamodb()
    original = client.batch_get_item
    seen: list[dict[str, Any]] = []

    def recording(**request: Any) -> Any:
        seen.append(request["RequestItems"])
        return original(**request)

    monkeypatch.setattr(client, "batch_get_item", recording)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    return seen


def test_the_found_items_come_in_the_keys_order_and_missing_ones_are_left_out(
    table: str, calls: list[dict[str, Any]]
) -> None:
    _store(table, range(5))

    items = batch_get(table, [_key(3), _key(0), _key(9), _key(4), _key(1)])

    assert [item["n"]["N"] for item in items] == ["3", "0", "4", "1"]
    assert len(calls) == 1
    assert calls[0][table]["ConsistentRead"] is False


def test_no_keys_reads_nothing(table: str, calls: list[dict[str, Any]]) -> None:
    assert batch_get(table, []) == []
    assert calls == []


def test_more_than_100_keys_are_read_in_chunks_of_100(table: str, calls: list[dict[str, Any]]) -> None:
    _store(table, range(250))
    keys = [_key(number) for number in reversed(range(250))]

    items = batch_get(table, keys, consistent=True)

    assert [int(item["n"]["N"]) for item in items] == list(reversed(range(250)))
    assert [len(request[table]["Keys"]) for request in calls] == [100, 100, 50]
    assert all(request[table]["ConsistentRead"] is True for request in calls)


def test_unprocessed_keys_are_asked_again_with_a_capped_backoff(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(table, range(4))
    client = aws.dynamodb()
    original = client.batch_get_item
    asked: list[list[str]] = []
    slept: list[float] = []

    def throttled(**request: Any) -> Any:
        keys = request["RequestItems"][table]["Keys"]
        asked.append([key["pk"]["S"] for key in keys])
        if len(asked) > 2:
            return original(**request)
        # DynamoDB answers the first key and leaves the rest unprocessed
        answered = original(RequestItems={table: {**request["RequestItems"][table], "Keys": keys[:1]}})
        answered["UnprocessedKeys"] = {table: {**request["RequestItems"][table], "Keys": keys[1:]}}
        return answered

    monkeypatch.setattr(client, "batch_get_item", throttled)
    monkeypatch.setattr("time.sleep", slept.append)

    items = batch_get(table, [_key(2), _key(0), _key(3), _key(1)])

    assert [item["pk"]["S"] for item in items] == ["ITEM#002", "ITEM#000", "ITEM#003", "ITEM#001"]
    assert asked == [
        ["ITEM#002", "ITEM#000", "ITEM#003", "ITEM#001"],
        ["ITEM#000", "ITEM#003", "ITEM#001"],
        ["ITEM#003", "ITEM#001"],
    ]
    assert slept == [0.05, 0.1]


def test_keys_that_stay_unprocessed_raise_transaction_contended(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = aws.dynamodb()
    slept: list[float] = []

    def refusing(**request: Any) -> Any:
        return {"Responses": {table: []}, "UnprocessedKeys": request["RequestItems"]}

    monkeypatch.setattr(client, "batch_get_item", refusing)
    monkeypatch.setattr("time.sleep", slept.append)

    with pytest.raises(TransactionContended):
        batch_get(table, [_key(1)])

    assert len(slept) == BATCH_ATTEMPTS - 1
    assert max(slept) == 1.0
