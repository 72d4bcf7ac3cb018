"""Verification of identity's access tokens (EdDSA JWTs) against the JWKS in SSM. Signing lives in identity.

Pinned to EdDSA: `alg: none`, HS256 signed with the public key and any other algorithm are refused
before a key is even looked up. Refresh tokens carry `token_use: refresh` and cannot stand in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harambee.errors import Unauthorized

if TYPE_CHECKING:
    from jwt import PyJWK

ALGORITHM = "EdDSA"
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")
JWKS_MAX_AGE_SECONDS = 300
DEFAULT_LEEWAY_SECONDS = 30
# An unknown kid may force one JWKS reload per minute at most: rotation is picked up at once, and a
# flood of forged kids cannot turn into a flood of SSM calls.
FORCED_REFRESH_INTERVAL_SECONDS = 60

KeySetSource = Callable[[bool], Mapping[str, Any]]


class InvalidToken(Unauthorized):
    code = "INVALID_TOKEN"


class TokenSettings(BaseModel):
    """Where the JWKS lives and what the tokens must say (template.yaml Globals)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    issuer: str = Field("https://auth.harambee.app", alias="JWT_ISSUER")
    audience: str = Field("harambee-api", alias="JWT_AUDIENCE")

    @property
    def jwks_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/jwt/jwks"

    @classmethod
    def from_environ(cls) -> TokenSettings:
        return cls.model_validate(dict(os.environ))


class AccessClaims(BaseModel):
    """The verified claims of an access token."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str = Field(min_length=1)
    email: str | None = None
    role: str = "USER"
    iss: str
    aud: str | list[str]
    exp: int
    iat: int
    nbf: int | None = None
    jti: str | None = None
    token_use: Literal["access"]


def jwks_from_ssm(parameter: str, *, max_age: int = JWKS_MAX_AGE_SECONDS) -> KeySetSource:
    """A JWKS source reading the SSM parameter through Powertools Parameters (cached for `max_age`)."""

    def load(force: bool) -> Mapping[str, Any]:
        from harambee.parameters import ssm_parameter

        key_set = ssm_parameter(parameter, transform="json", max_age=max_age, force=force)
        if not isinstance(key_set, Mapping):
            raise TypeError(f"SSM parameter {parameter} is not a JWKS object")
        return key_set

    return load


class AccessTokenVerifier:
    """Verifies access tokens; one instance per execution environment keeps the keys warm."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        key_set: KeySetSource,
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._key_set = key_set
        self._leeway = leeway_seconds
        self._clock = clock
        self._loaded_from: Mapping[str, Any] | None = None
        self._keys: dict[str, PyJWK] = {}
        self._last_forced_refresh: float | None = None

    @classmethod
    def from_environ(cls) -> AccessTokenVerifier:
        settings = TokenSettings.from_environ()
        return cls(
            issuer=settings.issuer, audience=settings.audience, key_set=jwks_from_ssm(settings.jwks_parameter)
        )

    def verify(self, token: str) -> AccessClaims:
        """The token's claims, or InvalidToken for anything short of a valid, current access token."""
        import jwt

        header = self._header(token)
        key = self._key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_nbf": True},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"Access token rejected: {error}") from error
        if claims.get("token_use") != "access":
            raise InvalidToken("Not an access token")
        try:
            return AccessClaims.model_validate(claims)
        except ValidationError as error:
            raise InvalidToken("Access token claims are malformed") from error

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("Malformed access token") from error
        # Checked before any key is chosen, so no other algorithm can pick the verification path.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("Access token algorithm not allowed")
        if "typ" in header and str(header["typ"]).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("Not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("Access token has no key id")
        return header

    def _key(self, kid: str) -> PyJWK:
        self._refresh(force=False)
        key = self._keys.get(kid)
        if key is None and self._may_force_refresh():
            self._refresh(force=True)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("Access token signed by an unknown key")
        return key

    def _may_force_refresh(self) -> bool:
        now = self._clock()
        if (
            self._last_forced_refresh is not None
            and now - self._last_forced_refresh < FORCED_REFRESH_INTERVAL_SECONDS
        ):
            return False
        self._last_forced_refresh = now
        return True

    def _refresh(self, *, force: bool) -> None:
        key_set = self._key_set(force)
        if key_set is self._loaded_from:
            return
        self._keys = _signing_keys(key_set)
        self._loaded_from = key_set


def _signing_keys(key_set: Mapping[str, Any]) -> dict[str, PyJWK]:
    """The Ed25519 signature keys of a JWKS by kid; any other key in the set is ignored."""
    from jwt import PyJWK, PyJWKError

    keys: dict[str, PyJWK] = {}
    for jwk in key_set.get("keys", []):
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or "d" in jwk:
            # A private key published by mistake is never used (nor trusted) for verification.
            continue
        try:
            keys[jwk["kid"]] = PyJWK(jwk, algorithm=ALGORITHM)
        except PyJWKError:
            continue
    return keys
