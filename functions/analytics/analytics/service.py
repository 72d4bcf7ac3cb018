"""Event tracking: every domain event on the bus is counted once per type and UTC day."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harambee.events import DomainEvent
from harambee.observability import logger

if TYPE_CHECKING:
    from analytics.repository import BatchOutcome

CONSUMER = "analytics"


def event_day(event: DomainEvent) -> str:
    """The UTC calendar day the event happened (its own timestamp, not when it arrived)."""
    return event.timestamp.date().isoformat()


def count_events(events: Sequence[DomainEvent]) -> BatchOutcome:
    """Count a batch of events, each once; the outcome says which were counted before or failed."""
    # pynamodb loads only when an event arrives, never on the HTTP health path.
    from analytics.repository import count_batch_once

    outcome = count_batch_once(events, consumer=CONSUMER, day_of=event_day)
    logger.info(
        "Events counted",
        extra={
            "counted": len(outcome.counted),
            "alreadyCounted": len(outcome.already_counted),
            "failed": len(outcome.failed),
        },
    )
    return outcome
