"""The seeds' /api/profile routes: the caller's own profile, preferences and avatar."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from harambee.auth import CurrentCaller
from harambee.http import create_app, ok
from profiles import service
from profiles.domain.profile import Preferences, Profile, ProfileDetails
from profiles.models import AvatarUpload, ProfileView

app = create_app("profiles")


def _view(profile: Profile) -> dict[str, object]:
    return ProfileView.of(profile, service.avatar_url(profile)).model_dump(by_alias=True, mode="json")


@app.get("/api/profile", tags=["profile"], summary="The caller's profile")
def get_profile(request: Request, caller: CurrentCaller) -> JSONResponse:
    return ok(request, _view(service.get(caller.user_id)))


@app.put("/api/profile", tags=["profile"], summary="Replace the caller's profile details")
def put_profile(request: Request, caller: CurrentCaller, details: ProfileDetails) -> JSONResponse:
    return ok(request, _view(service.update_details(caller.user_id, details)))


@app.delete("/api/profile", tags=["profile"], summary="Delete the caller's personal data")
def delete_profile(request: Request, caller: CurrentCaller) -> JSONResponse:
    service.delete(caller.user_id)
    return ok(request, {"deleted": True})


@app.post("/api/profile/avatar", tags=["profile"], status_code=201, summary="Get a presigned avatar upload")
def avatar(request: Request, caller: CurrentCaller, upload: AvatarUpload) -> JSONResponse:
    started = service.start_avatar_upload(caller.user_id, upload.content_type, upload.content_length)
    return ok(request, started, status=201)


@app.get("/api/profile/preferences", tags=["profile"], summary="The caller's preferences")
def get_preferences(request: Request, caller: CurrentCaller) -> JSONResponse:
    preferences = service.get(caller.user_id).preferences
    return ok(request, preferences.model_dump(by_alias=True, mode="json"))


@app.put("/api/profile/preferences", tags=["profile"], summary="Replace the caller's preferences")
def put_preferences(request: Request, caller: CurrentCaller, preferences: Preferences) -> JSONResponse:
    profile = service.update_preferences(caller.user_id, preferences)
    return ok(request, profile.preferences.model_dump(by_alias=True, mode="json"))
