"""The campaigns and pots routes (filled in below the app)."""

from __future__ import annotations

from harambee.http import create_app

app = create_app("campaigns")
