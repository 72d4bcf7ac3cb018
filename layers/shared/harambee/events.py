"""The domain event envelope every context emits and consumes (see docs/events.md).

The envelope is the seeds' (eventId, eventType, timestamp, data) plus a schema version, the emitting
context as `source` and the correlation id that follows a request into events and the saga.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator
from pydantic.alias_generators import to_camel

from harambee.errors import BadRequest
from harambee.observability import correlation_id
from harambee.settings import platform_settings

# <resource>.<past_tense>: lower-case words joined by underscores on each side of one dot.
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
SOURCE_PATTERN = r"^harambee\.[a-z][a-z0-9_-]*$"
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)


class InvalidEvent(BadRequest):
    """A message that is not a well-formed domain event: retrying will not fix it."""

    code = "INVALID_EVENT"


class DomainEvent(BaseModel):
    """One domain event: immutable, serialised with the camelCase names of the seeds' envelope."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN)
    schema_version: int = Field(1, ge=1)
    timestamp: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC), validate_default=True)
    source: str = Field(pattern=SOURCE_PATTERN)
    correlation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # Milliseconds, as serialised: an envelope read back equals the one written.
        return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)

    @field_serializer("timestamp")
    def _iso_timestamp(self, value: datetime) -> str:
        return value.isoformat(timespec="milliseconds")

    @property
    def resource(self) -> str:
        return self.event_type.split(".", 1)[0]

    def to_envelope(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, envelope: str | bytes) -> Self:
        try:
            return cls.model_validate_json(envelope)
        except ValueError as error:
            raise InvalidEvent("Not a domain event envelope", details=str(error)) from error

    @classmethod
    def from_eventbridge(cls, bus_event: dict[str, Any]) -> Self:
        """The envelope carried as `detail` of an EventBridge event; its detail-type and source must agree."""
        detail = bus_event.get("detail")
        if not isinstance(detail, dict):
            raise InvalidEvent("EventBridge event has no envelope in its detail")
        try:
            event = cls.model_validate(detail)
        except ValueError as error:
            raise InvalidEvent("Not a domain event envelope", details=str(error)) from error
        # A mismatch means someone put a hand-made event on the bus: refuse it rather than guess.
        if bus_event.get("detail-type") != event.event_type or bus_event.get("source") != event.source:
            raise InvalidEvent(
                "EventBridge detail-type or source disagrees with the envelope",
                details={"detailType": bus_event.get("detail-type"), "eventType": event.event_type},
            )
        return event


def context_source() -> str:
    """`harambee.<context>` for the running function, from POWERTOOLS_SERVICE_NAME."""
    return f"harambee.{platform_settings().service}"


def new_event(event_type: str, data: dict[str, Any], *, schema_version: int = 1) -> DomainEvent:
    """A fresh event from this context, carrying the current correlation id."""
    if not _EVENT_TYPE.match(event_type):
        raise ValueError(f"Event type {event_type!r} is not <resource>.<past_tense>")
    return DomainEvent(
        event_type=event_type,
        schema_version=schema_version,
        source=context_source(),
        correlation_id=correlation_id(),
        data=data,
    )
