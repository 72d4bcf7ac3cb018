"""Schemas of the pipeline canary: its Step Functions task inputs and the heartbeat event."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

HEARTBEAT = "platform.heartbeat"


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class EmitHeartbeat(_Camel):
    """Input of task `canary.emit` (EmitHeartbeat state, invoked with .waitForTaskToken)."""

    task: Literal["canary.emit"]
    task_token: str = Field(min_length=1)
    execution_name: str = Field(min_length=1)
    correlation_id: str | None = None


class Heartbeat(_Camel):
    """`data` of a platform.heartbeat event."""

    task_token: str = Field(min_length=1)
    execution_name: str = Field(min_length=1)
    emitted_at: AwareDatetime


class HeartbeatReturned(_Camel):
    """What the canary's wait resumes with (its $.heartbeat)."""

    event_id: str
    execution_name: str
    emitted_at: AwareDatetime
    received_at: AwareDatetime
    latency_ms: int


class CanaryFailed(_Camel):
    """Input of task `canary.failed` (ReportFailure state): the Catch's error and cause."""

    task: Literal["canary.failed"]
    execution_name: str = "unknown"
    error: dict[str, Any] = Field(default_factory=dict)
