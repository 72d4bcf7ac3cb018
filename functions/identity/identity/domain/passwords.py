"""Password policy and argon2id hashing at OWASP's recommended parameters."""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from harambee.errors import Unprocessable

MIN_LENGTH = 8
# argon2 hashes any length, but an unbounded password lets a client make every login expensive.
MAX_LENGTH = 128

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB of memory, 2 iterations, parallelism 1.
_hasher = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)


class WeakPassword(Unprocessable):
    code = "WEAK_PASSWORD"


@functools.cache
def common_passwords() -> frozenset[str]:
    """A small list of the most used passwords; any of them is refused whatever its length."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_policy(password: str, *, email: str | None = None) -> None:
    """Raise WeakPassword naming every rule the password breaks."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    if password.lower() in common_passwords():
        problems.append("is one of the most common passwords")
    if email and password.lower() == email.lower():
        problems.append("must not be your email address")
    if problems:
        raise WeakPassword("Choose a stronger password", details={"password": problems})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when the password matches; a malformed stored hash is a mismatch, never an exception."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters: rehash on the next successful login."""
    return _hasher.check_needs_rehash(stored_hash)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the account does not exist, so both answers take the same time."""
    return _hasher.hash("harambee-timing-equaliser")
