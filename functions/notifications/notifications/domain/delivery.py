"""A delivery: one message to one recipient on one channel, and its way through the statuses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# The longest SQS allows for a visibility timeout is 12 hours; we never need more than 15 minutes.
MAX_BACKOFF_SECONDS = 900


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"

    @property
    def final(self) -> bool:
        return self is not DeliveryStatus.QUEUED


class Delivery(BaseModel):
    """The delivery log's row, as the API shows it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    notification_id: str
    user_id: str | None
    event_id: str
    event_type: str
    channel: str
    template: str
    category: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    error: str | None = None
    reason: str | None = None


def backoff_seconds(receive_count: int, base_seconds: int) -> int:
    """Exponential backoff by delivery attempt: base, 2x base, 4x base ... capped at 15 minutes."""
    attempt = max(receive_count, 1)
    return int(min(base_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def is_last_attempt(receive_count: int, max_receive_count: int) -> bool:
    """SQS moves the message to the DLQ after this receive if it fails again."""
    return receive_count >= max_receive_count
