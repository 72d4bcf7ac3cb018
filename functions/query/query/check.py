"""`{"task": "query.check-totals", "campaignId"?: str}`: compare the totals with the donations ledger.

The donations context owns the pledges; its task `donations.completed-sums` answers, per campaign,
the net amount and count of completed pledges. Any campaign whose raised amount, donation count or
currency differs here is a mismatch: logged, counted as a metric and returned, so an operator can
run `query.rebuild` (and, if it persists, look for a stuck message in the query DLQ).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harambee import aws
from harambee.errors import DomainError
from harambee.observability import logger, metrics
from query import repository
from query.settings import query_settings

SUMS_TASK = "donations.completed-sums"


class LedgerUnavailable(DomainError):
    status = 502
    code = "LEDGER_UNAVAILABLE"


class CompletedSum(BaseModel):
    """One row of `donations.completed-sums`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    campaign_id: str = Field(alias="campaignId", min_length=1)
    currency: str = Field(min_length=3, max_length=3)
    amount: int
    count: int = Field(ge=0)


def completed_sums(campaign_id: str | None) -> list[CompletedSum]:
    """Ask the donations function (lambda:Invoke, synchronous) for the sums of completed pledges."""
    function = query_settings().donations_function_name
    if not function:
        raise LedgerUnavailable("DONATIONS_FUNCTION_NAME is not set")
    request: dict[str, Any] = {"task": SUMS_TASK}
    if campaign_id:
        request["campaignId"] = campaign_id
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps(request).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise LedgerUnavailable("donations.completed-sums failed", details=payload)
    try:
        return [CompletedSum.model_validate(row) for row in payload]
    except (TypeError, ValidationError) as error:
        raise LedgerUnavailable(
            "donations.completed-sums answered something else", details=str(error)
        ) from error


def _projected_campaigns() -> set[str]:
    """Campaigns the read models hold figures for (operator task: a filtered scan is acceptable)."""
    return {
        item["pk"]["S"].removeprefix("CAMPAIGN#")
        for item in repository.scan_all()
        if item["pk"]["S"].startswith("CAMPAIGN#") and item["sk"]["S"].startswith("SHARD#")
    }


def compare(sums: list[CompletedSum], campaign_ids: set[str]) -> list[dict[str, Any]]:
    """Every campaign in `sums` or `campaign_ids` whose totals disagree with the ledger."""
    expected = {row.campaign_id: row for row in sums}
    mismatches: list[dict[str, Any]] = []
    for campaign_id in sorted(set(expected) | campaign_ids):
        totals = repository.campaign_totals(campaign_id, consistent=True)
        row = expected.get(campaign_id)
        ledger = (row.amount, row.count) if row else (0, 0)
        projected = (totals.raised, totals.donations)
        currency_differs = row is not None and totals.currency is not None and totals.currency != row.currency
        if ledger != projected or currency_differs:
            mismatches.append(
                {
                    "campaignId": campaign_id,
                    "currency": row.currency if row else totals.currency,
                    "ledger": {"amount": ledger[0], "count": ledger[1]},
                    "totals": {"amount": projected[0], "count": projected[1], "currency": totals.currency},
                }
            )
    return mismatches


def run(event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.metrics import MetricUnit

    campaign_id = event.get("campaignId") or None
    sums = completed_sums(campaign_id)
    if campaign_id:
        sums = [row for row in sums if row.campaign_id == campaign_id]
    campaigns = {campaign_id} if campaign_id else _projected_campaigns()
    mismatches = compare(sums, campaigns)
    checked = len({row.campaign_id for row in sums} | campaigns)
    metrics.add_metric(name="TotalsMismatch", unit=MetricUnit.Count, value=len(mismatches))
    for mismatch in mismatches:
        logger.warning("Campaign totals disagree with the completed pledges", extra={"mismatch": mismatch})
    return {"checked": checked, "mismatched": len(mismatches), "mismatches": mismatches}
