"""Analytics' storage in AnalyticsTable.

Access patterns (pk / sk):
  events of one type on one UTC day     EVENTCOUNT#<eventType> / <YYYY-MM-DD>   (numeric `count`, ADD)
  daily counts of one type over a range EVENTCOUNT#<eventType> / between <from> and <to> (Query)
  event already counted (marker)        PROCESSED#<eventId> / analytics          (ttl 30 days)
The EVENTCOUNT item shape is a contract: end-to-end tests read it.

A batch of events is counted in one TransactWriteItems: every event's marker plus ONE `ADD count n`
per (type, day), so ten events of a type cost eleven items, not twenty. Reads use pynamodb.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from harambee.consumer import PROCESSED_PREFIX, marker_put
from harambee.events import DomainEvent
from harambee.observability import logger
from harambee.outbox import TransactionContended, TransactItem, WriteConflict, transact_write
from harambee.settings import TableMeta, platform_settings

EVENT_COUNT_PREFIX = "EVENTCOUNT#"
# DynamoDB's limit on the items of one transaction.
MAX_TRANSACTION_ITEMS = 100
# A transaction that raced another on the same counter is tried this many times in all.
CONTENDED_ATTEMPTS = 3


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


DayOf = Callable[[DomainEvent], str]


@dataclass
class BatchOutcome:
    """Event ids by what became of them: counted now, counted before (a redelivery), or not counted."""

    counted: list[str] = field(default_factory=list)
    already_counted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _count_update(event_type: str, day: str, occurrences: int) -> TransactItem:
    pk, sk = event_count_key(event_type, day)
    return {
        "Update": {
            "TableName": platform_settings().table_name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD #count :n",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":n": {"N": str(occurrences)}},
        }
    }


def _items(events: Sequence[DomainEvent], consumer: str, day_of: DayOf) -> list[TransactItem]:
    per_day = Counter((event.event_type, day_of(event)) for event in events)
    return [
        *(marker_put(event, consumer) for event in events),
        *(_count_update(event_type, day, n) for (event_type, day), n in sorted(per_day.items())),
    ]


def _chunks(events: Sequence[DomainEvent], day_of: DayOf) -> list[list[DomainEvent]]:
    """Consecutive runs of events whose markers and counters fit in one transaction."""
    chunks: list[list[DomainEvent]] = []
    current: list[DomainEvent] = []
    keys: set[tuple[str, str]] = set()
    for event in events:
        key = (event.event_type, day_of(event))
        if current and len(current) + 1 + len(keys | {key}) > MAX_TRANSACTION_ITEMS:
            chunks.append(current)
            current, keys = [], set()
        current.append(event)
        keys.add(key)
    if current:
        chunks.append(current)
    return chunks


def count_batch_once(events: Sequence[DomainEvent], *, consumer: str, day_of: DayOf) -> BatchOutcome:
    """Count each event once per type and day, as few transactions as the batch needs.

    A transaction cancelled by markers already there drops those events (counted before) and
    commits the rest; anything else fails only the events of that transaction.
    """
    outcome = BatchOutcome()
    # The same event twice in one batch would name one marker twice, which a transaction refuses.
    unique = list({event.event_id: event for event in events}.values())
    for chunk in _chunks(unique, day_of):
        pending, attempt = chunk, 1
        while pending:
            try:
                transact_write(_items(pending, consumer, day_of))
            except WriteConflict as conflict:
                seen = {
                    event.event_id
                    for event in pending
                    if conflict.failed_on(f"{PROCESSED_PREFIX}{event.event_id}", consumer)
                }
                if not seen:
                    logger.exception("Counting transaction refused", extra={"events": len(pending)})
                    outcome.failed.extend(event.event_id for event in pending)
                    break
                outcome.already_counted.extend(sorted(seen))
                pending = [event for event in pending if event.event_id not in seen]
                continue
            except TransactionContended:
                if attempt < CONTENDED_ATTEMPTS:
                    # Other batches are adding to the same counters right now; step aside briefly.
                    time.sleep(random.uniform(0.02, 0.1) * 2**attempt)  # noqa: S311 - jitter, not a secret
                    attempt += 1
                    continue
                logger.warning("Counting transaction kept racing", extra={"events": len(pending)})
                outcome.failed.extend(event.event_id for event in pending)
                break
            except Exception:
                logger.exception("Counting transaction failed", extra={"events": len(pending)})
                outcome.failed.extend(event.event_id for event in pending)
                break
            outcome.counted.extend(event.event_id for event in pending)
            break
    return outcome


def daily_counts(event_type: str, first_day: str, last_day: str) -> dict[str, int]:
    """Counts per day for one event type, both days included."""
    pk, _ = event_count_key(event_type, first_day)
    return {
        record.sk: int(record.occurrences)
        for record in EventCountRecord.query(pk, EventCountRecord.sk.between(first_day, last_day))
    }
