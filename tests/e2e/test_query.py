"""The query context through the local stack: events leave other contexts' outboxes, cross the bus
into the query inbox, and a client reads totals, history and statistics through the gateway."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import eventually, http

pytestmark = pytest.mark.e2e
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _envelope(event_type: str, source: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "eventId": str(uuid.uuid4()),
        "eventType": event_type,
        "schemaVersion": 1,
        "timestamp": at.isoformat(timespec="milliseconds"),
        "source": source,
        "correlationId": "e2e-query",
        "data": data,
    }


def _commit_to_outbox(stack, table: str, envelope: dict[str, Any]) -> None:
    """What a context's transaction writes next to its change: the relay takes it from the stream."""
    stack.client("dynamodb").put_item(
        TableName=stack.physical_name(table),
        Item={
            "pk": {"S": f"OUTBOX#{envelope['eventId']}"},
            "sk": {"S": "OUTBOX"},
            "eventType": {"S": envelope["eventType"]},
            "source": {"S": envelope["source"]},
            "envelope": {"S": json.dumps(envelope)},
            "createdAt": {"S": envelope["timestamp"]},
        },
    )


def _pledge(pledge_id: str, campaign_id: str, amount: int, minutes: int, **donor: Any) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minutes)
    return {
        "pledgeId": pledge_id,
        "campaignId": campaign_id,
        "donorId": donor.get("donor_id"),
        "donorEmail": donor.get("email", "guest@example.org"),
        "donorName": None if donor.get("anonymous") else "Amina Rahman",
        "isAnonymous": bool(donor.get("anonymous")),
        "amount": amount,
        "currency": "BDT",
        "message": None,
        "locale": "en",
        "createdAt": at.isoformat(),
        "paymentId": f"pay-{pledge_id}",
        "campaignTitle": "E2E water",
        "campaignOwnerId": "u-e2e-owner",
        "campaignType": "medical",
        "completedAt": at.isoformat(),
    }


def _get(stack, path: str) -> tuple[int, Any]:
    return http("GET", f"{stack.url}{path}")


def _totals(stack, campaign_id: str) -> dict[str, Any] | None:
    status, body = _get(stack, f"/api/query/campaigns/{campaign_id}/totals")
    return body["data"] if status == 200 else None


def test_events_from_other_contexts_reach_the_totals_once_and_a_rebuild_changes_nothing(stack):
    campaign_id = f"c-e2e-{uuid.uuid4().hex[:8]}"
    created = _envelope(
        "campaign.created",
        "harambee.campaigns",
        {
            "campaignId": campaign_id,
            "ownerId": "u-e2e-owner",
            "title": "E2E water",
            "type": "medical",
            "status": "active",
            "goalAmount": 100_000,
            "currency": "BDT",
            "visibility": "public",
        },
        T0,
    )
    first = _envelope("pledge.completed", "harambee.donations", _pledge("pl-e1", campaign_id, 30_000, 1), T0)
    second = _envelope(
        "pledge.completed",
        "harambee.donations",
        _pledge("pl-e2", campaign_id, 20_000, 2, anonymous=True, email="shy@example.org"),
        T0,
    )
    refund_data = {
        **_pledge("pl-e1", campaign_id, 30_000, 1),
        "refundAmount": 10_000,
        "refundedAmount": 10_000,
        "fullyRefunded": False,
        "reason": "requested_by_donor",
        "refundedAt": (T0 + timedelta(days=1)).isoformat(),
    }
    refund = _envelope("pledge.refunded", "harambee.donations", refund_data, T0 + timedelta(days=1))

    # Given: the pledges are committed before the campaign (order on the bus is not guaranteed)
    for envelope in (first, second, refund):
        _commit_to_outbox(stack, "DonationsTable", envelope)
    _commit_to_outbox(stack, "CampaignsTable", created)

    # Then: a client reads the totals, net of the refund, with the campaign's title
    def settled() -> dict[str, Any] | None:
        totals = _totals(stack, campaign_id)
        return totals if totals and totals["title"] and totals["raisedAmount"] == 40_000 else None

    totals = eventually(settled, timeout=40)
    assert (totals["donationCount"], totals["donorCount"], totals["progressPercentage"]) == (2, 2, 40.0)
    status, history = _get(stack, f"/api/query/campaigns/{campaign_id}/donations")
    assert status == 200
    assert [(d["pledgeId"], d["donorName"]) for d in history["data"]] == [
        ("pl-e2", None),
        ("pl-e1", "Amina Rahman"),
    ]
    assert "shy@example.org" not in json.dumps(history)

    # When: the same events reach the bus again (at-least-once delivery)
    entries = [
        {
            "Source": envelope["source"],
            "DetailType": envelope["eventType"],
            "Detail": json.dumps(envelope),
            "EventBusName": stack.physical_name("EventBus"),
        }
        for envelope in (first, second, refund, created)
    ]
    stack.client("events").put_events(Entries=entries)
    queue = stack.physical_name("QueryQueue")
    eventually(lambda: _drained(stack, queue), timeout=30)

    # Then: nothing moved, and an operator's rebuild agrees (its second run writes nothing)
    assert _totals(stack, campaign_id) == totals
    rebuilt = stack.invoke("QueryFunction", {"task": "query.rebuild"})
    assert not rebuilt.error, rebuilt.payload
    assert rebuilt.payload["raced"] == 0
    again = stack.invoke("QueryFunction", {"task": "query.rebuild"})
    assert (again.payload["written"], again.payload["deleted"]) == (0, 0)
    assert _totals(stack, campaign_id) == totals
    status, top = _get(stack, "/api/query/campaigns/top?limit=100")
    assert status == 200
    assert campaign_id in [c["campaignId"] for c in top["data"]]


