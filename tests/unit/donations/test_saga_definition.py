"""The saga's definition as the template deploys it: every Next and Catch lands on a state, every
task has the last-resort Catch, the happy path fits the transition budget, the template wires it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support.aws import template

ROOT = Path(__file__).resolve().parents[3]
MACHINE: dict[str, Any] = json.loads((ROOT / "infra/statemachines/donation_saga.asl.json").read_text())
STATES: dict[str, dict[str, Any]] = MACHINE["States"]
LAST_RESORT = "ReportSagaFailure"
# Before reporting, the last resort gives back the money: the same compensation, reason saga_failed.
LAST_RESORT_COMPENSATION = "CompensateBeforeReport"
# Once compensating, a failure goes straight to the report: the compensation was already tried.
COMPENSATING = {"CompensatePayment", "FailPledge", LAST_RESORT_COMPENSATION}
HAPPY_PATH = ["ValidateCampaign", "AwaitPayment", "RecheckCampaign", "ConfirmPledge"]


def _targets(state: dict[str, Any]) -> list[str]:
    following = [state["Next"]] if "Next" in state else []
    return following + [catch["Next"] for catch in state.get("Catch", [])]


def test_every_next_and_catch_lands_on_a_state_and_every_state_is_reachable() -> None:
    reachable, frontier = set(), [MACHINE["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        assert name in STATES, f"{name} is targeted but not defined"
        reachable.add(name)
        frontier.extend(_targets(STATES[name]))
    assert reachable == set(STATES)
    for name, state in STATES.items():
        assert state["Type"] in {"Succeed", "Fail"} or "Next" in state or state.get("End"), name


def test_every_task_but_the_last_resort_catches_everything_into_it_and_retries_lambda_faults() -> None:
    tasks = {name: state for name, state in STATES.items() if state["Type"] == "Task"}
    for name, state in tasks.items():
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        assert {
            "Lambda.ServiceException",
            "Lambda.TooManyRequestsException",
            "TransactionContended",
        } <= retried
        if name == LAST_RESORT:
            assert state["Next"] == "SagaFailed"
            continue
        last = state["Catch"][-1]
        expected = LAST_RESORT if name in COMPENSATING else LAST_RESORT_COMPENSATION
        # The last resort's own compensation keeps the first error in $.error for the report.
        path = "$.compensationError" if name == LAST_RESORT_COMPENSATION else "$.error"
        assert (last["ErrorEquals"], last["Next"], last["ResultPath"]) == (["States.ALL"], expected, path)
    assert STATES["SagaFailed"]["Type"] == "Fail"


def test_the_named_compensations_follow_each_failure() -> None:
    def caught(state: str, error: str) -> str:
        return str(next(c["Next"] for c in STATES[state]["Catch"] if c["ErrorEquals"] == [error]))

    assert caught("ValidateCampaign", "CampaignNotAcceptingDonations") == "CampaignInvalid"
    assert caught("AwaitPayment", "PaymentFailed") == "PaymentFailed"
    assert caught("AwaitPayment", "States.Timeout") == "PaymentTimedOut"
    assert caught("RecheckCampaign", "CampaignNotAcceptingDonations") == "CampaignClosed"
    reasons = {
        name: STATES[name]["Result"]["reason"]
        for name in ("CampaignInvalid", "PaymentFailed", "PaymentTimedOut", "CampaignClosed")
    }
    assert reasons == {
        "CampaignInvalid": "campaign_invalid",
        "PaymentFailed": "payment_failed",
        "PaymentTimedOut": "payment_timeout",
        "CampaignClosed": "campaign_closed",
    }
    # Every path that fails a pledge closes its payable first: a retried payment could take money.
    for refunding in ("CampaignInvalid", "PaymentFailed", "PaymentTimedOut", "CampaignClosed"):
        assert STATES[refunding]["Next"] == "CompensatePayment"
    assert STATES["CompensatePayment"]["Next"] == "FailPledge"
    assert STATES["AwaitPayment"]["TimeoutSecondsPath"] == "$.paymentTimeoutSeconds"
    assert STATES["AwaitPayment"]["Resource"].endswith("lambda:invoke.waitForTaskToken")


def test_the_last_resort_compensates_before_it_reports_and_waits_out_provider_outages() -> None:
    before = STATES[LAST_RESORT_COMPENSATION]
    payload = before["Parameters"]["Payload"]
    assert (payload["task"], payload["reason"], before["Next"]) == (
        "payments.compensate-pledge",
        "saga_failed",
        LAST_RESORT,
    )
    assert before["Parameters"]["FunctionName"] == "${PaymentsFunctionArn}"
    for name in ("CompensatePayment", LAST_RESORT_COMPENSATION):
        outage = next(r for r in STATES[name]["Retry"] if r["ErrorEquals"] == ["ProviderUnavailable"])
        waited = sum(
            outage["IntervalSeconds"] * outage["BackoffRate"] ** n for n in range(outage["MaxAttempts"])
        )
        assert waited >= 3600, name  # an hour or more of provider outage is ridden out, not reported


def test_the_happy_path_stays_within_ten_state_transitions() -> None:
    path, name = [], MACHINE["StartAt"]
    while STATES[name]["Type"] != "Succeed":
        path.append(name)
        name = STATES[name]["Next"]
    assert path == HAPPY_PATH
    assert len(path) + 1 <= 10


def test_the_template_deploys_it_named_standard_logged_traced_and_alarmed() -> None:
    resources = template().resources
    props = resources["DonationSagaStateMachine"]["Properties"]
    assert props["Type"] == "STANDARD"
    assert props["Name"] == {"Fn::Sub": "harambee-${Stage}-donation-saga"}
    assert props["DefinitionUri"] == "infra/statemachines/donation_saga.asl.json"
    assert props["Tracing"] == {"Enabled": True}
    assert props["Logging"]["Level"] == "ERROR"
    used = set(re.findall(r"\$\{(\w+)\}", json.dumps(MACHINE)))
    assert used == set(props["DefinitionSubstitutions"])
    alarm = resources["DonationSagaFailedAlarm"]["Properties"]
    assert (alarm["MetricName"], alarm["Dimensions"][0]["Value"]) == (
        "ExecutionsFailed",
        {"Ref": "DonationSagaStateMachine"},
    )
    variables = resources["DonationsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["DONATION_SAGA_ARN"]["Fn::Sub"].endswith(":stateMachine:harambee-${Stage}-donation-saga")
    assert variables["PAYMENT_TIMEOUT_SECONDS"] == {"Ref": "DonationPaymentTimeoutSeconds"}
    assert template().parameters["DonationPaymentTimeoutSeconds"]["Default"] == 1800
