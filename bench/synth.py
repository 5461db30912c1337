"""Invented applications and panel members for benchmarks (no real person's data).

``applications(n, seed)`` gives rows shaped like the staff 'applications' tab, with
names, contact details and referees planted in the free-text answers so the
redaction job has real work to do.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sheets_templates" / "example"

FIRST = [
    "Joy",
    "Francis",
    "Aisha",
    "Tom",
    "Grace",
    "Helen",
    "Priya",
    "Kwame",
    "Siobhan",
    "Dylan",
    "Nadia",
    "Oliver",
    "Ruth",
    "Imran",
]
LAST = [
    "Hill",
    "Bell",
    "Rahman",
    "Whitfield",
    "Okafor",
    "Price",
    "Patel",
    "Mensah",
    "O'Brien",
    "Evans",
    "Khan",
    "Smith-Jones",
]
STREETS = [
    "Orchard Lane",
    "Station Road",
    "High Street",
    "Mill Close",
    "Church View",
    "Park Avenue",
]
TOWNS = ["Doncaster", "Mexborough", "Rotherham", "Barnsley", "Thorne"]
SENTENCES = [
    "My name is {first} {last} and I have used support services for {years} years.",
    "{ref} from my support group says I listen well.",
    "You can email me at {email} or call {phone}.",
    "I helped set up a peer group and we share the planning as equals.",
    "When things got hard I stayed calm and asked people what mattered to them.",
    "I volunteer at the food bank and make sure everyone is welcome.",
    "Mr {last} is how the residents know me at the day centre.",
    "I would bring kindness, patience and my own experience of recovery.",
]


def applications(n: int, seed: int = 1, n_criteria: int = 4) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = dt.datetime(2027, 1, 4, 9, 0)
    rows = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        ref = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}{i}@example.com"
        phone = f"07700 9{i % 100000:05d}"
        fill = {
            "first": first,
            "last": last,
            "ref": ref,
            "email": email,
            "phone": phone,
            "years": rng.randint(1, 20),
        }
        answers = {
            f"answer_{k + 1}": " ".join(
                rng.choice(SENTENCES).format(**fill) for _ in range(rng.randint(3, 6))
            )
            for k in range(n_criteria)
        }
        rows.append(
            {
                "application_id": f"{i + 1:05d}",
                "first_name": first,
                "last_name": last,
                "preferred_name": "",
                "email": email,
                "phone": phone,
                "address": f"{rng.randint(1, 200)} {rng.choice(STREETS)}, {rng.choice(TOWNS)}",
                "postcode": f"DN{rng.randint(1, 40)} {rng.randint(1, 9)}AB",
                "date_of_birth": dt.date(1960 + rng.randint(0, 40), rng.randint(1, 12), 5),
                "ni_number": f"QQ{i % 1000000:06d}C",
                "referee_1_name": ref,
                "referee_1_email": f"ref{i}@example.org",
                "referee_1_phone": f"01632 9{i % 100000:05d}",
                "status": "received",
                "submitted_at": start + dt.timedelta(minutes=7 * i),
                **answers,
            }
        )
    return rows


def people(panel_size: int = 4) -> list[dict[str, str]]:
    """The example people, with Council staff added so both panels have ``panel_size``."""
    with (EXAMPLE / "people.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    council = [r for r in rows if r["panel"] == "council"]
    template = dict(council[-1])
    n = len(rows)
    while len(council) < panel_size:
        n += 1
        extra = dict(template) | {
            "person_id": f"p{n:02d}",
            "name": f"Council Member {n}",
            "email": f"council{n}@example.org",
            "introduction": f"Council Member {n}",
        }
        rows.append(extra)
        council.append(extra)
    return rows
