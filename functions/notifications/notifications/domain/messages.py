"""What each consumed event says, to whom: pure functions from an event's data to intended messages.

Recipients are users (looked up in this context's directory) or, for anonymous donors, the address
the event carries. Secrets (reset and verification links) stay sealed here; the service opens them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harambee.events import DomainEvent, InvalidEvent
from harambee.money import InvalidAmount, Money
from notifications.domain.catalog import MESSAGES, Channel, MessageKind


@dataclass(frozen=True)
class RecipientRef:
    """Who a message is for: a user id, else an address (anonymous donors), with what the event knows."""

    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    locale: str | None = None

    @property
    def key(self) -> str:
        if self.user_id:
            return f"user:{self.user_id}"
        if self.email:
            # Hashed: the key ends up in item keys and logs, the address must not.
            return "email:" + hashlib.sha256(self.email.strip().lower().encode()).hexdigest()[:32]
        raise InvalidEvent("A message needs a user id or an email address")


@dataclass(frozen=True)
class Intent:
    """One message to one recipient; `sealed` holds variables to unseal before rendering."""

    kind: MessageKind
    recipient: RecipientRef
    variables: dict[str, Any] = field(default_factory=dict)
    sealed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return self.kind.template


def delivery_id(event_id: str, recipient_key: str, channel: Channel, template: str) -> str:
    """Deterministic per (event, recipient, channel, template): a redelivered event finds its deliveries."""
    digest = hashlib.sha256(f"{event_id}|{recipient_key}|{channel}|{template}".encode()).hexdigest()
    return digest[:32]


def _require(data: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if data.get(name) in (None, "")]
    if missing:
        raise InvalidEvent(f"Event data lacks {', '.join(missing)}", details={"missing": missing})


def _money(data: dict[str, Any], amount_field: str, *, absent: int | None = None) -> Money:
    """`data[amount_field]` in `data["currency"]`; a null or missing amount is `absent` when one is given."""
    amount = data.get(amount_field)
    try:
        return Money.model_validate(
            {"amount": absent if amount is None else amount, "currency": data.get("currency")}
        )
    except (ValueError, InvalidAmount) as error:
        raise InvalidEvent(f"{amount_field} is not an amount in minor units", details=str(error)) from error


def _goal(data: dict[str, Any]) -> Money | None:
    """The campaign's goal, or None: birthday pots (and any pot opened without one) have no goal."""
    return None if data.get("goalAmount") is None else _money(data, "goalAmount")


def _account(data: dict[str, Any]) -> RecipientRef:
    _require(data, "userId")
    return RecipientRef(user_id=data["userId"], email=data.get("email"), name=data.get("name"))


def _welcome(data: dict[str, Any]) -> list[Intent]:
    return [Intent(MESSAGES["welcome"], _account(data))]


def _verify_email(data: dict[str, Any]) -> list[Intent]:
    _require(data, "verificationUrl")
    sealed = {"link": data["verificationUrl"]}
    return [Intent(MESSAGES["verify_email"], _account(data), {"expiresAt": data.get("expiresAt")}, sealed)]


def _reset_password(data: dict[str, Any]) -> list[Intent]:
    _require(data, "resetUrl")
    sealed = {"link": data["resetUrl"]}
    return [Intent(MESSAGES["reset_password"], _account(data), {"expiresAt": data.get("expiresAt")}, sealed)]


def _donor(data: dict[str, Any]) -> RecipientRef:
    if not data.get("donorId") and not data.get("donorEmail"):
        raise InvalidEvent(
            "A pledge needs a donorId or a donorEmail", details={"pledgeId": data.get("pledgeId")}
        )
    return RecipientRef(
        user_id=data.get("donorId") or None,
        email=data.get("donorEmail") or None,
        name=data.get("donorName") or None,
        locale=data.get("locale") or None,
    )


def _pledge_variables(data: dict[str, Any]) -> dict[str, Any]:
    _require(data, "pledgeId", "campaignId")
    return {
        "pledgeId": data["pledgeId"],
        "campaignId": data["campaignId"],
        "campaignTitle": data.get("campaignTitle"),
        "amount": _money(data, "amount"),
        "message": data.get("message"),
    }


