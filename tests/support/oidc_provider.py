"""A small OpenID Connect provider on loopback, following the protocol Google implements.

Discovery, an authorize endpoint that redirects straight back with a code, a token endpoint that
checks the client, redirect URI and PKCE verifier, and a JWKS. ID tokens are RS256, as Google's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.loopback import serving

CLIENT_ID = "harambee-test-client.apps.example"
CLIENT_SECRET = "test-client-secret"


@dataclass
class SignedInUser:
    subject: str = "google-sub-1"
    email: str = "amina@example.org"
    email_verified: bool = True
    name: str = "Amina Diallo"


@dataclass
class FakeProvider:
    issuer: str = ""
    user: SignedInUser = field(default_factory=SignedInUser)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = "fake-rsa-1"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    nonce_override: str | None = None
    token_requests: int = 0

    def id_token(
        self, *, nonce: str | None, audience: str = CLIENT_ID, lifetime: int = 600, **extra: Any
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "sub": self.user.subject,
            "email": self.user.email,
            "email_verified": self.user.email_verified,
            "name": self.user.name,
            "iat": now,
            "exp": now + lifetime,
            **extra,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _json(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token",
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self.send_response(302)
                self.send_header("Location", back)
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            provider.token_requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
            issued = provider.codes.pop(form.get("code", ""), None)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                self._json(401, {"error": "invalid_client"})
                return
            if issued is None or form.get("redirect_uri") != issued["redirect_uri"]:
                self._json(400, {"error": "invalid_grant"})
                return
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != issued.get("code_challenge") or issued.get("code_challenge_method") != "S256":
                self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                return
            nonce = provider.nonce_override or issued["nonce"]
            self._json(
                200, {"id_token": provider.id_token(nonce=nonce), "access_token": "x", "token_type": "Bearer"}
            )

    return Handler


@contextmanager
def running_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    with serving(_handler(provider)) as base_url:
        provider.issuer = base_url
        yield provider
