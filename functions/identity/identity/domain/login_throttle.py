"""Login throttling: a growing delay after a few failures, then a hard stop until the window ends.

Counted per account (an attacker guessing one user's password) and per source IP (one attacker
trying many accounts); whichever is stricter wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    max_failures: int
    max_delay: timedelta


ACCOUNT_POLICY = ThrottlePolicy(free_failures=3, max_failures=10, max_delay=timedelta(seconds=60))
IP_POLICY = ThrottlePolicy(free_failures=20, max_failures=100, max_delay=timedelta(seconds=60))


@dataclass(frozen=True)
class FailureRecord:
    """Failures counted in the current window, and when the latest one happened."""

    failures: int
    last_failure_at: datetime | None
    window_started_at: datetime


def retry_after(record: FailureRecord, policy: ThrottlePolicy, now: datetime) -> timedelta | None:
    """How long the caller must wait before another attempt, or None when it may try now."""
    window_ends = record.window_started_at + WINDOW
    if now >= window_ends:
        return None
    if record.failures >= policy.max_failures:
        return window_ends - now
    if record.failures < policy.free_failures or record.last_failure_at is None:
        return None
    # 1 s after the first counted failure, then 2, 4, 8 ... up to max_delay.
    delay = min(timedelta(seconds=2 ** (record.failures - policy.free_failures)), policy.max_delay)
    allowed_at = record.last_failure_at + delay
    return allowed_at - now if now < allowed_at else None
