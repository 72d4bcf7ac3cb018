"""Request and response bodies of the notifications routes and the internal send-email task."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from notifications.domain.preferences import CategorySettings, ChannelSettings


class PreferencesBody(BaseModel):
    """PUT /api/notifications/preferences: switches not given keep their current value."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[str, bool] = Field(default_factory=dict, description="email, sms, whatsapp, push")
    categories: dict[str, bool] = Field(
        default_factory=dict, description="transactional (always on), donations, campaigns, marketing"
    )

    def unknown_names(self) -> list[str]:
        return [f"channels.{n}" for n in self.channels if n not in ChannelSettings.model_fields] + [
            f"categories.{n}" for n in self.categories if n not in CategorySettings.model_fields
        ]


class SendEmailTask(BaseModel):
    """`{"task": "notifications.send-email", ...}`: an email from another context, sent at most once."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    request_id: str = Field(min_length=8, max_length=128, description="The caller's idempotency key")
    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(None, max_length=500_000)
    user_id: str | None = None


class DeviceBody(BaseModel):
    """PUT /api/notifications/devices: the push token the app got from FCM or APNs."""

    model_config = ConfigDict(extra="forbid")

    platform: Literal["android", "ios"]
    token: str = Field(min_length=8, max_length=4096)
