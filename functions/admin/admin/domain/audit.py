"""The audit record an event's `audit` object becomes (docs/events.md: the audit convention)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.events import DomainEvent

# An `audit` without an actor is still recorded: the change happened, and hiding it is worse.
UNKNOWN_ACTOR = "unknown"


class AuditRecord(BaseModel):
    """One immutable entry of the audit log; `eventId` is its identity, so a redelivery adds nothing."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    event_id: str
    event_type: str
    source_context: str
    actor_id: str
    action: str
    entity_type: str
    entity_id: str | None = None
    before: Any = None
    after: Any = None
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None
    at: AwareDatetime = Field(description="When the change happened (the event's timestamp, UTC)")

    @property
    def at_key(self) -> str:
        """Sortable UTC text of `at` (the index sort keys and the date filters use it)."""
        return sort_time(self.at)


def sort_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def audit_of(event: DomainEvent) -> dict[str, Any] | None:
    audit = event.data.get("audit")
    return audit if isinstance(audit, dict) else None


def record_of(event: DomainEvent) -> AuditRecord | None:
    """The audit record of `event`, or None when its data carries no `audit` object."""
    audit = audit_of(event)
    if audit is None:
        return None
    entity_type = _text(audit.get("entityType")) or event.resource
    entity_id = (
        _text(audit.get("entityId"))
        or _text(audit.get("targetId"))
        # The convention's fallback: the event's own resource id (campaignId for campaign.*).
        or _text(event.data.get(f"{event.resource}Id"))
    )
    return AuditRecord(
        event_id=event.event_id,
        event_type=event.event_type,
        source_context=event.source.removeprefix("harambee."),
        actor_id=_text(audit.get("actorId")) or UNKNOWN_ACTOR,
        action=_text(audit.get("action")) or event.event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        before=audit.get("before"),
        after=audit.get("after"),
        request_id=_text(audit.get("requestId")),
        ip=_text(audit.get("ip")),
        user_agent=_text(audit.get("userAgent")),
        correlation_id=event.correlation_id,
        at=event.timestamp,
    )
