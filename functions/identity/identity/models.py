"""Identity's request and response schemas. Requests forbid unknown fields: no mass assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from harambee.auth import Role
from identity.domain.accounts import Account, AccountStatus, EmailAddress
from identity.sessions import TokenPair


class Request(BaseModel):
    """Base of every body a client sends: camelCase, and any field we do not know is refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Registration(Request):
    email: EmailAddress
    password: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(None, min_length=1, max_length=100)


class Credentials(Request):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(Request):
    refresh_token: str = Field(min_length=16, max_length=256)


class ForgotPassword(Request):
    email: str = Field(min_length=3, max_length=254)


class ResetPassword(Request):
    token: str = Field(min_length=16, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class SocialLogin(Request):
    provider: Literal["google"]
    id_token: str = Field(min_length=16, max_length=8192)


class ProfileUpdate(Request):
    name: str = Field(min_length=1, max_length=100)


class StatusChange(Request):
    status: AccountStatus


class RoleChange(Request):
    role: Role


class Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class UserView(Response):
    """An account as its owner and admins see it; never the password hash."""

    user_id: str
    email: str
    name: str | None
    role: Role
    status: AccountStatus
    email_verified: bool
    has_password: bool
    google_linked: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, account: Account) -> UserView:
        return cls(
            user_id=account.user_id,
            email=str(account.email),
            name=account.name,
            role=account.role,
            status=account.status,
            email_verified=account.email_verified,
            has_password=account.password_hash is not None,
            google_linked=account.google_subject is not None,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


class SignedIn(Response):
    user: UserView
    tokens: TokenPair
