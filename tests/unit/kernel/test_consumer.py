"""The inbox consumer: dispatch by eventType, each effect once, failures reported one by one."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from harambee.consumer import EventConsumer, apply_once, exactly_once, once_externally
from harambee.events import DomainEvent, new_event
from harambee.observability import metrics
from harambee.settings import TableMeta
from tests.support.events import FakeLambdaContext
from tests.unit.kernel import harness

CONSUMER = "probe"


class Tally(Model):
    """A stand-in effect: how many times a pledge was counted."""

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    total = NumberAttribute(default=0)


def _tally(pledge_id: str) -> int:
    try:
        return int(Tally.get(f"TALLY#{pledge_id}", "TALLY").total)
    except Tally.DoesNotExist:
        return 0


def count_pledge(event: DomainEvent) -> None:
    if event.data.get("poison"):
        raise RuntimeError("this pledge cannot be counted")
    with exactly_once(event, CONSUMER) as tx:
        tx.update(Tally(f"TALLY#{event.data['pledgeId']}", "TALLY"), actions=[Tally.total.add(1)])


@pytest.fixture
def consumer(table: str) -> EventConsumer:
    return EventConsumer(CONSUMER, {"pledge.created": count_pledge})


def test_given_an_event_when_delivered_twice_then_its_effect_happens_once(
    consumer: EventConsumer, table: str
) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    first = consumer(harness.deliveries(event), FakeLambdaContext())
    again = consumer(harness.deliveries(event), FakeLambdaContext())

    assert first == again == {"batchItemFailures": []}
    assert _tally("p-1") == 1
    marker = harness.get_item(table, f"PROCESSED#{event.event_id}", CONSUMER)
    assert marker is not None
    # 30 days: longer than the inbox's retention plus the DLQ's and a redrive.
    assert abs(int(marker["ttl"]["N"]) - (time.time() + 30 * 86400)) < 60


def test_given_one_bad_record_then_only_it_is_reported_and_the_others_are_not_redone(
    consumer: EventConsumer,
) -> None:
    good, bad, other = (
        new_event("pledge.created", {"pledgeId": "p-1"}),
        new_event("pledge.created", {"pledgeId": "p-2", "poison": True}),
        new_event("pledge.created", {"pledgeId": "p-3"}),
    )
    batch = harness.deliveries(good, bad, other)

    first = consumer(batch, FakeLambdaContext())
    # At-least-once: the whole batch may come back; what succeeded must not happen again.
    second = consumer(batch, FakeLambdaContext())

    assert first == second == {"batchItemFailures": [{"itemIdentifier": bad.event_id}]}
    assert (_tally("p-1"), _tally("p-2"), _tally("p-3")) == (1, 0, 1)


def test_a_message_that_is_not_an_eventbridge_envelope_fails_alone(consumer: EventConsumer) -> None:
    good = new_event("pledge.created", {"pledgeId": "p-1"})
    batch = harness.deliveries(good)
    batch["Records"].append(harness.sqs_record("{not json", "m-garbage"))
    batch["Records"].append(harness.sqs_record('{"detail": {"eventType": "pledge.created"}}', "m-half"))

    response = consumer(batch, FakeLambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-garbage"}, {"itemIdentifier": "m-half"}]}
    assert _tally("p-1") == 1


def test_an_event_type_without_handler_is_acknowledged_and_counted(consumer: EventConsumer) -> None:
    metrics.clear_metrics()
    response = consumer(harness.deliveries(new_event("profile.updated", {})), FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    assert metrics.metric_set["UnhandledEvent"]["Value"] == [1.0]
    metrics.clear_metrics()


def test_the_fallback_takes_every_type_without_its_own_handler(table: str) -> None:
    seen: list[str] = []
    consumer = EventConsumer(CONSUMER, fallback=lambda event: seen.append(event.event_type))
    consumer(
        harness.deliveries(new_event("pot.created", {}), new_event("plan.changed", {})), FakeLambdaContext()
    )
    assert seen == ["pot.created", "plan.changed"]


def test_boto3_effects_commit_with_the_marker_once(table: str) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-9"})
    effect: dict[str, Any] = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "TALLY#p-9"}, "sk": {"S": "TALLY"}},
            "UpdateExpression": "ADD #total :one",
            "ExpressionAttributeNames": {"#total": "total"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }

    assert apply_once(event, CONSUMER, [effect]) is True
    assert apply_once(event, CONSUMER, [effect]) is False
    assert _tally("p-9") == 1


def test_an_effect_whose_own_condition_fails_is_a_conflict_not_a_redelivery(table: str) -> None:
    from harambee.outbox import WriteConflict

    Tally(pk="TALLY#p-5", sk="TALLY", total=3).save()
    event = new_event("pledge.created", {"pledgeId": "p-5"})
    with pytest.raises(WriteConflict), exactly_once(event, CONSUMER) as tx:
        tx.save(Tally(pk="TALLY#p-5", sk="TALLY", total=0), condition=Tally.pk.does_not_exist())
    # The marker rolled back with the effect: a retry may still apply it.
    assert harness.get_item(table, f"PROCESSED#{event.event_id}", CONSUMER) is None


def test_external_effects_are_skipped_once_marked(table: str) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-1"})
    calls: list[str] = []

    assert once_externally(event, CONSUMER, lambda: calls.append("sent")) is True
    assert once_externally(event, CONSUMER, lambda: calls.append("sent")) is False
    assert calls == ["sent"]


def test_an_external_effect_that_fails_leaves_no_marker_so_the_retry_runs_it(table: str) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    def unreachable() -> None:
        raise ConnectionError("provider down")

    with pytest.raises(ConnectionError):
        once_externally(event, CONSUMER, unreachable)
    calls: list[str] = []
    assert once_externally(event, CONSUMER, lambda: calls.append("sent")) is True
    assert calls == ["sent"]
