"""Dashboard figures as counters: which counters an event moves, and how counters read back.

Counters live in two scopes, the UTC day and all time; a month is the sum of its days. Every figure
of a scope sits in one item per shard (the event id picks the shard), so an event moves at most one
day item and one total item, and a burst of donations does not queue on one hot item; reading a
figure sums its shards. Amounts are integer minor units per ISO 4217 currency, never mixed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

SHARDS = 8
TOTAL = "TOTAL"
RAISED = "RAISED"
DONATIONS = "DONATIONS"
DONORS = "DONORS"
FAILED_PAYMENTS = "FAILED_PAYMENTS"
CAMPAIGNS = "CAMPAIGNS"
# The campaign lifecycle of the seed: a draft waits for an administrator's approval.
PENDING_APPROVAL = "draft"
ACTIVE = "active"
EXPIRED = "expired"


DAY_PREFIX = "DAY#"


def day_scope(moment: datetime) -> str:
    return f"{DAY_PREFIX}{moment.astimezone(UTC):%Y-%m-%d}"


def month_of(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m}"


def shard_of(event_id: str) -> int:
    """A stable shard per event, so a redelivery would touch the same item (the marker stops it)."""
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:4], "big") % SHARDS


@dataclass(frozen=True)
class Increment:
    """Add `delta` to `metric` in `scope` (negative to subtract)."""

    scope: str
    metric: str
    delta: int


def _everywhere(moment: datetime, metric: str, delta: int) -> list[Increment]:
    """The day and all time; the month is read as the sum of its days, so it needs no write."""
    return [Increment(scope, metric, delta) for scope in (day_scope(moment), TOTAL)]


def donation_completed(amount: int, currency: str, completed_at: datetime) -> list[Increment]:
    return [
        *_everywhere(completed_at, f"{RAISED}#{currency}", amount),
        *_everywhere(completed_at, DONATIONS, 1),
    ]


def donation_refunded(refund_amount: int, currency: str, refunded_at: datetime) -> list[Increment]:
    """A refund lowers what was raised on the day and month it happened (net flow), not the pledge's day."""
    return _everywhere(refunded_at, f"{RAISED}#{currency}", -refund_amount)


def payment_failed(failed_at: datetime) -> list[Increment]:
    return [Increment(day_scope(failed_at), FAILED_PAYMENTS, 1), Increment(TOTAL, FAILED_PAYMENTS, 1)]


def new_donor() -> list[Increment]:
    return [Increment(TOTAL, DONORS, 1)]


def campaign_moved(previous: str | None, current: str) -> list[Increment]:
    """A campaign left `previous` (None: first seen) for `current`; each status keeps a count."""
    if previous == current:
        return []
    moves = [Increment(TOTAL, f"{CAMPAIGNS}#{current}", 1)]
    if previous is not None:
        moves.append(Increment(TOTAL, f"{CAMPAIGNS}#{previous}", -1))
    return moves


# ------------------------------------------------------------------ reading back


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Raised(_Camel):
    currency: str
    amount: int


class PeriodFigures(_Camel):
    period: str
    raised: list[Raised]
    donations: int
    failed_payments: int | None = None


class CampaignFigures(_Camel):
    active: int
    pending_approvals: int
    by_status: dict[str, int]


class TotalFigures(_Camel):
    raised: list[Raised]
    donations: int
    donors: int
    failed_payments: int


class DeadLetterDepth(_Camel):
    queue: str
    depth: int | None
    error: str | None = None


class DashboardStats(_Camel):
    as_of: datetime
    today: PeriodFigures
    this_month: PeriodFigures
    totals: TotalFigures
    campaigns: CampaignFigures
    dead_letter_queues: list[DeadLetterDepth]


def summed(shards: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The figures of several shard items (metric -> value) added up per metric."""
    totals: dict[str, int] = defaultdict(int)
    for figures in shards:
        for metric, value in figures.items():
            totals[metric] += value
    return dict(totals)


def _raised(figures: Mapping[str, int]) -> list[Raised]:
    return [
        Raised(currency=metric.split("#", 1)[1], amount=amount)
        for metric, amount in sorted(figures.items())
        if metric.startswith(f"{RAISED}#")
    ]


def period(label: str, figures: Mapping[str, int], *, with_failures: bool) -> PeriodFigures:
    return PeriodFigures(
        period=label,
        raised=_raised(figures),
        donations=figures.get(DONATIONS, 0),
        failed_payments=figures.get(FAILED_PAYMENTS, 0) if with_failures else None,
    )


def totals(figures: Mapping[str, int]) -> TotalFigures:
    return TotalFigures(
        raised=_raised(figures),
        donations=figures.get(DONATIONS, 0),
        donors=figures.get(DONORS, 0),
        failed_payments=figures.get(FAILED_PAYMENTS, 0),
    )


def campaigns(figures: Mapping[str, int]) -> CampaignFigures:
    by_status = {
        metric.split("#", 1)[1]: count
        for metric, count in sorted(figures.items())
        if metric.startswith(f"{CAMPAIGNS}#") and count
    }
    return CampaignFigures(
        active=by_status.get(ACTIVE, 0),
        pending_approvals=by_status.get(PENDING_APPROVAL, 0),
        by_status=by_status,
    )


def dashboard(
    now: datetime,
    day: Mapping[str, int],
    month: Mapping[str, int],
    all_time: Mapping[str, int],
    dead_letters: list[DeadLetterDepth],
) -> DashboardStats:
    utc = now.astimezone(UTC)
    return DashboardStats(
        as_of=utc,
        today=period(f"{utc:%Y-%m-%d}", day, with_failures=True),
        this_month=period(f"{utc:%Y-%m}", month, with_failures=False),
        totals=totals(all_time),
        campaigns=campaigns(all_time),
        dead_letter_queues=dead_letters,
    )


def moment_of(value: Any, fallback: datetime) -> datetime:
    """An event's own time field (ISO 8601), else the envelope's timestamp."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback
