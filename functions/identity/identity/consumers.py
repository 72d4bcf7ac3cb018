"""Identity's inbox: `account.deleted` (from profiles) erases the account and its sign-in claims."""

from __future__ import annotations

from harambee.consumer import EventConsumer, exactly_once
from harambee.events import DomainEvent
from identity import repository
from identity.repository import AccountRecord, ClaimRecord

CONSUMER = "identity"


def erase_account(event: DomainEvent) -> None:
    """Remove credentials and claims so the address can register again; sessions die with the account."""
    user_id = str(event.data["userId"])
    account = repository.get_account(user_id)
    with exactly_once(event, CONSUMER) as tx:
        if account is None:
            return
        tx.delete(AccountRecord(pk=repository.account_pk(user_id), sk=repository.ACCOUNT_SK))
        tx.delete(ClaimRecord(pk=repository.email_claim_pk(str(account.email)), sk="EMAIL"))
        if account.google_subject:
            tx.delete(ClaimRecord(pk=repository.google_claim_pk(account.google_subject), sk="GOOGLE"))


consumer = EventConsumer(CONSUMER, {"account.deleted": erase_account})
