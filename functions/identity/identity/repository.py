"""Identity's storage in IdentityTable (pynamodb). No route reads another context's table.

Access patterns (pk / sk; gsi1pk / gsi1sk):
  account by id                 ACCOUNT#<userId> / ACCOUNT
  account id by email           EMAIL#<email> / EMAIL           (the unique claim on an address)
  account id by Google subject  GOOGLE#<sub> / GOOGLE           (the unique claim on a Google identity)
  accounts by status (admin)    gsi1: ACCOUNTS#<status> / <ROLE>#<createdAt>#<userId>
                                (role filter: begins_with on the sort key; no status: each status in turn)
  refresh token by hash         REFRESH#<sha256> / REFRESH      (state active | rotated)
  refresh token family          FAMILY#<familyId> / FAMILY      (revoked as a whole on reuse or logout)
  one-time token by hash        VERIFY#<sha256> / VERIFY, RESET#<sha256> / RESET
  login attempts                THROTTLE#LOGIN#ACCOUNT#<email> / THROTTLE, THROTTLE#LOGIN#IP#<ip> / THROTTLE
                                (attempts, windowStartedAt, lastAttemptAt: epoch seconds; boto3, atomic ADD)
  OpenID Connect state          OIDC#<state> / OIDC
Every short-lived item carries `ttl` (epoch seconds) so DynamoDB removes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from harambee import aws
from harambee.auth import Role
from harambee.pagination import InvalidCursor
from harambee.settings import TableMeta, platform_settings
from identity.domain.accounts import Account, AccountStatus
from identity.domain.login_throttle import WINDOW, FailureRecord


class AccountsByStatus(GlobalSecondaryIndex["AccountRecord"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class AccountRecord(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="ACCOUNT")
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    user_id = UnicodeAttribute(attr_name="userId")
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute()
    email_verified = BooleanAttribute(attr_name="emailVerified", default=False)
    name = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(attr_name="passwordHash", null=True)
    google_subject = UnicodeAttribute(attr_name="googleSubject", null=True)
    sessions_valid_after = UTCDateTimeAttribute(attr_name="sessionsValidAfter", null=True)
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    updated_at = UTCDateTimeAttribute(attr_name="updatedAt")

    by_status = AccountsByStatus()


class ClaimRecord(Model):
    """A unique claim (an email address, a Google subject) pointing at the account that holds it."""

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(attr_name="userId")


class RefreshTokenRecord(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="REFRESH")
    user_id = UnicodeAttribute(attr_name="userId")
    family_id = UnicodeAttribute(attr_name="familyId")
    state = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute(attr_name="expiresAt")
    ttl = NumberAttribute()


class TokenFamilyRecord(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="FAMILY")
    user_id = UnicodeAttribute(attr_name="userId")
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    revoked_reason = UnicodeAttribute(attr_name="revokedReason", null=True)
    ttl = NumberAttribute()


class OneTimeTokenRecord(Model):
    """An email verification or password reset token, stored only as its SHA-256."""

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(attr_name="userId")
    expires_at = UTCDateTimeAttribute(attr_name="expiresAt")
    ttl = NumberAttribute()


class OidcStateRecord(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="OIDC")
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute(attr_name="codeVerifier")
    expires_at = UTCDateTimeAttribute(attr_name="expiresAt")
    ttl = NumberAttribute()


# ------------------------------------------------------------------ accounts

ACCOUNT_SK = "ACCOUNT"


def account_pk(user_id: str) -> str:
    return f"ACCOUNT#{user_id}"


def email_claim_pk(email: str) -> str:
    return f"EMAIL#{email}"


def google_claim_pk(subject: str) -> str:
    return f"GOOGLE#{subject}"


def status_partition(status: str) -> str:
    return f"ACCOUNTS#{status}"


def to_record(account: Account) -> AccountRecord:
    return AccountRecord(
        pk=account_pk(account.user_id),
        sk=ACCOUNT_SK,
        gsi1pk=status_partition(account.status),
        gsi1sk=f"{account.role}#{account.created_at.isoformat()}#{account.user_id}",
        user_id=account.user_id,
        email=str(account.email),
        role=str(account.role),
        status=str(account.status),
        email_verified=account.email_verified,
        name=account.name,
        password_hash=account.password_hash,
        google_subject=account.google_subject,
        sessions_valid_after=account.sessions_valid_after,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def to_account(record: AccountRecord) -> Account:
    return Account(
        user_id=record.user_id,
        email=record.email,
        role=Role(record.role),
        status=AccountStatus(record.status),
        email_verified=bool(record.email_verified),
        name=record.name,
        password_hash=record.password_hash,
        google_subject=record.google_subject,
        sessions_valid_after=record.sessions_valid_after,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def get_account(user_id: str) -> Account | None:
    try:
        return to_account(AccountRecord.get(account_pk(user_id), ACCOUNT_SK, consistent_read=True))
    except AccountRecord.DoesNotExist:
        return None


def account_id_for_claim(claim_pk: str, claim_sk: str) -> str | None:
    try:
        return ClaimRecord.get(claim_pk, claim_sk, consistent_read=True).user_id
    except ClaimRecord.DoesNotExist:
        return None


def account_by_email(email: str) -> Account | None:
    user_id = account_id_for_claim(email_claim_pk(email), "EMAIL")
    return get_account(user_id) if user_id else None


def account_by_google_subject(subject: str) -> Account | None:
    user_id = account_id_for_claim(google_claim_pk(subject), "GOOGLE")
    return get_account(user_id) if user_id else None


# ------------------------------------------------------------------ login failures


def throttle_pk(kind: str, subject: str) -> str:
    return f"THROTTLE#LOGIN#{kind}#{subject}"


def _throttle_key(pk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": "THROTTLE"}}


def count_attempt(pk: str, now: datetime) -> FailureRecord:
    """Count one sign-in attempt atomically; returns what was counted before it.

    Counting before the password is checked means parallel guesses each see the ones before them:
    no burst slips through between a check and its write.
    """
    from botocore.exceptions import ClientError

    client, table = aws.dynamodb(), platform_settings().table_name
    stamp, cutoff = now.timestamp(), (now - WINDOW).timestamp()
    for _ in range(3):
        try:
            before = client.update_item(
                TableName=table,
                Key=_throttle_key(pk),
                UpdateExpression="ADD attempts :one SET lastAttemptAt = :now",
                ConditionExpression="windowStartedAt > :cutoff",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":now": {"N": str(stamp)},
                    ":cutoff": {"N": str(cutoff)},
                },
                ReturnValues="ALL_OLD",
            ).get("Attributes")
            if not before:
                return FailureRecord(failures=0, last_failure_at=None, window_started_at=now)
            return FailureRecord(
                failures=int(before["attempts"]["N"]),
                last_failure_at=datetime.fromtimestamp(float(before["lastAttemptAt"]["N"]), tz=UTC),
                window_started_at=datetime.fromtimestamp(float(before["windowStartedAt"]["N"]), tz=UTC),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        # No window, or an old one: open a new window, unless a concurrent attempt just did.
        try:
            client.put_item(
                TableName=table,
                Item={
                    **_throttle_key(pk),
                    "attempts": {"N": "1"},
                    "windowStartedAt": {"N": str(stamp)},
                    "lastAttemptAt": {"N": str(stamp)},
                    "ttl": {"N": str(int(stamp + (WINDOW + timedelta(minutes=5)).total_seconds()))},
                },
                ConditionExpression="attribute_not_exists(pk) OR windowStartedAt <= :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
            )
            return FailureRecord(failures=0, last_failure_at=None, window_started_at=now)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
    raise RuntimeError(f"Could not count a sign-in attempt for {pk}")


def release_attempt(pk: str, *, clear: bool) -> None:
    """A successful sign-in: forget the account's count (clear), or give the IP its attempt back."""
    client, table = aws.dynamodb(), platform_settings().table_name
    if clear:
        client.delete_item(TableName=table, Key=_throttle_key(pk))
    else:
        _decrement(client, table, pk)


