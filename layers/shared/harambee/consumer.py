"""A context's SQS inbox: EventBridge events carrying domain envelopes, dispatched by eventType.

SQS and EventBridge deliver at least once, so every effect is guarded by a processed-event marker
(pk = "PROCESSED#<eventId>", sk = "<consumer>") in the consumer's own table:

- DynamoDB effects: `exactly_once(event, consumer)` puts the marker (attribute_not_exists) in the
  SAME transaction as the effect. A redelivery fails only the marker's condition: acknowledged,
  no second effect, no error.
- External effects (Step Functions, providers): `once_externally(event, consumer, effect)` skips
  the effect when the marker is there, and writes the marker after the effect. A crash between the
  two repeats the effect, so the effect itself must tolerate a repeat (SendTaskSuccess on a closed
  token, a provider call with its own idempotency key). We chose this over Powertools idempotency:
  no second table, no INPROGRESS lock that would fail a concurrent redelivery, no extra import.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harambee import aws
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger, metrics, set_correlation_id
from harambee.outbox import (
    OutboxTransaction,
    TransactItem,
    WriteConflict,
    conflict_from_pynamodb,
    pynamodb_connection,
    transact_write,
)
from harambee.settings import TableMeta, platform_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

PROCESSED_PREFIX = "PROCESSED#"
# 30 days outlives every way an event can come back: the inbox keeps a message 4 days, its DLQ 14
# days, a redrive from the DLQ can start on the last of those, and EventBridge retries for a day.
# A marker that expired before the last possible redelivery would let that delivery act twice.
MARKER_TTL_SECONDS = 30 * 24 * 3600

EventHandler = Callable[[DomainEvent], None]


# ------------------------------------------------------------------ markers


def marker_key(event_id: str, consumer: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{PROCESSED_PREFIX}{event_id}"}, "sk": {"S": consumer}}


def marker_put(event: DomainEvent, consumer: str, *, table_name: str | None = None) -> TransactItem:
    """The marker as a TransactItems Put that fails when the event was already processed."""
    return {
        "Put": {
            "TableName": table_name or platform_settings().table_name,
            "Item": {
                **marker_key(event.event_id, consumer),
                "eventType": {"S": event.event_type},
                "processedAt": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                "ttl": {"N": str(int(time.time()) + MARKER_TTL_SECONDS)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


@functools.cache
def processed_marker_model() -> Any:
    """The pynamodb model of a processed-event marker, bound to this context's table."""
    from pynamodb.attributes import NumberAttribute, UnicodeAttribute
    from pynamodb.models import Model

    class ProcessedEvent(Model):
        class Meta(TableMeta):
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        eventType = UnicodeAttribute()  # noqa: N815 - stored attribute names are camelCase
        processedAt = UnicodeAttribute()  # noqa: N815
        ttl = NumberAttribute()

    return ProcessedEvent


def processed_marker(event: DomainEvent, consumer: str) -> Any:
    return processed_marker_model()(
        pk=f"{PROCESSED_PREFIX}{event.event_id}",
        sk=consumer,
        eventType=event.event_type,
        processedAt=datetime.now(UTC).isoformat(timespec="milliseconds"),
        ttl=int(time.time()) + MARKER_TTL_SECONDS,
    )


class EffectTransaction(OutboxTransaction):
    """The effect's pynamodb transaction; `applied` is False after a redelivery changed nothing."""

    applied: bool = False


def _already_processed(conflict: WriteConflict, event: DomainEvent, consumer: str) -> bool:
    if not conflict.failed_on(f"{PROCESSED_PREFIX}{event.event_id}", consumer):
        return False
    logger.info(
        "Event already processed; acknowledged", extra={"eventId": event.event_id, "consumer": consumer}
    )
    return True


