"""Signing keys, a JWKS seeded into (moto) SSM, and access tokens for tests: good ones and every forgery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

from harambee import aws
from identity.signing import SigningKey, generate_signing_key, issue_access_token

ISSUER = os.environ.get("JWT_ISSUER", "https://auth.harambee.app")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "harambee-api")
JWKS_PARAMETER = f"{os.environ.get('SECRETS_PREFIX', '/harambee/test').rstrip('/')}/jwt/jwks"


def new_key(kid: str = "test-key-1") -> SigningKey:
    return generate_signing_key(kid)


def publish_jwks(*keys: SigningKey, drop_cached: bool = True) -> None:
    """Put the keys' public JWKS where the authorizer reads it (and, by default, drop cached copies).

    `drop_cached=False` is a key rotation as production sees it: instances keep the old set cached.
    """
    from aws_lambda_powertools.utilities import parameters

    jwks = {"keys": [jwk for key in keys for jwk in key.jwks["keys"]]}
    aws.client("ssm").put_parameter(
        Name=JWKS_PARAMETER, Value=json.dumps(jwks), Type="String", Overwrite=True
    )
    if drop_cached:
        parameters.clear_caches()


def access_token(
    key: SigningKey, *, user_id: str = "user-1", email: str | None = "amina@example.com", role: str = "USER"
) -> str:
    """A valid access token, exactly as identity issues them."""
    return issue_access_token(key, user_id=user_id, email=email, role=role, issuer=ISSUER, audience=AUDIENCE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "email": "amina@example.com",
        "role": "USER",
        "token_use": "access",
        "iat": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def signed_token(key: SigningKey, *, headers: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
    """An EdDSA token signed by `key` with any claims changed (None removes a claim)."""
    import jwt

    return jwt.encode(
        claims(**claim_overrides),
        key.private_key,
        algorithm="EdDSA",
        headers={
            name: value
            for name, value in {"kid": key.kid, "typ": "at+jwt", **(headers or {})}.items()
            if value
        },
    )


def expired_token(key: SigningKey) -> str:
    now = int(time.time())
    return signed_token(key, iat=now - 3600, exp=now - 600)


def wrong_audience_token(key: SigningKey) -> str:
    return signed_token(key, aud="someone-else")


def wrong_issuer_token(key: SigningKey) -> str:
    return signed_token(key, iss="https://evil.example")


def future_nbf_token(key: SigningKey) -> str:
    return signed_token(key, nbf=int(time.time()) + 600)


def refresh_token(key: SigningKey) -> str:
    return signed_token(key, token_use="refresh", headers={"typ": "JWT"})


def refresh_typed_as_access_token(key: SigningKey) -> str:
    """A refresh token dressed with the access header: only `token_use` gives it away."""
    return signed_token(key, token_use="refresh")


def unknown_kid_token() -> str:
    return signed_token(generate_signing_key("not-published"))


def _unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def alg_none_token(key: SigningKey) -> str:
    return _unsigned({"alg": "none", "kid": key.kid, "typ": "at+jwt"}, claims()) + "."


def hs256_with_public_key_token(key: SigningKey) -> str:
    """The algorithm-confusion forgery: HMAC keyed with the published public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    signing_input = _unsigned({"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}, claims())
    public_pem = key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