def _decrement(client: Any, table: str, pk: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.update_item(
            TableName=table,
            Key=_throttle_key(pk),
            UpdateExpression="ADD attempts :minus_one",
            ConditionExpression="attempts > :zero",
            ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


# ------------------------------------------------------------------ one-time tokens


def one_time_token(kind: str, token_hash: str, user_id: str, expires_at: datetime) -> OneTimeTokenRecord:
    return OneTimeTokenRecord(
        pk=f"{kind}#{token_hash}",
        sk=kind,
        user_id=user_id,
        expires_at=expires_at,
        ttl=int(expires_at.timestamp()),
    )


def find_one_time_token(kind: str, token_hash: str) -> OneTimeTokenRecord | None:
    try:
        return OneTimeTokenRecord.get(f"{kind}#{token_hash}", kind, consistent_read=True)
    except OneTimeTokenRecord.DoesNotExist:
        return None


# ------------------------------------------------------------------ admin listing

STATUS_ORDER = ("active", "suspended")


def list_accounts(
    *, status: str | None, role: str | None, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Account], dict[str, Any] | None]:
    """A page of accounts by status (then role), newest first; with no status, each status in turn.

    The resume key is DynamoDB's LastEvaluatedKey, or just {"gsi1pk"} for "the start of that status".
    """
    statuses = [status] if status else list(STATUS_ORDER)
    position, last_key = 0, None
    if start_key is not None:
        resumed = str(start_key.get("gsi1pk", {}).get("S", "")).removeprefix("ACCOUNTS#")
        if resumed not in statuses:
            raise InvalidCursor("The `next` cursor belongs to another list")
        position = statuses.index(resumed)
        last_key = start_key if "pk" in start_key else None
    accounts: list[Account] = []
    for current in statuses[position:]:
        # Where to resume if the page fills up here: this status's start, or the last account kept.
        kept_key: dict[str, Any] = last_key or {"gsi1pk": {"S": status_partition(current)}}
        condition = AccountsByStatus.gsi1sk.startswith(f"{role}#") if role else None
        results = AccountRecord.by_status.query(
            status_partition(current),
            condition,
            scan_index_forward=False,
            limit=limit - len(accounts) + 1,
            page_size=limit - len(accounts) + 1,
            last_evaluated_key=last_key,
        )
        for record in results:
            if len(accounts) == limit:
                return accounts, kept_key
            accounts.append(to_account(record))
            kept_key = results.last_evaluated_key or kept_key
        last_key = None
    return accounts, None
