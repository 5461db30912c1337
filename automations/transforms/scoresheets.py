"""Printable score sheets: who gets which sheets, with what on them. Pure: no I/O.

A score sheet is the paper twin of a panel member's score form: one page for each
candidate letter, with every question that member's panel scores (interview) or
every job criterion (shortlisting), the scale with what each point means, and room
for notes. The same ids (person, letter, question) are printed on the sheet, so
staff can type the scores in afterwards through the checked path in
:mod:`automations.transforms.paper`.

Sheets carry candidate letters only, never names; a panel member is shown by the
name they chose to be introduced by.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..config.models import CampaignConfig, Scale
from .form_values import letter_sort_key
from .forms import panel_candidates, questions_for, scorers
from .messages import short_name
from .reminders import INVITED
from .values import is_true
from .values import text as _text

Stage = Literal["shortlisting", "interview"]
Format = Literal["standard", "large print", "easy read"]
FORMATS: tuple[str, ...] = ("standard", "large print", "easy read")


@dataclass(frozen=True)
class Point:
    value: int
    meaning: str


@dataclass(frozen=True)
class Item:
    """One thing to score: an interview question or a shortlisting criterion."""

    id: str
    number: int
    text: str
    asker: str = ""
    criteria: tuple[str, ...] = ()  # what it tests, in words
    points: tuple[Point, ...] = ()
    weight: str = "1"


@dataclass
class Sheet:
    """Every page one person gets for one stage."""

    person_id: str
    shown_as: str
    panel: str
    stage: Stage
    format: Format
    letters: list[str]
    items: list[Item]
    notes: list[str] = field(default_factory=list)

    @property
    def file_stem(self) -> str:
        suffix = {"standard": "", "large print": "-large-print", "easy read": "-easy-read"}
        return f"{self.stage}-{self.person_id}{suffix[self.format]}"


def points(scale: Scale, fallback: Sequence[Scale] = ()) -> tuple[Point, ...]:
    """Every whole score on the scale with its meaning.

    A question's scale without words borrows them from the criteria it tests (when
    the range is the same), so the sheet always says what each point means.
    """
    labels = dict(scale.labels)
    if not labels:
        for f in fallback:
            if (f.min, f.max) == (scale.min, scale.max) and f.labels:
                labels = dict(f.labels)
                break
    return tuple(Point(v, labels.get(str(v), "")) for v in range(scale.min, scale.max + 1))


def person_panel(row: Mapping[str, Any], campaign: CampaignConfig) -> str:
    """The panel a person scores on, as the score forms see it (``transforms.forms``)."""
    return _text(row.get("panel")) or "mixed"


def is_scorer(row: Mapping[str, Any], stage: Stage) -> bool:
    """The score forms' rule: chairs and panel members marked for the stage; supporting
    workers never score."""
    return bool(scorers(pd.DataFrame([dict(row)]), stage))


def items_for(
    campaign: CampaignConfig, stage: Stage, panel: str, asker_names: Mapping[str, str]
) -> list[Item]:
    """What a member of ``panel`` scores at ``stage``, in order."""
    crit = {c.id: c.text for c in campaign.criteria}
    crit_scale = {c.id: c.scale for c in campaign.criteria}
    out: list[Item] = []
    if stage == "shortlisting":
        for c in campaign.criteria:
            out.append(
                Item(
                    id=c.id,
                    number=len(out) + 1,
                    text=c.text,
                    criteria=("Essential" if c.essential else "Desirable",),
                    points=points(c.scale),
                )
            )
        return out
    for q in questions_for(campaign, panel):  # exactly the questions on the web form
        out.append(
            Item(
                id=q.id,
                number=len(out) + 1,
                text=q.text,
                asker=asker_names.get(q.asker or "", ""),
                criteria=tuple(crit[c] for c in q.criteria if c in crit),
                points=points(q.scale, [crit_scale[c] for c in q.criteria if c in crit_scale]),
                weight=str(q.weight),
            )
        )
    return out


def letters_for(
    stage: Stage,
    candidate_key: pd.DataFrame,
    applications: pd.DataFrame | None = None,
    timetable: pd.DataFrame | None = None,
) -> tuple[list[str], list[str]]:
    """Candidate letters for the stage, and notes for staff.

    Shortlisting: every letter not retired. Interview: the letters in the
    timetable; before there is one, the letters of applications marked invited.
    """
    notes: list[str] = []
    live: dict[str, str] = {}
    for _, r in candidate_key.iterrows():
        if is_true(r.get("retired")):
            continue
        letter = _text(r.get("candidate_letter"))
        if letter:
            live[_text(r.get("application_id"))] = letter
    if stage == "shortlisting":
        if not live:
            notes.append(
                "There are no candidate letters yet, so there are no shortlisting sheets. "
                "Run 'corecruit redact' first (or give --letters)."
            )
        return sorted(set(live.values()), key=letter_sort_key), notes
    if timetable is not None and len(timetable):
        got = [_text(x) for x in timetable["candidate_letter"] if _text(x)]
        if got:
            return sorted(set(got), key=letter_sort_key), notes
    if applications is not None and len(applications):
        invited = {
            live[_text(r.get("application_id"))]
            for _, r in applications.iterrows()
            if _text(r.get("status")) in INVITED and _text(r.get("application_id")) in live
        }
        if invited:
            notes.append(
                "There is no timetable yet, so the sheets are for every application marked invited."
            )
            return sorted(invited, key=letter_sort_key), notes
    notes.append(
        "No candidate is invited to interview yet, so there are no interview sheets. "
        "Mark applications 'invited' (or give --letters)."
    )
    return [], notes


def asker_names(people: pd.DataFrame) -> dict[str, str]:
    """person_id -> the name the person goes by (from their chosen introduction)."""
    out = {}
    for _, r in people.iterrows():
        pid = _text(r.get("person_id"))
        if pid:
            out[pid] = short_name(_text(r.get("introduction")), _text(r.get("name")), pid)
    return out


def build_sheets(
    campaign: CampaignConfig,
    people: pd.DataFrame,
    letters: Sequence[str],
    stage: Stage,
    *,
    only: Iterable[str] | None = None,
    fmt: Format | None = None,
) -> list[Sheet]:
    """One sheet set per scorer (or per person in ``only``), in their preferred format."""
    wanted = set(only) if only is not None else None
    names = asker_names(people)
    rows = {_text(r.get("person_id")): r.to_dict() for _, r in people.iterrows()}
    out: list[Sheet] = []
    for scorer in scorers(people, stage):  # the same people the score forms go to
        pid = scorer.person_id
        if wanted is not None and pid not in wanted:
            continue
        row = rows[pid]
        panel = scorer.panel
        pref = _text(row.get("formats")).lower()
        chosen: Format = fmt or (pref if pref in FORMATS else "standard")  # type: ignore[assignment]
        items = items_for(campaign, stage, panel, names)
        notes = []
        if not items:
            notes.append(f"{pid}: there is nothing for the {panel} panel to score at {stage}.")
        out.append(
            Sheet(
                person_id=pid,
                shown_as=names.get(pid, pid),
                panel=panel,
                stage=stage,
                format=chosen,
                letters=list(letters),
                items=items,
                notes=notes,
            )
        )
    return out


def answers_by_letter(
    campaign: CampaignConfig, panel_apps: pd.DataFrame
) -> dict[str, dict[str, str]]:
    """Each candidate's anonymised answers (from the panel workbook only): letter ->
    criterion id -> answer, so a person shortlisting on paper has them to read."""
    return {c.letter: dict(c.answers) for c in panel_candidates(campaign, panel_apps)}


def sheet_context(
    sheet: Sheet,
    campaign: CampaignConfig,
    org_name: str,
    answers: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """What the print template needs for one sheet set (``answers``: shortlisting)."""
    return {
        "answers": answers or {},
        "org_name": org_name,
        "post": campaign.campaign.post,
        "team": campaign.campaign.team,
        "stage": sheet.stage,
        "person_id": sheet.person_id,
        "shown_as": sheet.shown_as,
        "panel": sheet.panel,
        "format": sheet.format,
        "large": sheet.format in ("large print", "easy read"),
        "easy_read": sheet.format == "easy read",
        "letters": sheet.letters,
        "items": sheet.items,
        "campaign_id": campaign.id,
    }


# ------------------------------------------------------------- papers by post

# How the Sharing tab names someone who is not a person id (never posted to by id).
_NOT_A_PERSON = ("staff editor", "People row")
_SECTION = re.compile(
    r'<section class="page" aria-labelledby="h-([A-Z]+)">(.*?)</section>', re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")


def posted_to(sharing: pd.DataFrame) -> list[str]:
    """Person ids the panel workbook could not be shared with (from the Sharing tab, as
    the last sharing run left it): they get its content on paper, by post."""
    out: list[str] = []
    for _, r in sharing.iterrows():
        who = _text(r.get("who"))
        if (
            _text(r.get("workbook")) == "panel"
            and _text(r.get("outcome")) == "could not share"
            and who
            and not who.startswith(_NOT_A_PERSON)
            and who not in out
        ):
            out.append(who)
    return out


def page_text(html: str) -> str:
    """What a page says, as a reader sees it (tags gone, ``&lt;`` back to ``<``)."""
    return html_lib.unescape(_TAG.sub(" ", html))


def _name_in(name: str, text: str) -> bool:
    """A full name as written or in capitals (in lower case it may be ordinary words)."""
    return name in text or name.upper() in text


def paper_leaks(
    pages: Sequence[tuple[str, str]],
    applications: pd.DataFrame,
    candidate_key: pd.DataFrame,
) -> list[str]:
    """The last guard before papers leave the building: where a candidate's own details
    (name, email, phone, address...) are still on a printed page. Each page of a
    candidate is checked against that candidate's form; every page against every
    candidate's email and full name. Says the file and candidate letter and the kind of
    detail, never the value."""
    from .redact import leak_kinds
    from .scrub import KINDS, fold

    by_app = {
        _text(r.get("application_id")): r.to_dict()
        for _, r in applications.iterrows()
        if _text(r.get("application_id"))
    }
    rows: dict[str, dict[str, Any]] = {}
    for _, r in candidate_key.iterrows():
        app, letter = _text(r.get("application_id")), _text(r.get("candidate_letter"))
        if letter and app in by_app:
            rows[letter] = by_app[app]
    everyone = [
        (kind, needle)
        for row in by_app.values()
        for kind, needle in (
            ("email", fold(_text(row.get("email")))[0].lower()),
            ("own_name", fold(f"{_text(row.get('first_name'))} {_text(row.get('last_name'))}")[0]),
        )
        if len(needle.split()) > 1 or "@" in needle
    ]
    out: list[str] = []
    for stem, html in pages:
        for letter, section in _SECTION.findall(html):
            row = rows.get(letter)
            kinds = leak_kinds(row, page_text(section)) if row is not None else []
            if kinds:
                what = ", ".join(KINDS[k][1] for k in kinds)
                out.append(
                    f"{stem}: the page for Candidate {letter} still holds a detail from the "
                    f"candidate's application form ({what})"
                )
        whole = " ".join(fold(page_text(html))[0].split())
        low = whole.lower()
        found = sorted(
            {
                KINDS[k][1]
                for k, n in everyone
                if (n in low if k == "email" else _name_in(" ".join(n.split()), whole))
            }
        )
        if found:
            out.append(
                f"{stem}: a page holds a detail from an application form ({', '.join(found)})"
            )
    return list(dict.fromkeys(out))
