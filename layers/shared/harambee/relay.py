"""The outbox relay: each outbox row the table's stream carries becomes one event on the bus.

The template filters the stream to INSERTs of `OUTBOX#` items; anything else is skipped here too,
so a filter mistake never publishes a half-written row. A failed PutEvents fails only its record
(batchItemFailures by SequenceNumber); Lambda retries from there and, after its retries, the
record goes to OutboxRelayFailureQueue.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from harambee import aws
from harambee.events import DomainEvent
from harambee.observability import logger
from harambee.settings import platform_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

OUTBOX_PREFIX = "OUTBOX#"


class RelayFailed(RuntimeError):
    """EventBridge refused the event; the stream record will be retried."""


@functools.cache
def _processor() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    # The report names every failed record already; raising on a fully failed batch would only make
    # Lambda bisect and retry records the report would retry anyway.
    return BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def relay_outbox(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stream handler: publish each outbox INSERT to the event bus; report only the records that failed."""
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return dict(
        process_partial_response(
            event=event, record_handler=publish_record, processor=_processor(), context=context
        )
    )


def outbox_envelope(record: DynamoDBRecord) -> str | None:
    """The envelope JSON of an outbox INSERT, or None for any other record."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    if record.event_name is not DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return None
    keys = record.dynamodb.keys or {}
    if not str(keys.get("pk", "")).startswith(OUTBOX_PREFIX):
        return None
    envelope = (record.dynamodb.new_image or {}).get("envelope")
    return envelope if isinstance(envelope, str) else None


def publish_record(record: DynamoDBRecord) -> str | None:
    envelope = outbox_envelope(record)
    if envelope is None:
        logger.warning(
            "Skipped a stream record that is not an outbox insert", extra={"eventName": record.event_name}
        )
        return None
    event = DomainEvent.from_json(envelope)
    publish(event)
    return event.event_id


def publish(event: DomainEvent) -> None:
    """PutEvents one envelope on the platform bus; raise if EventBridge did not accept it."""
    response = aws.events().put_events(
        Entries=[
            {
                "EventBusName": platform_settings().event_bus_name,
                "Source": event.source,
                "DetailType": event.event_type,
                "Detail": event.to_json(),
                "Time": event.timestamp,
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise RelayFailed(
            f"EventBridge refused {event.event_type} {event.event_id}: "
            f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
        )
    logger.info("Relayed event", extra={"eventId": event.event_id, "eventType": event.event_type})
