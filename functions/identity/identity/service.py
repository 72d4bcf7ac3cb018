"""Identity's use cases: register, sign in, verify an email, reset a password, admin changes.

Routes call these with pydantic models and get domain objects back; nothing here knows HTTP.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from harambee.auth import Caller, Role
from harambee.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable
from harambee.events import DomainEvent, new_event
from harambee.outbox import WriteConflict, transaction
from harambee.sealed import seal
from identity import repository
from identity.domain.accounts import Account, AccountStatus, normalize_email
from identity.domain.login_throttle import ACCOUNT_POLICY, IP_POLICY, retry_after
from identity.domain.passwords import check_policy, dummy_hash, hash_password, needs_rehash, verify_password
from identity.oidc import ProviderIdentity, SignInRejected
from identity.repository import AccountRecord, ClaimRecord, OneTimeTokenRecord

VERIFICATION_LIFETIME = timedelta(hours=24)
RESET_LIFETIME = timedelta(hours=1)
VERIFY, RESET = "VERIFY", "RESET"


class EmailTaken(Conflict):
    code = "EMAIL_TAKEN"


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"


class AccountSuspended(Forbidden):
    code = "ACCOUNT_SUSPENDED"


class LoginThrottled(RateLimited):
    code = "TOO_MANY_ATTEMPTS"


class InvalidOneTimeToken(Unprocessable):
    code = "INVALID_OR_EXPIRED_TOKEN"


def utcnow() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    """One-time tokens are stored only as their SHA-256: a leaked table holds no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ registration


def register(
    email: str, password: str, name: str | None, *, links: LinkBuilder, now: datetime | None = None
) -> Account:
    """A new USER account plus its verification email (as events), or EmailTaken."""
    now = now or utcnow()
    email = normalize_email(email)
    check_policy(password, email=email)
    account = Account(
        user_id=str(uuid.uuid4()),
        email=email,
        name=name,
        password_hash=hash_password(password),
        created_at=now,
        updated_at=now,
    )
    verification = secrets.token_urlsafe(32)
    try:
        with transaction() as tx:
            tx.save(repository.to_record(account), condition=AccountRecord.pk.does_not_exist())
            tx.save(
                ClaimRecord(pk=repository.email_claim_pk(email), sk="EMAIL", user_id=account.user_id),
                condition=ClaimRecord.pk.does_not_exist(),
            )
            tx.save(
                repository.one_time_token(
                    VERIFY, token_hash(verification), account.user_id, now + VERIFICATION_LIFETIME
                )
            )
            tx.emit(
                new_event("account.registered", _account_data(account)),
                _verification_requested(
                    account, links.verify_email(verification), now + VERIFICATION_LIFETIME
                ),
            )
    except WriteConflict as conflict:
        if repository.account_id_for_claim(repository.email_claim_pk(email), "EMAIL"):
            raise EmailTaken("An account with this email already exists") from conflict
        raise
    return account


def _replace(tx: Any, before: Account, after: Account) -> None:
    """Save `after` only if the stored account is still `before`: no write built on a stale read."""
    tx.save(repository.to_record(after), condition=AccountRecord.updated_at == before.updated_at)


def _account_data(account: Account) -> dict[str, Any]:
    return {
        "userId": account.user_id,
        "email": str(account.email),
        "name": account.name,
        "role": str(account.role),
    }


def _verification_requested(account: Account, url: str, expires_at: datetime) -> DomainEvent:
    # The link is sealed: only notifications may open it; every hop in between sees ciphertext.
    return new_event(
        "account.verification_requested",
        {
            **_account_data(account),
            "verificationUrl": seal(url, purpose="account.verification"),
            "expiresAt": expires_at.isoformat(),
        },
    )


