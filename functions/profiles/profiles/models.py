"""Profiles' request and response schemas (camelCase; requests refuse unknown fields)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from profiles.domain.profile import Address, Preferences, Profile, SocialLinks


class AvatarUpload(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    content_type: str = Field(max_length=100)
    content_length: int = Field(gt=0)


class ProfileView(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    user_id: str
    first_name: str | None
    last_name: str | None
    phone_number: str | None
    date_of_birth: date | None
    address: Address
    bio: str | None
    social_links: SocialLinks
    preferences: Preferences
    profile_picture: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, profile: Profile, picture_url: str | None) -> ProfileView:
        fields = profile.model_dump(exclude={"avatar_key"})
        return cls(**fields, profile_picture=picture_url)
