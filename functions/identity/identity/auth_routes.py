"""The seeds' /api/auth routes: register, login, refresh, logout, verify, reset, me, profile, JWKS."""

from __future__ import annotations

import functools
import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from harambee.auth import CurrentCaller
from harambee.errors import NotFound
from harambee.http import ok, source_ip
from identity import service, sessions
from identity.domain.accounts import Account
from identity.models import (
    Credentials,
    ForgotPassword,
    ProfileUpdate,
    RefreshRequest,
    Registration,
    ResetPassword,
    SignedIn,
    UserView,
)
from identity.service import LinkBuilder

router = APIRouter(tags=["auth"])


@functools.cache
def links() -> LinkBuilder:
    api = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:3000")
    return LinkBuilder(api, os.environ.get("WEB_APP_URL") or api)


def _signed_in(request: Request, account: Account, status: int = 200) -> JSONResponse:
    pair = sessions.start_session(account)
    return ok(
        request,
        SignedIn(user=UserView.of(account), tokens=pair).model_dump(by_alias=True, mode="json"),
        status=status,
    )


@router.post("/api/auth/register", status_code=201, summary="Create an account and sign in")
def register(request: Request, registration: Registration) -> JSONResponse:
    account = service.register(registration.email, registration.password, registration.name, links=links())
    return _signed_in(request, account, status=201)


@router.post("/api/auth/login", summary="Sign in with email and password")
def login(request: Request, credentials: Credentials) -> JSONResponse:
    account = service.authenticate(credentials.email, credentials.password, source_ip=source_ip(request))
    return _signed_in(request, account)


@router.post("/api/auth/refresh", summary="Rotate a refresh token for new tokens")
def refresh(request: Request, body: RefreshRequest) -> JSONResponse:
    account, pair = sessions.rotate(body.refresh_token)
    return ok(
        request, SignedIn(user=UserView.of(account), tokens=pair).model_dump(by_alias=True, mode="json")
    )


@router.post("/api/auth/logout", summary="End the session of a refresh token")
def logout(request: Request, body: RefreshRequest) -> JSONResponse:
    sessions.end_session(body.refresh_token)
    return ok(request, {"signedOut": True})


@router.get("/api/auth/verify/{token}", summary="Confirm an email address from the emailed link")
def verify(request: Request, token: str) -> JSONResponse:
    account = service.verify_email(token)
    return ok(request, {"emailVerified": account.email_verified})


@router.post("/api/auth/forgot-password", status_code=202, summary="Email a password reset link")
def forgot_password(request: Request, body: ForgotPassword) -> JSONResponse:
    service.request_password_reset(body.email, links=links(), source_ip=source_ip(request))
    # The same answer whether or not the account exists.
    message = "If an account exists for this address, a reset link is on its way"
    return ok(request, {"message": message}, status=202)


@router.post("/api/auth/reset-password", summary="Set a new password with a reset token")
def reset_password(request: Request, body: ResetPassword) -> JSONResponse:
    service.reset_password(body.token, body.password)
    return ok(request, {"passwordChanged": True})


def _own_account(caller_id: str) -> Account:
    from identity import repository

    account = repository.get_account(caller_id)
    if account is None:
        raise NotFound("Your account no longer exists")
    return account


@router.get("/api/auth/me", summary="The signed-in account")
def me(request: Request, caller: CurrentCaller) -> JSONResponse:
    return ok(request, UserView.of(_own_account(caller.user_id)).model_dump(by_alias=True, mode="json"))


@router.get("/api/auth/profile", summary="The signed-in account (CareForAll's path)")
def get_profile(request: Request, caller: CurrentCaller) -> JSONResponse:
    return me(request, caller)


@router.put("/api/auth/profile", summary="Change the account's display name")
def put_profile(request: Request, caller: CurrentCaller, update: ProfileUpdate) -> JSONResponse:
    account = service.update_name(_own_account(caller.user_id).user_id, update.name)
    return ok(request, UserView.of(account).model_dump(by_alias=True, mode="json"))


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens", response_model=None)
def jwks() -> JSONResponse:
    # Served raw (no envelope): JWKS consumers expect the RFC 7517 document itself. It is the same
    # set the authorizer trusts, so during a rotation both keys are published.
    return JSONResponse(sessions.published_jwks(), headers={"Cache-Control": "public, max-age=300"})
