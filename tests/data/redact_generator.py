# ruff: noqa: E501
"""New labelled applications in the layouts of issue 15, for the tests and the accuracy bench.

Seeded and deterministic: ``generate(n, seed)`` gives the same applications every
time. Each application plants identifiers in the layouts that used to reach the
panel (form values spaced or written out, sign-offs, one word of a two-word given
name, street names after a flat number, initials, people named only in the
answers) and keeps ordinary phrases that must survive (the month May beside a
surname May, "the King's Fund" beside a surname King, places that are also given
names). Marks use the scrubber's kinds; ``form`` says which layout.

The other people's names here are written for this file, from many origins, and
were not checked against ``redact_data/given_names.txt.gz``: recall on them says
how well that list covers names nobody tuned it to.
"""

from __future__ import annotations

import datetime as dt
import random

from tests.data.redact_corpus import (
    FILLER,
    LAST,
    MONTHS,
    Application,
    _Answer,
    _th,
    postcode,
)

# first names (given name on the form, words the text may use)
FIRST = [
    ("Mary Jane", ["Jane", "MARY", "Mary"]),
    ("Anna Maria", ["Maria", "ANNA"]),
    ("Mohammed Ali", ["Ali", "MOHAMMED"]),
    ("Sarah-Louise", ["Louise", "Sarah"]),
    ("Nia Wyn", ["Wyn", "NIA"]),
    ("Dawn", ["Dawn"]),
    ("Rose", ["Rose"]),
    ("Hope", ["Hope"]),
    ("Grace", ["Grace"]),
    ("Joy", ["Joy"]),
    ("Faith", ["Faith"]),
    ("Summer", ["Summer"]),
    ("Mark", ["Mark"]),
    ("Ruby", ["Ruby"]),
    ("Amber", ["Amber"]),
    ("Crystal", ["Crystal"]),
    ("Blessing", ["Blessing"]),
    ("Precious", ["Precious"]),
    ("Patience", ["Patience"]),
    ("Chinedu", ["Chinedu"]),
    ("Bogdan", ["Bogdan"]),
    ("Eilidh", ["Eilidh"]),
]
SURNAMES = [*LAST, "May", "King", "Lord", "Bishop", "Mason", "Baker", "Singh", "Kaur", "Nwosu"]
# Other people, written for this file (not taken from the name list).
OTHERS = [
    "Shona", "Callum", "Mhairi", "Fergus", "Eilidh", "Catriona", "Gethin", "Ffion", "Dafydd",
    "Cerys", "Iolo", "Siân", "Aoife", "Ciarán", "Niamh", "Oisín", "Saoirse", "Tadhg", "Priya",
    "Arjun", "Harpreet", "Sukhvinder", "Rajinder", "Farhana", "Imran", "Nusrat", "Tahmina",
    "Shabnam", "Kwabena", "Ama", "Yaw", "Chiamaka", "Obinna", "Ngozi", "Tunde", "Funmilayo",
    "Adebayo", "Oksana", "Bartek", "Zofia", "Marek", "Jolanta", "Andrius", "Ieva", "Mihaela",
    "Delroy", "Marcia", "Winston", "Hyacinth", "Everton", "Claudette", "Wei", "Xiaoling", "Jun",
    "Mei", "Hao", "Yusuf", "Khadija", "Omar", "Layla", "Samira", "Tariq", "Zainab", "Bilal",
    "Kieran", "Declan", "Bronagh", "Jamie", "Kirsty", "Lewis", "Amelia", "Oliver", "Isla",
    "Freya", "Harvey", "Leah", "Kayleigh", "Jordan", "Tyrone", "Shanice", "Leroy", "Aaliyah",
    "Ifeanyi", "Olumide", "Anil", "Deepa", "Sunil", "Meera", "Gurdeep", "Tomasz", "Katarzyna",
    "Piotr", "Agata", "Radu", "Ioana", "Lina", "Youssef", "Hamza", "Aisha", "Ruth", "Colin",
]  # fmt: skip
OTHER_SURNAMES = [
    "Campbell",
    "Okonkwo",
    "Begum",
    "Nowak",
    "Evans",
    "Mensah",
    "Chen",
    "Hussain",
    "Byrne",
    "Ahmed",
]
ROLES = [
    "my support worker", "my manager", "my mum", "my son", "my daughter", "my partner",
    "my key worker", "my friend", "my care coordinator", "my sister", "our team leader",
    "my peer mentor", "my social worker", "my nan",
]  # fmt: skip
STREETS = [
    "Mill Court",
    "Rosewood",
    "Beech Mews",
    "Orchard View",
    "Hawthorn Rise",
    "Kingfisher Walk",
    "Alder Brow",
    "Canal Wharf",
]
TOWNS = ["Leeds", "Doncaster", "Cardiff", "Hull", "Derby", "Swansea", "Bristol"]
SIGN_OFFS = [
    "Kind regards",
    "Best wishes",
    "Many thanks",
    "Thanks",
    "Yours sincerely",
    "Regards",
    "Warm wishes",
    "Cheers",
]
AFTER_SIGN_OFF = [
    "My application ends here.",
    "Thank you for reading.",
    "I look forward to hearing from you.",
    "Please get in touch.",
]
NUM_WORDS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORD = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
       "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
       "eighteenth", "nineteenth", "twentieth"]  # fmt: skip
