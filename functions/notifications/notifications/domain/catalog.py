"""The messages this context sends: template, category and the channels each can go out on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    PUSH = "push"


class Category(StrEnum):
    """Transactional messages (receipts, password reset, verify email) cannot be opted out of."""

    TRANSACTIONAL = "transactional"
    DONATIONS = "donations"
    CAMPAIGNS = "campaigns"
    MARKETING = "marketing"


ALL_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.PUSH)


@dataclass(frozen=True)
class MessageKind:
    template: str
    category: Category
    channels: tuple[Channel, ...] = ALL_CHANNELS


# Links that are secrets (verify, reset) only travel by email: SMS and push previews leak them.
MESSAGES = {
    kind.template: kind
    for kind in (
        MessageKind("welcome", Category.MARKETING, (Channel.EMAIL, Channel.PUSH)),
        MessageKind("verify_email", Category.TRANSACTIONAL, (Channel.EMAIL,)),
        MessageKind("reset_password", Category.TRANSACTIONAL, (Channel.EMAIL,)),
        MessageKind("pledge_created", Category.DONATIONS),
        MessageKind("receipt", Category.TRANSACTIONAL),
        MessageKind("new_donation", Category.DONATIONS),
        MessageKind("pledge_failed", Category.TRANSACTIONAL),
        MessageKind("refund", Category.TRANSACTIONAL),
        MessageKind("goal_reached", Category.CAMPAIGNS),
        MessageKind("final_report", Category.CAMPAIGNS),
        MessageKind("pot_created", Category.CAMPAIGNS),
        MessageKind("pot_closing", Category.CAMPAIGNS),
    )
}

SUPPORTED_LOCALES = ("en", "fr")
DEFAULT_LOCALE = "en"


def supported_locale(locale: str | None) -> str:
    """The template language for a locale like `fr-SN`: its language if we have it, else English."""
    language = (locale or "").replace("_", "-").split("-", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE
