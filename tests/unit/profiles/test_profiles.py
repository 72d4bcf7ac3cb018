"""Profiles through its Lambda handler, against moto: a user's own profile, preferences and avatar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.events import FakeLambdaContext, api_event
from tests.unit.kernel import harness
from tests.unit.kernel.harness import outbox_events

BUCKET = "harambee-test-avatars"
AMINA = {"principalId": "u-amina", "userId": "u-amina", "email": "amina@example.org", "role": "USER"}
KOFI = {"principalId": "u-kofi", "userId": "u-kofi", "email": "kofi@example.org", "role": "USER"}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("ProfilesTable")
        harness.use_context(monkeypatch, "profiles", name)
        monkeypatch.setenv("AVATAR_BUCKET", BUCKET)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield name


def call(method: str, path: str, caller: dict[str, str] | None = AMINA, body: Any = None) -> tuple[int, Any]:
    from profiles.handler import handler

    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    response = handler(api_event(method, path, body=raw, authorizer=caller), FakeLambdaContext())
    parsed = json.loads(response["body"])
    return response["statusCode"], parsed.get("data", parsed.get("error"))


def test_a_new_user_sees_an_empty_profile_with_default_preferences(table: str) -> None:
    status, profile = call("GET", "/api/profile")
    assert status == 200
    assert profile["userId"] == "u-amina"
    assert profile["firstName"] is None
    assert profile["preferences"] == {
        "theme": "light",
        "language": "en",
        "notifications": {"email": True, "push": False, "sms": False, "whatsapp": False},
        "modules": {"financial": True, "spiritual": True, "schedule": True, "dashboard": True},
    }


def test_profile_details_are_saved_and_a_birth_date_change_is_announced_once(table: str) -> None:
    details = {
        "firstName": "Amina",
        "lastName": "Diallo",
        "phoneNumber": "+221771234567",
        "dateOfBirth": "1990-02-28",
        "address": {"city": "Dakar", "country": "sn"},
        "socialLinks": {"instagram": "https://instagram.com/amina"},
    }
    status, saved = call("PUT", "/api/profile", body=details)
    assert status == 200
    assert (saved["firstName"], saved["dateOfBirth"], saved["address"]["country"]) == (
        "Amina",
        "1990-02-28",
        "SN",
    )
    call("PUT", "/api/profile", body={**details, "bio": "Teacher"})
    (birthday,) = outbox_events(table, "profile.birthdate_changed")
    assert birthday["data"] == {"userId": "u-amina", "dateOfBirth": "1990-02-28"}
    assert call("GET", "/api/profile")[1]["bio"] == "Teacher"


@pytest.mark.parametrize(
    "forged",
    [{"userId": "u-kofi"}, {"role": "ADMIN"}, {"points": 1000}, {"profilePicture": "https://evil.example"}],
)
def test_fields_a_user_may_not_set_are_refused(table: str, forged: dict[str, Any]) -> None:
    status, error = call("PUT", "/api/profile", body={"firstName": "Amina", **forged})
    assert (status, error["code"]) == (422, "VALIDATION_FAILED")
    assert call("GET", "/api/profile")[1]["firstName"] is None


@pytest.mark.parametrize(
    ("details", "code"),
    [
        ({"dateOfBirth": "2999-01-01"}, "INVALID_DATE_OF_BIRTH"),
        ({"phoneNumber": "0771234567"}, "VALIDATION_FAILED"),
        ({"firstName": "x" * 101}, "VALIDATION_FAILED"),
    ],
)
def test_implausible_details_are_refused(table: str, details: dict[str, Any], code: str) -> None:
    status, error = call("PUT", "/api/profile", body=details)
    assert (status, error["code"]) == (422, code)


def test_each_user_only_ever_reads_and_writes_their_own_profile(table: str) -> None:
    call("PUT", "/api/profile", caller=AMINA, body={"firstName": "Amina"})
    assert call("GET", "/api/profile", caller=KOFI)[1]["firstName"] is None
    assert call("GET", "/api/profile", caller=None)[0] == 401


def test_preferences_round_trip_and_unknown_values_are_refused(table: str) -> None:
    wanted = {"theme": "dark", "language": "fr", "notifications": {"email": True, "sms": True}}
    status, preferences = call("PUT", "/api/profile/preferences", body=wanted)
    assert (status, preferences["theme"], preferences["notifications"]["sms"]) == (200, "dark", True)
    assert call("GET", "/api/profile/preferences")[1]["language"] == "fr"
    assert call("PUT", "/api/profile/preferences", body={"theme": "neon"})[0] == 422


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        ({"contentType": "application/pdf", "contentLength": 1000}, "UNSUPPORTED_AVATAR"),
        ({"contentType": "image/png", "contentLength": 5 * 1024 * 1024 + 1}, "UNSUPPORTED_AVATAR"),
    ],
)
def test_avatar_uploads_must_be_small_images(table: str, upload: dict[str, Any], code: str) -> None:
    status, error = call("POST", "/api/profile/avatar", body=upload)
    assert (status, error["code"]) == (422, code)


def _notification(key: str) -> dict[str, Any]:
    body = {
        "Records": [
            {"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}
        ]
    }
    return {"Records": [harness.sqs_record(json.dumps(body), f"m-{key}")]}


def _upload(key: str, content_type: str = "image/png") -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"\x89PNG fake", ContentType=content_type)


def test_an_uploaded_avatar_becomes_the_profile_picture_and_replaces_the_old_one(table: str) -> None:
    from profiles.handler import handler

    status, upload = call(
        "POST", "/api/profile/avatar", body={"contentType": "image/png", "contentLength": 2048}
    )
    assert status == 201
    assert upload["key"].startswith("avatars/u-amina/")
    assert upload["fields"]["Content-Type"] == "image/png"
    first, second = upload["key"], "avatars/u-amina/second.png"
    _upload(first)
    assert handler(_notification(first), FakeLambdaContext()) == {"batchItemFailures": []}
    assert "avatars/u-amina/" in call("GET", "/api/profile")[1]["profilePicture"]
    _upload(second)
    handler(_notification(second), FakeLambdaContext())
    handler(_notification(second), FakeLambdaContext())  # redelivered
    remaining = boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [item["Key"] for item in remaining] == [second]
    assert len(outbox_events(table, "profile.avatar_changed")) == 2


def test_an_object_that_is_not_an_image_is_deleted_and_ignored(table: str) -> None:
    from profiles.handler import handler

    key = "avatars/u-amina/evil.png"
    _upload(key, content_type="text/html")
    handler(_notification(key), FakeLambdaContext())
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents") is None
    assert call("GET", "/api/profile")[1]["profilePicture"] is None


def test_deleting_the_profile_erases_personal_data_and_announces_it(table: str) -> None:
    call("PUT", "/api/profile", body={"firstName": "Amina", "dateOfBirth": "1990-02-28"})
    _upload("avatars/u-amina/a.png")
    status, deleted = call("DELETE", "/api/profile")
    assert (status, deleted) == (200, {"deleted": True})
    assert call("GET", "/api/profile")[0] == 410
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents") is None
    (event,) = outbox_events(table, "account.deleted")
    assert event["data"]["userId"] == "u-amina"


def test_an_erased_profile_cannot_be_brought_back_by_a_late_write_or_upload(table: str) -> None:
    from profiles.handler import handler

    status, upload = call(
        "POST", "/api/profile/avatar", body={"contentType": "image/png", "contentLength": 2048}
    )
    assert call("DELETE", "/api/profile")[0] == 200
    # The still-valid access token, and the presigned upload issued before the erasure
    status, error = call("PUT", "/api/profile", body={"firstName": "Amina"})
    assert (status, error["code"]) == (410, "PROFILE_ERASED")
    assert call("PUT", "/api/profile/preferences", body={"theme": "dark"})[0] == 410
    _upload(upload["key"])
    handler(_notification(upload["key"]), FakeLambdaContext())
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents") is None
    assert len(outbox_events(table, "account.deleted")) == 1
    assert call("DELETE", "/api/profile")[0] == 200  # erasing twice is harmless
    assert len(outbox_events(table, "account.deleted")) == 1


def test_contact_details_are_announced_with_their_values_only_when_they_change(table: str) -> None:
    # Given a profile saved with a phone number and a name
    call(
        "PUT",
        "/api/profile",
        body={"firstName": "Amina", "lastName": "Diallo", "phoneNumber": "+221771234567"},
    )
    # When the bio changes, nothing about contact is announced again; the language change is
    call(
        "PUT",
        "/api/profile",
        body={"firstName": "Amina", "lastName": "Diallo", "phoneNumber": "+221771234567", "bio": "Teacher"},
    )
    call("PUT", "/api/profile/preferences", body={"language": "fr"})
    call("PUT", "/api/profile/preferences", body={"language": "fr", "theme": "dark"})
    # Then notifications heard exactly two contact versions, with values
    assert [event["data"] for event in outbox_events(table, "profile.contact_changed")] == [
        {"userId": "u-amina", "phone": "+221771234567", "locale": "en", "displayName": "Amina Diallo"},
        {"userId": "u-amina", "phone": "+221771234567", "locale": "fr", "displayName": "Amina Diallo"},
    ]


def test_a_new_profile_without_contact_details_announces_no_contact(table: str) -> None:
    call("PUT", "/api/profile", body={"bio": "Hello"})
    assert outbox_events(table, "profile.contact_changed") == []
