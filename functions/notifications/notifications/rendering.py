"""Jinja2 templates per message and locale; amounts and dates formatted for the recipient's locale.

`templates/<locale>/<message>.html` is the email's HTML body (autoescaped); `<message>.txt` holds the
blocks `subject`, `text` (the email's plain part), `sms`, `whatsapp`, `push_title` and `push`.
Jinja2 and Babel load on the first render, never on an HTTP cold start.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harambee.money import Money
from notifications.domain.catalog import Channel, supported_locale

if TYPE_CHECKING:
    from jinja2 import Environment, Template

TEMPLATES = Path(__file__).parent / "templates"
# SMS segments are 160 GSM characters; two segments keep a message readable and cheap.
SMS_MAX_CHARACTERS = 320
PUSH_MAX_CHARACTERS = 178


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None = None


def _babel_locale(locale: str) -> str:
    """Babel's name for a BCP 47 tag (`fr-SN` is `fr_SN`); an unknown region falls back to its language."""
    from babel import Locale, UnknownLocaleError

    tag = locale.replace("-", "_")
    try:
        return str(Locale.parse(tag))
    except (UnknownLocaleError, ValueError):
        return supported_locale(locale)


def format_money(money: Money, locale: str) -> str:
    """`Money(150000, "BDT")` in `fr` is "1 500,00 BDT"; XOF keeps no decimals (its exponent is 0)."""
    from babel.numbers import format_currency

    return str(
        format_currency(money.to_major(), money.currency, locale=_babel_locale(locale), currency_digits=True)
    )


def format_day(value: date | datetime | str | None, locale: str) -> str:
    from babel.dates import format_date

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = (
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            if "T" in value
            else date.fromisoformat(value)
        )
    day = value.date() if isinstance(value, datetime) else value
    return str(format_date(day, format="long", locale=_babel_locale(locale)))


@functools.cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @pass_context
    def money(context: Any, value: Money) -> str:
        return format_money(value, context["locale"])

    @pass_context
    def day(context: Any, value: Any) -> str:
        return format_day(value, context["locale"])

    environment.filters["money"] = money
    environment.filters["day"] = day
    return environment


def _template(locale: str, message: str, extension: str) -> Template:
    return _environment().get_template(f"{locale}/{message}.{extension}")


def _block(template: Template, name: str, variables: dict[str, Any]) -> str:
    context = template.new_context(variables)
    return "".join(template.blocks[name](context)).strip()


def _shorten(text: str, limit: int) -> str:
    # Only ordinary whitespace: the no-break spaces inside formatted amounts must stay.
    collapsed = re.sub(r"[ \t\r\n]+", " ", text).strip()
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"


def render(message: str, channel: Channel, locale: str | None, variables: dict[str, Any]) -> Rendered:
    """The message for one channel in the recipient's language (English when we lack theirs)."""
    language = supported_locale(locale)
    full = {**variables, "locale": locale or language, "language": language}
    text_template = _template(language, message, "txt")
    match channel:
        case Channel.EMAIL:
            html = _template(language, message, "html").render(full)
            subject = _shorten(_block(text_template, "subject", full), 200)
            return Rendered(subject=subject, text=_block(text_template, "text", full), html=html)
        case Channel.SMS:
            return Rendered(
                subject=None, text=_shorten(_block(text_template, "sms", full), SMS_MAX_CHARACTERS)
            )
        case Channel.WHATSAPP:
            return Rendered(subject=None, text=_block(text_template, "whatsapp", full))
        case Channel.PUSH:
            title = _shorten(_block(text_template, "push_title", full), 65)
            return Rendered(
                subject=title, text=_shorten(_block(text_template, "push", full), PUSH_MAX_CHARACTERS)
            )
