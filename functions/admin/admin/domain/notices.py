"""System notifications for administrators: what raises one, and how serious it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.events import DomainEvent


class Severity(StrEnum):
    """The seed's four levels."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class NoticeType(StrEnum):
    """The seed's kinds: alert (act now), warning (look soon), info."""

    ALERT = "alert"
    WARNING = "warning"
    INFO = "info"


class SystemNotification(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    notification_id: str
    type: NoticeType
    severity: Severity
    title: str
    message: str
    source: str = Field(description="The event type that raised it, or `dead-letter-watch`")
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime
    read_at: AwareDatetime | None = None
    read_by: str | None = None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def view(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", by_alias=True), "isRead": self.is_read}


DEAD_LETTER_WATCH = "dead-letter-watch"


def _notice(
    event: DomainEvent, kind: NoticeType, severity: Severity, title: str, message: str
) -> SystemNotification:
    # The event id is the notice's id: a redelivered event finds its notice already there.
    return SystemNotification(
        notification_id=event.event_id,
        type=kind,
        severity=severity,
        title=title,
        message=message,
        source=event.event_type,
        metadata={**event.data, "eventId": event.event_id, "correlationId": event.correlation_id},
        created_at=event.timestamp,
    )


def _payment_flagged(event: DomainEvent) -> SystemNotification:
    data = event.data
    return _notice(
        event,
        NoticeType.WARNING,
        Severity.HIGH,
        "Payment flagged by reconciliation",
        f"Payment {data.get('paymentId')} ({data.get('provider')}, "
        f"{data.get('amount')} {data.get('currency')}) needs review: {data.get('reason')}",
    )


def _saga_failed(event: DomainEvent) -> SystemNotification:
    data = event.data
    return _notice(
        event,
        NoticeType.ALERT,
        Severity.HIGH,
        "Donation saga failed",
        f"Execution {data.get('executionName')} of pledge {data.get('pledgeId')} failed: "
        f"{data.get('error')} {data.get('cause') or ''}".strip(),
    )


def _notification_failed(event: DomainEvent) -> SystemNotification:
    data = event.data
    return _notice(
        event,
        NoticeType.WARNING,
        Severity.MEDIUM,
        "Message not delivered",
        f"{data.get('channel')} message {data.get('template')} to user {data.get('userId')} failed after "
        f"{data.get('attempts')} attempts: {data.get('error')}",
    )


def _session_reuse(event: DomainEvent) -> SystemNotification:
    data = event.data
    return _notice(
        event,
        NoticeType.ALERT,
        Severity.CRITICAL,
        "Refresh token reuse detected",
        f"A rotated refresh token of user {data.get('userId')} was presented again "
        f"(family {data.get('familyId')}); the family was revoked. Someone may hold a stolen token.",
    )


RAISED_BY: dict[str, Callable[[DomainEvent], SystemNotification]] = {
    "payment.flagged": _payment_flagged,
    "pledge.saga_failed": _saga_failed,
    "notification.failed": _notification_failed,
    "session.reuse_detected": _session_reuse,
}


def notice_for(event: DomainEvent) -> SystemNotification | None:
    raise_notice = RAISED_BY.get(event.event_type)
    return raise_notice(event) if raise_notice else None


def dead_letters_grew(queue: str, previous: int, depth: int, now: datetime) -> SystemNotification:
    return SystemNotification(
        notification_id=str(uuid.uuid4()),
        type=NoticeType.ALERT,
        severity=Severity.HIGH,
        title="Dead-letter queue grew",
        message=f"{queue} holds {depth} message(s), {depth - previous} more than at the last check; "
        "see docs/operations.md#redrive",
        source=DEAD_LETTER_WATCH,
        metadata={"queue": queue, "previousDepth": previous, "depth": depth},
        created_at=now,
    )
