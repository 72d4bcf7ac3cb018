"""Admin's handler driven by the sample events in events/admin/ (as `sam local invoke -e` would)."""

from __future__ import annotations

import json
from typing import Any

from harambee import aws
from tests.support.events import load_event
from tests.unit.admin.conftest import Reply, admin, invoke

__all__ = ["admin"]  # the fixture: admin's tables and dead-letter queues in moto


def _api(sample: dict[str, Any]) -> Reply:
    return Reply(invoke(sample))


def _deliver(sample: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = invoke(sample)
    return response


def test_an_audited_identity_change_is_listed_by_entity_once(admin: dict[str, str]) -> None:
    # Given identity's account.status_changed, delivered twice (both admin rules, or SQS redelivery)
    assert _deliver(load_event("admin/sqs_audit_status_changed")) == {"batchItemFailures": []}
    assert _deliver(load_event("admin/sqs_audit_status_changed")) == {"batchItemFailures": []}
    # When an admin filters the audit log by that account
    reply = _api(load_event("admin/api_audit_logs_by_entity"))
    # Then one record says who did what, from where, before and after
    assert reply.status == 200, reply
    (record,) = reply.data
    assert record["action"] == "account.status_changed"
    assert (record["entityType"], record["entityId"]) == ("account", "8d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f")
    assert (record["before"], record["after"]) == ({"status": "active"}, {"status": "suspended"})
    assert (record["ip"], record["userAgent"], record["sourceContext"]) == (
        "203.0.113.10", "Mozilla/5.0", "identity"
    )  # fmt: skip


def test_a_completed_pledge_reaches_the_dashboard(admin: dict[str, str]) -> None:
    assert _deliver(load_event("admin/sqs_pledge_completed")) == {"batchItemFailures": []}
    reply = _api(load_event("admin/api_dashboard_stats"))
    assert reply.status == 200, reply
    assert reply.data["totals"]["raised"] == [{"currency": "BDT", "amount": 150000}]
    assert (reply.data["totals"]["donations"], reply.data["totals"]["donors"]) == (1, 1)


def test_a_security_event_is_an_unread_critical_notice_until_marked_read(admin: dict[str, str]) -> None:
    assert _deliver(load_event("admin/sqs_session_reuse_detected")) == {"batchItemFailures": []}
    (notice,) = _api(load_event("admin/api_notifications_unread")).data
    assert (notice["notificationId"], notice["severity"]) == (
        "5c0d2b4e-7f1a-4e3b-9c8d-6a5b4c3d2e1f",
        "critical",
    )
    marked = _api(load_event("admin/api_notification_read"))
    assert (marked.status, marked.data["isRead"]) == (200, True)
    assert _api(load_event("admin/api_notifications_unread")).data == []


def test_the_watch_schedule_raises_a_notice_for_a_grown_dead_letter_queue(admin: dict[str, str]) -> None:
    aws.client("sqs").send_message(QueueUrl=admin["test-AdminDeadLetterQueue"], MessageBody=json.dumps({}))
    result = invoke(load_event("admin/schedule_watch_dead_letters"))
    assert len(result["raised"]) == 1
    assert invoke(load_event("admin/schedule_watch_dead_letters")) == {"raised": []}
