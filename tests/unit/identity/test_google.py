"""Google sign-in end to end against a local OpenID Connect provider, through identity's handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from identity import oidc
from identity.signing import SigningKey
from tests.support.events import FakeLambdaContext, api_event
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, running_provider


@pytest.fixture
def provider(signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    with running_provider() as fake:
        monkeypatch.setenv("OIDC_ISSUER", fake.issuer)
        monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("GOOGLE_REDIRECT_URI", "http://127.0.0.1:3000/api/auth/google/callback")
        oidc.client.cache_clear()
        BROWSER.clear()
        yield fake
        oidc.client.cache_clear()


# The browser's cookies for our API: the sign-in state cookie travels from start to callback.
BROWSER: dict[str, str] = {}


def call(
    method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any, dict]:
    from identity.handler import handler

    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in BROWSER.items())} if BROWSER else None
    event = api_event(
        method, path, query=query, body=None if body is None else json.dumps(body), headers=headers
    )
    response = handler(event, FakeLambdaContext())
    single = (response.get("headers") or {}).get("set-cookie")
    for cookie in [
        *(response.get("multiValueHeaders") or {}).get("set-cookie", []),
        *([single] if single else []),
    ]:
        name, _, rest = cookie.partition("=")
        BROWSER[name] = rest.split(";", 1)[0]
    parsed = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], parsed.get("data", parsed.get("error")), response.get("headers", {})


def start_sign_in() -> dict[str, str]:
    """Our redirect to the provider, followed as a browser would; returns the callback's query."""
    status, _, headers = call("GET", "/api/auth/google")
    assert status == 302
    authorize = urlparse(headers["location"])
    sent = {name: values[0] for name, values in parse_qs(authorize.query).items()}
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "openid email profile"
    assert len(sent["state"]) >= 24
    assert len(sent["nonce"]) >= 24
    back = httpx.get(headers["location"], follow_redirects=False)
    return {name: values[0] for name, values in parse_qs(urlparse(back.headers["location"]).query).items()}


def test_a_first_google_sign_in_creates_a_verified_account_and_signs_in(provider: FakeProvider) -> None:
    callback = start_sign_in()
    status, signed_in, _ = call("GET", "/api/auth/google/callback", query=callback)
    assert status == 200
    assert signed_in["user"]["email"] == "amina@example.org"
    assert signed_in["user"]["emailVerified"] is True
    assert signed_in["user"]["googleLinked"] is True
    assert signed_in["user"]["hasPassword"] is False
    assert signed_in["tokens"]["tokenType"] == "Bearer"


def test_a_callback_cannot_be_replayed(provider: FakeProvider) -> None:
    callback = start_sign_in()
    assert call("GET", "/api/auth/google/callback", query=callback)[0] == 200
    status, error, _ = call("GET", "/api/auth/google/callback", query=callback)
    assert (status, error["code"]) == (401, "SOCIAL_SIGN_IN_REJECTED")


def test_a_callback_from_another_browser_is_refused(provider: FakeProvider) -> None:
    callback = start_sign_in()
    BROWSER.clear()  # the victim's browser, lured to the attacker's callback link
    status, error, _ = call("GET", "/api/auth/google/callback", query=callback)
    assert (status, error["code"]) == (401, "SOCIAL_SIGN_IN_REJECTED")
    assert provider.token_requests == 0


def test_a_forged_state_is_refused_before_the_provider_is_asked(provider: FakeProvider) -> None:
    callback = start_sign_in()
    status, _, _ = call("GET", "/api/auth/google/callback", query={**callback, "state": "x" * 32})
    assert status == 401
    assert provider.token_requests == 0


def test_an_id_token_with_another_nonce_is_refused(provider: FakeProvider) -> None:
    provider.nonce_override = "someone-elses-sign-in"
    status, error, _ = call("GET", "/api/auth/google/callback", query=start_sign_in())
    assert (status, error["code"]) == (401, "SOCIAL_SIGN_IN_REJECTED")


def test_a_squatter_who_registered_the_address_first_loses_every_way_in(provider: FakeProvider) -> None:
    # Given someone registered amina@example.org before Amina ever signed in (never verified)
    squatter = {"email": "Amina@example.org", "password": "correct horse battery staple"}
    status, registered, _ = call("POST", "/api/auth/register", body=squatter)
    assert status == 201
    # When Amina signs in with Google, whose provider vouches for the address
    signed_in = call("GET", "/api/auth/google/callback", query=start_sign_in())[1]
    # Then she gets the account, without the squatter's password or sessions
    assert signed_in["user"]["userId"] == registered["user"]["userId"]
    assert signed_in["user"]["hasPassword"] is False
    assert call("POST", "/api/auth/login", body=squatter)[0] == 401
    refresh = {"refreshToken": registered["tokens"]["refreshToken"]}
    assert call("POST", "/api/auth/refresh", body=refresh)[0] == 401


def test_google_links_to_a_verified_account_and_keeps_its_password(provider: FakeProvider) -> None:
    from identity import repository

    owner = {"email": "amina@example.org", "password": "correct horse battery staple"}
    registered = call("POST", "/api/auth/register", body=owner)[1]
    account = repository.get_account(registered["user"]["userId"])
    assert account is not None
    repository.to_record(account.model_copy(update={"email_verified": True})).save()
    signed_in = call("GET", "/api/auth/google/callback", query=start_sign_in())[1]
    assert (signed_in["user"]["hasPassword"], signed_in["user"]["googleLinked"]) == (True, True)
    assert call("POST", "/api/auth/login", body=owner)[0] == 200


def test_an_account_linked_to_one_google_identity_refuses_another(provider: FakeProvider) -> None:
    assert call("GET", "/api/auth/google/callback", query=start_sign_in())[0] == 200
    provider.user.subject = "google-sub-2"
    assert call("GET", "/api/auth/google/callback", query=start_sign_in())[0] == 401


def test_an_unverified_provider_address_cannot_claim_an_account(provider: FakeProvider) -> None:
    provider.user.email_verified = False
    status, _, _ = call("GET", "/api/auth/google/callback", query=start_sign_in())
    assert status == 401


def test_social_login_exchanges_a_provider_id_token(provider: FakeProvider) -> None:
    token = provider.id_token(nonce=None)
    status, signed_in, _ = call(
        "POST", "/api/auth/social-login", body={"provider": "google", "idToken": token}
    )
    assert status == 200
    assert signed_in["user"]["googleLinked"] is True


@pytest.mark.parametrize(
    "forge",
    [
        lambda p: p.id_token(nonce=None, audience="someone-else"),
        lambda p: p.id_token(nonce=None, lifetime=-600),
        lambda p: FakeProvider(issuer=p.issuer, kid=p.kid).id_token(nonce=None),
        lambda p: p.id_token(nonce=None, iss="https://evil.example"),
    ],
    ids=["wrong-audience", "expired", "other-key-same-kid", "other-issuer"],
)
def test_social_login_refuses_forged_or_stale_id_tokens(provider: FakeProvider, forge: Any) -> None:
    status, error, _ = call(
        "POST", "/api/auth/social-login", body={"provider": "google", "idToken": forge(provider)}
    )
    assert (status, error["code"]) == (401, "SOCIAL_SIGN_IN_REJECTED")


def test_an_unreachable_provider_is_a_502_not_a_crash(
    signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OIDC_ISSUER", "http://127.0.0.1:9")
    oidc.client.cache_clear()
    status, error, _ = call("GET", "/api/auth/google")
    oidc.client.cache_clear()
    assert (status, error["code"]) == (502, "IDENTITY_PROVIDER_UNAVAILABLE")