SURVIVE = [
    "I hope to learn", "with grace and patience", "Will you help", "a joy to work with",
    "at dawn", "prices rose", "made my mark", "I moved to Florence", "near Victoria Station",
    "St John Ambulance", "the Rose and Crown", "in June", "the Young People's Service",
    "the Care Act 2014", "from 2019 to 2021", "37.5 hours a week", "NHS Band 5", "in Leeds",
    "the Mind group", "every Tuesday", "a Level 2 certificate", "up to 30 people",
    "the summer fair", "I am calm", "a ruby wedding", "amber lights", "crystal clear",
]  # fmt: skip


def _words_under_100(n: int) -> str:
    if n < 10:
        return NUM_WORDS[n]
    if n < 20:
        return TEENS[n - 10]
    t, u = divmod(n, 10)
    return TENS[t] + (("-" if u else "") + NUM_WORDS[u] if u else "")


def _ordinal_words(d: int) -> str:
    if d <= 20:
        return ORD[d]
    t, u = divmod(d, 10)
    return f"{TENS[t]}-{ORD[u]}" if u else {2: "twentieth", 3: "thirtieth"}[t]


def _year_words(y: int) -> str:
    if y >= 2000:
        rest = y - 2000
        return "two thousand" + (f" and {_words_under_100(rest)}" if rest else "")
    return f"nineteen {_words_under_100(y - 1900)}"


def dob_layouts(d: dt.date) -> dict[str, str]:
    m = MONTHS[d.month - 1]
    return {
        "ordinal words of Month yyyy": f"{_ordinal_words(d.day)} of {m} {d.year}",
        "the ordinal words of Month yyyy": f"the {_ordinal_words(d.day)} of {m} {d.year}",
        "dth Mon 'yy": f"{d.day}{_th(d.day)} {m[:3]} '{d.year % 100:02d}",
        "Month dth, yyyy": f"{m} {d.day}{_th(d.day)}, {d.year}",
        "dd.mm.yy": f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}",
        "d Month year in words": f"{d.day} {m} {_year_words(d.year)}",
        "dd mm yyyy": f"{d.day:02d} {d.month:02d} {d.year}",
        "Mon d yyyy": f"{m[:3]} {d.day} {d.year}",
    }


def ni_layouts(letters: str, digits: str, suffix: str) -> dict[str, str]:
    d = digits
    return {
        "3+3 spaced": f"{letters} {d[:3]} {d[3:]} {suffix}",
        "QQ12 34 56C": f"{letters}{d[:2]} {d[2:4]} {d[4:]}{suffix}",
        "lower spaced": f"{letters} {d[:2]} {d[2:4]} {d[4:]} {suffix}".lower(),
        "letters apart": f"{letters[0]} {letters[1]} {d} {suffix}",
        "no letter at the end": f"{letters} {d[:2]} {d[2:4]} {d[4:]}",
    }