def test_a_user_route_needs_a_token_and_the_platform_statistics_are_public(stack):
    status, body = _get(stack, "/api/query/users/u-someone/donations")
    assert status == 401, body
    status, body = _get(stack, "/api/query/statistics/platform")
    assert status == 200
    assert set(body["data"]) == {
        "totalRaised",
        "totalDonations",
        "totalDonors",
        "totalCampaigns",
        "activeCampaigns",
    }


def _drained(stack, queue_url: str) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def test_an_unlisted_pots_donors_are_its_celebrants_and_refunds_in_any_order_settle_both_totals(stack):
    from tests.e2e.test_campaigns import call, register

    _, celebrant = register(stack, "Awa")
    _, friend = register(stack, "Friend")
    birthday = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
    status, pot = call(stack, "POST", "/api/pots", celebrant, {"birthday": birthday, "goalAmount": 30_000})
    assert status == 201, pot
    pot_id, share, currency = (pot["data"][k] for k in ("campaignId", "shareToken", "currency"))
    refunded_first = {**_pledge("pl-p1", pot_id, 20_000, 1, email="a@example.org"), "currency": currency}
    kept = {**_pledge("pl-p2", pot_id, 30_000, 2, email="b@example.org"), "currency": currency}
    refund = {
        **refunded_first,
        "refundAmount": 20_000,
        "refundedAmount": 20_000,
        "fullyRefunded": True,
        "reason": "requested_by_donor",
        "refundedAt": (T0 + timedelta(days=1)).isoformat(),
    }
    # Given a full refund committed before its completion, then another donation
    for event_type, data in (
        ("pledge.refunded", refund),
        ("pledge.completed", refunded_first),
        ("pledge.completed", kept),
    ):
        _commit_to_outbox(stack, "DonationsTable", _envelope(event_type, "harambee.donations", data, T0))

    def settled() -> dict[str, Any] | None:
        status, body = call(stack, "GET", f"/api/pots/{pot_id}", celebrant)
        shown = body["data"] if status == 200 else {}
        figures = (shown.get("raisedAmount"), shown.get("donationCount"), shown.get("goalReached"))
        return shown if figures == (30_000, 1, True) else None

    # Then the pot's own totals count only what was kept, and its goal was reached
    shown = eventually(settled, timeout=40)
    assert shown["donorCount"] == 1

    def query_totals(token: str | None, path: str = "totals") -> tuple[int, Any]:
        return call(stack, "GET", f"/api/query/campaigns/{pot_id}/{path}", token)

    # And the donor list and totals in query are the celebrant's: 404 to others, share link or not
    def counted_in_query() -> dict[str, Any] | None:
        status, body = query_totals(celebrant)
        return body["data"] if status == 200 and body["data"]["raisedAmount"] == 30_000 else None

    owned = eventually(counted_in_query, timeout=40)
    assert owned["donationCount"] == 1
    assert query_totals(None)[0] == query_totals(friend)[0] == 404
    assert query_totals(None, f"donations?token={share}")[0] == 404
    assert query_totals(celebrant, "donations")[0] == 200
    # When the celebrant makes the pot public, everyone may read them
    assert call(stack, "PUT", f"/api/pots/{pot_id}", celebrant, {"visibility": "public"})[0] == 200
    eventually(lambda: query_totals(None, "donations")[0] == 200 or None, timeout=40)
    assert query_totals(friend)[0] == 200
