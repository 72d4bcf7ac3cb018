"""The canonical events in events/ drive their functions, as `sam local invoke -e` would send them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from devstack.template import Template
from tests.support.events import EVENTS_DIR, FakeLambdaContext, load_event
from tests.unit.kernel import harness

TEMPLATE = Template()
TESTS_DIR = Path(__file__).resolve().parents[1]
HEALTH = sorted(path.parent.name for path in EVENTS_DIR.glob("*/api_health.json"))


def _function_of(context: str) -> str:
    return f"{context.capitalize()}Function"


@pytest.fixture
def context_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mock_aws(), harness.fresh_caches():
        yield


def _use(monkeypatch: pytest.MonkeyPatch, context: str) -> str:
    table = TEMPLATE.functions[_function_of(context)].environment["TABLE_NAME"]["Ref"]
    name = harness.context_table(table)
    harness.use_context(monkeypatch, context, name)
    return name


def _handler(context: str):
    import importlib

    spec = TEMPLATE.functions[_function_of(context)]
    return getattr(importlib.import_module(spec.module), spec.handler.rsplit(".", 1)[1])


@pytest.mark.parametrize("context", HEALTH)
def test_every_health_event_gets_a_200_from_its_function(
    context_environment: None, monkeypatch: pytest.MonkeyPatch, context: str
) -> None:
    _use(monkeypatch, context)
    response = _handler(context)(load_event(f"{context}/api_health"), FakeLambdaContext())
    body = json.loads(response["body"])
    assert (response["statusCode"], body["data"]["context"], body["data"]["table"]) == (
        200,
        context,
        "reachable",
    )


def test_the_login_event_signs_a_registered_user_in(
    context_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from identity import service
    from identity.service import LinkBuilder
    from tests.support.tokens import new_key
    from tests.unit.identity.conftest import SIGNING_KEY_PARAMETER

    _use(monkeypatch, "identity")
    message_key = boto3.client("kms").create_key(Description="message secrets")["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("MESSAGE_SECRETS_KEY_ID", message_key)
    key = new_key("contract")
    boto3.client("ssm").put_parameter(
        Name=SIGNING_KEY_PARAMETER, Value=json.dumps(key.private_jwk), Type="SecureString", Overwrite=True
    )
    service.register(
        "amina@example.org", "correct horse battery staple", "Amina", links=LinkBuilder("https://x")
    )
    response = _handler("identity")(load_event("identity/api_login"), FakeLambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["data"]["user"]["email"] == "amina@example.org"


def test_the_admin_task_event_creates_an_admin(
    context_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, "identity")
    created = _handler("identity")(load_event("identity/task_admin_ensure"), FakeLambdaContext())
    assert (created["email"], created["role"], created["created"]) == ("root@example.org", "ADMIN", True)


def test_the_account_deleted_event_is_consumed(
    context_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _use(monkeypatch, "identity")
    response = _handler("identity")(load_event("identity/sqs_account_deleted"), FakeLambdaContext())
    assert response == {"batchItemFailures": []}
    marker = harness.get_item(table, "PROCESSED#5f0c3c53-0d55-4b0a-8a46-7d3f0e6f1b21", "identity")
    assert marker is not None


def test_the_profile_events_read_a_profile_and_take_an_avatar(
    context_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, "profiles")
    monkeypatch.setenv("AVATAR_BUCKET", "harambee-test-avatars")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="harambee-test-avatars")
    s3.put_object(
        Bucket="harambee-test-avatars", Key="avatars/u-amina/3f2a9c.png", Body=b"png", ContentType="image/png"
    )
    handler = _handler("profiles")
    assert handler(load_event("profiles/sqs_avatar_uploaded"), FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    response = handler(load_event("profiles/api_get_profile"), FakeLambdaContext())
    assert response["statusCode"] == 200
    assert "avatars/u-amina/3f2a9c.png" in json.loads(response["body"])["data"]["profilePicture"]


def test_every_sample_event_is_driven_by_a_test() -> None:
    sources = "\n".join(path.read_text(encoding="utf-8") for path in TESTS_DIR.rglob("*.py"))
    used = set(re.findall(r"load_event\(\s*f?[\"']([a-z_]+/[a-z_]+)[\"']", sources))
    used |= {f"{context}/api_health" for context in HEALTH}
    files = {str(path.relative_to(EVENTS_DIR).with_suffix("")) for path in EVENTS_DIR.glob("*/*.json")}
    assert files - used == set(), "write a test that drives these events"
