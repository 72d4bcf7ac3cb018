"""The delivery log reads its index's keys, then the deliveries: an update never rewrites the index,
and the log still shows each delivery as it is now."""

from __future__ import annotations

from typing import Any

from harambee import aws
from tests.unit.notifications.conftest import OWNER, call, deliver, event, register
from tests.unit.notifications.test_notifications import COMPLETED


def _index_entries(table: str, user_id: str) -> list[dict[str, Any]]:
    answer = aws.client("dynamodb").query(
        TableName=table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :user",
        ExpressionAttributeValues={":user": {"S": f"USER#{user_id}"}},
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


def test_the_index_holds_keys_only_and_the_log_shows_each_delivery_as_sent(notifications_table: str) -> None:
    # Given an owner who was welcomed and then got a donation notice (each claimed, then sent)
    register("u-owner", "owner@example.org", "Omar")
    assert deliver(event("pledge.completed", COMPLETED)) == {"batchItemFailures": []}
    # Then the index entries carry nothing but keys: the sent update had nothing there to rewrite
    entries = _index_entries(notifications_table, "u-owner")
    assert len(entries) == 2
    assert all(set(entry) == {"pk", "sk", "gsi1pk", "gsi1sk"} for entry in entries)
    # and the log, read through those keys, shows the deliveries as the sent update left them
    status, body = call("GET", "/api/notifications", caller=OWNER)
    assert status == 200
    assert [(n["template"], n["status"], n["attempts"]) for n in body["data"]] == [
        ("new_donation", "sent", 1),
        ("welcome", "sent", 1),
    ]
    assert all(n["sentAt"] and n["createdAt"] <= n["sentAt"] for n in body["data"])


def test_the_log_pages_newest_first_with_a_cursor(notifications_table: str) -> None:
    # Given an owner with three deliveries
    register("u-owner", "owner@example.org", "Omar")
    deliver(event("pledge.completed", COMPLETED))
    deliver(event("pledge.completed", {**COMPLETED, "pledgeId": "pl-2", "amount": 7_000}))
    # When the log is read two at a time
    status, first = call("GET", "/api/notifications", caller=OWNER, query={"limit": "2"})
    assert status == 200
    assert first["pagination"]["hasMore"] is True
    status, second = call(
        "GET", "/api/notifications", caller=OWNER, query={"limit": "2", "next": first["pagination"]["next"]}
    )
    assert status == 200
    # Then every delivery appears once, newest first, the last page says there is no more
    listed = [*first["data"], *second["data"]]
    assert [n["template"] for n in listed] == ["new_donation", "new_donation", "welcome"]
    assert len({n["notificationId"] for n in listed}) == 3
    assert [n["createdAt"] for n in listed] == sorted((n["createdAt"] for n in listed), reverse=True)
    assert second["pagination"]["hasMore"] is False
