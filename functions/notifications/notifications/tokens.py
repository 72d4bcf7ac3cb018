"""Unsubscribe tokens: PyJWT HS256 with a key from SSM, scoped to one user and one category, expiring.

The link works without login, so the token is the whole authority: it can only switch one category
off for one user, and only until it expires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harambee.errors import BadRequest
from harambee.parameters import ssm_parameter
from notifications.domain.catalog import Category
from notifications.settings import notifications_settings

AUDIENCE = "harambee-unsubscribe"
ISSUER = "harambee.notifications"


class InvalidUnsubscribeToken(BadRequest):
    code = "INVALID_UNSUBSCRIBE_TOKEN"


def _key() -> str:
    return str(ssm_parameter(notifications_settings().unsubscribe_key_parameter, decrypt=True))


def issue(user_id: str, category: Category, *, now: datetime | None = None) -> str:
    import jwt

    moment = now or datetime.now(UTC)
    claims = {
        "sub": user_id,
        "cat": category.value,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": int(moment.timestamp()),
        "exp": int((moment + timedelta(days=notifications_settings().unsubscribe_days)).timestamp()),
    }
    return jwt.encode(claims, _key(), algorithm="HS256")


def verify(token: str) -> tuple[str, Category]:
    """The user and category a token was issued for; forged, expired or malformed: 400."""
    import jwt

    try:
        claims = jwt.decode(
            token,
            _key(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "cat", "exp", "aud", "iss"]},
        )
        category = Category(claims["cat"])
    except jwt.ExpiredSignatureError as error:
        raise InvalidUnsubscribeToken("This unsubscribe link has expired") from error
    except (jwt.InvalidTokenError, ValueError) as error:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid") from error
    if category is Category.TRANSACTIONAL:
        raise InvalidUnsubscribeToken("This unsubscribe link is not valid")
    return str(claims["sub"]), category