def _pledge_created(data: dict[str, Any]) -> list[Intent]:
    return [Intent(MESSAGES["pledge_created"], _donor(data), _pledge_variables(data))]


def _pledge_completed(data: dict[str, Any]) -> list[Intent]:
    _require(data, "campaignOwnerId", "paymentId")
    variables = {
        **_pledge_variables(data),
        "paymentId": data["paymentId"],
        "completedAt": data.get("completedAt"),
    }
    hidden = bool(data.get("isAnonymous")) or not data.get("donorName")
    notice = {**variables, "donorName": None if hidden else data["donorName"]}
    return [
        Intent(MESSAGES["receipt"], _donor(data), variables),
        Intent(MESSAGES["new_donation"], RecipientRef(user_id=data["campaignOwnerId"]), notice),
    ]


def _pledge_failed(data: dict[str, Any]) -> list[Intent]:
    variables = {**_pledge_variables(data), "reason": data.get("reason")}
    return [Intent(MESSAGES["pledge_failed"], _donor(data), variables)]


def _refund(data: dict[str, Any]) -> list[Intent]:
    _require(data, "paymentId")
    variables = {
        **_pledge_variables(data),
        "paymentId": data["paymentId"],
        "refund": _money(data, "refundAmount"),
        "refunded": _money(data, "refundedAmount"),
        "fullyRefunded": bool(data.get("fullyRefunded")),
        "refundedAt": data.get("refundedAt"),
    }
    return [Intent(MESSAGES["refund"], _donor(data), variables)]


def _owner(data: dict[str, Any]) -> RecipientRef:
    _require(data, "ownerId", "campaignId")
    return RecipientRef(user_id=data["ownerId"])


def _goal_reached(data: dict[str, Any]) -> list[Intent]:
    variables = {
        "campaignId": data.get("campaignId"),
        "campaignTitle": data.get("title"),
        "goal": _goal(data),
        "raised": _money(data, "raisedAmount"),
        "donorCount": int(data.get("donorCount") or 0),
    }
    return [Intent(MESSAGES["goal_reached"], _owner(data), variables)]


def _final_report(data: dict[str, Any]) -> list[Intent]:
    variables = {
        "campaignId": data.get("campaignId"),
        "campaignTitle": data.get("title"),
        "goal": _goal(data),
        # A pot nobody gave to may have no totals yet: it raised nothing, in its own currency.
        "raised": _money(data, "raisedAmount", absent=0),
        "donorCount": int(data.get("donorCount") or 0),
    }
    return [Intent(MESSAGES["final_report"], _owner(data), variables)]


def _pot_created(data: dict[str, Any]) -> list[Intent]:
    if data.get("type") != "birthday":
        return []
    variables = {
        "campaignId": data.get("campaignId"),
        "campaignTitle": data.get("title"),
        "goal": _goal(data),
        "endDate": data.get("endDate"),
        "autoCreated": bool(data.get("autoCreated")),
    }
    return [Intent(MESSAGES["pot_created"], _owner(data), variables)]


def _pot_closing(data: dict[str, Any]) -> list[Intent]:
    variables = {
        "campaignId": data.get("campaignId"),
        "campaignTitle": data.get("title"),
        "raised": _money(data, "raisedAmount", absent=0),
        "endDate": data.get("endDate"),
        "daysLeft": int(data.get("daysLeft") or 0),
    }
    return [Intent(MESSAGES["pot_closing"], _owner(data), variables)]


INTENTS: dict[str, Callable[[dict[str, Any]], list[Intent]]] = {
    "account.registered": _welcome,
    "account.verification_requested": _verify_email,
    "account.password_reset_requested": _reset_password,
    "pledge.created": _pledge_created,
    "pledge.completed": _pledge_completed,
    "pledge.failed": _pledge_failed,
    "pledge.refunded": _refund,
    "campaign.goal_reached": _goal_reached,
    "campaign.expired": _final_report,
    "campaign.created": _pot_created,
    "pot.closing_soon": _pot_closing,
}


def intents_of(event: DomainEvent) -> list[Intent]:
    """The messages `event` asks for (none for an event that needs no message, e.g. a medical campaign)."""
    build = INTENTS.get(event.event_type)
    if build is None:
        return []
    return build(dict(event.data))
