"""Domain errors: plain exceptions with a code. http.py maps them to a status and the envelope."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a context raises on purpose; `status` is its one HTTP mapping."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code  # type: ignore[misc]


class BadRequest(DomainError):
    status = 400
    code = "BAD_REQUEST"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class Gone(DomainError):
    """The resource existed and was deliberately removed (an erased profile)."""

    status = 410
    code = "GONE"


class Unprocessable(DomainError):
    """The request is well formed but breaks a rule (an invalid transition, a refund too large)."""

    status = 422
    code = "UNPROCESSABLE"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"


class IdempotencyKeyMissing(BadRequest):
    code = "IDEMPOTENCY_KEY_REQUIRED"


class IdempotencyInFlight(Conflict):
    code = "IDEMPOTENCY_IN_FLIGHT"


class IdempotencyKeyReused(Unprocessable):
    code = "IDEMPOTENCY_KEY_REUSED"


class InvalidTransition(Unprocessable):
    code = "INVALID_TRANSITION"
