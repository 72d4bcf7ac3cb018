"""Admin in moto: its table and the audit log from template.yaml, dead-letter queues, its handler."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from harambee import aws
from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, Reply, api_event
from tests.unit.kernel import harness

ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}
USER = {"principalId": "u-user", "userId": "u-user", "email": "user@example.org", "role": "USER"}
DEAD_LETTER_QUEUES = ("test-PaymentsDeadLetterQueue", "test-AdminDeadLetterQueue")


def invoke(event: dict[str, Any]) -> Any:
    from admin.handler import handler

    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return handler(event, FakeLambdaContext())


def call(
    method: str, path: str, *, caller: dict[str, str] | None = ADMIN, query: dict[str, str] | None = None
) -> Reply:
    return Reply(invoke(api_event(method, path, authorizer=caller, query=query)))


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Admin's resources; yields the dead-letter queue URLs by name."""
    from admin import settings

    with mock_aws(), harness.fresh_caches():
        table = harness.context_table("AdminTable")
        audit = harness.context_table("AuditLogTable")
        harness.use_context(monkeypatch, "admin", table)
        sqs = aws.client("sqs")
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in DEAD_LETTER_QUEUES}
        monkeypatch.setenv("AUDIT_TABLE_NAME", audit)
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URLS", ",".join(urls.values()))
        settings.admin_settings.cache_clear()
        yield urls
        settings.admin_settings.cache_clear()


def event(
    event_type: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    at: datetime | None = None,
    source: str = "harambee.donations",
) -> DomainEvent:
    return DomainEvent(
        event_id=event_id or str(uuid.uuid4()),
        event_type=event_type,
        source=source,
        timestamp=at or datetime.now(UTC),
        correlation_id="corr-1",
        data=data,
    )


def deliver(*events: DomainEvent) -> dict[str, Any]:
    """Deliver events to admin's inbox as one SQS batch; returns the partial batch response."""
    response: dict[str, Any] = invoke(harness.deliveries(*events))
    return response
