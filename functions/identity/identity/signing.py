"""Ed25519 signing keys and access-token issuing. Verification is the kernel's (harambee.jwt).

The private JWK lives in SSM (SecureString) beside the public JWKS the authorizer reads; `kid`
names a key so a new one can be published before tokens signed with it appear.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT media type, not a secret
DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key: the private JWK identity signs with (SSM SecureString) and its public JWKS."""

    private_jwk: dict[str, Any]
    jwks: dict[str, Any]

    @property
    def kid(self) -> str:
        return str(self.private_jwk["kid"])

    @functools.cached_property
    def private_key(self) -> Ed25519PrivateKey:
        return _private_key(self.private_jwk)

    @classmethod
    def from_private_jwk(cls, jwk: dict[str, Any]) -> Self:
        """The key back from its private JWK (as stored in SSM); a public-only JWK is refused."""
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError("A signing JWK needs a kid")
        return cls._of(kid, _private_key(jwk))

    @classmethod
    def _of(cls, kid: str, private_key: Ed25519PrivateKey) -> Self:
        from jwt.algorithms import OKPAlgorithm

        labels = {"kid": kid, "alg": ALGORITHM, "use": "sig"}
        private_jwk = {**OKPAlgorithm.to_jwk(private_key, as_dict=True), **labels}
        public_jwk = {**OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True), **labels}
        return cls(private_jwk=private_jwk, jwks={"keys": [public_jwk]})


def _private_key(jwk: dict[str, Any]) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from jwt.algorithms import OKPAlgorithm

    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" not in jwk:
        raise ValueError("Not a private Ed25519 JWK")
    key = OKPAlgorithm.from_jwk(jwk)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("Not a private Ed25519 JWK")
    return key


def generate_signing_key(kid: str | None = None) -> SigningKey:
    """A fresh Ed25519 signing key; the kid defaults to a dated, random name."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = kid or f"{time.strftime('%Y%m%d', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    return SigningKey._of(name, Ed25519PrivateKey.generate())


def issue_access_token(
    key: SigningKey,
    *,
    user_id: str,
    email: str | None,
    role: str,
    issuer: str,
    audience: str,
    ttl_seconds: int = DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
) -> str:
    """A signed access token (RFC 9068 `at+jwt`) for the authorizer to verify."""
    import jwt

    issued_at = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "email": email,
        "role": role,
        "token_use": "access",
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    )
