"""The one strict money reader: what it accepts, what it refuses and why (never the value).

Property tests show every accepted form reads back to the same Decimal, and that a
decimal comma, an exponent or NaN/Infinity are always refused.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from automations.store.cells import CellError, parse_cell
from automations.transforms.money import (
    COMMA,
    EXPONENT,
    NOT_A_NUMBER,
    TOO_MANY_PLACES,
    NumberError,
    format_money,
    parse_money,
    parse_number,
)


@pytest.mark.parametrize(
    ("typed", "pounds"),
    [
        ("12.50", "12.50"),
        ("£12.50", "12.50"),
        ("12.5", "12.50"),
        ("12", "12.00"),
        ("1,250.00", "1250.00"),
        ("£1,250", "1250.00"),
        ("  £ 4.05  ", "4.05"),
        ("1,000,000.01", "1000000.01"),
        (12, "12.00"),
        (D("3.5"), "3.50"),
        (12.5, "12.50"),  # a number cell from a spreadsheet
        (0.1, "0.10"),
    ],
)
def test_pounds_and_pence_are_read(typed: object, pounds: str) -> None:
    got = parse_money(typed)
    assert got == D(pounds)
    assert str(got) == pounds  # to the penny, so 12.5 stays 12.50


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("£12,50", COMMA),
        ("12,50", COMMA),
        ("12,5", COMMA),
        ("1,25,000", COMMA),
        ("12,5000", COMMA),
        ("1e3", EXPONENT),
        ("1E+3", EXPONENT),
        ("£2.5e2", EXPONENT),
        ("NaN", NOT_A_NUMBER),
        ("sNaN", NOT_A_NUMBER),
        ("-sNaN", NOT_A_NUMBER),
        ("Infinity", NOT_A_NUMBER),
        ("-inf", NOT_A_NUMBER),
        (float("nan"), NOT_A_NUMBER),
        (D("NaN"), NOT_A_NUMBER),
        ("12.505", TOO_MANY_PLACES),
        (12.345, TOO_MANY_PLACES),
        ("twelve pounds", "use pounds and pence, like 12.50"),
        ("12.", "use pounds and pence, like 12.50"),
        ("١٢", "use pounds and pence, like 12.50"),  # digits from another script
        ("-4.00", "the amount cannot be below £0.00"),
    ],
)
def test_anything_else_is_refused_with_a_plain_reason(typed: object, reason: str) -> None:
    with pytest.raises(NumberError) as exc:
        parse_money(typed)
    assert str(exc.value) == reason  # a fixed sentence: never what was typed


def test_a_job_written_negative_amount_is_read_when_allowed() -> None:
    assert parse_money("-15.00", negative=True) == D("-15.00")
    assert parse_money("-£1,015.50", negative=True) == D("-1015.50")


def test_numbers_that_are_not_money_share_the_grammar() -> None:
    assert parse_number("2.25") == D("2.25")
    assert parse_number("1,200") == D(1200)
    for bad in ("1e2", "NaN", "sNaN", "Infinity", "2,5"):
        with pytest.raises(NumberError):
            parse_number(bad)
    with pytest.raises(NumberError, match="at most 2 figure"):
        parse_number("1.234", places=2)


@pytest.mark.parametrize("typed", ["£12,50", "1e3", "sNaN", "12.505", "Infinity"])
def test_a_money_cell_is_refused_and_a_decimal_cell_too(typed: str) -> None:
    with pytest.raises(CellError) as exc:
        parse_cell(typed, "money")
    assert typed not in str(exc.value)
    if typed != "12.505":  # hours or scores may have more figures after the point
        with pytest.raises(CellError):
            parse_cell(typed, "decimal")
    assert parse_cell("£1,250.5", "money") == D("1250.50")
    assert parse_cell(12.5, "money") == D("12.50")


# ------------------------------------------------------------------------ properties

amounts = st.decimals(
    min_value=D("-99999999.99"), max_value=D("99999999.99"), places=2, allow_nan=False
)


@given(amounts, st.booleans(), st.booleans(), st.sampled_from(["", " ", "  "]))
@example(D("1250.00"), True, True, "")
@example(D("-0.01"), True, False, " ")
def test_every_accepted_form_reads_back_to_the_same_decimal(
    d: D, pound: bool, thousands: bool, pad: str
) -> None:
    typed = pad + format_money(d, pound=pound, thousands=thousands) + pad
    assert parse_money(typed, negative=True) == d
    short = format(d.normalize(), "f")  # 12.5 and 12 as well as 12.50
    assert parse_money(short, negative=True) == d


@given(st.text(alphabet="0123456789.,£- e", max_size=14))
def test_whatever_is_accepted_reads_back_the_same(typed: str) -> None:
    try:
        d = parse_money(typed, negative=True)
    except NumberError:
        return
    assert d == d.quantize(D("0.01"))
    for pound in (False, True):
        for thousands in (False, True):
            again = format_money(d, pound=pound, thousands=thousands)
            assert parse_money(again, negative=True) == d


@given(
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from(["", "£", " £"]),
    st.text(alphabet="0123456789", min_size=1, max_size=2)
    | st.text(alphabet="0123456789", min_size=4, max_size=6),
)
def test_a_decimal_comma_is_always_refused(whole: int, pound: str, after: str) -> None:
    typed = f"{pound}{whole}" + "," + after
    with pytest.raises(NumberError, match="a comma can only separate thousands"):
        parse_money(typed)


@given(
    st.decimals(min_value=D(0), max_value=D(10**6), places=2, allow_nan=False),
    st.sampled_from(["e", "E"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(["", "£"]),
)
def test_an_exponent_is_always_refused(d: D, e: str, sign: str, power: int, pound: str) -> None:
    with pytest.raises(NumberError, match="without an 'e'"):
        parse_money(f"{pound}{d}{e}{sign}{power}")


@given(
    st.sampled_from(["nan", "NaN", "snan", "sNaN", "NAN", "inf", "Inf", "Infinity", "nan123"]),
    st.sampled_from(["", "-", "+", "£", "-£"]),
)
def test_nan_and_infinity_are_always_refused(word: str, sign: str) -> None:
    with pytest.raises(NumberError):
        parse_money(sign + word, negative=True)
    with pytest.raises(NumberError):
        parse_number(sign + word)
