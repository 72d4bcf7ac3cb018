"""Analytics' storage in AnalyticsTable (pynamodb).

Access patterns (pk / sk):
  events of one type on one UTC day     EVENTCOUNT#<eventType> / <YYYY-MM-DD>   (numeric `count`, ADD)
  daily counts of one type over a range EVENTCOUNT#<eventType> / between <from> and <to> (Query)
  event already counted (marker)        PROCESSED#<eventId> / analytics          (ttl 30 days)
The EVENTCOUNT item shape is a contract: end-to-end tests read it.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from harambee.consumer import exactly_once
from harambee.events import DomainEvent
from harambee.settings import TableMeta

EVENT_COUNT_PREFIX = "EVENTCOUNT#"


class EventCountRecord(Model):
    """How many events of one type happened on one UTC day."""

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    # `count` is the stored name (the contract); Model.count is pynamodb's own classmethod.
    occurrences = NumberAttribute(attr_name="count", default=0)


def event_count_key(event_type: str, day: str) -> tuple[str, str]:
    return f"{EVENT_COUNT_PREFIX}{event_type}", day


def count_once(event: DomainEvent, *, consumer: str, day: str) -> bool:
    """Add one to the event's daily count, in the same transaction as its processed marker."""
    pk, sk = event_count_key(event.event_type, day)
    with exactly_once(event, consumer) as transaction:
        transaction.update(EventCountRecord(pk, sk), actions=[EventCountRecord.occurrences.add(1)])
    return transaction.applied


def daily_counts(event_type: str, first_day: str, last_day: str) -> dict[str, int]:
    """Counts per day for one event type, both days included."""
    pk, _ = event_count_key(event_type, first_day)
    return {
        record.sk: int(record.occurrences)
        for record in EventCountRecord.query(pk, EventCountRecord.sk.between(first_day, last_day))
    }
