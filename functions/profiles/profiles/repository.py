"""Profiles' storage in ProfilesTable (pynamodb).

Access patterns (pk / sk):
  profile of a user      PROFILE#<userId> / PROFILE   (the whole profile document, camelCase JSON)
  erased profile         PROFILE#<userId> / ERASED    (tombstone: when, nothing personal; writes check it)
Profiles are only ever read by their owner's id, so one item per user is all it takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from harambee import aws
from harambee.settings import TableMeta, platform_settings
from profiles.domain.profile import Profile


class ProfileRecord(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PROFILE")
    user_id = UnicodeAttribute(attr_name="userId")
    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute(attr_name="updatedAt")


class ErasureRecord(Model):
    """Marks a user whose personal data was erased, so a late write cannot bring it back."""

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="ERASED")
    erased_at = UTCDateTimeAttribute(attr_name="erasedAt")


def profile_pk(user_id: str) -> str:
    return f"PROFILE#{user_id}"


def to_record(profile: Profile) -> ProfileRecord:
    return ProfileRecord(
        pk=profile_pk(profile.user_id),
        user_id=profile.user_id,
        document=profile.model_dump_json(by_alias=True),
        updated_at=profile.updated_at,
    )


@dataclass(frozen=True)
class StoredProfile:
    """Everything stored under a user's partition: the profile (with its record) and the tombstone."""

    found: tuple[Profile, ProfileRecord] | None
    erased: bool


def load(user_id: str) -> StoredProfile:
    """One consistent Query of the user's partition answers both "what is stored" and "was it erased"."""
    answer = aws.dynamodb().query(
        TableName=platform_settings().table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": profile_pk(user_id)}},
        ConsistentRead=True,
    )
    found: tuple[Profile, ProfileRecord] | None = None
    erased = False
    for item in answer.get("Items", []):
        if item["sk"]["S"] == "ERASED":
            erased = True
        elif item["sk"]["S"] == "PROFILE":
            record = ProfileRecord.from_raw_data(item)
            found = Profile.model_validate_json(record.document), record
    return StoredProfile(found=found, erased=erased)
