"""The API Gateway authorizer and GET /api/auth/me, driven with the sample events in events/identity/."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from identity import authorizer
from identity.handler import handler as identity_handler
from identity.signing import SigningKey
from tests.support import tokens
from tests.support.events import FakeLambdaContext, load_event
from tests.unit.kernel import harness

API_WIDE = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> Iterator[SigningKey]:
    with mock_aws(), harness.fresh_caches():
        harness.use_context(monkeypatch, "authorizer", "")
        authorizer.verifier.cache_clear()
        signing_key = tokens.new_key()
        tokens.publish_jwks(signing_key)
        yield signing_key
        authorizer.verifier.cache_clear()


def _with_token(token: str) -> dict:
    event = load_event("identity/authorizer_valid_token")
    event["headers"]["Authorization"] = f"Bearer {token}"
    return event


def test_given_a_valid_token_then_the_whole_api_is_allowed_with_the_caller_in_context(
    key: SigningKey,
) -> None:
    event = _with_token(
        tokens.access_token(key, user_id="user-7f3c9a", email="amina@example.com", role="ADMIN")
    )

    policy = authorizer.handler(event, FakeLambdaContext())

    assert policy["principalId"] == "user-7f3c9a"
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": API_WIDE}
    ]
    assert policy["context"] == {"userId": "user-7f3c9a", "email": "amina@example.com", "role": "ADMIN"}


def test_a_token_without_email_gets_an_empty_string_never_null(key: SigningKey) -> None:
    policy = authorizer.handler(_with_token(tokens.access_token(key, email=None)), FakeLambdaContext())
    assert policy["context"]["email"] == ""


def test_given_no_token_then_unauthorized(key: SigningKey) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(load_event("identity/authorizer_missing_token"), FakeLambdaContext())


@pytest.mark.parametrize(
    "forge",
    [tokens.expired_token, tokens.refresh_token, tokens.alg_none_token, tokens.hs256_with_public_key_token],
    ids=["expired", "refresh", "alg-none", "hs256-public-key"],
)
def test_given_a_bad_token_then_unauthorized(key: SigningKey, forge) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(_with_token(forge(key)), FakeLambdaContext())


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "bearer    ", "Token abc"])
def test_a_header_that_is_not_a_bearer_token_is_unauthorized(key: SigningKey, header: str) -> None:
    event = load_event("identity/authorizer_valid_token")
    event["headers"]["Authorization"] = header
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(event, FakeLambdaContext())


def test_the_sample_token_is_a_placeholder_that_never_passes(key: SigningKey) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler(load_event("identity/authorizer_valid_token"), FakeLambdaContext())


def test_me_for_a_verified_caller_whose_account_is_gone_is_404(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("IdentityTable")
        harness.use_context(monkeypatch, "identity", name)

        response = identity_handler(load_event("identity/api_me"), FakeLambdaContext())

    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "NOT_FOUND"


def test_me_without_an_authorizer_context_is_401(monkeypatch: pytest.MonkeyPatch) -> None:
    harness.use_context(monkeypatch, "identity", "test-IdentityTable")
    event = load_event("identity/api_me")
    del event["requestContext"]["authorizer"]

    response = identity_handler(event, FakeLambdaContext())

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "UNAUTHORIZED"
