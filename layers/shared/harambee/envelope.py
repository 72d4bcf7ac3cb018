"""The seeds' response envelope: {success, data, pagination, meta} and {success, error, meta}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def meta(request_id: str) -> dict[str, str]:
    return {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"), "requestId": request_id}


def success(data: Any, request_id: str, pagination: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    body["meta"] = meta(request_id)
    return body


def failure(code: str, message: str, request_id: str, details: Any = None) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details},
        "meta": meta(request_id),
    }
