"""Analytics' inbox: AnalyticsSubscriptionRule sends every `harambee.*` event here, and all are counted.

Unlike the other inboxes, which apply one event at a time, a whole SQS batch is counted together (one
counter update per type and day, every marker in the same transaction). The partial batch response
still names only the messages that failed: one that cannot be read, or whose transaction failed.
"""

from __future__ import annotations

import json
from typing import Any

from analytics.service import count_events
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger


def _event_of(body: str) -> DomainEvent:
    try:
        bus_event = json.loads(body)
    except ValueError as error:
        raise InvalidEvent("SQS message body is not JSON") from error
    if not isinstance(bus_event, dict):
        raise InvalidEvent("SQS message body is not an EventBridge event")
    return DomainEvent.from_eventbridge(bus_event)


def consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The SQS event source's batch in, its partial batch response out."""
    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    unreadable: list[str] = []
    events: dict[str, DomainEvent] = {}
    for record in SQSEvent(event).records:
        try:
            events[record.message_id] = _event_of(record.body)
        except InvalidEvent as error:
            # Retrying cannot fix it: its receives run out and it rests in the DLQ for a person.
            logger.error("Unreadable event", extra={"messageId": record.message_id, "error": str(error)})
            unreadable.append(record.message_id)
    failed = set(count_events(list(events.values())).failed)
    failures = [*unreadable, *(message for message, event in events.items() if event.event_id in failed)]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}
