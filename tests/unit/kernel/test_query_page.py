"""harambee.pagination.query_page: limit+1 paging of a boto3 Query and its cursor round trip."""

from __future__ import annotations

from typing import Any

import pytest

from harambee import aws
from harambee.pagination import InvalidCursor, PageRequest, decode_cursor, query_page

KEY_NAMES = ("pk", "sk", "gsi1pk", "gsi1sk")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _store(table: str, count: int, *, partition: str = "OWNER#amina") -> None:
    for number in range(count):
        aws.dynamodb().put_item(
            TableName=table,
            Item={
                "pk": _s(f"ITEM#{partition}#{number:03d}"),
                "sk": _s("ITEM"),
                "gsi1pk": _s(partition),
                "gsi1sk": _s(f"{number:03d}"),
                "even": {"BOOL": number % 2 == 0},
            },
        )


def _request(table: str, partition: str = "OWNER#amina", **extra: Any) -> dict[str, Any]:
    return {
        "TableName": table,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :partition",
        "ExpressionAttributeValues": {":partition": _s(partition)},
        "ScanIndexForward": False,
        **extra,
    }


def _all_pages(table: str, limit: int, **extra: Any) -> tuple[list[str], list[str | None]]:
    numbers: list[str] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    while True:
        page = PageRequest(limit=limit, next=cursor)
        items, cursor = query_page(
            _request(table, **extra), page, KEY_NAMES, partition={"gsi1pk": "OWNER#amina"}
        )
        assert len(items) <= limit
        numbers.extend(item["gsi1sk"]["S"] for item in items)
        cursors.append(cursor)
        if cursor is None:
            return numbers, cursors


def test_given_45_items_when_paged_by_20_then_each_comes_once_in_order_and_the_last_page_ends(
    table: str,
) -> None:
    _store(table, 45)
    _store(table, 3, partition="OWNER#baraka")

    numbers, cursors = _all_pages(table, 20)

    assert numbers == [f"{number:03d}" for number in reversed(range(45))]
    assert len(cursors) == 3
    assert cursors[-1] is None


def test_the_cursor_is_the_key_attributes_of_the_last_item_kept(table: str) -> None:
    _store(table, 5)

    items, cursor = query_page(
        _request(table), PageRequest(limit=2), KEY_NAMES, partition={"gsi1pk": "OWNER#amina"}
    )

    assert cursor is not None
    assert decode_cursor(cursor) == {name: items[-1][name] for name in KEY_NAMES}


def test_a_page_of_exactly_the_remaining_items_has_no_cursor(table: str) -> None:
    _store(table, 4)

    items, cursor = query_page(
        _request(table), PageRequest(limit=4), KEY_NAMES, partition={"gsi1pk": "OWNER#amina"}
    )

    assert (len(items), cursor) == (4, None)


def test_it_asks_for_one_item_more_than_the_page_and_reads_on_until_it_has_it(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(table, 20)
    client = aws.dynamodb()
    limits: list[int] = []
    original = client.query

    def counting(**request: Any) -> Any:
        limits.append(request["Limit"])
        return original(**request)

    monkeypatch.setattr(client, "query", counting)
    # The filter keeps every other item, so a read of limit+1 items finds only about half a page.
    numbers, _ = _all_pages(
        table,
        3,
        FilterExpression="even = :yes",
        ExpressionAttributeValues={":partition": _s("OWNER#amina"), ":yes": {"BOOL": True}},
    )

    assert numbers == [f"{number:03d}" for number in reversed(range(0, 20, 2))]
    assert set(limits) == {4}
    assert len(limits) > len(numbers) // 3 + 1


def test_a_cursor_of_another_partition_is_refused(table: str) -> None:
    _store(table, 5)
    _store(table, 5, partition="OWNER#baraka")
    _, cursor = query_page(
        _request(table, "OWNER#baraka"), PageRequest(limit=2), KEY_NAMES, partition={"gsi1pk": "OWNER#baraka"}
    )

    with pytest.raises(InvalidCursor):
        query_page(
            _request(table), PageRequest(limit=2, next=cursor), KEY_NAMES, partition={"gsi1pk": "OWNER#amina"}
        )
