"""The pledge's state machine, pair by pair, and its refunds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from donations.domain.pledge import (
    CampaignSnapshot,
    FailureReason,
    Pledge,
    PledgeSignal,
    PledgeStatus,
    RefundExceedsPledge,
    repeats,
    transition,
)
from harambee.errors import InvalidTransition

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
S, G = PledgeStatus, PledgeSignal
ALLOWED = {
    (S.PENDING, G.PAYMENT_INITIATED): S.PAYMENT_INITIATED,
    (S.PENDING, G.FAILED): S.FAILED,
    (S.PAYMENT_INITIATED, G.COMPLETED): S.COMPLETED,
    (S.PAYMENT_INITIATED, G.FAILED): S.FAILED,
    (S.COMPLETED, G.REFUNDED): S.REFUNDED,
}
PAIRS = [(status, signal) for status in PledgeStatus for signal in PledgeSignal]


@pytest.mark.parametrize(("status", "signal"), PAIRS, ids=[f"{s}-{g}" for s, g in PAIRS])
def test_given_each_status_when_each_signal_then_only_the_allowed_transitions_happen(
    status: PledgeStatus, signal: PledgeSignal
) -> None:
    expected = ALLOWED.get((status, signal))
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            transition(status, signal)
        assert refused.value.status == 422
    else:
        assert transition(status, signal) is expected


def test_a_saga_step_repeated_on_a_pledge_already_there_is_recognised_and_refunds_never_are() -> None:
    assert repeats(S.PAYMENT_INITIATED, G.PAYMENT_INITIATED)
    assert repeats(S.COMPLETED, G.COMPLETED)
    assert repeats(S.FAILED, G.FAILED)
    assert not repeats(S.PENDING, G.PAYMENT_INITIATED)
    assert not repeats(S.REFUNDED, G.REFUNDED)


def _pledge(**changes: object) -> Pledge:
    base = Pledge(
        pledge_id="pl-1",
        campaign_id="c-1",
        donor_id=None,
        donor_email="anon@example.org",
        donor_name="Amina",
        is_anonymous=True,
        amount=10_000,
        currency="BDT",
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


def _completed() -> Pledge:
    campaign = CampaignSnapshot(
        campaign_id="c-1", title="Water", owner_id="u-o", type="medical", currency="BDT"
    )
    return _pledge().mark_payment_initiated(NOW).complete("pay-1", campaign, NOW)


def test_given_a_completed_pledge_when_refunded_in_two_parts_then_it_is_refunded_only_at_the_end() -> None:
    partly = _completed().refund(4_000, NOW)
    assert (partly.status, partly.refunded_amount, partly.fully_refunded) == (S.COMPLETED, 4_000, False)

    whole = partly.refund(6_000, NOW)

    assert (whole.status, whole.refunded_amount, whole.fully_refunded) == (S.REFUNDED, 10_000, True)


def test_refunds_beyond_the_pledge_or_of_an_unsettled_pledge_are_refused() -> None:
    with pytest.raises(RefundExceedsPledge):
        _completed().refund(10_001, NOW)
    with pytest.raises(InvalidTransition):
        _pledge().refund(1_000, NOW)


def test_a_hidden_name_never_reaches_the_events_and_a_failure_keeps_its_reason() -> None:
    failed = _pledge().fail(FailureReason.CAMPAIGN_INVALID, NOW)

    assert failed.created_data()["donorName"] is None
    assert (failed.status, failed.failure_reason, failed.failed_at) == (
        S.FAILED,
        FailureReason.CAMPAIGN_INVALID,
        NOW,
    )
    assert _pledge(is_anonymous=False).created_data()["donorName"] == "Amina"
