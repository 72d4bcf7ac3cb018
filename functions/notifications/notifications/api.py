"""The notifications routes: the delivery log, preferences, and the login-free unsubscribe link."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from harambee.auth import CurrentCaller
from harambee.errors import NotFound, Unprocessable
from harambee.http import create_app, ok
from harambee.pagination import Page, Pagination
from notifications import repository, service
from notifications.domain.delivery import Delivery
from notifications.domain.preferences import Preferences
from notifications.models import DeviceBody, PreferencesBody

app = create_app("notifications")

UserId = Annotated[str, Path(alias="userId", min_length=1, max_length=64)]
Token = Annotated[str, Query(min_length=16, max_length=2048, description="The signed token from the email")]


def _log(request: Request, user_id: str, page: Pagination) -> JSONResponse:
    deliveries, cursor = repository.deliveries_of(user_id, page)
    listed = Page[Delivery](items=deliveries, next=cursor, limit=page.limit)
    views = [delivery.model_dump(by_alias=True, mode="json") for delivery in listed.items]
    return ok(request, views, pagination=listed.pagination())


@app.get("/api/notifications", tags=["notifications"], summary="My delivery log, newest first")
def my_notifications(request: Request, caller: CurrentCaller, page: Pagination) -> JSONResponse:
    return _log(request, caller.user_id, page)


@app.get(
    "/api/notifications/user/{userId}",
    tags=["notifications"],
    summary="A user's delivery log (that user or admin)",
)
def user_notifications(
    request: Request, user_id: UserId, caller: CurrentCaller, page: Pagination
) -> JSONResponse:
    if not caller.can_access(user_id):
        # Someone else's log is private: it does not exist for this caller.
        raise NotFound("No such user's notifications")
    return _log(request, user_id, page)


@app.get("/api/notifications/preferences", tags=["notifications"], summary="My notification preferences")
def get_preferences(request: Request, caller: CurrentCaller) -> JSONResponse:
    _, preferences = repository.recipient(caller.user_id)
    return ok(request, preferences.model_dump())


@app.put(
    "/api/notifications/preferences", tags=["notifications"], summary="Change my notification preferences"
)
def put_preferences(request: Request, body: PreferencesBody, caller: CurrentCaller) -> JSONResponse:
    unknown = body.unknown_names()
    if unknown:
        raise Unprocessable(
            "Unknown channel or category", details={"unknown": unknown}, code="UNKNOWN_PREFERENCE"
        )
    _, current = repository.recipient(caller.user_id)
    changed = Preferences(
        channels=current.channels.model_copy(update=body.channels),
        categories=current.categories.model_copy(update=body.categories),
    ).validated()
    repository.save_preferences(caller.user_id, repository.preference_switches(changed), service.utcnow())
    return ok(request, changed.model_dump())


def _unsubscribe(request: Request, token: str) -> JSONResponse:
    from notifications import tokens

    user_id, category = tokens.verify(token)
    _, current = repository.recipient(user_id)
    changed = current.without(category)
    repository.save_preferences(user_id, {f"cat_{category.value}": False}, service.utcnow())
    return ok(request, {"unsubscribed": category.value, "categories": changed.categories.model_dump()})


@app.get(
    "/api/notifications/unsubscribe",
    tags=["notifications"],
    summary="Unsubscribe from a category (link, no login)",
)
def unsubscribe_link(request: Request, token: Token) -> JSONResponse:
    return _unsubscribe(request, token)


@app.post(
    "/api/notifications/unsubscribe",
    tags=["notifications"],
    summary="One-click unsubscribe (RFC 8058, no login)",
)
def unsubscribe_one_click(request: Request, token: Token) -> JSONResponse:
    return _unsubscribe(request, token)


@app.put(
    "/api/notifications/devices",
    tags=["notifications"],
    summary="Register this device for push notifications",
)
def register_device(request: Request, body: DeviceBody, caller: CurrentCaller) -> JSONResponse:
    service.register_device(caller.user_id, body.platform, body.token)
    return ok(request, {"platform": body.platform, "registered": True})
