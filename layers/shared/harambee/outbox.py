"""The transactional outbox: a state change and its domain events commit in one TransactWriteItems.

Outbox item (in the context's own table; its stream, filtered to `OUTBOX#` inserts, feeds the relay):

    pk = "OUTBOX#<eventId>", sk = "OUTBOX", eventType, source, envelope (the envelope JSON), createdAt,
    ttl = now + OUTBOX_TTL_HOURS (epoch seconds)

The stream carries an item within seconds and the relay retries for at most a few hours, so the
TTL only cleans up rows whose job is done; it never races the relay.

Two ways in: pynamodb contexts use `transaction()` (a pynamodb TransactWrite with `emit`), boto3
code puts `outbox_put(event)` into its TransactItems and calls `transact_write(items)`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harambee import aws
from harambee.errors import Conflict
from harambee.events import DomainEvent
from harambee.settings import TableMeta, platform_settings

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from pynamodb.connection import Connection
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_SORT_KEY = "OUTBOX"

TransactItem = dict[str, Any]


@dataclass(frozen=True)
class CancellationReason:
    """Why DynamoDB cancelled one item of a transaction (`item` is the old item when ALL_OLD was asked)."""

    index: int
    code: str
    message: str = ""
    item: dict[str, Any] | None = None

    def as_details(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message}


class WriteConflict(Conflict):
    """A condition in the transaction did not hold: nothing was written, neither change nor event."""

    def __init__(self, message: str, reasons: Sequence[CancellationReason]) -> None:
        failed = [reason for reason in reasons if reason.code not in ("", "None")]
        super().__init__(message, details={"reasons": [reason.as_details() for reason in failed]})
        self.reasons: list[CancellationReason] = failed

    def failed_on(self, pk: str, sk: str | None = None) -> bool:
        """Whether the condition that failed was on this item (needs ReturnValuesOnConditionCheckFailure)."""
        for reason in self.reasons:
            old = reason.item or {}
            if reason.code != "ConditionalCheckFailed" or _string(old.get("pk")) != pk:
                continue
            if sk is None or _string(old.get("sk")) == sk:
                return True
        return False


class TransactionContended(Conflict):
    """Another transaction touched the same items at the same moment; the caller may retry."""

    code = "TRANSACTION_CONFLICT"


def _string(attribute: Any) -> str | None:
    if isinstance(attribute, dict):
        value = attribute.get("S")
        return value if isinstance(value, str) else None
    return attribute if isinstance(attribute, str) else None


def outbox_key(event_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{OUTBOX_PREFIX}{event_id}"}, "sk": {"S": OUTBOX_SORT_KEY}}


def expires_at(hours: int | None = None, *, now: float | None = None) -> int:
    """Epoch seconds at which an outbox row may be removed by the table's TTL."""
    ttl_hours = hours if hours is not None else platform_settings().outbox_ttl_hours
    return int((now if now is not None else time.time()) + ttl_hours * 3600)


def outbox_item(event: DomainEvent) -> dict[str, dict[str, str]]:
    """The outbox row for `event`, as DynamoDB attribute values."""
    return {
        **outbox_key(event.event_id),
        "eventType": {"S": event.event_type},
        "source": {"S": event.source},
        "envelope": {"S": event.to_json()},
        "createdAt": {"S": event.to_envelope()["timestamp"]},
        "ttl": {"N": str(expires_at())},
    }


