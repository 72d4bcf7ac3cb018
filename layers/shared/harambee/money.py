"""Money: an integer amount in the currency's minor units and an ISO 4217 code. Never floats.

The currency's own exponent (from the `iso4217` package, never a hand table) decides how many
decimals a major amount may have: BDT and USD 2, XOF and JPY 0.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harambee.errors import Unprocessable

# 10^15 major units is beyond any real payment and far inside DynamoDB's 38 significant digits.
MAX_MAJOR_DIGITS = 15


class InvalidAmount(Unprocessable):
    code = "INVALID_AMOUNT"


class CurrencyMismatch(Unprocessable):
    code = "CURRENCY_MISMATCH"


@functools.cache
def exponent(currency: str) -> int:
    """Minor-unit digits of an ISO 4217 currency; unknown codes and non-money codes (XAU) are refused."""
    # iso4217 parses its table on import (~60 ms): only paths that handle money pay for it.
    from iso4217 import Currency

    try:
        digits = Currency(currency).exponent
    except ValueError as error:
        raise InvalidAmount(
            f"{currency!r} is not an ISO 4217 currency code", details={"currency": currency}
        ) from error
    if digits is None:
        raise InvalidAmount(f"{currency} has no minor unit and is not money", details={"currency": currency})
    return int(digits)


class Money(BaseModel):
    """An amount in minor units (cents, poisha) with its currency; arithmetic only within one currency."""

    model_config = ConfigDict(frozen=True, strict=True)

    amount: int = Field(description="Amount in the currency's minor units")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. BDT, XOF, USD")

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.upper()
            exponent(value)
        return value

    @field_validator("amount", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        if isinstance(value, float | bool):
            raise ValueError("amount must be an integer number of minor units, never a float")
        return value

    @property
    def exponent(self) -> int:
        return exponent(self.currency)

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Self:
        """`Money.from_major("12.50", "USD")` is 1250 cents; more decimals than the currency has: refused."""
        if isinstance(amount, float | bool) or not isinstance(amount, Decimal | str | int):
            raise InvalidAmount(
                "Give amounts as Decimal or string, never float", details={"amount": repr(amount)}
            )
        code = currency.upper()
        digits = exponent(code)
        try:
            major = Decimal(amount.strip() if isinstance(amount, str) else amount)
            if not major.is_finite():
                raise InvalidAmount("Amount must be a finite number", details={"amount": str(amount)})
            # Bounded before scaling: "1E+1000000" must not become a million-digit integer.
            if major.adjusted() > MAX_MAJOR_DIGITS:
                raise InvalidAmount("Amount is too large", details={"amount": str(amount)})
        except ArithmeticError as error:
            raise InvalidAmount(f"{amount!r} is not a number", details={"amount": str(amount)}) from error
        # Decimals are counted as written: "12.000" USD is refused like "12.005"; it is a client bug.
        written_exponent = major.as_tuple().exponent
        if isinstance(written_exponent, int) and -written_exponent > digits:
            raise InvalidAmount(
                f"{code} allows at most {digits} decimal place(s)",
                details={"amount": str(amount), "currency": code, "decimals": digits},
            )
        return cls(amount=int(major.scaleb(digits)), currency=code)

    def require_positive(self) -> Self:
        """This amount, or InvalidAmount when it is zero or negative (what a payment or pledge needs)."""
        if self.amount <= 0:
            raise InvalidAmount("Amount must be greater than zero", details={"amount": self.amount})
        return self

    def to_major(self) -> Decimal:
        """The amount in major units, with exactly the currency's decimals (Decimal('12.50'))."""
        return Decimal(self.amount).scaleb(-self.exponent)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(amount=0, currency=currency)

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}",
                details={"currencies": [self.currency, other.currency]},
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency}"
