"""Preferences per channel and per category, and the one rule that transactional mail always goes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harambee.errors import Unprocessable
from notifications.domain.catalog import Category, Channel


class TransactionalOptOut(Unprocessable):
    code = "TRANSACTIONAL_REQUIRED"


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: bool = True
    sms: bool = False
    whatsapp: bool = False
    push: bool = False


class CategorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    transactional: bool = True
    donations: bool = True
    campaigns: bool = True
    marketing: bool = True


class Preferences(BaseModel):
    """Defaults: email on, other channels off until the user turns them on, every category on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    categories: CategorySettings = Field(default_factory=CategorySettings)

    def allows(self, channel: Channel, category: Category) -> bool:
        """Whether a message of `category` may go out on `channel`."""
        if category is Category.TRANSACTIONAL and channel is Channel.EMAIL:
            return True
        return bool(getattr(self.channels, channel.value)) and bool(getattr(self.categories, category.value))

    def validated(self) -> Preferences:
        if not self.categories.transactional:
            raise TransactionalOptOut(
                "Transactional messages (receipts, password reset, email verification) cannot be turned off",
                details={"category": Category.TRANSACTIONAL.value},
            )
        return self

    def without(self, category: Category) -> Preferences:
        """These preferences with one category switched off (what an unsubscribe link does)."""
        if category is Category.TRANSACTIONAL:
            raise TransactionalOptOut("Transactional messages cannot be unsubscribed from")
        categories = self.categories.model_copy(update={category.value: False})
        return self.model_copy(update={"categories": categories})

    def with_channels(self, channels: dict[str, bool]) -> Preferences:
        """These preferences with the channel switches a profile carries (unknown names ignored)."""
        known = {
            name: bool(value) for name, value in channels.items() if name in ChannelSettings.model_fields
        }
        return self.model_copy(update={"channels": self.channels.model_copy(update=known)})
