"""Identity as a client uses it through the local gateway: register, sign in, refresh, sign out,
and every protected route closed to forged tokens and to users on admin routes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.template import Template
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, http
from tests.support import tokens

PASSWORD = "a long and uncommon passphrase"


def post(stack, path: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http("POST", f"{stack.url}{path}", headers, json.dumps(body).encode())


def get(stack, path: str, token: str | None = None) -> tuple[int, Any]:
    return http("GET", f"{stack.url}{path}", {"Authorization": f"Bearer {token}"} if token else {})


def register(stack, email: str) -> dict[str, Any]:
    status, body = post(stack, "/api/auth/register", {"email": email, "password": PASSWORD, "name": "Amina"})
    assert status == 201, body
    return body["data"]


def test_a_client_registers_signs_in_refreshes_and_signs_out(stack):
    # Given a new account
    registered = register(stack, "journey@example.org")
    assert registered["user"]["emailVerified"] is False

    # When the client signs in, Then it gets a 15-minute access token and a refresh token
    status, body = post(stack, "/api/auth/login", {"email": "Journey@Example.org", "password": PASSWORD})
    assert status == 200, body
    tokens_ = body["data"]["tokens"]
    assert (tokens_["tokenType"], tokens_["expiresIn"]) == ("Bearer", 900)

    # And the access token opens protected routes
    status, me = get(stack, "/api/auth/me", tokens_["accessToken"])
    assert (status, me["data"]["email"]) == (200, "journey@example.org")

    # When it refreshes, Then the refresh token rotates and the old one is dead (reuse ends the family)
    status, refreshed = post(stack, "/api/auth/refresh", {"refreshToken": tokens_["refreshToken"]})
    assert status == 200, refreshed
    rotated = refreshed["data"]["tokens"]
    assert rotated["refreshToken"] != tokens_["refreshToken"]
    assert post(stack, "/api/auth/refresh", {"refreshToken": tokens_["refreshToken"]})[0] == 401
    assert post(stack, "/api/auth/refresh", {"refreshToken": rotated["refreshToken"]})[0] == 401

    # When it signs in again and signs out, Then that refresh token stops working
    _, again = post(stack, "/api/auth/login", {"email": "journey@example.org", "password": PASSWORD})
    second = again["data"]["tokens"]
    assert post(stack, "/api/auth/logout", {"refreshToken": second["refreshToken"]})[0] == 200
    assert post(stack, "/api/auth/refresh", {"refreshToken": second["refreshToken"]})[0] == 401


def test_unknown_email_and_wrong_password_get_identical_answers(stack):
    register(stack, "twin@example.org")
    unknown = post(stack, "/api/auth/login", {"email": "nobody@example.org", "password": PASSWORD})
    wrong = post(stack, "/api/auth/login", {"email": "twin@example.org", "password": "not the passphrase"})
    assert unknown[0] == wrong[0] == 401
    assert unknown[1]["error"] == wrong[1]["error"]


def test_brute_force_is_slowed_then_refused_with_429(stack):
    register(stack, "target@example.org")
    statuses = [
        post(stack, "/api/auth/login", {"email": "target@example.org", "password": f"guess {n}"})[0]
        for n in range(6)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]


def test_forgot_password_answers_the_same_for_unknown_accounts(stack):
    register(stack, "forgetful@example.org")
    known = post(stack, "/api/auth/forgot-password", {"email": "forgetful@example.org"})
    unknown = post(stack, "/api/auth/forgot-password", {"email": "ghost@example.org"})
    assert known[0] == unknown[0] == 202
    assert known[1]["data"] == unknown[1]["data"]


def test_the_jwks_publishes_the_key_the_authorizer_trusts(stack):
    status, document = http("GET", f"{stack.url}/.well-known/jwks.json")
    assert status == 200
    assert [key["kid"] for key in document["keys"]] == [stack.dev_key.signing_key().kid]
    assert all("d" not in key for key in document["keys"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"email": "x@example.org", "password": ', 400),
        (b'{"email": "not-an-email", "password": "a long and uncommon passphrase"}', 422),
        (b'{"email": "x@example.org", "password": "short"}', 422),
        (b'{"email": "x@example.org", "password": "a long and uncommon passphrase", "role": "ADMIN"}', 422),
    ],
    ids=["malformed", "bad-email", "weak-password", "mass-assignment"],
)
def test_bad_registrations_are_refused(stack, body: bytes, status: int):
    answer = http("POST", f"{stack.url}/api/auth/register", {"Content-Type": "application/json"}, body)
    assert answer[0] == status, answer


def _forgeries() -> dict[str, Any]:
    return {
        "alg-none": tokens.alg_none_token,
        "hs256-with-public-key": tokens.hs256_with_public_key_token,
        "unknown-kid": lambda key: tokens.unknown_kid_token(),
        "expired": tokens.expired_token,
        "future-nbf": tokens.future_nbf_token,
        "wrong-audience": tokens.wrong_audience_token,
        "wrong-issuer": tokens.wrong_issuer_token,
        "refresh-token": tokens.refresh_token,
        "refresh-typed-as-access": tokens.refresh_typed_as_access_token,
    }


PROTECTED = sorted(
    ((route.method, route.path) for route in Template().routes if route.authorizer),
    key=lambda r: (r[1], r[0]),
)


def test_every_protected_route_refuses_every_forged_token(stack):
    # Given tokens forged in every way we know, against the stack's real signing key
    key = stack.dev_key.signing_key()
    forged = {name: make(key) for name, make in _forgeries().items()}
    failures = []
    for method, path in PROTECTED:
        concrete = path.replace("{userId}", "someone").replace("{token}", "t")
        for name, token in forged.items():
            status, body = http(method, f"{stack.url}{concrete}", {"Authorization": f"Bearer {token}"})
            if status != 401 or body["success"] is not False:
                failures.append((method, path, name, status))
    assert failures == []
    assert len(PROTECTED) >= 10


def test_a_user_token_is_forbidden_on_every_admin_route_and_the_admin_gets_in(stack):
    user = register(stack, "plain-user@example.org")["tokens"]["accessToken"]
    admin_routes = [(m, p) for m, p in PROTECTED if p.startswith("/api/admin/")]
    assert admin_routes
    for method, path in admin_routes:
        concrete = path.replace("{userId}", user[:8])
        body = json.dumps({"status": "suspended", "role": "ADMIN"}).encode()
        status, answer = http(
            method,
            f"{stack.url}{concrete}",
            {"Authorization": f"Bearer {user}", "Content-Type": "application/json"},
            body,
        )
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN"), (method, path)
    # The bootstrap admin of the stack lists users and can suspend one, which ends their refresh at once.
    _, signed_in = post(stack, "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin = signed_in["data"]["tokens"]["accessToken"]
    victim = register(stack, "suspend-me@example.org")
    status, listed = get(stack, "/api/admin/users?limit=100", admin)
    assert status == 200
    assert "suspend-me@example.org" in [user_["email"] for user_ in listed["data"]]
    user_id = victim["user"]["userId"]
    status, changed = http(
        "PATCH",
        f"{stack.url}/api/admin/users/{user_id}/status",
        {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
        b'{"status": "suspended"}',
    )
    assert (status, changed["data"]["status"]) == (200, "suspended")
    assert post(stack, "/api/auth/refresh", {"refreshToken": victim["tokens"]["refreshToken"]})[0] == 401
    assert post(stack, "/api/auth/login", {"email": "suspend-me@example.org", "password": PASSWORD})[0] == 403


def test_profiles_are_private_to_their_owner(stack):
    amina = register(stack, "amina-profile@example.org")["tokens"]["accessToken"]
    kofi = register(stack, "kofi-profile@example.org")["tokens"]["accessToken"]
    status, _ = http(
        "PUT",
        f"{stack.url}/api/profile",
        {"Authorization": f"Bearer {amina}", "Content-Type": "application/json"},
        b'{"firstName": "Amina", "dateOfBirth": "1990-02-28"}',
    )
    assert status == 200
    assert get(stack, "/api/profile", amina)[1]["data"]["firstName"] == "Amina"
    assert get(stack, "/api/profile", kofi)[1]["data"]["firstName"] is None


def test_an_avatar_uploaded_with_the_presigned_post_becomes_the_profile_picture(stack):
    import httpx

    owner = register(stack, "avatar@example.org")["tokens"]["accessToken"]
    status, upload = post(
        stack, "/api/profile/avatar", {"contentType": "image/png", "contentLength": 1024}, owner
    )
    assert status == 201, upload
    form = upload["data"]
    posted = httpx.post(
        form["url"], data=form["fields"], files={"file": ("a.png", b"\x89PNG" + b"0" * 100, "image/png")}
    )
    assert posted.status_code in (200, 204), posted.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        picture = get(stack, "/api/profile", owner)[1]["data"]["profilePicture"]
        if picture:
            break
        time.sleep(0.2)
    assert picture
    assert form["key"] in picture
