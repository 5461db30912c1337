"""Issue 15: each kind of identifier that used to reach the panel, from invented examples."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from automations.errors import SheetProblems
from automations.jobs.redact import leak_check
from automations.transforms.redact import leak_kinds
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


# ------------------------------------------------------------------ own names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kind regards, Dawn\nThank you for reading.", "Kind regards, Candidate A\nThank you"),
        ("Kind regards, Dawn Thank you for reading.", "Kind regards, Candidate A Thank you"),
        ("Thanks, Dawn", "Thanks, Candidate A"),
        ("Why I applied\nDawn\nI have cared for years.", "Why I applied\nCandidate A\nI have"),
    ],
)
def test_own_first_name_that_is_a_word_in_a_sign_off(text: str, expected: str) -> None:
    out = scrub(text, "Dawn", "Okafor")
    assert out.startswith(expected)
    assert scrub("We start at dawn every day.", "Dawn", "Okafor") == "We start at dawn every day."


def test_best_wishes_rose_before_a_capitalised_word() -> None:
    assert scrub("Best wishes, Rose My hope is to help.") == (
        "Best wishes, Candidate A My hope is to help."
    )


def test_one_word_of_a_two_word_given_name_alone_or_in_capitals() -> None:
    out = scrub("JANE wrote this and Jane agrees. MARY too.", "Mary Jane", "Okafor")
    assert out == "Candidate A wrote this and Candidate A agrees. Candidate A too."
    assert scrub("Mary-Jane and Jane.", "Mary-Jane", "Okafor") == "Candidate A and Candidate A."


def test_every_comma_part_of_the_address_is_found() -> None:
    out = scrub(
        "I live at Flat 4, Mill Court. Mill Court is quiet. Leeds is my town.",
        address="Flat 4, Mill Court, Leeds",
    )
    assert out == "I live at [address]. [address] is quiet. Leeds is my town."
    out = scrub("Rosewood is my home, an orchard too.", address="Flat 9, Rosewood, Orchard Rd")
    assert out == "[address] is my home, an orchard too."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Signed R.K.", "Signed Candidate A."),
        ("Signed R. K. on the day.", "Signed Candidate A on the day."),
        ("Signed R K", "Signed Candidate A"),
        ("Kind regards RK", "Kind regards Candidate A"),
        ("Notes by\nR K\n", "Notes by\nCandidate A\n"),
    ],
)
def test_the_candidates_initials(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_initials_of_three_names_and_the_surname_initial_after_the_first_name() -> None:
    kw = {"first": "Catherine Jane", "last": "Hill"}
    assert scrub("As C J H. I chaired it.", **kw) == "As Candidate A. I chaired it."
    assert scrub("As Catherine J H. I chaired it.", **kw) == "As Candidate A. I chaired it."
    assert scrub("Catherine H. said so.", **kw) == "Candidate A said so."


def test_ordinary_capitals_are_not_initials() -> None:
    text = "I went to the UK and the NHS. I am here. A plan. R K is a rating. OK, RK."
    assert scrub(text) == text
    assert scrub("I am calm, I A levels.", "Ibrahim", "Adeyemi") == "I am calm, I A levels."


def test_surname_may_and_the_month_may() -> None:
    out = scrub(
        "Mrs May helped. I started on 3 May 2019 and in May 2020. Theresa May chairs.",
        "Theresa",
        "May",
    )
    assert out == "Candidate A helped. I started on 3 May 2019 and in May 2020. Candidate A chairs."


def test_surname_king_inside_the_kings_fund() -> None:
    out = scrub("I worked at the King's Fund. Mr King agreed. King said yes.", "Anne", "King")
    assert out == "I worked at the King's Fund. Candidate A agreed. Candidate A said yes."


# ------------------------------------------------------------------ cosmetic


def test_no_stray_bracket_and_no_half_replaced_double_barrelled_name() -> None:
    out = scrub("Rose (Kowalski) was here. I am Rose Kowalski-Nowak now, or Nowak-Kowalski.")
    assert out == "Candidate A was here. I am Candidate A now, or Candidate A."


def test_referee_label_kept_before_their_contact_details() -> None:
    out = scrub(
        "My referee Martin Clarke (martin.clarke@example.org, 07700 900456) knows me.",
        referees=("Martin Clarke",),
    )
    assert out == "My referee [referee] ([email], [phone number]) knows me."


# ------------------------------------------------------------- people named only in answers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My support worker Shona helped me.", "My support worker [name] helped me."),
        ("My manager Grace Okafor agreed.", "My manager [name] agreed."),
        ("My son Jack and my mum Hope came.", "My son [name] and my mum [name] came."),
        ("Priya and Tomasz run the group.", "[name] and [name] run the group."),
        ("I saw Dr Ahmed Khan and Mrs Patel.", "I saw [name] and [name]."),
        ("Kwame, Niamh and Siobhán are friends.", "[name], [name] and [name] are friends."),
    ],
)
def test_people_named_only_in_the_answers(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I moved to Florence and went to Victoria Station.",
        "St John Ambulance trained me; I hope Grace is felt.",
        "Will you help? Grace and patience matter. I live in Leeds.",
        "On Tuesday in May I joined Mind and the Care Act 2014 group.",
    ],
)
def test_ordinary_words_and_places_are_not_taken_for_people(text: str) -> None:
    assert scrub(text) == text


# ------------------------------------------------------------------ the last guard

GUARD_ROW = {
    "application_id": "0007",
    "first_name": "Rose",
    "last_name": "Kowalski",
    "email": "rose.kowalski@example.com",
    "phone": "07700 900123",
    "ni_number": "QQ 12 34 56 C",
    "postcode": "DN1 2AB",
    "address": "Flat 4, Mill Court, Leeds",
    "date_of_birth": DOB,
}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("NI QQ 123 456 C here", "ni_number"),
        ("NI qq12 34 56c here", "ni_number"),
        ("near DN1  2AB", "postcode"),
        ("born the ninth of March nineteen seventy-one", "date_of_birth"),
        ("born 09.03.71", "date_of_birth"),
        ("ring +44 7700 900 123", "phone"),
        ("write ROSE.KOWALSKI@EXAMPLE.COM", "email"),
        ("I live in Mill Court now", "address"),
        ("ROSE KOWALSKI wrote it", "own_name"),
    ],
)
def test_the_last_guard_sees_every_form_value_in_any_layout(text: str, kind: str) -> None:
    assert leak_kinds(GUARD_ROW, text) == [kind]


def test_the_last_guard_passes_clean_text_and_ordinary_words() -> None:
    clean = "Candidate A lives in Leeds, started on 3 May 2019 and works 37.5 hours a week."
    assert leak_kinds(GUARD_ROW, clean) == []


def test_leak_check_stops_before_writing_naming_row_and_column_never_the_value() -> None:
    apps = pd.DataFrame([GUARD_ROW], index=pd.Index([5], name="row"))
    panel = pd.DataFrame(
        [{"candidate_letter": "A", "answer_1": "fine", "answer_2": "QQ 123 456 C and DN12AB"}]
    )
    with pytest.raises(SheetProblems) as err:
        leak_check(apps, {"0007": "A"}, panel)
    (problem,) = err.value.problems
    assert (problem.row, problem.column) == (5, "answer_2")
    shown = str(err.value)
    assert "NI number" in shown and "postcode" in shown
    for secret in ("QQ", "123", "DN1", "2AB", "Rose", "Kowalski"):
        assert secret not in shown


def test_a_name_not_on_the_list_after_a_role_is_still_a_person() -> None:
    assert scrub("My sister Zorbavinder helped; my mum Quelline too.") == (
        "My sister [name] helped; my mum [name] too."
    )


def test_the_generator_is_deterministic_and_its_layouts_are_all_removed() -> None:
    from tests.data.redact_generator import generate
    from tests.test_redact_transform import assert_all_removed

    apps = generate(12, seed=404)
    assert [a.to_json() for a in apps] == [a.to_json() for a in generate(12, seed=404)]
    forms = {m.form for a in apps for m in a.planted}
    assert {"sign-off", "initials dotted", "street after flat number", "role then name"} <= forms
    for app in apps:
        assert_all_removed(app)
