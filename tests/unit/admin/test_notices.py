"""System notifications: raised once per event or dead-letter growth, listed by filters, marked read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from admin import service
from harambee import aws
from tests.unit.admin.conftest import USER, Reply, call, deliver, event, invoke

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

RAISERS: list[tuple[str, dict[str, Any], str, str]] = [
    ("payment.flagged", {"paymentId": "p-1", "provider": "wave", "amount": 5000, "currency": "XOF",
                         "reason": "still_pending_at_provider"}, "high", "warning"),
    ("pledge.saga_failed", {"pledgeId": "pl-1", "executionName": "pl-1", "error": "States.Timeout",
                            "cause": "no payment"}, "high", "alert"),
    ("notification.failed", {"notificationId": "n-1", "userId": "u-1", "channel": "sms",
                             "template": "receipt", "attempts": 5, "error": "throttled"},
     "medium", "warning"),
    ("session.reuse_detected", {"userId": "u-1", "familyId": "f-1", "at": "2026-11-22T09:00:00Z"},
     "critical", "alert"),
]  # fmt: skip


@pytest.mark.parametrize(("event_type", "data", "severity", "kind"), RAISERS)
def test_each_source_raises_one_notification_even_when_redelivered(
    admin: dict[str, str], event_type: str, data: dict[str, object], severity: str, kind: str
) -> None:
    raised = event(event_type, data, at=T0)
    assert deliver(raised, raised) == {"batchItemFailures": []}
    reply = call("GET", "/api/admin/notifications")
    assert reply.status == 200, reply
    (notice,) = reply.data
    assert (notice["notificationId"], notice["source"], notice["severity"], notice["type"]) == (
        raised.event_id, event_type, severity, kind
    )  # fmt: skip
    assert notice["isRead"] is False
    assert notice["metadata"]["eventId"] == raised.event_id


@pytest.fixture
def raised(admin: dict[str, str]) -> list[str]:
    """One notice of each source, a minute apart; their ids oldest first."""
    events = [event(t, d, at=T0 + timedelta(minutes=n)) for n, (t, d, _, _) in enumerate(RAISERS)]
    deliver(*events)
    return [e.event_id for e in events]


def listed(query: dict[str, str] | None = None) -> list[str]:
    reply = call("GET", "/api/admin/notifications", query=query)
    assert reply.status == 200, reply
    return [notice["notificationId"] for notice in reply.data]


def test_filters_by_severity_and_unread(raised: list[str]) -> None:
    assert listed() == raised[::-1]
    assert listed({"severity": "high"}) == [raised[1], raised[0]]
    read = call("PATCH", f"/api/admin/notifications/{raised[1]}/read")
    assert read.status == 200
    assert read.data["isRead"] is True
    assert read.data["readBy"] == "u-admin"
    assert listed({"unread": "true"}) == [raised[3], raised[2], raised[0]]
    assert listed({"unread": "true", "severity": "high"}) == [raised[0]]
    assert listed({"unread": "false"}) == [raised[1]]
    # Read notices stay in the full list
    assert listed() == raised[::-1]


def test_pages_follow_the_cursor(raised: list[str]) -> None:
    first = call("GET", "/api/admin/notifications", query={"limit": "3"})
    assert first.pagination["hasMore"] is True
    rest = call("GET", "/api/admin/notifications", query={"limit": "3", "next": first.pagination["next"]})
    assert [n["notificationId"] for n in first.data + rest.data] == raised[::-1]
    assert rest.pagination == {"limit": 3, "next": None, "hasMore": False}


def test_marking_read_twice_keeps_the_first_reader_and_time(raised: list[str]) -> None:
    first = call("PATCH", f"/api/admin/notifications/{raised[0]}/read")
    again = invoke_as_other_admin(raised[0])
    assert again.status == 200
    assert (again.data["readAt"], again.data["readBy"]) == (first.data["readAt"], "u-admin")


def invoke_as_other_admin(notification_id: str) -> Reply:
    other = {"principalId": "u-root", "userId": "u-root", "email": "root@example.org", "role": "ADMIN"}
    return call("PATCH", f"/api/admin/notifications/{notification_id}/read", caller=other)


def test_unknown_notifications_are_404_and_users_are_403(admin: dict[str, str]) -> None:
    missing = call("PATCH", "/api/admin/notifications/nope/read")
    assert (missing.status, missing.error["code"]) == (404, "NOT_FOUND")
    assert call("GET", "/api/admin/notifications", caller=USER).status == 403
    assert call("PATCH", "/api/admin/notifications/nope/read", caller=USER).status == 403
    assert call("GET", "/api/admin/notifications", caller=None).status == 401
    bad = call("GET", "/api/admin/notifications", query={"severity": "urgent"})
    assert bad.status == 422


def test_the_watch_raises_one_notice_each_time_a_dead_letter_queue_grows(admin: dict[str, str]) -> None:
    sqs = aws.client("sqs")
    payments_dlq = admin["test-PaymentsDeadLetterQueue"]

    def park(count: int) -> None:
        for n in range(count):
            sqs.send_message(QueueUrl=payments_dlq, MessageBody=f'{{"n": {n}}}')

    def watch() -> list[str]:
        result = invoke({"schedule": "watch-dead-letters"})
        return list(result["raised"])

    # Given empty queues, the first look raises nothing
    assert watch() == []
    # When two messages are dead-lettered, one notice says so
    park(2)
    (first,) = watch()
    # and looking again without change raises nothing more
    assert watch() == []
    park(1)
    (second,) = watch()
    notices = call("GET", "/api/admin/notifications").data
    assert [n["notificationId"] for n in notices] == [second, first]
    assert notices[1]["metadata"] == {"queue": "test-PaymentsDeadLetterQueue", "previousDepth": 0, "depth": 2}
    assert notices[0]["metadata"]["previousDepth"] == 2
    assert {n["severity"] for n in notices} == {"high"}
    # A queue drained after a redrive shrinks silently, and growing again from there is news
    sqs.purge_queue(QueueUrl=payments_dlq)
    assert watch() == []
    park(1)
    assert len(watch()) == 1


def test_two_overlapping_watches_report_a_growth_once(
    admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from admin import repository

    aws.client("sqs").send_message(QueueUrl=admin["test-AdminDeadLetterQueue"], MessageBody="{}")
    assert len(service.watch_dead_letters()) == 1
    # Given a slow watch that read the depth before the first one recorded it
    monkeypatch.setattr(repository, "last_depth", lambda queue: None)
    # Then its conditional write fails and it raises nothing
    assert service.watch_dead_letters() == []
    assert len(call("GET", "/api/admin/notifications").data) == 1
