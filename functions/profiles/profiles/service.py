"""Profiles' use cases: read and change a profile, preferences, avatar uploads, deletion."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from harambee import aws
from harambee.errors import Gone
from harambee.events import new_event
from harambee.observability import logger
from harambee.outbox import transaction
from profiles import repository
from profiles.domain.profile import (
    AVATAR_MAX_BYTES,
    AVATAR_TYPES,
    Preferences,
    Profile,
    ProfileDetails,
    avatar_extension,
)
from profiles.repository import ErasureRecord, ProfileRecord

UPLOAD_WINDOW = timedelta(minutes=5)
AVATAR_PREFIX = "avatars/"


def utcnow() -> datetime:
    return datetime.now(UTC)


def avatar_bucket() -> str:
    return os.environ["AVATAR_BUCKET"]


class ProfileErased(Gone):
    code = "PROFILE_ERASED"


def _not_erased(tx: Any, user_id: str) -> None:
    """In the same transaction as a write: the user's data has not been erased meanwhile."""
    tx.condition_check(
        ErasureRecord, repository.profile_pk(user_id), "ERASED", condition=ErasureRecord.pk.does_not_exist()
    )


def _current(user_id: str, now: datetime) -> tuple[Profile, tuple[Profile, ProfileRecord] | None]:
    """The stored profile (or the defaults of one never saved) and its record; erased: refused."""
    stored = repository.load(user_id)
    if stored.erased:
        raise ProfileErased("This account's personal data has been erased")
    found = stored.found
    return (found[0] if found else Profile(user_id=user_id, created_at=now, updated_at=now)), found


def get(user_id: str, *, now: datetime | None = None) -> Profile:
    """The user's profile; a user who never saved one has the defaults."""
    return _current(user_id, now or utcnow())[0]


def update_details(user_id: str, details: ProfileDetails, *, now: datetime | None = None) -> Profile:
    now = now or utcnow()
    before, found = _current(user_id, now)
    after = before.with_details(details, now.date(), now)
    with transaction() as tx:
        _not_erased(tx, user_id)
        tx.save(repository.to_record(after), condition=_unchanged_since(found))
        if after.birth_date_changed(before):
            # Birthday pots are created from this event, 30 days ahead, by the campaigns context.
            born = after.date_of_birth.isoformat() if after.date_of_birth else None
            tx.emit(new_event("profile.birthdate_changed", {"userId": user_id, "dateOfBirth": born}))
        tx.emit(new_event("profile.updated", {"userId": user_id, "fields": sorted(details.model_fields_set)}))
        _announce_contact(tx, after, before if found else None)
    return after


def _announce_contact(tx: Any, after: Profile, before: Profile | None) -> None:
    # Values, unlike profile.updated: notifications needs the number and language to reach the person.
    if after.contact_changed(before):
        tx.emit(new_event("profile.contact_changed", after.contact()))


def update_preferences(user_id: str, preferences: Preferences, *, now: datetime | None = None) -> Profile:
    now = now or utcnow()
    before, found = _current(user_id, now)
    after = before.model_copy(update={"preferences": preferences, "updated_at": now})
    with transaction() as tx:
        _not_erased(tx, user_id)
        tx.save(repository.to_record(after), condition=_unchanged_since(found))
        tx.emit(
            new_event(
                "profile.preferences_changed",
                {"userId": user_id, "preferences": preferences.model_dump(by_alias=True, mode="json")},
            )
        )
        _announce_contact(tx, after, before if found else None)
    return after


def _unchanged_since(found: tuple[Profile, ProfileRecord] | None) -> Any:
    """Optimistic concurrency: a save computed from a stale read fails instead of undoing a newer one."""
    if found is None:
        return ProfileRecord.pk.does_not_exist()
    return ProfileRecord.updated_at == found[1].updated_at


