"""Which birthdays are celebrated on a day: 29 February birthdays fall on 28 February in other years."""

from __future__ import annotations

import calendar
from datetime import date

LEAP_DAY = "02-29"


def birthday_key(born: date) -> str:
    """The projection's key of a birthday (MM-DD)."""
    return born.strftime("%m-%d")


def celebrated_on(day: date) -> list[str]:
    """The birthday keys (MM-DD) celebrated on `day`."""
    keys = [day.strftime("%m-%d")]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        keys.append(LEAP_DAY)
    return keys
