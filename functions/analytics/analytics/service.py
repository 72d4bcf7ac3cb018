"""Event tracking: every domain event on the bus is counted once per type and UTC day."""

from __future__ import annotations

from harambee.events import DomainEvent
from harambee.observability import logger

CONSUMER = "analytics"


def event_day(event: DomainEvent) -> str:
    """The UTC calendar day the event happened (its own timestamp, not when it arrived)."""
    return event.timestamp.date().isoformat()


def count_event(event: DomainEvent) -> None:
    # pynamodb loads only when an event arrives, never on the HTTP health path.
    from analytics.repository import count_once

    counted = count_once(event, consumer=CONSUMER, day=event_day(event))
    logger.info("Event counted" if counted else "Event already counted", extra={"day": event_day(event)})
