"""The append-only audit log: any event carrying `audit` becomes one record; filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin import repository
from admin.domain.audit import record_of
from harambee.events import DomainEvent
from tests.unit.admin.conftest import USER, Reply, call, deliver, event

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def status_changed(
    actor: str, target: str, at: datetime, *, before: str = "active", after: str = "suspended"
) -> DomainEvent:
    """Identity's shape: targetId, no action, no entityType (the convention's defaults apply)."""
    return event(
        "account.status_changed",
        {
            "userId": target,
            "email": f"{target}@example.org",
            "audit": {
                "actorId": actor,
                "targetId": target,
                "before": {"status": before},
                "after": {"status": after},
                "requestId": "req-1",
                "ip": "203.0.113.10",
                "userAgent": "curl/8",
            },
        },
        at=at,
        source="harambee.identity",
    )


def approved(actor: str, campaign_id: str, at: datetime) -> DomainEvent:
    return event(
        "campaign.status_changed",
        {
            "campaignId": campaign_id,
            "status": "active",
            "previousStatus": "draft",
            "audit": {
                "actorId": actor,
                "action": "approve_campaign",
                "entityType": "campaign",
                "entityId": campaign_id,
                "before": {"status": "draft"},
                "after": {"status": "active"},
            },
        },
        at=at,
        source="harambee.campaigns",
    )


def test_an_identity_change_maps_with_the_conventions_defaults() -> None:
    change = status_changed("u-admin", "u-7", T0)
    record = record_of(change)
    assert record is not None
    assert record.action == "account.status_changed"
    assert (record.entity_type, record.entity_id) == ("account", "u-7")
    assert (record.actor_id, record.ip, record.user_agent, record.request_id) == (
        "u-admin", "203.0.113.10", "curl/8", "req-1"
    )  # fmt: skip
    assert (record.before, record.after) == ({"status": "active"}, {"status": "suspended"})
    assert (record.source_context, record.event_id, record.at) == ("identity", change.event_id, T0)


def test_explicit_action_and_entity_are_kept_and_events_without_audit_are_not_records() -> None:
    record = record_of(approved("u-admin", "c-9", T0))
    assert record is not None
    assert (record.action, record.entity_type, record.entity_id) == ("approve_campaign", "campaign", "c-9")
    assert record_of(event("pledge.completed", {"amount": 1})) is None
    # No entity id anywhere: the event's own resource id stands in
    fallback = record_of(event("campaign.updated", {"campaignId": "c-3", "audit": {"actorId": "u-1"}}))
    assert fallback is not None
    assert fallback.entity_id == "c-3"


def test_a_redelivery_never_overwrites_the_record(admin: dict[str, str]) -> None:
    original = status_changed("u-admin", "u-7", T0)
    deliver(original)
    # Given someone replays the same event id with other contents
    forged = original.model_copy(
        update={"data": {"audit": {"actorId": "u-evil", "after": {"status": "active"}}}}
    )
    assert deliver(forged) == {"batchItemFailures": []}
    stored = repository.get_audit(original.event_id)
    assert stored is not None
    assert (stored.actor_id, stored.after) == ("u-admin", {"status": "suspended"})
    assert len(call("GET", "/api/admin/audit-logs").data) == 1


@pytest.fixture
def history(admin: dict[str, str]) -> list[str]:
    """Five records over five hours: two admins, three entities. Returns event ids oldest first."""
    changes = [
        status_changed("u-admin", "u-1", T0),
        status_changed("u-admin", "u-2", T0 + timedelta(hours=1)),
        approved("u-root", "c-1", T0 + timedelta(hours=2)),
        status_changed("u-root", "u-1", T0 + timedelta(hours=3), before="suspended", after="active"),
        status_changed("u-admin", "u-1", T0 + timedelta(hours=4)),
    ]
    assert deliver(*changes) == {"batchItemFailures": []}
    return [change.event_id for change in changes]


def ids(reply: Reply) -> list[str]:
    assert reply.status == 200, reply
    return [record["eventId"] for record in reply.data]


def test_the_log_lists_newest_first_with_every_field(history: list[str]) -> None:
    reply = call("GET", "/api/admin/audit-logs")
    assert ids(reply) == history[::-1]
    newest = reply.data[0]
    assert {"actorId", "action", "entityType", "entityId", "before", "after", "ip", "userAgent",
            "requestId", "at", "sourceContext", "eventId"} <= set(newest)  # fmt: skip


def test_filters_by_actor_entity_and_both(history: list[str]) -> None:
    assert ids(call("GET", "/api/admin/audit-logs", query={"actorId": "u-root"})) == [history[3], history[2]]
    by_entity = {"entityType": "account", "entityId": "u-1"}
    assert ids(call("GET", "/api/admin/audit-logs", query=by_entity)) == [history[4], history[3], history[0]]
    both = {**by_entity, "actorId": "u-admin"}
    assert ids(call("GET", "/api/admin/audit-logs", query=both)) == [history[4], history[0]]


def test_filters_by_date_range(history: list[str]) -> None:
    window = {"from": (T0 + timedelta(hours=1)).isoformat(), "to": (T0 + timedelta(hours=3)).isoformat()}
    assert ids(call("GET", "/api/admin/audit-logs", query=window)) == [history[3], history[2], history[1]]
    # A bare date is the whole UTC day
    assert len(ids(call("GET", "/api/admin/audit-logs", query={"to": "2026-11-20"}))) == 5
    assert ids(call("GET", "/api/admin/audit-logs", query={"from": "2026-11-21"})) == []


def test_pages_follow_the_cursor_to_the_end(history: list[str]) -> None:
    seen: list[str] = []
    query = {"limit": "2", "actorId": "u-admin"}
    reply = call("GET", "/api/admin/audit-logs", query=query)
    while True:
        seen += ids(reply)
        if not reply.pagination["hasMore"]:
            break
        reply = call("GET", "/api/admin/audit-logs", query={**query, "next": reply.pagination["next"]})
    assert seen == [history[4], history[1], history[0]]


def test_a_cursor_of_another_list_is_refused(history: list[str]) -> None:
    first = call("GET", "/api/admin/audit-logs", query={"limit": "1", "actorId": "u-admin"})
    other = call(
        "GET", "/api/admin/audit-logs", query={"actorId": "u-root", "next": first.pagination["next"]}
    )
    assert (other.status, other.error["code"]) == (400, "INVALID_CURSOR")


@pytest.mark.parametrize(
    "query",
    [
        {"entityType": "account"},
        {"entityId": "u-1"},
        {"from": "yesterday"},
        {"from": "2026-11-21", "to": "2026-11-20"},
    ],
)
def test_bad_filters_are_422(admin: dict[str, str], query: dict[str, str]) -> None:
    reply = call("GET", "/api/admin/audit-logs", query=query)
    assert (reply.status, reply.error["code"]) == (422, "VALIDATION_FAILED")


def test_users_may_not_read_the_log(admin: dict[str, str]) -> None:
    assert call("GET", "/api/admin/audit-logs", caller=USER).status == 403
    assert call("GET", "/api/admin/audit-logs", caller=None).status == 401
