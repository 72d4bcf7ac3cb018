"""Donations' outbox relay: the kernel's, plus the start of the donation saga for each new pledge.

A `pledge.created` outbox insert starts the saga (execution name = pledge id) before the event is
published. Step Functions refuses a second execution of one name, so a redelivered record (or a
retry after the publish failed) is acknowledged; any other failure fails only that record, which
Lambda retries from there.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from harambee import aws
from harambee.events import DomainEvent
from harambee.observability import logger
from harambee.relay import outbox_envelope, publish, publish_record

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

SAGA_TRIGGER = "pledge.created"


@functools.cache
def _processor() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def relay(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Stream handler: start sagas and publish each outbox insert; report only the failed records."""
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return dict(
        process_partial_response(
            event=event, record_handler=relay_record, processor=_processor(), context=context
        )
    )


def relay_record(record: DynamoDBRecord) -> str | None:
    envelope = outbox_envelope(record)
    if envelope is None:
        return publish_record(record)  # logs and skips what is not an outbox insert
    event = DomainEvent.from_json(envelope)
    if event.event_type == SAGA_TRIGGER:
        start_saga(event)
    publish(event)
    return event.event_id


def saga_input(event: DomainEvent) -> dict[str, Any]:
    from donations.settings import donations_settings

    data = event.data
    return {
        "pledgeId": data["pledgeId"],
        "campaignId": data["campaignId"],
        "amount": data["amount"],
        "currency": data["currency"],
        "donorId": data.get("donorId"),
        "paymentTimeoutSeconds": donations_settings().payment_timeout_seconds,
        "correlationId": event.correlation_id,
    }


def start_saga(event: DomainEvent) -> bool:
    """Start the pledge's saga; False when it had already been started (a duplicate start)."""
    from botocore.exceptions import ClientError

    from donations.settings import donations_settings

    pledge_id = str(event.data["pledgeId"])
    try:
        aws.stepfunctions().start_execution(
            stateMachineArn=donations_settings().donation_saga_arn,
            name=pledge_id,
            input=json.dumps(saga_input(event)),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        logger.info("Donation saga already started", extra={"pledgeId": pledge_id})
        return False
    logger.info("Donation saga started", extra={"pledgeId": pledge_id})
    return True
