"""Google sign-in (authorization code + PKCE) and WOLO's social login with a provider ID token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from identity import oidc, service
from identity.auth_routes import _signed_in
from identity.models import SocialLogin

router = APIRouter(tags=["auth"])


@router.get("/api/auth/google", summary="Start Google sign-in (redirects to Google)", response_model=None)
def google() -> RedirectResponse:
    started = oidc.client().start(now=service.utcnow())
    response = RedirectResponse(started.url, status_code=302)
    # The state also rides in a cookie only this browser holds, so a callback started elsewhere
    # (login CSRF: signing a victim into the attacker's account) is refused.
    response.set_cookie(
        oidc.STATE_COOKIE,
        started.state,
        max_age=int(oidc.STATE_LIFETIME.total_seconds()),
        path="/api/auth/google",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/api/auth/google/callback", summary="Finish Google sign-in")
def google_callback(
    request: Request,
    state: Annotated[str, Query(min_length=8, max_length=256)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> JSONResponse:
    if error or not code:
        raise oidc.SignInRejected("Google sign-in was cancelled or refused", details={"error": error})
    if not secrets.compare_digest(request.cookies.get(oidc.STATE_COOKIE, ""), state):
        raise oidc.SignInRejected("This sign-in was not started in this browser")
    identity = oidc.client().finish(code=code, state=state, now=service.utcnow())
    return _signed_in(request, service.sign_in_with_provider(identity))


@router.post("/api/auth/social-login", summary="Exchange a provider ID token for Harambee tokens")
def social_login(request: Request, body: SocialLogin) -> JSONResponse:
    identity = oidc.client().verify_id_token(body.id_token, nonce=None)
    return _signed_in(request, service.sign_in_with_provider(identity))
