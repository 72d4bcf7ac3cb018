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


def _events(count: int, event_type: str = "pledge.created", prefix: str = "b") -> list[DomainEvent]:
    envelope = json.loads(load_event("analytics/sqs_event")["Records"][0]["body"])["detail"]
    return [
        DomainEvent.model_validate({**envelope, "eventId": f"{prefix}-{n}", "eventType": event_type})
        for n in range(count)
    ]


def test_a_batch_of_one_type_is_one_counter_update_with_every_marker(
    analytics_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    sizes: list[int] = []
    from harambee.outbox import transact_write as commit

    def measured(items: list[dict[str, object]], **kwargs: object) -> None:
        sizes.append(len(items))
        commit(items)

    monkeypatch.setattr("analytics.repository.transact_write", measured)
    # Given ten pledge.created events and one payment.completed in one SQS batch (up to 10 in
    # production; the rule is the same for any size)
    batch = [*_events(10), *_events(1, "payment.completed", prefix="p")]
    # When the inbox takes the batch
    assert handler(harness.deliveries(*batch), FakeLambdaContext()) == {"batchItemFailures": []}
    # Then one transaction carried 11 markers and one update per (type, day): 13 items, not 22
    assert sizes == [13]
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 10
    assert _count(analytics_table, "payment.completed", "2026-11-22") == 1
    assert all(harness.get_item(analytics_table, f"PROCESSED#{e.event_id}", "analytics") for e in batch)


def test_an_already_counted_event_in_a_batch_fails_nothing_and_the_rest_is_counted(
    analytics_table: str,
) -> None:
    first, second, third = _events(3)
    # Given the second event was counted by an earlier delivery
    assert handler(harness.deliveries(second), FakeLambdaContext()) == {"batchItemFailures": []}
    # When it comes back in a batch with two new events
    response = handler(harness.deliveries(first, second, third), FakeLambdaContext())
    # Then no message fails, the new ones count and the old one does not count again
    assert response == {"batchItemFailures": []}
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 3
    # and a whole batch delivered again changes nothing
    assert handler(harness.deliveries(first, second, third), FakeLambdaContext()) == {"batchItemFailures": []}
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 3


def test_the_same_event_twice_in_one_batch_is_counted_once(analytics_table: str) -> None:
    (event,) = _events(1)
    delivery = harness.deliveries(event, event)
    delivery["Records"][1]["messageId"] = "second-copy"
    assert handler(delivery, FakeLambdaContext()) == {"batchItemFailures": []}
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 1


def test_an_unreadable_message_fails_alone(analytics_table: str) -> None:
    batch = harness.deliveries(*_events(2))
    batch["Records"].insert(1, harness.sqs_record("not json", "broken"))
    batch["Records"].append(harness.sqs_record(json.dumps({"detail": {"eventId": 1}}), "no-envelope"))
    response = handler(batch, FakeLambdaContext())
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "broken"}, {"itemIdentifier": "no-envelope"}]
    }
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 2


def test_a_failed_transaction_reports_its_messages_for_sqs_to_retry(
    analytics_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from harambee.outbox import transact_write as commit

    throttling = [True]

    def throttled_once(items: list[dict[str, object]], **kwargs: object) -> None:
        if throttling.pop() if throttling else False:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Tx")
        commit(items)

    batch = _events(2)
    monkeypatch.setattr("analytics.repository.transact_write", throttled_once)
    # Given DynamoDB throttles the batch's transaction
    response = handler(harness.deliveries(*batch), FakeLambdaContext())
    # Then both messages go back to SQS, and nothing was counted
    assert sorted(failure["itemIdentifier"] for failure in response["batchItemFailures"]) == ["b-0", "b-1"]
    assert _count(analytics_table, "pledge.created", "2026-11-22") is None
    # and the retry counts them, once
    assert handler(harness.deliveries(*batch), FakeLambdaContext()) == {"batchItemFailures": []}
    assert _count(analytics_table, "pledge.created", "2026-11-22") == 2
