"""The transactional outbox: a change and its events commit together, or neither does."""

from __future__ import annotations

import json
import time

import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from harambee import aws
from harambee.errors import Conflict
from harambee.events import new_event
from harambee.outbox import PendingWrite, WriteConflict, outbox_put, transact_write, transaction
from harambee.settings import TableMeta
from tests.unit.kernel import harness


class Pledge(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()


def _pledge_put(table: str, status: str = "PENDING") -> dict:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "PLEDGE#p-1"}, "sk": {"S": "PLEDGE"}, "status": {"S": status}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _items(table: str) -> list[dict]:
    return aws.client("dynamodb").scan(TableName=table)["Items"]


def test_given_a_change_and_its_event_when_committed_then_both_are_stored(table: str) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    transact_write([_pledge_put(table), outbox_put(event)])

    row = harness.get_item(table, f"OUTBOX#{event.event_id}", "OUTBOX")
    assert row is not None
    assert json.loads(row["envelope"]["S"]) == event.to_envelope()
    assert row["eventType"]["S"] == "pledge.created"
    assert row["source"]["S"] == "harambee.probe"
    # 72 hours (OUTBOX_TTL_HOURS default) from now, in epoch seconds.
    assert abs(int(row["ttl"]["N"]) - (time.time() + 72 * 3600)) < 60
    assert harness.get_item(table, "PLEDGE#p-1", "PLEDGE") is not None


def test_given_a_failing_condition_when_committed_then_neither_change_nor_event_is_written(
    table: str,
) -> None:
    transact_write([_pledge_put(table)])
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    with pytest.raises(WriteConflict) as raised:
        transact_write([_pledge_put(table, status="DUPLICATE"), outbox_put(event)])

    assert isinstance(raised.value, Conflict)
    assert raised.value.status == 409
    assert raised.value.details == {
        "reasons": [
            {"index": 0, "code": "ConditionalCheckFailed", "message": "The conditional request failed"}
        ]
    }
    assert harness.get_item(table, f"OUTBOX#{event.event_id}", "OUTBOX") is None
    assert harness.get_item(table, "PLEDGE#p-1", "PLEDGE")["status"]["S"] == "PENDING"


def test_pending_write_gathers_items_and_events_for_one_commit(table: str) -> None:
    pending = PendingWrite()
    pending.add(_pledge_put(table))
    first, second = new_event("pledge.created", {}), new_event("pot.updated", {})
    pending.emit(first, second)
    pending.commit()
    assert len(_items(table)) == 3


def test_given_a_pynamodb_change_when_the_transaction_commits_then_the_event_is_in_the_outbox(
    table: str,
) -> None:
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    with transaction() as tx:
        tx.save(Pledge(pk="PLEDGE#p-1", sk="PLEDGE", status="PENDING"), condition=Pledge.pk.does_not_exist())
        tx.emit(event)

    assert Pledge.get("PLEDGE#p-1", "PLEDGE").status == "PENDING"
    row = harness.get_item(table, f"OUTBOX#{event.event_id}", "OUTBOX")
    assert row is not None
    assert json.loads(row["envelope"]["S"])["eventId"] == event.event_id


def test_given_a_pynamodb_condition_that_fails_then_nothing_is_written_and_a_conflict_is_raised(
    table: str,
) -> None:
    Pledge(pk="PLEDGE#p-1", sk="PLEDGE", status="PENDING").save()
    event = new_event("pledge.created", {"pledgeId": "p-1"})

    def save_again() -> None:
        with transaction() as tx:
            tx.save(
                Pledge(pk="PLEDGE#p-1", sk="PLEDGE", status="AGAIN"), condition=Pledge.pk.does_not_exist()
            )
            tx.emit(event)

    with pytest.raises(WriteConflict) as raised:
        save_again()

    assert raised.value.reasons[0].code == "ConditionalCheckFailed"
    assert harness.get_item(table, f"OUTBOX#{event.event_id}", "OUTBOX") is None
    assert Pledge.get("PLEDGE#p-1", "PLEDGE").status == "PENDING"


def test_an_exception_inside_the_block_commits_nothing(table: str) -> None:
    def fail_half_way() -> None:
        with transaction() as tx:
            tx.emit(new_event("pledge.created", {}))
            raise RuntimeError("validation failed half-way")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert _items(table) == []
