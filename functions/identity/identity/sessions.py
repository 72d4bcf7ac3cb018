"""Sessions: a 15-minute access token and a 7-day refresh token, rotated on every use.

Refresh tokens are opaque random strings stored only as SHA-256, one family per sign-in. Using a
token that was already rotated means two parties hold it: the whole family is revoked at once.
"""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from harambee.errors import Unauthorized
from harambee.events import new_event
from harambee.jwt import TokenSettings
from harambee.outbox import WriteConflict, transaction
from harambee.parameters import ssm_parameter
from identity import repository
from identity.domain.accounts import Account
from identity.repository import RefreshTokenRecord, TokenFamilyRecord
from identity.service import token_hash, utcnow
from identity.signing import DEFAULT_ACCESS_TOKEN_TTL_SECONDS, SigningKey, issue_access_token

REFRESH_LIFETIME = timedelta(days=7)
ACTIVE, ROTATED = "active", "rotated"


class InvalidRefreshToken(Unauthorized):
    code = "INVALID_REFRESH_TOKEN"


class TokenPair(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = DEFAULT_ACCESS_TOKEN_TTL_SECONDS
    refresh_expires_in: int = int(REFRESH_LIFETIME.total_seconds())


@functools.cache
def _settings() -> TokenSettings:
    return TokenSettings.from_environ()


def signing_key() -> SigningKey:
    """The private signing key from SSM (SecureString), cached by Powertools for five minutes."""
    name = f"{_settings().secrets_prefix.rstrip('/')}/jwt/signing-key"
    jwk = ssm_parameter(name, transform="json", decrypt=True)
    if not isinstance(jwk, dict):
        raise TypeError("The signing key parameter is not a JWK object")
    return _parse_key(json.dumps(jwk, sort_keys=True))


def published_jwks() -> dict[str, Any]:
    """The public key set in SSM (`jwt/jwks`), with anything private stripped defensively."""
    key_set = ssm_parameter(f"{_settings().secrets_prefix.rstrip('/')}/jwt/jwks", transform="json")
    public = {"kty", "crv", "x", "kid", "alg", "use", "n", "e"}
    keys = [{name: value for name, value in jwk.items() if name in public} for jwk in key_set.get("keys", [])]
    return {"keys": keys}


@functools.lru_cache(maxsize=4)
def _parse_key(serialized_jwk: str) -> SigningKey:
    # Parsing costs more than the cached lookup; a rotated key is a new string and a new entry.
    return SigningKey.from_private_jwk(json.loads(serialized_jwk))


def _access_token(account: Account) -> str:
    settings = _settings()
    return issue_access_token(
        signing_key(),
        user_id=account.user_id,
        email=str(account.email),
        role=str(account.role),
        issuer=settings.issuer,
        audience=settings.audience,
    )


def _refresh_record(token: str, account: Account, family_id: str, now: datetime) -> RefreshTokenRecord:
    expires_at = now + REFRESH_LIFETIME
    return RefreshTokenRecord(
        pk=f"REFRESH#{token_hash(token)}",
        user_id=account.user_id,
        family_id=family_id,
        state=ACTIVE,
        expires_at=expires_at,
        ttl=int((expires_at + timedelta(days=1)).timestamp()),
    )


def start_session(account: Account, *, now: datetime | None = None) -> TokenPair:
    """Tokens for a fresh sign-in: a new refresh token family."""
    now = now or utcnow()
    family_id = str(uuid.uuid4())
    refresh = secrets.token_urlsafe(32)
    with transaction() as tx:
        tx.save(
            TokenFamilyRecord(
                pk=f"FAMILY#{family_id}",
                user_id=account.user_id,
                created_at=now,
                ttl=int((now + REFRESH_LIFETIME * 2).timestamp()),
            )
        )
        tx.save(_refresh_record(refresh, account, family_id, now))
    return TokenPair(access_token=_access_token(account), refresh_token=refresh)


def rotate(refresh_token: str, *, now: datetime | None = None) -> tuple[Account, TokenPair]:
    """New tokens for a valid refresh token; reuse of a rotated one revokes its family."""
    now = now or utcnow()
    record = _find(refresh_token)
    if record is None or record.expires_at <= now:
        raise InvalidRefreshToken("Refresh token is invalid or expired")
    family = _family(record.family_id)
    if family is None or family.revoked_reason:
        raise InvalidRefreshToken("This session has ended")
    if record.state != ACTIVE:
        _revoke(family, "reuse_detected", now)
        raise InvalidRefreshToken("Refresh token was already used; the session has been ended")
    account = repository.get_account(record.user_id)
    if account is None or not account.can_sign_in:
        _revoke(family, "account_inactive", now)
        raise InvalidRefreshToken("This account cannot sign in")
    if account.sessions_valid_after and family.created_at < account.sessions_valid_after:
        _revoke(family, "password_changed", now)
        raise InvalidRefreshToken("This session ended when the password changed")
    successor = secrets.token_urlsafe(32)
    try:
        with transaction() as tx:
            # Only one of two concurrent refreshes with the same token can win this condition.
            tx.update(
                record,
                actions=[RefreshTokenRecord.state.set(ROTATED)],
                condition=RefreshTokenRecord.state == ACTIVE,
                return_values="ALL_OLD",
            )
            tx.condition_check(
                TokenFamilyRecord,
                family.pk,
                family.sk,
                condition=TokenFamilyRecord.revoked_reason.does_not_exist(),
            )
            tx.save(_refresh_record(successor, account, record.family_id, now))
    except WriteConflict as conflict:
        if conflict.failed_on(record.pk, record.sk):
            # Another request rotated this very token a moment ago: two holders, end the family.
            _revoke(family, "reuse_detected", now)
            raise InvalidRefreshToken(
                "Refresh token was already used; the session has been ended"
            ) from conflict
        # The family was revoked meanwhile (a sign-out, say): not a reuse.
        raise InvalidRefreshToken("This session has ended") from conflict
    return account, TokenPair(access_token=_access_token(account), refresh_token=successor)


def end_session(refresh_token: str, *, now: datetime | None = None) -> None:
    """Sign out: the token's family stops working. An unknown token is already signed out."""
    record = _find(refresh_token)
    family = _family(record.family_id) if record else None
    if family is not None and not family.revoked_reason:
        _revoke(family, "signed_out", now or utcnow())


def _find(refresh_token: str) -> RefreshTokenRecord | None:
    try:
        return RefreshTokenRecord.get(f"REFRESH#{token_hash(refresh_token)}", "REFRESH", consistent_read=True)
    except RefreshTokenRecord.DoesNotExist:
        return None


def _family(family_id: str) -> TokenFamilyRecord | None:
    try:
        return TokenFamilyRecord.get(f"FAMILY#{family_id}", "FAMILY", consistent_read=True)
    except TokenFamilyRecord.DoesNotExist:
        return None


def _revoke(family: TokenFamilyRecord, reason: str, now: datetime) -> None:
    """End a family once: the first reason stands, and only that revocation emits its event."""
    try:
        _revoke_once(family, reason, now)
    except WriteConflict:
        return


def _revoke_once(family: TokenFamilyRecord, reason: str, now: datetime) -> None:
    with transaction() as tx:
        tx.update(
            family,
            actions=[TokenFamilyRecord.revoked_reason.set(reason)],
            condition=TokenFamilyRecord.revoked_reason.does_not_exist(),
        )
        if reason == "reuse_detected":
            tx.emit(
                new_event(
                    "session.reuse_detected",
                    {
                        "userId": family.user_id,
                        "familyId": family.pk.removeprefix("FAMILY#"),
                        "at": now.isoformat(),
                    },
                )
            )