def delete(user_id: str, *, now: datetime | None = None) -> None:
    """Erase the user's personal data and tell every other context to anonymise theirs.

    A tombstone stays behind: a still-valid token or a presigned upload issued before the erasure
    cannot recreate the profile afterwards.
    """
    now = now or utcnow()
    stored = repository.load(user_id)
    if stored.erased:
        return
    found = stored.found
    with transaction() as tx:
        if found is not None:
            tx.delete(found[1])
        tx.save(
            ErasureRecord(pk=repository.profile_pk(user_id), erased_at=now),
            condition=ErasureRecord.pk.does_not_exist(),
        )
        tx.emit(new_event("account.deleted", {"userId": user_id, "deletedAt": now.isoformat()}))
    _erase_avatars(user_id)


# ------------------------------------------------------------------ avatars


def start_avatar_upload(
    user_id: str, content_type: str, size: int, *, now: datetime | None = None
) -> dict[str, Any]:
    """A presigned POST that S3 itself holds to this content type and at most 5 MB."""
    now = now or utcnow()
    key = f"{AVATAR_PREFIX}{user_id}/{uuid.uuid4().hex}.{avatar_extension(content_type, size)}"
    post = aws.client("s3").generate_presigned_post(
        Bucket=avatar_bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, AVATAR_MAX_BYTES]],
        ExpiresIn=int(UPLOAD_WINDOW.total_seconds()),
    )
    return {
        "url": post["url"],
        "fields": post["fields"],
        "key": key,
        "expiresAt": (now + UPLOAD_WINDOW).isoformat(),
    }


def avatar_url(profile: Profile) -> str | None:
    if profile.avatar_key is None:
        return None
    url: str = aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": avatar_bucket(), "Key": profile.avatar_key}, ExpiresIn=3600
    )
    return url


def avatar_landed(bucket: str, key: str, *, now: datetime | None = None) -> bool:
    """Point the owner's profile at a newly uploaded avatar; refuse (and delete) anything else."""
    now = now or utcnow()
    user_id = _owner_of(key)
    head = _head(bucket, key)
    if user_id is None or head is None:
        return False
    if (
        head.get("ContentType") not in AVATAR_TYPES
        or not 0 < int(head.get("ContentLength", 0)) <= AVATAR_MAX_BYTES
    ):
        logger.warning("Refusing an avatar that is not an allowed image", extra={"key": key})
        aws.client("s3").delete_object(Bucket=bucket, Key=key)
        return False
    try:
        before, found = _current(user_id, now)
    except ProfileErased:
        aws.client("s3").delete_object(Bucket=bucket, Key=key)
        return False
    if before.avatar_key == key:
        return True  # a redelivered notification
    after = before.model_copy(update={"avatar_key": key, "updated_at": now})
    with transaction() as tx:
        _not_erased(tx, user_id)
        tx.save(repository.to_record(after), condition=_unchanged_since(found))
        tx.emit(new_event("profile.avatar_changed", {"userId": user_id, "avatarKey": key}))
    _delete_avatars(user_id, keep=key)
    return True


def _owner_of(key: str) -> str | None:
    parts = key.removeprefix(AVATAR_PREFIX).split("/")
    return parts[0] if key.startswith(AVATAR_PREFIX) and len(parts) == 2 and parts[0] else None


def _head(bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        head: dict[str, Any] = aws.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None  # already replaced or deleted: nothing to point at
        raise  # throttling or access: let the message come back and try again
    return head


def _erase_avatars(user_id: str) -> None:
    """Every version of every avatar (the bucket is versioned): erasure leaves no bytes behind."""
    s3 = aws.client("s3")
    listed = s3.list_object_versions(Bucket=avatar_bucket(), Prefix=f"{AVATAR_PREFIX}{user_id}/")
    versions = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
    doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
    if doomed:
        s3.delete_objects(Bucket=avatar_bucket(), Delete={"Objects": doomed, "Quiet": True})


def _delete_avatars(user_id: str, *, keep: str | None) -> None:
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=avatar_bucket(), Prefix=f"{AVATAR_PREFIX}{user_id}/")
    stale = [{"Key": item["Key"]} for item in listed.get("Contents", []) if item["Key"] != keep]
    if stale:
        s3.delete_objects(Bucket=avatar_bucket(), Delete={"Objects": stale, "Quiet": True})
