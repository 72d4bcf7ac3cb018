"""The analytics inbox counts every domain event once per type and UTC day (events/analytics/)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from analytics.handler import handler
from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness


@pytest.fixture
def analytics_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("AnalyticsTable")
        harness.use_context(monkeypatch, "analytics", name)
        yield name


def _count(table: str, event_type: str, day: str) -> int | None:
    item = harness.get_item(table, f"EVENTCOUNT#{event_type}", day)
    return None if item is None else int(item["count"]["N"])


def test_given_an_event_delivered_twice_then_it_is_counted_once_on_its_utc_day(analytics_table: str) -> None:
    delivery = load_event("analytics/sqs_event")

    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}
    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}

    assert _count(analytics_table, "pledge.created", "2026-11-22") == 1
    event_id = json.loads(delivery["Records"][0]["body"])["detail"]["eventId"]
    assert harness.get_item(analytics_table, f"PROCESSED#{event_id}", "analytics") is not None


def test_different_events_of_a_type_add_up_and_days_follow_the_event_timestamp(analytics_table: str) -> None:
    envelope = json.loads(load_event("analytics/sqs_event")["Records"][0]["body"])["detail"]
    events = [
        DomainEvent.model_validate({**envelope, "eventId": f"e-{n}", "timestamp": stamp})
        for n, stamp in enumerate(
            ["2026-11-22T10:00:00+00:00", "2026-11-22T23:59:59.999+00:00", "2026-11-23T01:30:00+03:00"]
        )
    ]
    events.append(
        DomainEvent.model_validate({**envelope, "eventId": "e-pay", "eventType": "payment.completed"})
    )

    assert handler(harness.deliveries(*events), FakeLambdaContext()) == {"batchItemFailures": []}

    # 01:30 in UTC+3 is 22:30 UTC on the 22nd.
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 3
    assert _count(analytics_table, "pledge.created", "2026-11-23") is None
    assert _count(analytics_table, "payment.completed", "2026-11-22") == 1


def test_the_daily_counts_read_back_by_type_and_range(analytics_table: str) -> None:
    from analytics.repository import daily_counts

    handler(load_event("analytics/sqs_event"), FakeLambdaContext())
    assert daily_counts("pledge.created", "2026-11-01", "2026-11-30") == {"2026-11-22": 1}
