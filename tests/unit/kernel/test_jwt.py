"""Access-token verification: valid tokens pass; every known attack is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harambee.jwt import AccessTokenVerifier, InvalidToken
from identity.signing import SigningKey, generate_signing_key, issue_access_token
from tests.support import tokens


@pytest.fixture
def key(cloud: None) -> SigningKey:
    signing_key = tokens.new_key("k-2026-11")
    tokens.publish_jwks(signing_key)
    return signing_key


@pytest.fixture
def verifier(key: SigningKey) -> AccessTokenVerifier:
    return AccessTokenVerifier.from_environ()


def test_given_a_token_identity_issued_then_its_claims_are_verified(
    key: SigningKey, verifier: AccessTokenVerifier
) -> None:
    claims = verifier.verify(
        tokens.access_token(key, user_id="user-7", email="zawadi@example.com", role="ADMIN")
    )
    assert (claims.sub, claims.email, claims.role, claims.token_use) == (
        "user-7",
        "zawadi@example.com",
        "ADMIN",
        "access",
    )
    assert claims.exp - claims.iat == 900


ATTACKS: dict[str, Callable[[SigningKey], str]] = {
    "expired": tokens.expired_token,
    "wrong-audience": tokens.wrong_audience_token,
    "wrong-issuer": tokens.wrong_issuer_token,
    "not-yet-valid": tokens.future_nbf_token,
    "refresh-token": tokens.refresh_token,
    "refresh-dressed-as-access": tokens.refresh_typed_as_access_token,
    "alg-none": tokens.alg_none_token,
    "hs256-with-public-key": tokens.hs256_with_public_key_token,
    "unknown-kid": lambda key: tokens.unknown_kid_token(),
    "no-subject": lambda key: tokens.signed_token(key, sub=None),
    "no-expiry": lambda key: tokens.signed_token(key, exp=None),
    "no-issued-at": lambda key: tokens.signed_token(key, iat=None),
    "no-kid": lambda key: tokens.signed_token(key, headers={"kid": None}),
    "id-token-typ": lambda key: tokens.signed_token(key, headers={"typ": "JWT+id"}),
    "tampered-claims": lambda key: _swap_payload(
        tokens.access_token(key), tokens.signed_token(key, role="ADMIN")
    ),
    "garbage": lambda key: "not.a.jwt",
}


def _swap_payload(token: str, other: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{other.split('.')[1]}.{signature}"


@pytest.mark.parametrize("forge", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_attack_is_rejected(
    forge: Callable[[SigningKey], str], key: SigningKey, verifier: AccessTokenVerifier
) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(forge(key))


def test_a_small_clock_skew_is_tolerated(key: SigningKey, verifier: AccessTokenVerifier) -> None:
    import time

    now = int(time.time())
    assert verifier.verify(tokens.signed_token(key, nbf=now + 10, iat=now + 10)).sub == "user-1"
    assert verifier.verify(tokens.signed_token(key, exp=now - 10, iat=now - 900)).sub == "user-1"


def test_given_a_rotated_key_when_its_first_token_arrives_then_the_jwks_is_reloaded_once(
    key: SigningKey, verifier: AccessTokenVerifier
) -> None:
    verifier.verify(tokens.access_token(key))  # the old JWKS is now cached for five minutes
    rotated = generate_signing_key("k-2026-12")
    tokens.publish_jwks(key, rotated, drop_cached=False)

    assert verifier.verify(tokens.access_token(rotated)).sub == "user-1"


def test_unknown_kids_force_at_most_one_reload_per_minute(key: SigningKey) -> None:
    loads: list[bool] = []
    now = [1000.0]

    def key_set(force: bool) -> dict[str, Any]:
        loads.append(force)
        return key.jwks

    verifier = AccessTokenVerifier(
        issuer=tokens.ISSUER, audience=tokens.AUDIENCE, key_set=key_set, clock=lambda: now[0]
    )
    for _ in range(5):
        with pytest.raises(InvalidToken):
            verifier.verify(tokens.unknown_kid_token())
    assert loads.count(True) == 1
    now[0] += 61
    with pytest.raises(InvalidToken):
        verifier.verify(tokens.unknown_kid_token())
    assert loads.count(True) == 2


def test_a_private_key_published_by_mistake_is_not_trusted(cloud: None) -> None:
    leaked = generate_signing_key("leaked")
    verifier = AccessTokenVerifier(
        issuer=tokens.ISSUER, audience=tokens.AUDIENCE, key_set=lambda force: {"keys": [leaked.private_jwk]}
    )
    token = issue_access_token(
        leaked, user_id="u", email=None, role="USER", issuer=tokens.ISSUER, audience=tokens.AUDIENCE
    )
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_signing_keys_survive_their_private_jwk() -> None:
    original = generate_signing_key("k-1")
    restored = SigningKey.from_private_jwk(original.private_jwk)
    assert restored.jwks == original.jwks
    assert (original.private_jwk["alg"], original.private_jwk["use"]) == ("EdDSA", "sig")
    assert original.jwks["keys"][0]["kid"] == "k-1"
    assert "d" not in original.jwks["keys"][0]
    with pytest.raises(ValueError, match="private"):
        SigningKey.from_private_jwk(original.jwks["keys"][0])
