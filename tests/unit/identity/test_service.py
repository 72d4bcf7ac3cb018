"""Identity's use cases against moto: what a user would notice, and what lands in the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest

from harambee.auth import Caller, Role
from harambee.errors import Forbidden, Unprocessable
from harambee.jwt import AccessTokenVerifier, jwks_from_ssm
from harambee.sealed import unseal
from identity import service, sessions
from identity.domain.accounts import AccountStatus
from identity.domain.passwords import WeakPassword
from identity.service import (
    AccountSuspended,
    AuditContext,
    EmailTaken,
    InvalidCredentials,
    InvalidOneTimeToken,
    LinkBuilder,
    LoginThrottled,
)
from identity.sessions import InvalidRefreshToken
from identity.signing import SigningKey
from tests.unit.kernel import harness
from tests.unit.kernel.harness import outbox_events

LINKS = LinkBuilder("https://app.harambee.test")
PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def register(email: str = "amina@example.org", password: str = PASSWORD) -> service.Account:
    return service.register(email, password, "Amina", links=LINKS, now=NOW)


def admin_audit(email: str = "root@example.org", request_id: str = "req-admin") -> AuditContext:
    """An administrator who exists in the table, as the admin routes require."""
    admin, _ = service.ensure_admin(email, PASSWORD, now=NOW)
    return AuditContext(Caller(user_id=admin.user_id, role=Role.ADMIN), request_id, "203.0.113.7", "curl/8")


def link_token(table: str, event_type: str, field: str) -> str:
    """The token inside the emailed link, unsealed as the notifications context will."""
    from harambee.sealed import unseal

    (event,) = outbox_events(table, event_type)
    url = urlparse(unseal(event["data"][field]))
    return url.path.rsplit("/", 1)[1] if not url.query else url.query.split("=", 1)[1]


def test_registration_stores_the_account_and_emits_welcome_and_verification(identity_table: str) -> None:
    account = register("  Amina@Example.org ")
    assert (account.email, account.role, account.status, account.email_verified) == (
        "amina@example.org",
        Role.USER,
        AccountStatus.ACTIVE,
        False,
    )
    assert account.password_hash
    assert account.password_hash.startswith("$argon2id$")
    # Both events commit in the registration's transaction; their order on the bus is not defined.
    assert sorted(e["eventType"] for e in outbox_events(identity_table)) == [
        "account.registered",
        "account.verification_requested",
    ]
    (verification,) = outbox_events(identity_table, "account.verification_requested")
    sealed = verification["data"]["verificationUrl"]
    # The link travels sealed: the outbox (and every queue after it) holds only ciphertext.
    assert set(sealed) == {"sealed", "purpose"}
    assert "/api/auth/verify/" not in json.dumps(outbox_events(identity_table))
    assert unseal(sealed).startswith("https://app.harambee.test/api/auth/verify/")
    assert "passwordHash" not in str(outbox_events(identity_table))


def test_an_email_can_hold_only_one_account_whatever_its_case(identity_table: str) -> None:
    register()
    with pytest.raises(EmailTaken):
        register("AMINA@example.org", "another strong passphrase")
    assert len(outbox_events(identity_table, "account.registered")) == 1


def test_a_weak_password_writes_nothing(identity_table: str) -> None:
    with pytest.raises(WeakPassword):
        register(password="password123")
    assert outbox_events(identity_table) == []


def test_unknown_email_and_wrong_password_get_the_same_answer(identity_table: str) -> None:
    register()
    with pytest.raises(InvalidCredentials) as unknown:
        service.authenticate("nobody@example.org", PASSWORD, source_ip="198.51.100.1", now=NOW)
    with pytest.raises(InvalidCredentials) as wrong:
        service.authenticate("amina@example.org", "wrong password!", source_ip="198.51.100.2", now=NOW)
    assert (unknown.value.status, unknown.value.code, unknown.value.message) == (
        wrong.value.status,
        wrong.value.code,
        wrong.value.message,
    )
    assert service.authenticate("amina@example.org", PASSWORD, source_ip="198.51.100.3", now=NOW).user_id


def test_repeated_failures_slow_down_then_stop_a_guesser(identity_table: str) -> None:
    register()
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            service.authenticate("amina@example.org", "guess guess guess", source_ip="198.51.100.9", now=NOW)
    with pytest.raises(LoginThrottled) as throttled:
        service.authenticate("amina@example.org", PASSWORD, source_ip="198.51.100.9", now=NOW)
    assert throttled.value.status == 429
    assert throttled.value.details == {"retryAfter": 1}
    # After the delay the right password works again and clears the count.
    later = NOW + timedelta(seconds=2)
    assert service.authenticate("amina@example.org", PASSWORD, source_ip="198.51.100.9", now=later)


def test_a_suspended_account_cannot_sign_in(identity_table: str) -> None:
    account = register()
    service.change_status(account.user_id, AccountStatus.SUSPENDED, admin_audit(), now=NOW)
    with pytest.raises(AccountSuspended):
        service.authenticate("amina@example.org", PASSWORD, source_ip="198.51.100.1", now=NOW)


def test_an_email_link_verifies_once_and_expires(identity_table: str) -> None:
    register()
    token = link_token(identity_table, "account.verification_requested", "verificationUrl")
    assert service.verify_email(token, now=NOW + timedelta(hours=1)).email_verified
    assert len(outbox_events(identity_table, "account.email_verified")) == 1
    with pytest.raises(InvalidOneTimeToken):
        service.verify_email(token, now=NOW + timedelta(hours=1))


def test_a_verification_link_older_than_a_day_is_refused(identity_table: str) -> None:
    register()
    token = link_token(identity_table, "account.verification_requested", "verificationUrl")
    with pytest.raises(InvalidOneTimeToken):
        service.verify_email(token, now=NOW + timedelta(hours=25))


def test_forgot_password_says_nothing_about_unknown_accounts(identity_table: str) -> None:
    service.request_password_reset("nobody@example.org", links=LINKS, now=NOW)
    assert outbox_events(identity_table) == []


def test_a_reset_changes_the_password_once_and_ends_older_sessions(
    identity_table: str, signing_key: SigningKey
) -> None:
    account = register()
    before = sessions.start_session(account, now=NOW)
    service.request_password_reset("amina@example.org", links=LINKS, now=NOW)
    token = link_token(identity_table, "account.password_reset_requested", "resetUrl")
    service.reset_password(token, "a brand new passphrase", now=NOW + timedelta(minutes=5))
    assert service.authenticate("amina@example.org", "a brand new passphrase", source_ip="198.51.100.1")
    with pytest.raises(InvalidOneTimeToken):
        service.reset_password(token, "yet another passphrase", now=NOW + timedelta(minutes=6))
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(before.refresh_token, now=NOW + timedelta(minutes=7))


def test_a_reset_link_expires_after_an_hour(identity_table: str) -> None:
    register()
    service.request_password_reset("amina@example.org", links=LINKS, now=NOW)
    token = link_token(identity_table, "account.password_reset_requested", "resetUrl")
    with pytest.raises(InvalidOneTimeToken):
        service.reset_password(token, "a brand new passphrase", now=NOW + timedelta(minutes=61))


def test_sessions_issue_a_verifiable_access_token_and_rotate_the_refresh_token(
    identity_table: str, signing_key: SigningKey
) -> None:
    account = register()
    pair = sessions.start_session(account)
    verifier = AccessTokenVerifier(
        issuer="https://auth.harambee.app",
        audience="harambee-api",
        key_set=jwks_from_ssm("/harambee/test/jwt/jwks"),
    )
    claims = verifier.verify(pair.access_token)
    assert (claims.sub, claims.role, claims.token_use) == (account.user_id, "USER", "access")
    assert pair.expires_in == 900
    assert pair.refresh_expires_in == 7 * 24 * 3600
    _, rotated = sessions.rotate(pair.refresh_token)
    assert rotated.refresh_token != pair.refresh_token


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    identity_table: str, signing_key: SigningKey
) -> None:
    pair = sessions.start_session(register())
    _, successor = sessions.rotate(pair.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(pair.refresh_token)  # the stolen copy
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(successor.refresh_token)  # the family is gone for the thief and the owner alike
    assert len(outbox_events(identity_table, "session.reuse_detected")) == 1


def test_an_access_token_is_not_a_refresh_token(identity_table: str, signing_key: SigningKey) -> None:
    pair = sessions.start_session(register())
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(pair.access_token)


def test_sign_out_ends_the_session_and_a_suspension_ends_refresh_at_once(
    identity_table: str, signing_key: SigningKey
) -> None:
    account = register()
    signed_out = sessions.start_session(account)
    sessions.end_session(signed_out.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(signed_out.refresh_token)
    active = sessions.start_session(account)
    service.change_status(account.user_id, AccountStatus.SUSPENDED, admin_audit())
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(active.refresh_token)


def test_admin_changes_carry_an_audit_record_and_admins_cannot_change_themselves(identity_table: str) -> None:
    account = register()
    audit = admin_audit()
    service.change_role(account.user_id, Role.ADMIN, audit, now=NOW)
    (changed,) = outbox_events(identity_table, "account.role_changed")
    assert changed["data"]["audit"] == {
        "actorId": audit.actor.user_id,
        "targetId": account.user_id,
        "before": {"role": "USER"},
        "after": {"role": "ADMIN"},
        "requestId": "req-admin",
        "ip": "203.0.113.7",
        "userAgent": "curl/8",
    }
    self_audit = AuditContext(Caller(user_id=account.user_id, role=Role.ADMIN), "req-4", None, None)
    for change in (
        lambda: service.change_status(account.user_id, AccountStatus.SUSPENDED, self_audit),
        lambda: service.change_role(account.user_id, Role.USER, self_audit),
    ):
        with pytest.raises(Forbidden):
            change()


def test_a_demoted_admin_with_a_still_valid_token_cannot_act_or_undo_it(
    identity_table: str, signing_key: SigningKey
) -> None:
    # Given admin B, demoted and suspended by admin A, still holding a token that says ADMIN
    audit_a = admin_audit("a@example.org")
    audit_b = admin_audit("b@example.org")
    b = audit_b.actor.user_id
    b_session = sessions_of(b)
    service.change_role(b, Role.USER, audit_a)
    # When B uses the old token's role, Then every admin change is refused
    victim = register()
    with pytest.raises(Forbidden):
        service.change_status(victim.user_id, AccountStatus.SUSPENDED, audit_b)
    with pytest.raises(Forbidden):
        service.change_status(audit_a.actor.user_id, AccountStatus.SUSPENDED, audit_b)
    # And B's sessions, which would mint new ADMIN-less tokens, are ended
    with pytest.raises(InvalidRefreshToken):
        sessions.rotate(b_session)


def sessions_of(user_id: str) -> str:
    from identity import repository

    account = repository.get_account(user_id)
    assert account is not None
    return sessions.start_session(account).refresh_token


def test_ensure_admin_creates_once_then_promotes_only_verified_accounts(identity_table: str) -> None:
    created, was_created = service.ensure_admin("root@example.org", PASSWORD, now=NOW)
    again, created_again = service.ensure_admin("ROOT@example.org", None, now=NOW)
    assert (was_created, created_again, again.user_id, again.role) == (
        True,
        False,
        created.user_id,
        Role.ADMIN,
    )
    squatted = register("ops@example.org")
    with pytest.raises(Unprocessable):
        service.ensure_admin("ops@example.org", None, now=NOW)  # nobody proved they own this address
    service.verify_email(link_token(identity_table, "account.verification_requested", "verificationUrl"))
    promoted, _ = service.ensure_admin("ops@example.org", None, now=NOW)
    assert (promoted.user_id, promoted.role) == (squatted.user_id, Role.ADMIN)


def test_account_deleted_erases_credentials_once_and_frees_the_address(identity_table: str) -> None:
    from harambee.events import DomainEvent
    from identity.consumers import consumer

    account = register()
    deleted = DomainEvent(
        event_type="account.deleted",
        source="harambee.profiles",
        data={"userId": account.user_id, "deletedAt": NOW.isoformat()},
    )
    assert consumer(harness.deliveries(deleted, deleted), None) == {"batchItemFailures": []}
    with pytest.raises(InvalidCredentials):
        service.authenticate("amina@example.org", PASSWORD, source_ip="198.51.100.1", now=NOW)
    assert register().user_id != account.user_id


def test_guesses_arriving_during_a_password_check_cannot_slip_past_the_throttle(
    identity_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given nine more guesses that arrive while the first one is still inside its (slow) hash check:
    # a check-then-count throttle would let them all through, since no failure is recorded yet.
    register()
    checked: list[str] = []
    outcomes: list[str] = []
    real_verify = service.verify_password

    def guess(n: int) -> None:
        try:
            service.authenticate("amina@example.org", f"guess {n}", source_ip="198.51.100.77", now=NOW)
        except (InvalidCredentials, LoginThrottled) as refused:
            outcomes.append(refused.code)

    def slow_verify(stored: str, password: str) -> bool:
        checked.append(password)
        if len(checked) == 1:
            for n in range(1, 10):
                guess(n)
        return real_verify(stored, password)

    monkeypatch.setattr(service, "verify_password", slow_verify)
    guess(0)
    # Then only the three free attempts ever reach the password check
    assert len(checked) == 3
    assert sorted(outcomes) == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_ATTEMPTS"] * 7


def test_reset_links_to_one_address_are_capped_so_a_mailbox_cannot_be_flooded(identity_table: str) -> None:
    register()
    for _ in range(5):
        service.request_password_reset("amina@example.org", links=LINKS, source_ip="198.51.100.5", now=NOW)
    assert len(outbox_events(identity_table, "account.password_reset_requested")) == 3
