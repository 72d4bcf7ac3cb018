"""Campaigns in moto, driven through its Lambda handler as API Gateway, SQS, schedules and tasks would."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harambee import auth
from tests.support.events import FakeLambdaContext, Reply, api_event
from tests.unit.kernel import harness

OWNER = {"principalId": "u-owner", "userId": "u-owner", "email": "owner@example.org", "role": "USER"}
OTHER = {"principalId": "u-other", "userId": "u-other", "email": "other@example.org", "role": "USER"}
ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}


def invoke(event: dict[str, Any]) -> Any:
    from campaigns.handler import handler

    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return handler(event, FakeLambdaContext())


def call(
    method: str,
    path: str,
    *,
    body: Any = None,
    caller: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Reply:
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return Reply(invoke(api_event(method, path, body=raw, authorizer=caller, query=query)))


@pytest.fixture
def campaigns_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from campaigns import settings

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("CampaignsTable")
        harness.use_context(monkeypatch, "campaigns", name)
        monkeypatch.setenv("POT_CURRENCY", "XOF")
        monkeypatch.setenv("WEB_APP_URL", "https://app.test.harambee.app")
        settings.campaigns_settings.cache_clear()
        auth._verifier.cache_clear()
        yield name
        settings.campaigns_settings.cache_clear()


def future(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def campaign_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Surgery for Amina",
        "description": "Heart surgery at the national hospital in Dhaka",
        "type": "medical",
        "goalAmount": 500_000,
        "currency": "BDT",
        "startDate": future(0),
        "endDate": future(30),
        "beneficiaryName": "Amina Rahman",
        "beneficiaryDetails": "Patient at Dhaka Medical College Hospital",
        "imageUrl": "https://cdn.example.org/amina.jpg",
        "documents": ["https://cdn.example.org/amina-report.pdf"],
    }
    body.update(changes)
    return body


def items(table_name: str, prefix: str = "") -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb").scan(TableName=table_name)["Items"]
    return [item for item in scanned if item["pk"]["S"].startswith(prefix)]


def outbox(table_name: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """Envelopes in the outbox, oldest first, optionally of one type."""
    envelopes = [json.loads(item["envelope"]["S"]) for item in items(table_name, "OUTBOX#")]
    envelopes.sort(key=lambda envelope: envelope["timestamp"])
    return [e for e in envelopes if event_type is None or e["eventType"] == event_type]


def today() -> date:
    return datetime.now(UTC).date()


def stored(**changes: Any) -> Any:
    """A campaign written straight to the table (active, in BDT, ending in ten days unless changed)."""
    from campaigns import repository
    from campaigns.domain.campaign import Campaign, CampaignStatus, CampaignType
    from harambee.outbox import transact_write

    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "campaign_id": str(uuid.uuid4()),
        "owner_id": "u-owner",
        "type": CampaignType.MEDICAL,
        "status": CampaignStatus.ACTIVE,
        "title": "Surgery for Amina",
        "goal_amount": 500_000,
        "currency": "BDT",
        "start_date": today() - timedelta(days=3),
        "end_date": today() + timedelta(days=10),
        "created_at": now,
        "updated_at": now,
    }
    fields.update(changes)
    campaign = Campaign(**fields)
    transact_write(repository.put_new_campaign(campaign))
    return campaign
