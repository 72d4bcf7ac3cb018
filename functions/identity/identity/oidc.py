"""Google sign-in: OpenID Connect authorization code flow with state, nonce and PKCE (S256).

The provider is found by discovery from OIDC_ISSUER (Google by default; tests point it at a small
local provider). ID tokens are verified against the provider's JWKS: RS256 only, iss, aud, exp,
iat, and the nonce this flow stored.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from harambee.errors import BadRequest, Unauthorized
from identity.repository import OidcStateRecord

STATE_LIFETIME = timedelta(minutes=10)
ID_TOKEN_ALGORITHMS = ["RS256"]
HTTP_TIMEOUT_SECONDS = 5.0
JWKS_MAX_AGE_SECONDS = 3600
KEY_REFETCH_SECONDS = 60
STATE_COOKIE = "harambee_oidc_state"


class OidcSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    issuer: str = Field("https://accounts.google.com", alias="OIDC_ISSUER")
    client_id: str = Field("", alias="GOOGLE_CLIENT_ID")
    # Local runs and tests may set it; deployed stages read it from SSM (never from the template).
    client_secret: str = Field("", alias="GOOGLE_CLIENT_SECRET")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    redirect_uri: str = Field("http://127.0.0.1:3000/api/auth/google/callback", alias="GOOGLE_REDIRECT_URI")

    @classmethod
    def from_environ(cls) -> OidcSettings:
        return cls.model_validate(dict(os.environ))

    def resolved_client_secret(self) -> str:
        if self.client_secret:
            return self.client_secret
        from harambee.parameters import ssm_parameter

        return str(ssm_parameter(f"{self.secrets_prefix.rstrip('/')}/google/client-secret", decrypt=True))

    @property
    def accepted_issuers(self) -> set[str]:
        # Google's ID tokens say either form of its issuer.
        bare = self.issuer.removeprefix("https://")
        return {self.issuer, bare} if self.issuer == "https://accounts.google.com" else {self.issuer}


class ProviderUnavailable(BadRequest):
    status = 502
    code = "IDENTITY_PROVIDER_UNAVAILABLE"


class SignInRejected(Unauthorized):
    code = "SOCIAL_SIGN_IN_REJECTED"


class ProviderIdentity(BaseModel):
    """Who the provider says signed in (from a verified ID token)."""

    subject: str
    email: str
    email_verified: bool
    name: str | None = None


class AuthorizationRequest(BaseModel):
    url: str
    state: str


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OidcClient:
    """One provider's endpoints, keys and our registration with it."""

    def __init__(self, settings: OidcSettings, http: Any | None = None) -> None:
        self.settings = settings
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._jwks: tuple[float, dict[str, Any]] | None = None
        self._last_forced_fetch: float | None = None

    @property
    def http(self) -> Any:
        if self._http is None:
            import httpx

            # Connection retries only: a token exchange that reached the provider must not be replayed.
            self._http = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, transport=httpx.HTTPTransport(retries=2))
        return self._http

    def _get_json(self, url: str) -> dict[str, Any]:
        import httpx

        try:
            response = self.http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable("The identity provider could not be reached") from error
        if not isinstance(document, dict):
            raise ProviderUnavailable("The identity provider answered with something unexpected")
        return document

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            discovered = self._get_json(
                f"{self.settings.issuer.rstrip('/')}/.well-known/openid-configuration"
            )
            if discovered.get("issuer") != self.settings.issuer:
                raise ProviderUnavailable("The provider's discovery document names another issuer")
            self._metadata = discovered
        return self._metadata

    def _key_set(self, *, force: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        if force or self._jwks is None or now - self._jwks[0] > JWKS_MAX_AGE_SECONDS:
            self._jwks = (now, self._get_json(self.metadata()["jwks_uri"]))
        return self._jwks[1]

    def start(self, *, now: datetime) -> AuthorizationRequest:
        """The provider URL for the browser; state, nonce and PKCE verifier are kept for the callback."""
        state, nonce, verifier = (
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
        )
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        expires_at = now + STATE_LIFETIME
        OidcStateRecord(
            pk=f"OIDC#{state}",
            nonce=nonce,
            code_verifier=verifier,
            expires_at=expires_at,
            ttl=int(expires_at.timestamp()),
        ).save()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.settings.redirect_uri,
                "scope": "openid email profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(url=f"{self.metadata()['authorization_endpoint']}?{query}", state=state)

    def finish(self, *, code: str, state: str, now: datetime) -> ProviderIdentity:
        """Exchange the code (with the PKCE verifier) and verify the ID token against this flow's nonce."""
        import httpx

        stored = _consume_state(state, now)
        try:
            response = self.http.post(
                self.metadata()["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.settings.redirect_uri,
                    "client_id": self.settings.client_id,
                    "client_secret": self.settings.resolved_client_secret(),
                    "code_verifier": stored.code_verifier,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ProviderUnavailable("The identity provider could not be reached") from error
        if response.status_code >= 500:
            raise ProviderUnavailable("The identity provider failed to exchange the code")
        if response.status_code != 200:
            raise SignInRejected("The identity provider refused the authorization code")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInRejected("The identity provider sent no ID token")
        return self.verify_id_token(id_token, nonce=stored.nonce)

    def verify_id_token(self, id_token: str, *, nonce: str | None) -> ProviderIdentity:
        """A verified identity from an ID token (social login passes nonce=None: we started no flow)."""
        import jwt

        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as error:
            raise SignInRejected("Malformed ID token") from error
        if header.get("alg") not in ID_TOKEN_ALGORITHMS:
            raise SignInRejected("ID token algorithm not allowed")
        key = self._signing_key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=ID_TOKEN_ALGORITHMS,
                audience=self.settings.client_id,
                options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_iss": False},
                leeway=30,
            )
        except jwt.PyJWTError as error:
            raise SignInRejected(f"ID token rejected: {error}") from error
        if claims.get("iss") not in self.settings.accepted_issuers:
            raise SignInRejected("ID token from another issuer")
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInRejected("ID token nonce does not match this sign-in")
        email = claims.get("email")
        if not isinstance(email, str):
            raise SignInRejected("The provider did not share an email address")
        return ProviderIdentity(
            subject=str(claims["sub"]),
            email=email,
            email_verified=claims.get("email_verified") in (True, "true"),
            name=claims.get("name"),
        )

    def _signing_key(self, kid: str) -> Any:
        from jwt import PyJWKSet

        for force in (False, True):
            if force and not self._may_refetch_keys():
                break
            for key in PyJWKSet.from_dict(self._key_set(force=force)).keys:
                if key.key_id == kid:
                    return key
        raise SignInRejected("ID token signed by an unknown key")

    def _may_refetch_keys(self) -> bool:
        """An unknown kid refetches the provider's keys at most once a minute: forged kids cannot
        turn our function into a stream of requests to the provider."""
        now = time.monotonic()
        if self._last_forced_fetch is not None and now - self._last_forced_fetch < KEY_REFETCH_SECONDS:
            return False
        self._last_forced_fetch = now
        return True


def _consume_state(state: str, now: datetime) -> OidcStateRecord:
    from pynamodb.exceptions import DeleteError

    try:
        stored = OidcStateRecord.get(f"OIDC#{state}", "OIDC", consistent_read=True)
    except OidcStateRecord.DoesNotExist:
        raise SignInRejected("Unknown or already used sign-in state") from None
    try:
        # Single use even if the callback is replayed concurrently.
        stored.delete(condition=OidcStateRecord.pk.exists())
    except DeleteError:
        raise SignInRejected("Unknown or already used sign-in state") from None
    if stored.expires_at <= now:
        raise SignInRejected("The sign-in took too long; start again")
    return stored


@functools.cache
def client() -> OidcClient:
    return OidcClient(OidcSettings.from_environ())
