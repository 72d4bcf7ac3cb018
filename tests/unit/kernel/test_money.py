"""Money: minor units and the currency's own exponent; never floats; one currency at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from harambee.errors import Unprocessable
from harambee.money import CurrencyMismatch, InvalidAmount, Money, exponent

AMOUNTS = [0, 1, 7, 99, 100, 12_345, 1_000_000_007, -250]


@pytest.mark.parametrize(("currency", "digits"), [("BDT", 2), ("USD", 2), ("XOF", 0), ("JPY", 0), ("KWD", 3)])
def test_the_exponent_comes_from_iso_4217(currency: str, digits: int) -> None:
    assert exponent(currency) == digits
    assert Money.zero(currency).exponent == digits


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("12.50", "BDT", 1250),
        ("12.5", "USD", 1250),
        ("0.01", "USD", 1),
        ("1500", "XOF", 1500),
        ("7", "JPY", 7),
        (Decimal("1.234"), "KWD", 1234),
        ("-3.10", "usd", -310),
        (25, "XOF", 25),
    ],
)
def test_from_major_converts_to_minor_units(major: str | Decimal | int, currency: str, minor: int) -> None:
    money = Money.from_major(major, currency)
    assert (money.amount, money.currency) == (minor, currency.upper())


@pytest.mark.parametrize("amount", AMOUNTS)
@pytest.mark.parametrize("currency", ["BDT", "XOF", "USD", "JPY", "KWD"])
def test_to_major_and_back_is_the_identity(amount: int, currency: str) -> None:
    money = Money(amount=amount, currency=currency)
    assert Money.from_major(money.to_major(), currency) == money
    assert Money.from_major(str(money.to_major()), currency) == money


@pytest.mark.parametrize(
    ("major", "currency"),
    [("12.505", "BDT"), ("0.001", "USD"), ("10.5", "XOF"), ("1.0", "JPY"), ("12.000", "USD")],
)
def test_more_decimals_than_the_currency_allows_are_unprocessable(major: str, currency: str) -> None:
    with pytest.raises(InvalidAmount) as raised:
        Money.from_major(major, currency)
    assert isinstance(raised.value, Unprocessable)
    assert raised.value.status == 422


@pytest.mark.parametrize("major", [12.5, 0.1, float("nan"), True])
def test_floats_are_never_accepted(major: object) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_major(major, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Money(amount=major, currency="USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("major", ["", "twelve", "NaN", "Infinity", "1e", "1,50"])
def test_what_is_not_a_number_is_refused(major: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_major(major, "USD")


@pytest.mark.parametrize("currency", ["ABC", "XAU", "usdollar", ""])
def test_unknown_and_non_money_codes_are_refused(currency: str) -> None:
    with pytest.raises((InvalidAmount, ValidationError)):
        Money(amount=100, currency=currency)


@pytest.mark.parametrize("left", AMOUNTS)
@pytest.mark.parametrize("right", [0, 1, 250, -99])
def test_arithmetic_and_order_follow_the_integers(left: int, right: int) -> None:
    a, b = Money(amount=left, currency="BDT"), Money(amount=right, currency="BDT")
    assert (a + b).amount == left + right
    assert (a - b).amount == left - right
    assert (a + b) - b == a
    assert (a < b, a <= b, a > b, a >= b) == (left < right, left <= right, left > right, left >= right)


def test_currencies_never_mix() -> None:
    taka, dollars = Money(amount=100, currency="BDT"), Money(amount=100, currency="USD")
    for combine in (lambda: taka + dollars, lambda: taka - dollars, lambda: taka < dollars):
        with pytest.raises(CurrencyMismatch):
            combine()
    assert taka != dollars


def test_money_reads_from_json_without_floats() -> None:
    assert Money.model_validate_json('{"amount": 150000, "currency": "BDT"}') == Money(
        amount=150000, currency="BDT"
    )
    with pytest.raises(ValidationError):
        Money.model_validate_json('{"amount": 1500.5, "currency": "BDT"}')
    assert str(Money(amount=150000, currency="BDT")) == "1500.00 BDT"


@pytest.mark.parametrize("major", ["1E+1000000", "1E+16", "9" * 17, "1e40"])
def test_absurd_amounts_are_refused_not_crashed_on(major: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_major(major, "USD")


def test_payments_need_a_positive_amount() -> None:
    assert Money.from_major("0.01", "USD").require_positive().amount == 1
    for major in ("0", "-5.00"):
        with pytest.raises(InvalidAmount):
            Money.from_major(major, "USD").require_positive()
