"""Identity's environment in moto: its table from template.yaml and a signing key in SSM."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from identity.signing import SigningKey
from tests.support.tokens import new_key, publish_jwks
from tests.unit.kernel import harness

SIGNING_KEY_PARAMETER = "/harambee/test/jwt/signing-key"


@pytest.fixture
def identity_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("IdentityTable")
        harness.use_context(monkeypatch, "identity", name)
        key = boto3.client("kms").create_key(Description="message secrets")["KeyMetadata"]["KeyId"]
        monkeypatch.setenv("MESSAGE_SECRETS_KEY_ID", key)
        yield name


@pytest.fixture
def signing_key(identity_table: str) -> SigningKey:
    from identity import sessions

    key = new_key("identity-test")
    boto3.client("ssm").put_parameter(
        Name=SIGNING_KEY_PARAMETER, Value=json.dumps(key.private_jwk), Type="SecureString", Overwrite=True
    )
    publish_jwks(key)
    sessions._settings.cache_clear()
    return key
