"""Identity's HTTP app: the seeds' /api/auth routes, Google sign-in and the admin user routes."""

from __future__ import annotations

from harambee.http import create_app
from identity import admin_routes, auth_routes, google_routes

app = create_app("identity")
# GET /api/auth/me lives in auth_routes: the caller the authorizer verified, as their stored account.
app.include_router(auth_routes.router)
app.include_router(google_routes.router)
app.include_router(admin_routes.router)
