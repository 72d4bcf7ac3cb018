"""Settings every context reads once at cold start, validated by pydantic from the environment.

pydantic-settings would add ~80 ms to every cold start for features we do not use (dotenv, CLI,
secret dirs), so settings are plain pydantic models whose field aliases are the environment names.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field


class PlatformSettings(BaseModel):
    """The environment contract of template.yaml's Globals plus each function's own variables."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    stage: Literal["local", "test", "dev", "prod"] = Field("local", alias="STAGE")
    service: str = Field("harambee", alias="POWERTOOLS_SERVICE_NAME")
    region: str = Field("us-east-1", alias="AWS_REGION")
    table_name: str = Field("", alias="TABLE_NAME")
    event_bus_name: str = Field("", alias="EVENT_BUS_NAME")
    idempotency_table_name: str = Field("", alias="IDEMPOTENCY_TABLE_NAME")
    tracing_enabled: bool = Field(False, alias="HARAMBEE_TRACING")
    outbox_ttl_hours: int = Field(72, ge=1, alias="OUTBOX_TTL_HOURS")

    @classmethod
    def from_environ(cls) -> Self:
        return cls.model_validate(dict(os.environ))


@cache
def platform_settings() -> PlatformSettings:
    """The platform settings, read once per execution environment."""
    return PlatformSettings.from_environ()


class _TableNameFromSettings(type):
    @property
    def table_name(cls) -> str:
        return platform_settings().table_name


class TableMeta(metaclass=_TableNameFromSettings):
    """`class Meta(TableMeta)` binds a pynamodb model to this context's table (TABLE_NAME) at first use.

    Read on every access, not at import, so importing a model never reads settings.
    """
