"""Accounts: who can sign in, with which role, and the status changes an admin may make."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from harambee.auth import Role
from harambee.errors import InvalidTransition


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


# Deleting an account is the profiles context's `account.deleted` flow, not a status.
_ALLOWED: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.ACTIVE: frozenset({AccountStatus.SUSPENDED}),
    AccountStatus.SUSPENDED: frozenset({AccountStatus.ACTIVE}),
}


def normalize_email(email: str) -> str:
    """One spelling per mailbox, so `Amina@Example.org ` and `amina@example.org` are one account."""
    return email.strip().lower()


# One @, no spaces, a dot in the domain, RFC 5321 lengths. The verification email proves the rest;
# email-validator would add ~40 ms to every function's cold start (FastAPI imports it when present).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def _valid_email(address: str) -> str:
    normalized = normalize_email(address)
    if len(normalized) > 254 or not _EMAIL.match(normalized):
        raise ValueError("not a valid email address")
    return normalized


EmailAddress = Annotated[str, AfterValidator(_valid_email)]


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    email: EmailAddress
    role: Role = Role.USER
    status: AccountStatus = AccountStatus.ACTIVE
    email_verified: bool = False
    name: str | None = None
    password_hash: str | None = None  # None for accounts that only sign in with Google
    google_subject: str | None = None
    # Refresh tokens issued before this instant no longer work (set on password reset).
    sessions_valid_after: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def can_sign_in(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    def with_status(self, status: AccountStatus, at: datetime) -> Account:
        """The account in `status`; the same status again is a no-op, anything else not allowed raises."""
        if status == self.status:
            return self
        if status not in _ALLOWED[self.status]:
            raise InvalidTransition(f"An account cannot go from {self.status} to {status}")
        return self.model_copy(update={"status": status, "updated_at": at})

    def with_role(self, role: Role, at: datetime) -> Account:
        return self if role == self.role else self.model_copy(update={"role": role, "updated_at": at})