class LinkBuilder:
    """Builds the emailed links: verification on the API (PUBLIC_BASE_URL), reset on the web app
    (WEB_APP_URL), whose page asks for the new password and calls POST /api/auth/reset-password."""

    def __init__(self, base_url: str, web_app_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.web_app_url = (web_app_url or base_url).rstrip("/")

    def verify_email(self, token: str) -> str:
        return f"{self.base_url}/api/auth/verify/{token}"

    def reset_password(self, token: str) -> str:
        return f"{self.web_app_url}/reset-password?token={token}"


# ------------------------------------------------------------------ sign-in


def authenticate(email: str, password: str, *, source_ip: str, now: datetime | None = None) -> Account:
    """The account for these credentials; the same answer for an unknown email and a wrong password."""
    now = now or utcnow()
    email = normalize_email(email)
    throttles = (
        (repository.throttle_pk("ACCOUNT", email), ACCOUNT_POLICY),
        (repository.throttle_pk("IP", source_ip), IP_POLICY),
    )
    # Every attempt is counted before the password is checked (and given back on success), so
    # parallel guesses cannot all pass the check before any failure is recorded.
    waits = [retry_after(repository.count_attempt(pk, now), policy, now) for pk, policy in throttles]
    longest = max((wait for wait in waits if wait is not None), default=None)
    if longest is not None:
        seconds = max(1, math.ceil(longest.total_seconds()))
        raise LoginThrottled(
            "Too many failed sign-in attempts; try again later", details={"retryAfter": seconds}
        )
    account = repository.account_by_email(email)
    stored = account.password_hash if account and account.password_hash else None
    # Verify against a dummy hash when there is no account so both failures cost the same time.
    matches = verify_password(stored or dummy_hash(), password)
    if account is None or stored is None or not matches:
        raise InvalidCredentials("Invalid email or password")
    if not account.can_sign_in:
        raise AccountSuspended("This account is suspended")
    repository.release_attempt(throttles[0][0], clear=True)
    repository.release_attempt(throttles[1][0], clear=False)
    if needs_rehash(stored):
        rehashed = account.model_copy(update={"password_hash": hash_password(password), "updated_at": now})
        try:
            with transaction() as tx:
                _replace(tx, account, rehashed)
        except WriteConflict:
            return account  # changed meanwhile; the upgrade waits for the next sign-in
        account = rehashed
    return account


# ------------------------------------------------------------------ email verification and password reset


def _consume(kind: str, token: str, now: datetime) -> OneTimeTokenRecord:
    record = repository.find_one_time_token(kind, token_hash(token))
    if record is None or record.expires_at <= now:
        raise InvalidOneTimeToken("This link is invalid or has expired")
    return record


def _redeemed_by_another(record: OneTimeTokenRecord) -> bool:
    return repository.find_one_time_token(record.sk, record.pk.split("#", 1)[1]) is None


def verify_email(token: str, *, now: datetime | None = None) -> Account:
    now = now or utcnow()
    record = _consume(VERIFY, token, now)
    account = _require_account(record.user_id)
    verified = account.model_copy(update={"email_verified": True, "updated_at": now})
    try:
        with transaction() as tx:
            # Deleting with a condition makes the token single use even under concurrent clicks.
            tx.delete(record, condition=OneTimeTokenRecord.pk.exists())
            _replace(tx, account, verified)
            if not account.email_verified:
                tx.emit(new_event("account.email_verified", _account_data(verified)))
    except WriteConflict as conflict:
        if _redeemed_by_another(record):
            raise InvalidOneTimeToken("This link is invalid or has expired") from conflict
        raise
    return verified


RESET_EMAILS_PER_WINDOW = 3
RESET_REQUESTS_PER_IP = 20


def request_password_reset(
    email: str, *, links: LinkBuilder, source_ip: str = "unknown", now: datetime | None = None
) -> None:
    """Send a reset link when the account exists and is active; say nothing either way.

    At most three links per address per 15 minutes (more would only flood a mailbox), and a
    per-IP limit answered with 429, which says nothing about any account.
    """
    now = now or utcnow()
    email = normalize_email(email)
    if (
        repository.count_attempt(repository.throttle_pk("RESET_IP", source_ip), now).failures
        >= RESET_REQUESTS_PER_IP
    ):
        raise LoginThrottled("Too many reset requests; try again later", details={"retryAfter": 900})
    if (
        repository.count_attempt(repository.throttle_pk("RESET", email), now).failures
        >= RESET_EMAILS_PER_WINDOW
    ):
        return
    account = repository.account_by_email(email)
    if account is None or not account.can_sign_in:
        return
    reset = secrets.token_urlsafe(32)
    expires_at = now + RESET_LIFETIME
    with transaction() as tx:
        tx.save(repository.one_time_token(RESET, token_hash(reset), account.user_id, expires_at))
        tx.emit(
            new_event(
                "account.password_reset_requested",
                {
                    **_account_data(account),
                    "resetUrl": seal(links.reset_password(reset), purpose="account.password_reset"),
                    "expiresAt": expires_at.isoformat(),
                },
            )
        )


def reset_password(token: str, new_password: str, *, now: datetime | None = None) -> Account:
    """Set a new password and end every session that existed before it."""
    now = now or utcnow()
    record = _consume(RESET, token, now)
    account = _require_account(record.user_id)
    check_policy(new_password, email=str(account.email))
    changed = account.model_copy(
        update={"password_hash": hash_password(new_password), "sessions_valid_after": now, "updated_at": now}
    )
    try:
        with transaction() as tx:
            tx.delete(record, condition=OneTimeTokenRecord.pk.exists())
            _replace(tx, account, changed)
            tx.emit(new_event("account.password_changed", _account_data(changed)))
    except WriteConflict as conflict:
        if _redeemed_by_another(record):
            raise InvalidOneTimeToken("This link is invalid or has expired") from conflict
        raise
    return changed


# ------------------------------------------------------------------ administration


class AuditContext:
    """Who made an admin change, from where: carried in the change's event for the audit log."""

    def __init__(
        self, actor: Caller, request_id: str | None, source_ip: str | None, user_agent: str | None
    ) -> None:
        self.actor = actor
        self.request_id = request_id
        self.source_ip = source_ip
        self.user_agent = user_agent

    def record(self, target: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {
            "actorId": self.actor.user_id,
            "targetId": target,
            "before": before,
            "after": after,
            "requestId": self.request_id,
            "ip": self.source_ip,
            "userAgent": self.user_agent,
        }


# Changes made by the admin.ensure task (bootstrap or operator CLI): no request, no caller.
SYSTEM_AUDIT = AuditContext(Caller(user_id="system:bootstrap", role=Role.ADMIN), None, None, None)


def _require_account(user_id: str) -> Account:
    account = repository.get_account(user_id)
    if account is None:
        raise NotFound("No such user", details={"userId": user_id})
    return account


def _require_active_admin(audit: AuditContext, target: str) -> None:
    """The token's role can be up to 20 minutes old: check the actor's stored account instead."""
    if target == audit.actor.user_id:
        raise Forbidden("Administrators cannot change their own status or role", code="SELF_CHANGE")
    actor = repository.get_account(audit.actor.user_id)
    if actor is None or actor.role is not Role.ADMIN or not actor.can_sign_in:
        raise Forbidden("Administrator role required")


def change_status(
    user_id: str, status: AccountStatus, audit: AuditContext, *, now: datetime | None = None
) -> Account:
    now = now or utcnow()
    _require_active_admin(audit, user_id)
    account = _require_account(user_id)
    changed = account.with_status(status, now)
    if changed is account:
        return account
    if status is AccountStatus.SUSPENDED:
        # Refresh stops at once; access tokens run out within their 15 minutes.
        changed = changed.model_copy(update={"sessions_valid_after": now})
    _save_with_audit(
        account,
        changed,
        event_type="account.status_changed",
        old={"status": str(account.status)},
        new={"status": str(status)},
        audit=audit,
    )
    return changed


def change_role(user_id: str, role: Role, audit: AuditContext, *, now: datetime | None = None) -> Account:
    now = now or utcnow()
    _require_active_admin(audit, user_id)
    account = _require_account(user_id)
    changed = account.with_role(role, now)
    if changed is account:
        return account
    if role is not Role.ADMIN:
        # New tokens carry the new role; end the sessions that would keep minting the old one.
        changed = changed.model_copy(update={"sessions_valid_after": now})
    _save_with_audit(
        account,
        changed,
        event_type="account.role_changed",
        old={"role": str(account.role)},
        new={"role": str(role)},
        audit=audit,
    )
    return changed


def _save_with_audit(
    before: Account,
    after: Account,
    *,
    event_type: str,
    old: dict[str, Any],
    new: dict[str, Any],
    audit: AuditContext,
) -> None:
    with transaction() as tx:
        # The condition on updatedAt refuses a change computed from a stale read (two admins at once).
        _replace(tx, before, after)
        tx.emit(
            new_event(event_type, {**_account_data(after), "audit": audit.record(after.user_id, old, new)})
        )


def ensure_admin(email: str, password: str | None, *, now: datetime | None = None) -> tuple[Account, bool]:
    """Create an ADMIN account, or promote an existing one; returns (account, created)."""
    now = now or utcnow()
    email = normalize_email(email)
    existing = repository.account_by_email(email)
    if existing is not None:
        if not existing.email_verified:
            # Anyone can register an address they do not own; only its proven owner may become admin.
            raise Unprocessable(
                "This account has not verified its email address; verify it before promoting it",
                code="UNVERIFIED_ACCOUNT",
            )
        promoted = existing.with_role(Role.ADMIN, now).with_status(AccountStatus.ACTIVE, now)
        if promoted is not existing:
            with transaction() as tx:
                _replace(tx, existing, promoted)
                tx.emit(
                    new_event(
                        "account.role_changed",
                        {
                            **_account_data(promoted),
                            "audit": SYSTEM_AUDIT.record(
                                promoted.user_id,
                                {"role": str(existing.role), "status": str(existing.status)},
                                {"role": str(promoted.role), "status": str(promoted.status)},
                            ),
                        },
                    )
                )
        return promoted, False
    if not password:
        raise Unprocessable("A password is needed to create a new admin account")
    check_policy(password, email=email)
    admin = Account(
        user_id=str(uuid.uuid4()),
        email=email,
        role=Role.ADMIN,
        email_verified=True,
        password_hash=hash_password(password),
        created_at=now,
        updated_at=now,
    )
    with transaction() as tx:
        tx.save(repository.to_record(admin), condition=AccountRecord.pk.does_not_exist())
        tx.save(
            ClaimRecord(pk=repository.email_claim_pk(email), sk="EMAIL", user_id=admin.user_id),
            condition=ClaimRecord.pk.does_not_exist(),
        )
        tx.emit(new_event("account.registered", _account_data(admin)))
    return admin, True


# ------------------------------------------------------------------ Google and social sign-in


def sign_in_with_provider(identity: ProviderIdentity, *, now: datetime | None = None) -> Account:
    """The account of a provider identity: found by subject, linked by verified email, or created."""
    now = now or utcnow()
    account = repository.account_by_google_subject(identity.subject)
    if account is None:
        if not identity.email_verified:
            raise SignInRejected("The provider has not verified this email address")
        account = _link_or_create(identity, now)
    if not account.can_sign_in:
        raise AccountSuspended("This account is suspended")
    return account


def _link_or_create(identity: ProviderIdentity, now: datetime) -> Account:
    email = normalize_email(identity.email)
    existing = repository.account_by_email(email)
    claim = ClaimRecord(pk=repository.google_claim_pk(identity.subject), sk="GOOGLE")
    if existing is not None:
        if existing.google_subject and existing.google_subject != identity.subject:
            raise SignInRejected("This account is linked to another Google identity")
        # The provider vouches for the address, so the mailbox owner's account gains Google sign-in.
        linked = existing.model_copy(
            update={"google_subject": identity.subject, "email_verified": True, "updated_at": now}
        )
        if not existing.email_verified:
            # Whoever registered the address never proved they own it: their password and sessions
            # go, so a squatter cannot keep a way into the owner's account.
            linked = linked.model_copy(update={"password_hash": None, "sessions_valid_after": now})
        with transaction() as tx:
            _replace(tx, existing, linked)
            claim.user_id = linked.user_id
            tx.save(claim, condition=ClaimRecord.pk.does_not_exist())
            tx.emit(new_event("account.google_linked", _account_data(linked)))
        return linked
    created = Account(
        user_id=str(uuid.uuid4()),
        email=email,
        name=identity.name,
        email_verified=True,
        google_subject=identity.subject,
        created_at=now,
        updated_at=now,
    )
    claim.user_id = created.user_id
    with transaction() as tx:
        tx.save(repository.to_record(created), condition=AccountRecord.pk.does_not_exist())
        tx.save(
            ClaimRecord(pk=repository.email_claim_pk(email), sk="EMAIL", user_id=created.user_id),
            condition=ClaimRecord.pk.does_not_exist(),
        )
        tx.save(claim, condition=ClaimRecord.pk.does_not_exist())
        tx.emit(new_event("account.registered", _account_data(created)))
    return created


def update_name(user_id: str, name: str, *, now: datetime | None = None) -> Account:
    account = _require_account(user_id)
    if account.name == name:
        return account
    renamed = account.model_copy(update={"name": name, "updated_at": now or utcnow()})
    with transaction() as tx:
        _replace(tx, account, renamed)
    return renamed
