"""Profiles' storage in ProfilesTable (pynamodb).

Access patterns (pk / sk):
  profile of a user      PROFILE#<userId> / PROFILE   (the whole profile document, camelCase JSON)
  erased profile         PROFILE#<userId> / ERASED    (tombstone: when, nothing personal; writes check it)
Profiles are only ever read by their owner's id, so one item per user is all it takes.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from harambee.settings import TableMeta
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


def erased(user_id: str) -> bool:
    try:
        ErasureRecord.get(profile_pk(user_id), "ERASED", consistent_read=True)
    except ErasureRecord.DoesNotExist:
        return False
    return True


def profile_pk(user_id: str) -> str:
    return f"PROFILE#{user_id}"


def to_record(profile: Profile) -> ProfileRecord:
    return ProfileRecord(
        pk=profile_pk(profile.user_id),
        user_id=profile.user_id,
        document=profile.model_dump_json(by_alias=True),
        updated_at=profile.updated_at,
    )


def find(user_id: str) -> tuple[Profile, ProfileRecord] | None:
    try:
        record = ProfileRecord.get(profile_pk(user_id), "PROFILE", consistent_read=True)
    except ProfileRecord.DoesNotExist:
        return None
    return Profile.model_validate_json(record.document), record
