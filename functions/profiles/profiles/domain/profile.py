"""A person's profile and preferences (Purpose Planner's profile schema, shared by every seed)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from harambee.errors import Unprocessable

# E.164: a plus, a country code and up to 15 digits in all.
PHONE_PATTERN = r"^\+[1-9]\d{6,14}$"
OLDEST_BIRTH_YEAR = 1900
AVATAR_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
AVATAR_MAX_BYTES = 5 * 1024 * 1024


class Model(BaseModel):
    """Profile documents are camelCase on the wire and refuse fields they do not define."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Address(Model):
    street: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    zip_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    @field_validator("country")
    @classmethod
    def _upper(cls, country: str | None) -> str | None:
        return country.upper() if country else country


class Theme(StrEnum):
    LIGHT = "light"
    DARK = "dark"


class NotificationChannels(Model):
    email: bool = True
    push: bool = False
    sms: bool = False
    whatsapp: bool = False


class Modules(Model):
    financial: bool = True
    spiritual: bool = True
    schedule: bool = True
    dashboard: bool = True


class Preferences(Model):
    theme: Theme = Theme.LIGHT
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    notifications: NotificationChannels = NotificationChannels()
    modules: Modules = Modules()


class SocialLinks(Model):
    facebook: AnyHttpUrl | None = None
    twitter: AnyHttpUrl | None = None
    instagram: AnyHttpUrl | None = None
    linkedin: AnyHttpUrl | None = None


class ProfileDetails(Model):
    """What a user may set about themselves (PUT /api/profile): never ids, roles, points or pictures."""

    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    phone_number: str | None = Field(None, pattern=PHONE_PATTERN)
    date_of_birth: date | None = None
    address: Address = Address()
    bio: str | None = Field(None, max_length=1000)
    social_links: SocialLinks = SocialLinks()


class Profile(ProfileDetails):
    user_id: str
    preferences: Preferences = Preferences()
    avatar_key: str | None = None
    created_at: datetime
    updated_at: datetime

    def with_details(self, details: ProfileDetails, today: date, at: datetime) -> Profile:
        check_birth_date(details.date_of_birth, today)
        return self.model_copy(update={**dict(details), "updated_at": at})

    def birth_date_changed(self, before: Profile) -> bool:
        return self.date_of_birth != before.date_of_birth

    @property
    def display_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None

    def contact(self) -> dict[str, str | None]:
        """How to reach the person and in which language: what notifications keep of a profile."""
        return {
            "userId": self.user_id,
            "phone": self.phone_number,
            "locale": self.preferences.language,
            "displayName": self.display_name,
        }

    def contact_changed(self, before: Profile | None) -> bool:
        """A new profile announces its contact once it has one; afterwards only a real change does."""
        if before is None:
            return bool(self.phone_number or self.display_name or self.preferences.language != "en")
        return self.contact() != before.contact()


class InvalidBirthDate(Unprocessable):
    code = "INVALID_DATE_OF_BIRTH"


def check_birth_date(born: date | None, today: date) -> None:
    if born is None:
        return
    if born > today:
        raise InvalidBirthDate("A date of birth cannot be in the future")
    if born.year < OLDEST_BIRTH_YEAR:
        raise InvalidBirthDate(f"A date of birth before {OLDEST_BIRTH_YEAR} is not plausible")


class UnsupportedAvatar(Unprocessable):
    code = "UNSUPPORTED_AVATAR"


def avatar_extension(content_type: str, size: int) -> str:
    """The file extension for an avatar upload, or UnsupportedAvatar (images only, 5 MB at most)."""
    extension = AVATAR_TYPES.get(content_type)
    if extension is None:
        raise UnsupportedAvatar(
            "Avatars must be JPEG, PNG or WebP images", details={"allowed": sorted(AVATAR_TYPES)}
        )
    if not 0 < size <= AVATAR_MAX_BYTES:
        raise UnsupportedAvatar("Avatars must be at most 5 MB", details={"maxBytes": AVATAR_MAX_BYTES})
    return extension
