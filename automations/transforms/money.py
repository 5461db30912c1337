"""Reading amounts of money (and other typed numbers) strictly, in one place. Pure.

Every amount a person types (the Expense claims tab, a People earnings limit, the
expense claim form) is read here, so ``£12,50`` can never become £1,250.00 and ``1e3``
can never become £1,000.00. What is accepted: pounds and pence such as ``12.50``,
``£12.50``, ``12.5``, ``12`` and ``1,250.00``, where a comma may only separate
thousands in groups of three. Anything else is refused with a reason in plain words
that never repeats what was typed, so it is safe to show and log next to the tab, row
and column (or the form and expense) it came from.

Numbers that are not money (hours, miles, scores) use the same grammar through
:func:`parse_number`: no exponents, no ``NaN`` or ``Infinity``, no decimal comma.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

PENNY = Decimal("0.01")

__all__ = ["PENNY", "NumberError", "format_money", "parse_money", "parse_number"]

_NUMBER = re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?", re.ASCII)
_SPECIAL = re.compile(r"s?nan\d*|inf(inity)?", re.IGNORECASE)

MONEY_HINT = "use pounds and pence, like 12.50"
COMMA = f"{MONEY_HINT}; a comma can only separate thousands, like 1,250.00"
EXPONENT = f"{MONEY_HINT}, without an 'e' in the number"
NOT_A_NUMBER = f"this is not an amount; {MONEY_HINT}"
TOO_MANY_PLACES = f"{MONEY_HINT}: an amount has at most two figures after the point (pence)"
NEGATIVE = "the amount cannot be below £0.00"
NUMBER_HINT = "use a number, like 2.5"


class NumberError(ValueError):
    """A value that is not the number asked for. ``str()`` is the reason; never the value."""


def _text_of(value: object) -> str:
    """The text of a cell value; a float is written exactly as it shows (12.5, not 12.50001)."""
    if isinstance(value, bool):
        raise NumberError("this is a yes/no value, not a number")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise NumberError("not-a-number")
        # repr is the shortest text that reads back as the same float: 12.5 stays 12.5
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NumberError("not-a-number")
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return str(value)


def _parse(value: object, *, places: int | None, negative: bool, currency: bool) -> Decimal:
    """The shared grammar. Raises :class:`NumberError` with a short code-like reason."""
    s = _text_of(value).strip()
    sign = ""
    if s[:1] in "-−":
        sign, s = "-", s[1:].lstrip()
    if currency and s[:1] == "£":
        s = s[1:].lstrip()
        if not sign and s[:1] in "-−":
            sign, s = "-", s[1:].lstrip()
    if not sign and s[:1] == "+":
        s = s[1:]
    m = _NUMBER.fullmatch(s)
    if m is None:
        if _SPECIAL.fullmatch(s):
            raise NumberError("not-a-number")
        if re.fullmatch(r"[\d.,]*\d[eE][+-]?\d+", s, re.ASCII):
            raise NumberError("exponent")
        if "," in s and re.fullmatch(r"[\d.,]+", s, re.ASCII):
            raise NumberError("comma")
        raise NumberError("text")
    if m["frac"] is not None and places is not None and len(m["frac"]) > places:
        raise NumberError("places")
    try:
        d = Decimal(sign + m["int"].replace(",", "") + ("." + m["frac"] if m["frac"] else ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits digits
        raise NumberError("text") from None
    if d < 0 and not negative:
        raise NumberError("negative")
    return abs(d) if d == 0 else d


_MONEY_REASONS = {
    "comma": COMMA,
    "exponent": EXPONENT,
    "not-a-number": NOT_A_NUMBER,
    "places": TOO_MANY_PLACES,
    "negative": NEGATIVE,
    "text": MONEY_HINT,
}
_NUMBER_REASONS = {
    "comma": f"{NUMBER_HINT}; a comma can only separate thousands, like 1,250",
    "exponent": f"{NUMBER_HINT}, without an 'e' in it",
    "not-a-number": f"this is not a number; {NUMBER_HINT}",
    "negative": "the number cannot be below 0",
    "text": NUMBER_HINT,
}


def parse_money(value: object, *, negative: bool = False) -> Decimal:
    """Pounds and pence as a Decimal to the penny (``12.5`` gives ``12.50``).

    Raises :class:`NumberError` whose message is a plain reason (never the value).
    ``negative`` allows a minus sign, for amounts a job wrote (reversals); where a
    person types an amount it stays refused.
    """
    try:
        d = _parse(value, places=2, negative=negative, currency=True)
    except NumberError as exc:
        raise NumberError(_MONEY_REASONS.get(str(exc), MONEY_HINT)) from None
    return d.quantize(PENNY)


def parse_number(
    value: object, *, places: int | None = None, negative: bool = True, currency: bool = False
) -> Decimal:
    """A plain number (hours, miles, scores) with the money grammar: no exponent, NaN or
    decimal comma. ``places`` limits the figures after the point; ``currency`` allows £."""
    try:
        return _parse(value, places=places, negative=negative, currency=currency)
    except NumberError as exc:
        code = str(exc)
        if code == "places":
            raise NumberError(
                f"{NUMBER_HINT}, with at most {places} figure(s) after the point"
            ) from None
        raise NumberError(_NUMBER_REASONS.get(code, NUMBER_HINT)) from None


def format_money(d: Decimal, *, pound: bool = False, thousands: bool = False) -> str:
    """An amount in one of the forms :func:`parse_money` reads: 1250.00, £1,250.00."""
    body = f"{abs(d):,.2f}" if thousands else f"{abs(d):.2f}"
    return f"{'-' if d < 0 else ''}{'£' if pound else ''}{body}"