@contextmanager
def exactly_once(event: DomainEvent, consumer: str) -> Iterator[EffectTransaction]:
    """Write the effect (pynamodb) and the marker in one transaction, committed on leaving the block."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    marker_model = processed_marker_model()
    effect: EffectTransaction | None = None
    try:
        with TransactWrite(connection=pynamodb_connection()) as write:
            write.save(
                processed_marker(event, consumer),
                condition=marker_model.pk.does_not_exist(),
                return_values="ALL_OLD",
            )
            effect = EffectTransaction(write)
            yield effect
    except TransactWriteError as error:
        conflict = conflict_from_pynamodb(error)
        if isinstance(conflict, WriteConflict) and _already_processed(conflict, event, consumer):
            return
        raise conflict or error from error
    assert effect is not None
    effect.applied = True


def apply_once(event: DomainEvent, consumer: str, items: Sequence[TransactItem]) -> bool:
    """Commit boto3 TransactItems with the marker; False when the event had already been applied."""
    try:
        transact_write([marker_put(event, consumer), *items])
    except WriteConflict as conflict:
        if _already_processed(conflict, event, consumer):
            return False
        raise
    return True


def already_processed(event: DomainEvent, consumer: str) -> bool:
    found = aws.dynamodb().get_item(
        TableName=platform_settings().table_name,
        Key=marker_key(event.event_id, consumer),
        ConsistentRead=True,
    )
    return "Item" in found


def once_externally(event: DomainEvent, consumer: str, effect: Callable[[], None]) -> bool:
    """Run an external, repeat-tolerant effect unless the marker says it ran; then write the marker."""
    if already_processed(event, consumer):
        logger.info(
            "Event already processed; acknowledged", extra={"eventId": event.event_id, "consumer": consumer}
        )
        return False
    effect()
    try:
        transact_write([marker_put(event, consumer)])
    except WriteConflict:
        # A concurrent delivery finished first; the tolerant effect ran twice, which is allowed.
        logger.info("Marker already written by a concurrent delivery", extra={"eventId": event.event_id})
    return True


# ------------------------------------------------------------------ the inbox


class EventConsumer:
    """`consumer = EventConsumer("admin", {"platform.heartbeat": resume_canary})`, then
    `LambdaEntry(app, consumer=consumer)`. `fallback` takes every type without its own handler."""

    def __init__(
        self,
        name: str,
        handlers: Mapping[str, EventHandler] | None = None,
        *,
        fallback: EventHandler | None = None,
    ) -> None:
        self.name = name
        self._handlers: dict[str, EventHandler] = dict(handlers or {})
        self._fallback = fallback

    def on(self, event_type: str) -> Callable[[EventHandler], EventHandler]:
        def register(handler: EventHandler) -> EventHandler:
            self._handlers[event_type] = handler
            return handler

        return register

    @functools.cached_property
    def _processor(self) -> BatchProcessor:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

        # Failures are reported per message; raising on an all-failed batch would add nothing.
        return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import process_partial_response

        return dict(
            process_partial_response(
                event=event, record_handler=self.handle_record, processor=self._processor, context=context
            )
        )

    def handle_record(self, record: SQSRecord) -> str:
        try:
            bus_event = json.loads(record.body)
        except ValueError as error:
            raise InvalidEvent("SQS message body is not JSON") from error
        if not isinstance(bus_event, dict):
            raise InvalidEvent("SQS message body is not an EventBridge event")
        domain_event = DomainEvent.from_eventbridge(bus_event)
        self.dispatch(domain_event)
        return domain_event.event_id

    def dispatch(self, event: DomainEvent) -> None:
        set_correlation_id(event.correlation_id)
        logger.append_keys(eventId=event.event_id, eventType=event.event_type)
        try:
            handler = self._handlers.get(event.event_type) or self._fallback
            if handler is None:
                # The subscription rule decides what reaches this inbox; an extra type is harmless.
                logger.warning("No handler for event type; acknowledged", extra={"consumer": self.name})
                _count_unhandled(event.event_type)
                return
            handler(event)
        finally:
            logger.remove_keys(["eventId", "eventType"])


def _count_unhandled(event_type: str) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="UnhandledEvent", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="unhandledEventType", value=event_type)
