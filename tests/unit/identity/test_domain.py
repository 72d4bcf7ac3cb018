"""Identity's rules, without AWS: password policy and hashing, account status, login throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harambee.auth import Role
from harambee.errors import InvalidTransition
from identity.domain.accounts import Account, AccountStatus, normalize_email
from identity.domain.login_throttle import ACCOUNT_POLICY, WINDOW, FailureRecord, retry_after
from identity.domain.passwords import (
    WeakPassword,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "must be at least 8 characters"),
        ("password123", "is one of the most common passwords"),
        ("QWERTY123", "is one of the most common passwords"),
        ("amina@example.org", "must not be your email address"),
        ("x" * 129, "must be at most 128 characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    with pytest.raises(WeakPassword) as raised:
        check_policy(password, email="Amina@Example.org")
    assert problem in raised.value.details["password"]
    assert raised.value.status == 422


def test_a_long_uncommon_password_passes() -> None:
    check_policy("correct horse battery staple", email="amina@example.org")


def test_hashes_are_argon2id_at_owasp_parameters_and_verify() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapl")
    assert not needs_rehash(stored)


def test_a_corrupt_stored_hash_is_a_mismatch_not_a_crash() -> None:
    assert verify_password("not-a-hash", "anything") is False


def test_hashes_made_with_weaker_parameters_need_rehash() -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery staple")
    assert needs_rehash(old)


def test_emails_are_normalised_to_one_spelling() -> None:
    assert normalize_email("  Amina@Example.ORG ") == "amina@example.org"


def _account(**changes: object) -> Account:
    fields: dict[str, object] = {
        "user_id": "u-1",
        "email": "amina@example.org",
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return Account.model_validate(fields)


def test_an_admin_can_suspend_and_reactivate_and_repeat_is_a_no_op() -> None:
    later = NOW + timedelta(hours=1)
    suspended = _account().with_status(AccountStatus.SUSPENDED, later)
    assert (suspended.status, suspended.can_sign_in, suspended.updated_at) == ("suspended", False, later)
    assert suspended.with_status(AccountStatus.SUSPENDED, later + timedelta(hours=1)) is suspended
    assert suspended.with_status(AccountStatus.ACTIVE, later).can_sign_in


def test_a_status_outside_the_allowed_transitions_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        _account().with_status("deleted", NOW)  # type: ignore[arg-type]


def test_role_changes_keep_everything_else() -> None:
    promoted = _account(email_verified=True).with_role(Role.ADMIN, NOW)
    assert (promoted.role, promoted.email_verified) == (Role.ADMIN, True)


def _failures(count: int, last_seconds_ago: float) -> FailureRecord:
    return FailureRecord(
        failures=count,
        last_failure_at=NOW - timedelta(seconds=last_seconds_ago),
        window_started_at=NOW - timedelta(minutes=5),
    )


def test_the_first_failures_cost_nothing() -> None:
    assert retry_after(_failures(2, 0), ACCOUNT_POLICY, NOW) is None


def test_the_delay_grows_with_each_failure_and_is_capped() -> None:
    delays = [retry_after(_failures(count, 0), ACCOUNT_POLICY, NOW) for count in range(3, 10)]
    assert [d.total_seconds() for d in delays if d] == [1, 2, 4, 8, 16, 32, 60]


def test_after_the_delay_has_passed_the_caller_may_try_again() -> None:
    assert retry_after(_failures(5, 5), ACCOUNT_POLICY, NOW) is None


def test_too_many_failures_block_until_the_window_ends_then_reset() -> None:
    record = _failures(10, 100)
    assert retry_after(record, ACCOUNT_POLICY, NOW) == timedelta(minutes=10)
    assert retry_after(record, ACCOUNT_POLICY, record.window_started_at + WINDOW) is None


@pytest.mark.parametrize(
    "address",
    ["amina", "amina@", "@example.org", "amina@example", "a b@example.org", "amina@@example.org", "a@.org"],
)
def test_addresses_that_cannot_receive_mail_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        _account(email=address)


def test_valid_addresses_are_stored_normalised() -> None:
    assert _account(email=" Kofi.Mensah+pots@Mail.Example.ORG ").email == "kofi.mensah+pots@mail.example.org"