def make_application(rng: random.Random, idx: int) -> Application:
    first, uses = rng.choice(FIRST)
    last = rng.choice(SURNAMES)
    middle = rng.choice(["", "", "James", "Louise", "Kate", "Owen"])
    given = f"{first} {middle}".strip() if " " not in first and "-" not in first else first
    letters = rng.choice(["QQ", "AB", "JG", "NH", "ZX", "TL"])
    digits = "".join(str(rng.randint(0, 9)) for _ in range(6))
    suffix = rng.choice("ABCD")
    dob = dt.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    pc = postcode(rng)
    street = rng.choice(STREETS)
    flat = rng.randint(1, 30)
    address = f"Flat {flat}, {street}, {rng.choice(TOWNS)}"
    n = rng.randint(0, 999)
    phone = f"07700 900{n:03d}"
    email = f"{first.split()[0].lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{idx}@example.org"
    fields = {
        "application_id": f"G{idx:05d}",
        "first_name": given,
        "last_name": last,
        "preferred_name": "",
        "email": email,
        "phone": phone,
        "address": address,
        "postcode": pc,
        "date_of_birth": dob.isoformat(),
        "ni_number": f"{letters} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}",
        "referee_1_name": "",
        "referee_2_name": "",
        "emergency_contact_name": "",
        "status": "received",
    }
    plants: list[tuple[str, str, str, str, str]] = []  # (kind, form, before, value, after)

    def plant(kind: str, form: str, before: str, value: str, after: str = ".") -> None:
        plants.append((kind, form, before, value, after))

    ni_form, ni = rng.choice(sorted(ni_layouts(letters, digits, suffix).items()))
    plant("ni_number", ni_form, "My National Insurance number is ", ni)
    space = rng.choice(["two spaces", "none", "lower none", "lower two spaces"])
    out, inw = pc.split()
    pcs = {"two spaces": f"{out}  {inw}", "none": f"{out}{inw}"}
    pcs["lower none"], pcs["lower two spaces"] = pcs["none"].lower(), pcs["two spaces"].lower()
    plant("postcode", space, "I live near ", pcs[space], " with my family.")
    dob_form, dob_text = rng.choice(sorted(dob_layouts(dob).items()))
    plant(
        "date_of_birth",
        dob_form,
        rng.choice(["I was born on ", "Some facts: ", "My birthday is ", ""]),
        dob_text,
        rng.choice([".", " and that matters."]),
    )
    ph = rng.choice(
        [
            f"+44 (0) 7700 900 {n:03d}",
            f"0770 0900 {n:03d}",
            f"(07700) 900{n:03d}",
            f"0044 7700 900{n:03d}",
        ]
    )
    plant("phone", "form phone, other layout", "Ring me on ", ph, " any time.")
    plant(
        "address",
        "street after flat number",
        f"I have lived at Flat {flat}, ",
        street,
        " for years.",
    )
    plant("address", "street alone", "The flats at ", street, " are quiet.")
    plant(
        "own_name",
        "part of a two-word given name" if " " in first or "-" in first else "first name",
        "People know me as ",
        rng.choice(uses),
        " at work.",
    )
    sign = rng.choice(SIGN_OFFS)
    word = first.split()[0].split("-")[0]
    plant(
        "own_name",
        "sign-off",
        f"{sign}, ",
        word,
        rng.choice(["\n", " ", ". "]) + rng.choice(AFTER_SIGN_OFF),
    )
    init_first = given[0]
    init_last = last.replace("'", "")[0] if last[0].isalpha() else "X"
    mid = [w[0] for w in given.replace("-", " ").split()[1:]]
    if mid:
        plant(
            "own_name",
            "initials with a middle name",
            "As ",
            " ".join([init_first, *mid, init_last]),
            ". I chaired it.",
        )
    # the last full stop also ends the sentence, so it is not part of the mark
    plant("own_name", "initials dotted", "Signed ", f"{init_first}.{init_last}", ".")
    plant("own_name", "initials on their own line", "Notes by\n", f"{init_first} {init_last}", "\n")
    other = rng.choice(OTHERS)
    role = rng.choice(ROLES)
    plant("other_name", "role then name", f"{role.capitalize()} ", other, " helped me a lot.")
    other2 = rng.choice(OTHERS)
    plant("other_name", "name mid-sentence", "I went to the group with ", other2, " every week.")
    other3 = f"{rng.choice(OTHERS)} {rng.choice(OTHER_SURNAMES)}"
    plant("other_name", "full name", "The forum was led by ", other3, " last year.")
    rng.shuffle(plants)
    keep = rng.sample(SURVIVE, 4)
    if last == "May":
        keep.append("on 3 May 2019")
    if last == "King":
        keep.append("the King's Fund")
    answers = [_Answer(f"answer_{i}") for i in range(1, 5)]
    for i, a in enumerate(answers):
        a.text(rng.choice(FILLER) + " ")
        for kind, form, before, value, after in plants[i::4]:
            a.text(before)
            a.plant(kind, value, form)
            a.text(after + " " + rng.choice(FILLER) + " ")
        for s in keep[i::4]:
            a.text("Also, ")
            a.keep(s)
            a.text(". ")
        a.text(rng.choice(FILLER))
    app = Application(fields)
    for i, a in enumerate(answers, start=1):
        app.fields[f"answer_{i}"] = a.value()
        app.planted += a.planted
        app.survive += a.survive
    return app


def generate(n: int = 300, seed: int = 1515) -> list[Application]:
    rng = random.Random(seed)
    return [make_application(rng, i) for i in range(1, n + 1)]
