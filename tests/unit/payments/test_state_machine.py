"""The payment state machine, pure: every (status, signal) pair, every ordering, every refund rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from payments.domain.payment import (
    InvalidRefundAmount,
    PayableKind,
    Payment,
    PaymentNotRefundable,
    PaymentStatus,
    RefundExceedsCaptured,
    Signal,
    decide,
)

S = PaymentStatus
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

# (status, signal) -> (applied, status after, reason when ignored): the whole table, 7 x 4 = 28 pairs.
EXPECTED: dict[tuple[PaymentStatus, Signal], tuple[bool, PaymentStatus, str | None]] = {
    (S.PENDING, Signal.AUTHORIZED): (True, S.AUTHORIZED, None),
    (S.PENDING, Signal.CAPTURED): (True, S.CAPTURED, None),
    (S.PENDING, Signal.COMPLETED): (True, S.COMPLETED, None),
    (S.PENDING, Signal.FAILED): (True, S.FAILED, None),
    (S.AUTHORIZED, Signal.AUTHORIZED): (False, S.AUTHORIZED, "duplicate_signal"),
    (S.AUTHORIZED, Signal.CAPTURED): (True, S.CAPTURED, None),
    (S.AUTHORIZED, Signal.COMPLETED): (True, S.COMPLETED, None),
    (S.AUTHORIZED, Signal.FAILED): (True, S.FAILED, None),
    (S.CAPTURED, Signal.AUTHORIZED): (False, S.CAPTURED, "stale_signal"),
    (S.CAPTURED, Signal.CAPTURED): (False, S.CAPTURED, "duplicate_signal"),
    (S.CAPTURED, Signal.COMPLETED): (True, S.COMPLETED, None),
    (S.CAPTURED, Signal.FAILED): (True, S.FAILED, None),
    (S.COMPLETED, Signal.AUTHORIZED): (False, S.COMPLETED, "stale_signal"),
    (S.COMPLETED, Signal.CAPTURED): (False, S.COMPLETED, "stale_signal"),
    (S.COMPLETED, Signal.COMPLETED): (False, S.COMPLETED, "duplicate_signal"),
    (S.COMPLETED, Signal.FAILED): (False, S.COMPLETED, "payment_already_settled"),
    (S.PARTIALLY_REFUNDED, Signal.AUTHORIZED): (False, S.PARTIALLY_REFUNDED, "stale_signal"),
    (S.PARTIALLY_REFUNDED, Signal.CAPTURED): (False, S.PARTIALLY_REFUNDED, "stale_signal"),
    (S.PARTIALLY_REFUNDED, Signal.COMPLETED): (False, S.PARTIALLY_REFUNDED, "stale_signal"),
    (S.PARTIALLY_REFUNDED, Signal.FAILED): (False, S.PARTIALLY_REFUNDED, "payment_already_settled"),
    (S.REFUNDED, Signal.AUTHORIZED): (False, S.REFUNDED, "stale_signal"),
    (S.REFUNDED, Signal.CAPTURED): (False, S.REFUNDED, "stale_signal"),
    (S.REFUNDED, Signal.COMPLETED): (False, S.REFUNDED, "stale_signal"),
    (S.REFUNDED, Signal.FAILED): (False, S.REFUNDED, "payment_already_settled"),
    (S.FAILED, Signal.AUTHORIZED): (False, S.FAILED, "payment_already_failed"),
    # The provider took the money after we failed the payment: recorded, then refunded and flagged.
    (S.FAILED, Signal.CAPTURED): (True, S.CAPTURED, "captured_after_failure"),
    (S.FAILED, Signal.COMPLETED): (True, S.COMPLETED, "captured_after_failure"),
    (S.FAILED, Signal.FAILED): (False, S.FAILED, "payment_already_failed"),
}


def payment(status: PaymentStatus = S.PENDING, *, captured: int = 0, refunded: int = 0) -> Payment:
    return Payment(
        payment_id="p-1",
        payable_kind=PayableKind.PLEDGE,
        payable_id="pl-1",
        owner_id=None,
        amount=10_000,
        currency="BDT",
        provider="sandbox",
        method="bkash",
        status=status,
        captured_amount=captured,
        refunded_amount=refunded,
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_table_covers_every_status_and_signal() -> None:
    assert set(EXPECTED) == set(itertools.product(PaymentStatus, Signal))


@pytest.mark.parametrize(("status", "signal"), sorted(EXPECTED))
def test_each_signal_in_each_status(status: PaymentStatus, signal: Signal) -> None:
    # Given a payment in `status`, When the provider says `signal`, Then the table's decision holds
    applied, target, reason = EXPECTED[(status, signal)]
    decision = decide(status, signal)
    assert (decision.applied, decision.target, decision.reason) == (applied, target, reason)


@pytest.mark.parametrize(("status", "signal"), sorted(EXPECTED))
def test_no_signal_ever_moves_a_payment_backwards(status: PaymentStatus, signal: Signal) -> None:
    order = [S.PENDING, S.AUTHORIZED, S.CAPTURED, S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED]
    decision = decide(status, signal)
    if decision.target is not S.FAILED and status is not S.FAILED:
        assert order.index(decision.target) >= order.index(status)
    if status is S.FAILED and decision.reason != "captured_after_failure":
        assert decision.target is S.FAILED


def _replay(signals: tuple[Signal, ...]) -> Payment:
    current = payment()
    for signal in signals:
        _, current = current.on_signal(signal, NOW)
    return current


@pytest.mark.parametrize(
    ("signals", "final"),
    [
        ((Signal.AUTHORIZED, Signal.CAPTURED, Signal.COMPLETED), S.COMPLETED),
        ((Signal.AUTHORIZED, Signal.FAILED), S.FAILED),
    ],
)
def test_every_ordering_of_a_payments_signals_ends_in_the_same_state(
    signals: tuple[Signal, ...], final: PaymentStatus
) -> None:
    # Given the signals a provider sends for one outcome, When they arrive in any order (and twice)
    finals = {_replay(order + order).status for order in itertools.permutations(signals)}
    # Then the payment always ends in the same state
    assert finals == {final}


def test_capture_records_the_captured_amount() -> None:
    _, captured = payment().on_signal(Signal.CAPTURED, NOW)
    assert captured.captured_amount == 10_000
    _, authorized = payment().on_signal(Signal.AUTHORIZED, NOW)
    assert authorized.captured_amount == 0


def test_a_capture_after_failure_records_the_money_the_provider_took() -> None:
    # Given a payment we failed (a saga timeout), When the provider says completed after all
    decision, late = payment(S.FAILED).on_signal(Signal.COMPLETED, NOW)
    # Then it is recorded as taken, so it can be refunded
    assert (decision.applied, decision.reason) == (True, "captured_after_failure")
    assert (late.status, late.captured_amount, late.refundable_amount) == (S.COMPLETED, 10_000, 10_000)


def test_a_captured_payment_can_be_refunded_in_full() -> None:
    held, reserved = payment(S.CAPTURED, captured=10_000).reserve_refund(None, NOW)
    assert (held, reserved.settle_refund(held, NOW).status) == (10_000, S.REFUNDED)


@pytest.mark.parametrize("status", [S.PENDING, S.AUTHORIZED, S.REFUNDED, S.FAILED])
def test_only_settled_payments_can_be_refunded(status: PaymentStatus) -> None:
    with pytest.raises(PaymentNotRefundable):
        payment(status, captured=10_000).reserve_refund(100, NOW)


def test_partial_refunds_add_up_to_a_full_refund() -> None:
    completed = payment(S.COMPLETED, captured=10_000)
    held, reserved = completed.reserve_refund(4_000, NOW)
    partly = reserved.settle_refund(held, NOW)
    assert (partly.status, partly.refunded_amount, partly.refundable_amount) == (
        S.PARTIALLY_REFUNDED,
        4_000,
        6_000,
    )
    rest, reserved_rest = partly.reserve_refund(None, NOW)
    refunded = reserved_rest.settle_refund(rest, NOW)
    assert (rest, refunded.status, refunded.refunded_amount) == (6_000, S.REFUNDED, 10_000)


def test_a_refund_beyond_what_was_captured_is_refused_counting_refunds_under_way() -> None:
    completed = payment(S.COMPLETED, captured=10_000)
    with pytest.raises(RefundExceedsCaptured):
        completed.reserve_refund(10_001, NOW)
    _, reserved = completed.reserve_refund(7_000, NOW)
    with pytest.raises(RefundExceedsCaptured):
        reserved.reserve_refund(3_001, NOW)
    assert reserved.release_refund(7_000, NOW).refundable_amount == 10_000


@pytest.mark.parametrize("amount", [0, -5])
def test_a_refund_must_be_positive(amount: int) -> None:
    with pytest.raises(InvalidRefundAmount):
        payment(S.COMPLETED, captured=10_000).reserve_refund(amount, NOW)