def outbox_put(event: DomainEvent, *, table_name: str | None = None) -> TransactItem:
    """A TransactItems entry that writes the outbox row; an event id is never written twice."""
    return {
        "Put": {
            "TableName": table_name or platform_settings().table_name,
            "Item": outbox_item(event),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def transact_write(items: Sequence[TransactItem], *, client_request_token: str | None = None) -> None:
    """Commit boto3 TransactItems (state change plus `outbox_put` rows) all or nothing."""
    from botocore.exceptions import ClientError

    request: dict[str, Any] = {"TransactItems": list(items)}
    if client_request_token:
        request["ClientRequestToken"] = client_request_token
    try:
        aws.dynamodb().transact_write_items(**request)
    except ClientError as error:
        raise _conflict_from_client_error(error) or error from error


def _conflict_from_client_error(error: ClientError) -> Conflict | None:
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    raw_reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    reasons = [
        CancellationReason(
            index=index,
            code=str(reason.get("Code") or ""),
            message=str(reason.get("Message") or ""),
            item=reason.get("Item"),
        )
        for index, reason in enumerate(raw_reasons)
    ]
    return _conflict_from_reasons(reasons)


def _conflict_from_reasons(reasons: Sequence[CancellationReason]) -> Conflict | None:
    codes = {reason.code for reason in reasons}
    if "ConditionalCheckFailed" in codes:
        return WriteConflict("A condition on the write did not hold", reasons)
    if "TransactionConflict" in codes:
        return TransactionContended(
            "The write raced another one; try again",
            details={"reasons": [r.as_details() for r in reasons if r.code not in ("", "None")]},
        )
    # Throttling and validation failures are not domain conflicts: let them surface (and retry).
    return None


# ------------------------------------------------------------------ pynamodb


@functools.cache
def outbox_record_model() -> Any:
    """The pynamodb model of an outbox row, bound to this context's table (built on first use)."""
    from pynamodb.attributes import NumberAttribute, UnicodeAttribute
    from pynamodb.models import Model

    class OutboxRecord(Model):
        class Meta(TableMeta):
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True, default=OUTBOX_SORT_KEY)
        eventType = UnicodeAttribute()  # noqa: N815 - the stored attribute names are camelCase
        source = UnicodeAttribute()
        envelope = UnicodeAttribute()
        createdAt = UnicodeAttribute()  # noqa: N815
        ttl = NumberAttribute()

    return OutboxRecord


def outbox_record(event: DomainEvent) -> Any:
    """A pynamodb OutboxRecord for `event` (same attributes as `outbox_item`)."""
    return outbox_record_model()(
        pk=f"{OUTBOX_PREFIX}{event.event_id}",
        sk=OUTBOX_SORT_KEY,
        eventType=event.event_type,
        source=event.source,
        envelope=event.to_json(),
        createdAt=event.to_envelope()["timestamp"],
        ttl=expires_at(),
    )


def add_events(transaction: TransactWrite, events: Sequence[DomainEvent]) -> None:
    """Put the outbox rows of `events` into a pynamodb TransactWrite."""
    model = outbox_record_model()
    for event in events:
        transaction.save(outbox_record(event), condition=model.pk.does_not_exist())


@functools.cache
def pynamodb_connection() -> Connection:
    from pynamodb.connection import Connection

    return Connection(region=platform_settings().region)


class OutboxTransaction:
    """A pynamodb TransactWrite that also takes domain events: `tx.save(...)`, `tx.emit(event)`."""

    def __init__(self, transaction: TransactWrite) -> None:
        self.write = transaction
        self.events: list[DomainEvent] = []

    def emit(self, *events: DomainEvent) -> None:
        add_events(self.write, events)
        self.events.extend(events)

    def __getattr__(self, name: str) -> Any:
        # save / update / delete / condition_check go straight to the pynamodb transaction.
        return getattr(self.write, name)


@contextmanager
def transaction(*, client_request_token: str | None = None) -> Iterator[OutboxTransaction]:
    """Commit on leaving the block (nothing on an exception); a failed condition raises WriteConflict."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    try:
        with TransactWrite(
            connection=pynamodb_connection(), client_request_token=client_request_token
        ) as write:
            yield OutboxTransaction(write)
    except TransactWriteError as error:
        raise conflict_from_pynamodb(error) or error from error


def conflict_from_pynamodb(error: TransactWriteError) -> Conflict | None:
    """The domain conflict behind a pynamodb TransactWriteError, if it was one."""
    if error.cause_response_code != "TransactionCanceledException":
        return None
    reasons = [
        CancellationReason(index=index, code=reason.code, message=reason.message or "", item=reason.raw_item)
        if reason is not None
        else CancellationReason(index=index, code="None")
        for index, reason in enumerate(error.cancellation_reasons)
    ]
    return _conflict_from_reasons(reasons)


@dataclass
class PendingWrite:
    """boto3 TransactItems being gathered for one commit, events included."""

    items: list[TransactItem] = field(default_factory=list)

    def add(self, item: TransactItem) -> None:
        self.items.append(item)

    def emit(self, *events: DomainEvent) -> None:
        self.items.extend(outbox_put(event) for event in events)

    def commit(self, *, client_request_token: str | None = None) -> None:
        transact_write(self.items, client_request_token=client_request_token)
