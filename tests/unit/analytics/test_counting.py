"""Counting a batch: transactions within DynamoDB's 100-item limit, and faults that fail only their own
events (SQS retries them; the markers keep a retry from counting twice)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from analytics import repository
from analytics.service import count_events, event_day
from harambee.events import DomainEvent
from harambee.outbox import TransactionContended
from tests.unit.kernel import harness

DAY = datetime(2026, 11, 22, 9, tzinfo=UTC)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("AnalyticsTable")
        harness.use_context(monkeypatch, "analytics", name)
        yield name


def events(count: int, *, types: int = 1, prefix: str = "e") -> list[DomainEvent]:
    return [
        DomainEvent(
            event_id=f"{prefix}-{n}",
            event_type=f"thing{n % types}.happened",
            source="harambee.tests",
            timestamp=DAY,
            data={},
        )
        for n in range(count)
    ]


def counted(table: str, event_type: str) -> int | None:
    item = harness.get_item(table, f"EVENTCOUNT#{event_type}", "2026-11-22")
    return None if item is None else int(item["count"]["N"])


def test_given_more_distinct_counters_than_one_transaction_takes_then_they_are_split(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    from harambee.outbox import transact_write as commit

    def measured(items: list[dict[str, Any]], **kwargs: Any) -> None:
        sizes.append(len(items))
        commit(items)

    monkeypatch.setattr("analytics.repository.transact_write", measured)
    # Given 70 events of 70 types: 140 items in all
    outcome = count_events(events(70, types=70))
    # Then every transaction stays within 100 items and every event is counted once
    assert all(size <= repository.MAX_TRANSACTION_ITEMS for size in sizes), sizes
    assert sum(sizes) == 140
    assert len(outcome.counted) == 70
    assert outcome.failed == outcome.already_counted == []
    assert all(counted(table, f"thing{n}.happened") == 1 for n in range(70))


def test_given_one_type_then_a_hundred_events_need_two_transactions_only(table: str) -> None:
    chunks = repository._chunks(events(150), event_day)
    assert [len(chunk) for chunk in chunks] == [99, 51]


def test_given_a_transaction_that_fails_then_its_events_fail_and_nothing_is_counted(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def throttled(items: list[dict[str, Any]], **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Transact")

    monkeypatch.setattr("analytics.repository.transact_write", throttled)
    outcome = count_events(events(3))
    assert sorted(outcome.failed) == ["e-0", "e-1", "e-2"]
    assert counted(table, "thing0.happened") is None


def test_given_a_race_on_the_same_counter_then_the_transaction_is_tried_again(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harambee.outbox import transact_write as commit

    raced: list[int] = []

    def racing_once(items: list[dict[str, Any]], **kwargs: Any) -> None:
        if not raced:
            raced.append(len(items))
            raise TransactionContended("raced")
        commit(items)

    monkeypatch.setattr("analytics.repository.transact_write", racing_once)
    monkeypatch.setattr("analytics.repository.time.sleep", lambda seconds: None)
    outcome = count_events(events(4))
    assert (len(outcome.counted), outcome.failed) == (4, [])
    assert counted(table, "thing0.happened") == 4


def test_given_a_race_that_never_ends_then_the_events_fail_for_sqs_to_retry(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_racing(items: list[dict[str, Any]], **kwargs: Any) -> None:
        raise TransactionContended("raced")

    monkeypatch.setattr("analytics.repository.transact_write", always_racing)
    monkeypatch.setattr("analytics.repository.time.sleep", lambda seconds: None)
    outcome = count_events(events(2))
    assert sorted(outcome.failed) == ["e-0", "e-1"]


def test_given_several_counted_events_then_each_is_dropped_and_the_new_one_counted(table: str) -> None:
    batch = events(5)
    count_events(batch[:4])
    outcome = count_events(batch)
    assert sorted(outcome.already_counted) == ["e-0", "e-1", "e-2", "e-3"]
    assert outcome.counted == ["e-4"]
    assert counted(table, "thing0.happened") == 5
