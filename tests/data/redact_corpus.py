# ruff: noqa: E501
"""A labelled corpus of invented UK applications for the redaction tests and bench.

Every application is built from sentences with identifiers *planted* in them, and
the character span of each planted identifier is recorded with its kind, so a
scrubber can be scored on exactly what it removed. Phrases that must survive
("a joy to work with" for a candidate called Joy Hill) are recorded the same way.

All details are invented and in reserved ranges: phone numbers are Ofcom's drama
numbers (07700 900xxx, 01632 960xxx, 020 7946 0xxx …) or documentation-style
international numbers, email domains are example.com/.org/.net, NI numbers use the
QQ prefix or other made-up ones, and the people do not exist.

Run ``python tests/data/redact_corpus.py`` to regenerate ``redact_corpus.jsonl``
(400 applications, seed 2027). Hand-written hard cases are in
``redact_hard_cases.jsonl`` in the same format.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

FIRST = [
    # (first, nicknames the candidate may use)
    ("Joy", []),
    ("Hope", []),
    ("Grace", ["Gracie"]),
    ("William", ["Will", "Bill", "Billy"]),
    ("Francis", ["Frank"]),
    ("Robert", ["Bob", "Rob", "Robbie"]),
    ("Margaret", ["Maggie", "Peggy"]),
    ("Siobhán", []),
    ("Zoë", []),
    ("Chloé", []),
    ("José", []),
    ("Aoife", []),
    ("Mohammed", ["Mo"]),
    ("Oluwaseun", ["Seun"]),
    ("Priyanka", ["Priya"]),
    ("Krzysztof", ["Krzys"]),
    ("Agnieszka", ["Aga"]),
    ("Rhiannon", ["Rhi"]),
    ("Dawn", []),
    ("Mark", []),
    ("Rose", []),
    ("Jack", []),
    ("Amélie", []),
    ("Seán", []),
    ("Niamh", []),
    ("Kwame", []),
    ("Ayesha", []),
    ("Fatima", []),
    ("Tomasz", []),
    ("Hannah", []),
    ("Daniel", ["Dan", "Danny"]),
    ("Patricia", ["Pat", "Trish"]),
    ("Elizabeth", ["Liz", "Beth", "Libby"]),
    ("Jonathan", ["Jon"]),
    ("Catherine", ["Kate", "Cathy"]),
    ("Eleanor", ["Ellie", "Nell"]),
    ("Samuel", ["Sam"]),
    ("Wei", []),
    ("Björn", []),
    ("Małgorzata", ["Gosia"]),
    ("Dylan", []),
    ("Ifeoma", []),
    ("Summer", []),
    ("Faith", []),
    ("Victoria", ["Vicky"]),
    ("Harriet", ["Hattie"]),
    ("Declan", []),
    ("Sinéad", []),
    ("Lakshmi", []),
    ("Yusuf", []),
]
LAST = [
    "Hill",
    "Bell",
    "O'Brien",
    "O'Brien-Walsh",
    "Smith-Jones",
    "Mensah",
    "Müller",
    "Nowak",
    "Kowalski",
    "Patel",
    "Khan",
    "Young",
    "Green",
    "Rose",
    "Brown",
    "Clarke",
    "D'Souza",
    "MacDonald",
    "McAllister",
    "Okafor",
    "Adeyemi",
    "Evans",
    "Hughes",
    "Wood",
    "Cook",
    "Grant",
    "Long",
    "Fry",
    "Ng",
    "Ó Súilleabháin",
    "Nguyen",
    "Lefèvre",
    "Jankowska",
    "Doherty",
    "Ali",
    "Begum",
    "Chowdhury",
    "Fraser",
    "Price",
    "Armstrong-Lewis",
    "Van der Berg",
    "Sørensen",
    "Fitzgerald",
    "Kelly",
    "Osei",
    "Williams",
    "Taylor",
    "Hart",
    "Lamb",
    "Fox",
]
REFEREE_FIRST = [
    "Martin",
    "Susan",
    "Olivia",
    "Claire",
    "Desmond",
    "Imran",
    "Gwen",
    "Ruth",
    "Anil",
    "Bernadette",
    "Colm",
    "Yolanda",
    "Tariq",
    "Helen",
    "Nkechi",
    "Graham",
]
REFEREE_LAST = [
    "Clarke",
    "Patel",
    "Grant",
    "Dunn",
    "Reyes",
    "Hussain",
    "Lloyd",
    "Abbott",
    "Kaur",
    "Quinn",
    "Byrne",
    "Mbeki",
    "Farooq",
    "Whitfield",
    "Okonkwo",
    "Sinclair",
]
OTHER_FIRST = ["Amara", "Callum", "Deirdre", "Ewan", "Farah", "Gethin", "Ingrid", "Kieran"]
OTHER_LAST = ["Rahman", "Doyle", "Lindqvist", "Pryce", "Achebe", "Moreau", "Szabo", "Tennant"]
STREETS = [
    "Orchard",
    "Station",
    "Church",
    "Mill",
    "Victoria",
    "Chapel",
    "Queens",
    "Ash",
    "Beech",
    "Willow",
    "Kingsway",
    "Moorland",
    "Priory",
    "Canal",
    "Elm",
    "Meadow",
]
STREET_TYPES = [
    "Street",
    "Road",
    "Lane",
    "Avenue",
    "Close",
    "Grove",
    "Drive",
    "Way",
    "Court",
    "Crescent",
    "Terrace",
    "Gardens",
    "Place",
    "Mews",
    "Rise",
    "Walk",
]
TOWNS = [
    "Doncaster",
    "Thorne",
    "Mexborough",
    "Bentley",
    "Rotherham",
    "Leeds",
    "Cardiff",
    "Belfast",
    "Glasgow",
    "Bristol",
    "Hull",
    "Wakefield",
    "Swansea",
    "Derby",
]
TITLES = {"m": ["Mr"], "f": ["Ms", "Mrs", "Miss"], "x": ["Mx"]}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
POSTCODE_AREAS = [
    "DN",
    "S",
    "LS",
    "CF",
    "BT",
    "G",
    "BS",
    "HU",
    "WF",
    "SA",
    "DE",
    "M",
    "B",
    "EH",
    "NE",
    "SW",
    "N",
    "E",
]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
FILLER = [
    "I have used mental health services for many years and I know how it feels to wait.",
    "Working as equals means sharing the decisions, not just the tasks.",
    "I listen first and I ask people what matters to them.",
    "When things went wrong I stayed calm and asked for help.",
    "I helped set up a peer group that meets every Tuesday.",
    "Equality, diversity and inclusion are part of everything I do.",
    "I care for my mum, so I know the system from the other side.",
    "I volunteered at a food bank and made sure everyone was welcome.",
    "My own experience of recovery taught me to be patient.",
    "I learnt to manage my own budget after moving into supported living.",
]
SURVIVE_GENERIC = [
    "from 2019 to 2021",
    "37.5 hours a week",
    "three children",
    "a £1,250 grant",
    "at 10:30 am",
    "NHS Band 5",
    "on 3 May 2019",
    "a Level 2 certificate",
    "Room 101",
    "St John Ambulance",
    "the Care Act 2014",
    "aged 18 to 25",
    "I will always listen",
    "we met at the library",
    "twice a week",
    "a 5 star rating",
    "up to 30 people",
    "the 2 o'clock meeting",
    "people at work",
    "a dot on the map",
]
SURVIVE_WORDS = {
    "joy": ["a joy to work with", "the joy of small wins"],
    "hill": ["up the hill", "a steep hill"],
    "frank": ["to be frank", "a frank conversation"],
    "bell": ["the bell rang", "ring the bell"],
    "hope": ["full of hope", "I hope to learn"],
    "grace": ["with grace and patience"],
    "will": ["I will keep going", "free will"],
    "bill": ["the gas bill"],
    "rose": ["prices rose", "a rose garden"],
    "dawn": ["at dawn"],
    "mark": ["made my mark", "a high mark"],
    "jack": ["a car jack"],
    "young": ["young people"],
    "green": ["green spaces"],
    "brown": ["brown bread"],
    "wood": ["the wood shop"],
    "cook": ["I cook meals"],
    "grant": ["a small grant", "take it for granted"],
    "long": ["a long day"],
    "fry": ["a fry up"],
    "summer": ["last summer"],
    "faith": ["faith groups"],
    "hart": ["a hart in the park"],
    "lamb": ["lamb stew"],
    "fox": ["a fox in the garden"],
    "pat": ["a pat on the back"],
    "rob": ["rob them of choice"],
    "ali": [],
}


@dataclass
class Mark:
    kind: str
    answer: str
    start: int
    end: int
    form: str = ""  # which way of writing it (for the bench breakdown)


@dataclass
class Application:
    fields: dict[str, str]
    planted: list[Mark] = field(default_factory=list)
    survive: list[Mark] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "fields": self.fields,
                "planted": [asdict(m) for m in self.planted],
                "survive": [asdict(m) for m in self.survive],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, line: str) -> Application:
        d = json.loads(line)
        return cls(
            d["fields"], [Mark(**m) for m in d["planted"]], [Mark(**m) for m in d["survive"]]
        )


class _Answer:
    """Builds one answer from pieces, recording where planted things land."""

    def __init__(self, col: str) -> None:
        self.col = col
        self.parts: list[str] = []
        self.len = 0
        self.planted: list[Mark] = []
        self.survive: list[Mark] = []

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.len += len(s)

    def plant(self, kind: str, s: str, form: str = "") -> None:
        self.planted.append(Mark(kind, self.col, self.len, self.len + len(s), form))
        self.text(s)

    def keep(self, s: str) -> None:
        self.survive.append(Mark("survive", self.col, self.len, self.len + len(s)))
        self.text(s)

    def value(self) -> str:
        return "".join(self.parts)


def strip_accents(s: str) -> str:
    import unicodedata

    return "".join(
        c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)
    ).replace("ø", "o")


def phone(rng: random.Random) -> tuple[str, str]:
    """A drama-range or documentation number in one of many layouts: (text, layout)."""
    n = rng.randint(0, 999)
    kind = rng.choice(["mobile", "mobile", "01632", "london", "city", "ni", "intl"])
    if kind == "mobile":
        d = f"07700900{n:03d}"
        layouts = {
            "spaced": f"{d[:5]} {d[5:]}",
            "plain": d,
            "dashed": f"{d[:5]}-{d[5:8]}-{d[8:]}",
            "three": f"{d[:5]} {d[5:8]} {d[8:]}",
            "+44": f"+44 {d[1:5]} {d[5:]}",
            "+44(0)": f"+44 (0){d[1:5]} {d[5:]}",
            "0044": f"0044 {d[1:5]} {d[5:]}",
            "+44plain": f"+44{d[1:]}",
            "dotted": f"{d[:5]}.{d[5:8]}.{d[8:]}",
        }
    elif kind == "01632":
        d = f"01632960{n:03d}"
        layouts = {
            "spaced": f"{d[:5]} {d[5:]}",
            "bracket": f"({d[:5]}) {d[5:]}",
            "plain": d,
            "+44": f"+44 {d[1:5]} {d[5:]}",
        }
    elif kind == "london":
        d = f"02079460{n:03d}"
        layouts = {
            "spaced": f"{d[:3]} {d[3:7]} {d[7:]}",
            "plain": d,
            "bracket": f"({d[:3]}) {d[3:7]} {d[7:]}",
        }
    elif kind == "city":
        code = rng.choice(
            ["0113", "0114", "0115", "0116", "0117", "0118", "0121", "0131", "0141", "0151", "0161"]
        )
        d = f"{code}496{n:04d}"[:11]
        layouts = {"spaced": f"{d[:4]} {d[4:7]} {d[7:]}", "plain": d}
    elif kind == "ni":
        d = f"02896496{n:03d}"
        layouts = {"spaced": f"{d[:3]} {d[3:7]} {d[7:]}", "plain": d}
    else:
        layouts = {
            "us": f"+1 202 555 {n:04d}",
            "us-bracket": f"+1 (202) 555-{n:04d}",
            "ireland": f"+353 85 123 {n:04d}",
            "poland": f"+48 512 345 {n:03d}",
            "nigeria": f"+234 803 123 {n:04d}",
            "india": f"+91 98765 4{n:04d}",
            "france": f"+33 6 12 34 {n % 100:02d} 78",
        }
    layout = rng.choice(sorted(layouts))
    return layouts[layout], f"{kind}/{layout}"


def postcode(rng: random.Random) -> str:
    area = rng.choice(POSTCODE_AREAS)
    district, sector = rng.randint(1, 20), rng.randint(0, 9)
    unit = rng.choice(INWARD_LETTERS) + rng.choice(INWARD_LETTERS)
    return f"{area}{district} {sector}{unit}"


def ni_number(rng: random.Random) -> tuple[str, str]:
    prefix = rng.choice(["QQ", "AB", "JG", "NH", "ZX", "SP", "TL"])
    d = [f"{rng.randint(0, 99):02d}" for _ in range(3)]
    suffix = rng.choice("ABCD")
    layout = rng.choice(["spaced", "plain", "dashed", "lower"])
    if layout == "spaced":
        return f"{prefix} {d[0]} {d[1]} {d[2]} {suffix}", layout
    if layout == "plain":
        return f"{prefix}{''.join(d)}{suffix}", layout
    if layout == "dashed":
        return f"{prefix}-{d[0]}-{d[1]}-{d[2]}-{suffix}", layout
    return f"{prefix}{''.join(d)}{suffix}".lower(), layout


def date_text(d: dt.date, rng: random.Random) -> tuple[str, str]:
    layouts = {
        "dd/mm/yyyy": f"{d.day:02d}/{d.month:02d}/{d.year}",
        "d/m/yyyy": f"{d.day}/{d.month}/{d.year}",
        "iso": d.isoformat(),
        "d Month yyyy": f"{d.day} {MONTHS[d.month - 1]} {d.year}",
        "dth of Month yyyy": f"{d.day}{_th(d.day)} of {MONTHS[d.month - 1]} {d.year}",
        "Month d, yyyy": f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
        "dd.mm.yyyy": f"{d.day:02d}.{d.month:02d}.{d.year}",
    }
    k = rng.choice(sorted(layouts))
    return layouts[k], k


def _th(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def make_application(rng: random.Random, idx: int) -> Application:
    first, nicks = rng.choice(FIRST)
    last = rng.choice(LAST)
    preferred = rng.choice(nicks) if nicks and rng.random() < 0.4 else ""
    sex = rng.choice("mfx")
    user = strip_accents(f"{first}.{last}").lower().replace("'", "").replace(" ", "")
    email = f"{user}@example.{rng.choice(['com', 'org', 'net', 'co.uk'])}"
    ph, _ = phone(rng)
    street = f"{rng.randint(1, 240)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    town = rng.choice(TOWNS)
    address = (f"Flat {rng.randint(1, 9)}, " if rng.random() < 0.2 else "") + f"{street}, {town}"
    pc = postcode(rng)
    dob = dt.date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28))
    ni, _ = ni_number(rng)
    refs = [(rng.choice(REFEREE_FIRST), rng.choice(REFEREE_LAST)) for _ in range(2)]
    other = (rng.choice(OTHER_FIRST), rng.choice(OTHER_LAST))
    fields = {
        "application_id": f"{idx:04d}",
        "first_name": first,
        "last_name": last,
        "preferred_name": preferred,
        "email": email,
        "phone": ph,
        "address": address,
        "postcode": pc,
        "date_of_birth": dob.isoformat(),
        "ni_number": ni,
        "referee_1_name": " ".join(refs[0]),
        "referee_1_email": f"{refs[0][0].lower()}.{refs[0][1].lower()}@example.org",
        "referee_1_phone": phone(rng)[0],
        "referee_2_name": " ".join(refs[1]),
        "referee_2_email": f"{refs[1][0][0].lower()}{refs[1][1].lower()}@example.net",
        "referee_2_phone": phone(rng)[0],
        "emergency_contact_name": " ".join(other),
        "status": "received",
    }
    answers = [_Answer(f"answer_{i}") for i in range(1, 5)]
    name_words = {w.lower() for w in [first, *last.replace("-", " ").split(), preferred] if w}
    plants = _plants(rng, first, last, preferred, sex, email, address, pc, dob, ni, refs, other)
    rng.shuffle(plants)
    surv = [p for w in sorted(name_words) for p in SURVIVE_WORDS.get(strip_accents(w).lower(), [])]
    surv += rng.sample(SURVIVE_GENERIC, 3)
    rng.shuffle(surv)
    for i, a in enumerate(answers):
        a.text(rng.choice(FILLER) + " ")
        for p in plants[i::4]:
            p(a)
            a.text(" " + rng.choice(FILLER) + " ")
        for s in surv[i::4]:
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


def _plants(
    rng: random.Random,
    first: str,
    last: str,
    preferred: str,
    sex: str,
    email: str,
    address: str,
    pc: str,
    dob: dt.date,
    ni: str,
    refs: list[tuple[str, str]],
    other: tuple[str, str],
) -> list[Any]:
    full = f"{first} {last}"
    title = rng.choice(TITLES[sex])
    nick = preferred or first
    parts = last.replace("-", " ").split() if "-" in last else []
    curly = last.replace("'", "\u2019")
    no_apos = last.replace("'", "")
    plain_first = strip_accents(first)
    handle_base = (
        strip_accents(first + last).lower().replace("'", "").replace(" ", "").replace("-", "")
    )

    def own(form: str, s: str, before: str = "", after: str = ".") -> Any:
        def f(a: _Answer) -> None:
            a.text(before)
            a.plant("own_name", s, form)
            a.text(after)

        return f

    def kind(k: str, form: str, s: str, before: str, after: str = ".") -> Any:
        def f(a: _Answer) -> None:
            a.text(before)
            a.plant(k, s, form)
            a.text(after)

        return f

    plants: list[Any] = [
        own("full", full, "My name is "),
        own("title+last", f"{title} {last}", "People at work call me ", " and that is fine."),
        own("first mid-sentence", first, "In the group I am just ", " to everyone."),
        own("possessive", first, "", "'s way of working is to listen first."),
        own("upper full", full.upper(), "Signed: "),
        own("lower full", full.lower(), "my name is "),
        own("initial+last", f"{first[0]}. {last}", "You may see ", " on my certificates."),
        own("preferred/nickname", nick, "Friends call me "),
        own("first at sentence start", first, "", " is someone who never gives up."),
    ]
    if "'" in last:
        plants.append(own("curly apostrophe", f"{title} {curly}", "As ", " I chaired it."))
        plants.append(own("missing apostrophe", no_apos, "The form says ", " by mistake."))
    if parts:
        plants.append(own("hyphen part", parts[-1], "Some know me as ", " from my old job."))
        plants.append(own("hyphen part", parts[0], "Others say ", " instead."))
    if plain_first != first:
        plants.append(own("unaccented", plain_first, "On emails I write ", " without accents."))
    plants += [
        kind("email", "email", email, "You can email me at "),
        kind(
            "email",
            "email spelt out",
            email.replace("@", " [at] ").replace(".", " [dot] "),
            "or write to ",
        ),
        kind("phone", "phone", phone(rng)[0], "Call me on ", " any time."),
        kind("phone", "phone", phone(rng)[0], "My other number is "),
        kind(
            "postcode",
            "postcode",
            pc if rng.random() < 0.7 else pc.replace(" ", "").lower(),
            "I live near ",
            " with my family.",
        ),
        kind("address", "address", address, "Post reaches me at "),
        kind("ni_number", "NI number", ni, "My National Insurance number is "),
        kind(
            "date_of_birth",
            "date of birth",
            date_text(dob, rng)[0],
            rng.choice(["I was born on ", "Date of birth: ", "DOB ", "My birthday is "]),
        ),
        kind(
            "web_address",
            "web address",
            rng.choice(
                [
                    f"www.{handle_base}.co.uk",
                    f"https://{handle_base}.blog/about",
                    f"linkedin.com/in/{handle_base}{rng.randint(1, 99)}",
                    f"https://www.example.org/people/{handle_base}",
                ]
            ),
            "See my work at ",
        ),
        kind("handle", "handle", f"@{handle_base}{rng.randint(1, 99)}", "Find me on Twitter as "),
        kind("referee", "referee full", " ".join(refs[0]), "My manager ", " will tell you more."),
        kind(
            "referee",
            "referee title+last",
            f"{rng.choice(['Mr', 'Ms', 'Dr'])} {refs[1][1]}",
            "I worked with ",
            " for two years.",
        ),
        kind("referee", "referee first", refs[0][0], "Ask ", " about the forum."),
        kind("other_name", "other person", " ".join(other), "My partner ", " supports me."),
    ]
    return plants


def generate(n: int = 400, seed: int = 2027) -> list[Application]:
    rng = random.Random(seed)
    return [make_application(rng, i) for i in range(1, n + 1)]


def load(path: Path | None = None) -> list[Application]:
    path = path or HERE / "redact_corpus.jsonl"
    return [Application.from_json(line) for line in path.read_text("utf-8").splitlines() if line]


def load_all() -> list[Application]:
    return load() + load(HERE / "redact_hard_cases.jsonl")


# ----------------------------------------------------------------- hand-written cases
# [[kind|text]] is planted (must go), {{text}} must survive. One dict per application.

HARD_CASES: list[dict[str, str]] = [
    {"first_name": "Joy", "last_name": "Hill",
     "answer_1": "It has been {{a joy to work with}} people. [[own_name|Joy]] is my name and I walk "
                 "{{up the hill}} daily. My manager [[referee|Martin Clarke]] agrees.",
     "referee_1_name": "Martin Clarke"},
    {"first_name": "Francis", "last_name": "Bell", "preferred_name": "Frank",
     "answer_1": "{{To be frank}}, [[own_name|Frank Bell]] is not someone who gives up. "
                 "{{The bell rang}} and [[own_name|Mr Bell]]'s group stood up."},
    {"first_name": "Siobhán", "last_name": "O'Brien-Walsh",
     "answer_1": "I'm [[own_name|Siobhan OBrien-Walsh]]. [[own_name|Ms O’Brien-Walsh]] co-chairs. "
                 "The [[own_name|Walsh]] family and [[own_name|O'Brien]] clan. See "
                 "[[web_address|www.example.com/siobhanobrienwalsh]] for minutes."},
    {"first_name": "Robert", "last_name": "Mensah", "preferred_name": "Bob",
     "date_of_birth": "1968-01-15",
     "answer_1": "[[own_name|Bob Mensah]] here. I was born on [[date_of_birth|15/01/1968]] in Accra. "
                 "[[own_name|R. Mensah]] is good under pressure, says [[referee|Claire Dunn]].",
     "referee_1_name": "Claire Dunn"},
    {"first_name": "Grace", "last_name": "Young",
     "answer_1": "I work with {{young people}} {{with grace and patience}}. [[own_name|Grace]]'s "
                 "motto: listen. Ask for [[own_name|Ms Young]] at reception."},
    {"first_name": "William", "last_name": "Hope",
     "answer_1": "{{I will keep going}} and I am {{full of hope}}. Friends call me "
                 "[[own_name|Will]], or [[own_name|Bill]] at the club. Signed "
                 "[[own_name|W. Hope]]."},
    {"first_name": "Zoë", "last_name": "Müller",
     "answer_1": "[[own_name|ZOE MULLER]] in capitals, [[own_name|zoë müller]] in lower case, and "
                 "[[own_name|Zoe]] without the accent. Email [[email|zoe.muller@example.com]]."},
    {"first_name": "Aoife", "last_name": "Ní Bhriain",
     "answer_1": "[[own_name|Aoife Ní Bhriain]] (that's me) set up the group. "
                 "[[own_name|Bhriain]] is how the rota lists me."},
    {"first_name": "Kwame", "last_name": "Osei",
     "answer_1": "Write to [[email|kwame [at] example [dot] org]] or [[email|kwame.osei at example dot "
                 "com]]. We met {{at the library}} and put {{a dot on the map}}."},
    {"first_name": "Priya", "last_name": "Shah",
     "answer_1": "Call [[phone|07700 900 123]], [[phone|+44 (0) 1632 960 555]], "
                 "[[phone|(020) 7946 0321]] or [[phone|+1-202-555-0143]]. I worked "
                 "{{37.5 hours a week}} {{from 2019 to 2021}}."},
    {"first_name": "Tomasz", "last_name": "Nowak",
     "answer_1": "NI: [[ni_number|QQ 12 34 56 C]] (or [[ni_number|qq123456c]]). I live at "
                 "[[address|Flat 2, 17 Mill Lane, Hull]], [[postcode|HU1 3AB]]. {{Room 101}} and "
                 "{{NHS Band 5}} stay."},
    {"first_name": "Fatima", "last_name": "Begum", "address": "Rose Cottage, 4 Moor End, Hatfield",
     "answer_1": "Post reaches me at [[address|Rose Cottage]], [[address|4 Moor End]], Hatfield. "
                 "My date of birth is [[date_of_birth|3rd March 1990]]."},
    {"first_name": "Declan", "last_name": "Fox",
     "answer_1": "Follow [[handle|@declanfox_care]] on Twitter and Instagram: "
                 "[[handle|declan.fox.art]]. Blog: [[web_address|https://declanfox.blog/about]]. "
                 "I once saw {{a fox in the garden}}."},
    {"first_name": "Dawn", "last_name": "Rose",
     "answer_1": "We start {{at dawn}} and {{prices rose}} last year. [[own_name|Dawn]] says hi; "
                 "[[own_name|Dawn Rose]] signs off. [[own_name|ROSE]] on my badge."},
    {"first_name": "Mark", "last_name": "Cook",
     "answer_1": "{{I cook meals}} and {{made my mark}} in the kitchen. [[own_name|Mark]] is my "
                 "name; my partner [[other_name|Ayesha Khan]] helps.",
     "emergency_contact_name": "Ayesha Khan"},
    {"first_name": "Sam", "last_name": "Patel",
     "answer_1": "[[own_name|Sam]]'s approach: listen first. {{St John Ambulance}} trained me in "
                 "{{the Care Act 2014}}. {{Smith et al.}} wrote about it."},
    {"first_name": "Li", "last_name": "Wei",
     "answer_1": "[[own_name|Li Wei]] is my name, [[own_name|Wei]] for short. I have "
                 "{{three children}} and {{a 5 star rating}}."},
    {"first_name": "Eleanor", "last_name": "Van der Berg", "preferred_name": "Nell",
     "answer_1": "[[own_name|Eleanor van der Berg]] or [[own_name|Nell]]. The "
                 "[[own_name|Berg]] family moved here."},
    {"first_name": "Ola", "last_name": "Adeyemi",
     "answer_1": "Born in [[date_of_birth|1985]], I came to the UK. DOB "
                 "[[date_of_birth|1985-07-09]]. I started {{on 3 May 2019}}."},
    {"first_name": "Hannah", "last_name": "Smith-Jones",
     "answer_1": "[[own_name|Hannah Smith-Jones]] is my full name; [[own_name|Smith]] at work, "
                 "[[own_name|Jones]] to the kids, [[own_name|Smith Jones]] on the rota."},
]  # fmt: skip


_MARK = re.compile(r"\[\[(\w+)\|(.+?)\]\]|\{\{(.+?)\}\}", re.S)


def hard_cases() -> list[Application]:
    apps = []
    for i, case in enumerate(HARD_CASES, start=1):
        fields = {
            "application_id": f"H{i:03d}", "first_name": "", "last_name": "",
            "preferred_name": "", "email": "", "phone": "", "address": "", "postcode": "",
            "date_of_birth": "", "ni_number": "", "referee_1_name": "", "referee_2_name": "",
            "emergency_contact_name": "", "status": "received",
        }  # fmt: skip
        fields.update({k: v for k, v in case.items() if not k.startswith("answer_")})
        app = Application(fields)
        for col in ("answer_1", "answer_2", "answer_3", "answer_4"):
            a = _Answer(col)
            raw = case.get(col, "")
            last = 0
            for m in _MARK.finditer(raw):
                a.text(raw[last : m.start()])
                if m.group(1):
                    a.plant(m.group(1), m.group(2), "hard case")
                else:
                    a.keep(m.group(3))
                last = m.end()
            a.text(raw[last:])
            app.fields[col] = a.value()
            app.planted += a.planted
            app.survive += a.survive
        apps.append(app)
    return apps


def write_hard_cases() -> None:
    out = HERE / "redact_hard_cases.jsonl"
    out.write_text("\n".join(a.to_json() for a in hard_cases()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    out = HERE / "redact_corpus.jsonl"
    out.write_text("\n".join(a.to_json() for a in generate(n)) + "\n", encoding="utf-8")
    write_hard_cases()
    print(f"wrote {n} applications to {out}, and {len(HARD_CASES)} hard cases")
