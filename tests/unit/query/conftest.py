"""The query context in moto, driven through its Lambda handler: events in through the inbox, reads
out through the API, tasks as the operator's CLI sends them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, Reply, api_event
from tests.unit.kernel import harness

DONOR = {"principalId": "u-donor", "userId": "u-donor", "email": "donor@example.org", "role": "USER"}
OTHER = {"principalId": "u-other", "userId": "u-other", "email": "other@example.org", "role": "USER"}
ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}
OWNER = {"principalId": "u-owner", "userId": "u-owner", "email": "owner@example.org", "role": "USER"}
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _invoke(event: dict[str, Any]) -> Any:
    from query.handler import handler

    try:
        asyncio.get_event_loop()
    except RuntimeError:
        # Mangum asks for the thread's event loop; worker threads have none until given one.
        asyncio.set_event_loop(asyncio.new_event_loop())
    return handler(event, FakeLambdaContext())


def get(path: str, *, caller: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Reply:
    return Reply(_invoke(api_event("GET", path, authorizer=caller, query=query)))


def deliver(*events: DomainEvent) -> dict[str, Any]:
    """One SQS batch carrying these events; returns the partial batch response."""
    result: dict[str, Any] = _invoke(harness.deliveries(*events))
    return result


def run_task(task: dict[str, Any]) -> Any:
    return _invoke(task)


@pytest.fixture
def query_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from query import settings

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("QueryTable")
        harness.use_context(monkeypatch, "query", name)
        monkeypatch.setenv("DONATIONS_FUNCTION_NAME", "test-DonationsFunction")
        settings.query_settings.cache_clear()
        yield name
        settings.query_settings.cache_clear()


def event(
    event_type: str, data: dict[str, Any], *, at: datetime | None = None, source: str = ""
) -> DomainEvent:
    return DomainEvent(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        source=source or f"harambee.{'campaigns' if event_type.startswith('campaign') else 'donations'}",
        timestamp=at or datetime.now(UTC),
        data=data,
    )


def campaign_event(
    campaign_id: str = "c-1",
    *,
    event_type: str = "campaign.created",
    status: str = "active",
    title: str = "Clean water for Sylhet",
    goal: int = 1_000_000,
    currency: str = "BDT",
    visibility: str = "public",
    owner: str = "u-owner",
    deleted: bool = False,
    at: datetime = T0,
) -> DomainEvent:
    return event(
        event_type,
        {
            "campaignId": campaign_id,
            "ownerId": owner,
            "title": title,
            "type": "medical",
            "status": status,
            "goalAmount": goal,
            "currency": currency,
            "visibility": visibility,
            "startDate": "2026-11-01",
            "endDate": "2026-12-31",
            "beneficiaryName": "Sylhet clinic",
            "autoCreated": False,
            "deleted": deleted,
            "createdAt": T0.isoformat(),
        },
        at=at,
    )


def pledge_data(
    pledge_id: str,
    campaign_id: str = "c-1",
    *,
    amount: int = 50_000,
    donor: str | None = "u-donor",
    email: str = "donor@example.org",
    name: str | None = "Amina Rahman",
    anonymous: bool = False,
    currency: str = "BDT",
    minutes: int = 0,
) -> dict[str, Any]:
    return {
        "pledgeId": pledge_id,
        "campaignId": campaign_id,
        "donorId": donor,
        "donorEmail": email,
        "donorName": None if anonymous else name,
        "isAnonymous": anonymous,
        "amount": amount,
        "currency": currency,
        "message": "Get well soon",
        "locale": "en",
        "createdAt": (T0 + timedelta(minutes=minutes)).isoformat(),
        "paymentId": f"pay-{pledge_id}",
        "campaignTitle": "Clean water for Sylhet",
        "campaignOwnerId": "u-owner",
        "campaignType": "medical",
        "completedAt": (T0 + timedelta(minutes=minutes, seconds=30)).isoformat(),
    }


def completed(pledge_id: str, campaign_id: str = "c-1", **fields: Any) -> DomainEvent:
    return event("pledge.completed", pledge_data(pledge_id, campaign_id, **fields))


def refunded(
    pledge_id: str, campaign_id: str = "c-1", *, refund: int, total: int | None = None, **fields: Any
) -> DomainEvent:
    data = pledge_data(pledge_id, campaign_id, **fields)
    refunded_amount = total if total is not None else refund
    data.update(
        refundAmount=refund,
        refundedAmount=refunded_amount,
        fullyRefunded=refunded_amount >= data["amount"],
        reason="requested_by_donor",
        refundedAt=(T0 + timedelta(days=1)).isoformat(),
    )
    return event("pledge.refunded", data)


def totals(campaign_id: str = "c-1", *, caller: dict[str, str] | None = ADMIN) -> dict[str, Any]:
    """The figures, read as an admin by default: pledges may precede the campaign's snapshot, and
    until it arrives nobody else may read them (who may read what is tested in test_api)."""
    reply = get(f"/api/query/campaigns/{campaign_id}/totals", caller=caller)
    assert reply.status == 200, reply
    data: dict[str, Any] = reply.data
    return data


def platform() -> dict[str, Any]:
    reply = get("/api/query/statistics/platform")
    assert reply.status == 200, reply
    data: dict[str, Any] = reply.data
    return data


def items(table_name: str, prefix: str = "") -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [item for item in scanned if item["pk"]["S"].startswith(prefix)]
