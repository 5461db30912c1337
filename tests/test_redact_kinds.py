"""Issue 15: each kind of identifier that used to reach the panel, from invented examples."""

from __future__ import annotations

import datetime as dt

import pytest

from automations.transforms.scrub import Identity, Person, Scrubber

DOB = dt.date(1971, 3, 9)
FORM_VALUES = ("QQ123456C", "DN1 2AB", "07700 900123", "rose.kowalski@example.com")


def scrub(
    text: str,
    first: str = "Rose",
    last: str = "Kowalski",
    preferred: str = "",
    *,
    values: tuple[str, ...] = FORM_VALUES,
    dob: dt.date | None = DOB,
    address: str = "",
    referees: tuple[str, ...] = (),
    others: tuple[str, ...] = (),
) -> str:
    ident = Identity(
        Person(first, last, preferred),
        "Candidate A",
        referees=tuple(Person.from_full(r) for r in referees),
        others=tuple(Person.from_full(o) for o in others),
        address=address,
        date_of_birth=dob,
        values=values,
    )
    return Scrubber.build(ident).scrub(text).text


# ------------------------------------------------------------- form values, any layout


@pytest.mark.parametrize(
    "ni", ["QQ 123 456 C", "QQ12 34 56C", "qq 12 34 56 c", "Q Q 1 2 3 4 5 6 C", "QQ-123-456"]
)
def test_the_forms_ni_number_in_any_spacing(ni: str) -> None:
    assert scrub(f"My NI number is {ni} if needed.") == "My NI number is [NI number] if needed."


@pytest.mark.parametrize("pc", ["DN1  2AB", "DN12AB", "dn1 2ab", "DN1-2AB", "D N 1 2 A B"])
def test_the_forms_postcode_with_two_spaces_none_or_any(pc: str) -> None:
    assert scrub(f"I live near {pc} now.") == "I live near [postcode] now."


@pytest.mark.parametrize(
    "dob",
    [
        "ninth of March 1971",
        "the ninth of March 1971",
        "9th Mar '71",
        "March 9th, 1971",
        "09.03.71",
        "9 March nineteen seventy-one",
        "ninth of March nineteen seventy one",
        "09 03 1971",
        "March the ninth, 1971",
    ],
)
def test_the_forms_date_of_birth_in_words_ordinals_and_short_years(dob: str) -> None:
    out = scrub(f"Some facts: {dob} is when it all began.")
    assert out == "Some facts: [date of birth] is when it all began."


def test_a_date_after_born_is_taken_even_when_not_the_forms() -> None:
    assert scrub("I was born on the twenty-first of June 1980.", dob=None) == (
        "I was born on [date of birth]."
    )
    assert scrub("I was born in nineteen eighty.", dob=None) == "I was born in [date of birth]."


def test_other_dates_and_numbers_stay() -> None:
    text = "I started on 3 May 2019, worked 37.5 hours, and finished on the ninth of March 2021."
    assert scrub(text) == text
    assert scrub("We met on 9 03 or 09.03.2021 or or 09.03.71 at 3pm.", values=()) == (
        "We met on 9 03 or 09.03.2021 or or [date of birth] at 3pm."
    )


@pytest.mark.parametrize(
    "phone", ["+44 (0) 7700 900 123", "0770 0900 123", "(07700) 900123", "0044 7700 900123"]
)
def test_the_forms_phone_number_in_any_layout(phone: str) -> None:
    assert scrub(f"Ring {phone} please.") == "Ring [phone number] please."


def test_the_forms_email_in_capitals() -> None:
    assert scrub("Email ROSE.KOWALSKI@EXAMPLE.COM today.") == "Email [email] today."
