"""How a form is split into pages in the local form server: pure, no I/O.

A spec's sections are its pages, but a question-by-question shortlisting page holds
every candidate's answer, which is a lot to scroll (about 29 screens at 400% zoom).
A person can choose fewer candidates a page on the start page; people who asked for
large print or easy read get one candidate a page unless they choose otherwise
(issue 20). The choice is kept with their saved answers, so it lasts between visits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .base import FormSpec, Item, Section

# Kept with the person's saved answers (never sent with the scores: only item ids are).
PER_PAGE_KEY = "_per_page"
PER_PAGE_CHOICES = ("all", "3", "1")


@dataclass(frozen=True)
class Page:
    """One page the person sees: all or part of one section."""

    number: int  # 1-based, as in the page's address
    section_number: int  # 1-based section this page belongs to
    section: Section
    items: tuple[Item, ...]
    part: int = 1  # which part of the section (1-based)
    parts: int = 1  # how many parts the section is split into

    @property
    def letters(self) -> list[str]:
        """The candidate letters on this page, in order."""
        out: list[str] = []
        for i in self.items:
            if i.candidate_letter not in out:
                out.append(i.candidate_letter)
        return out


def default_per_page(spec: FormSpec) -> str:
    """One candidate a page for large print and easy read; everyone else sees them all."""
    return "1" if spec.format in ("large print", "easy read") else "all"


def per_page(spec: FormSpec, saved: dict[str, str]) -> str:
    """The person's choice, or the default for their format."""
    choice = saved.get(PER_PAGE_KEY, "")
    return choice if choice in PER_PAGE_CHOICES else default_per_page(spec)


def splits(spec: FormSpec) -> bool:
    """True when some page of a score form holds more than one candidate (so the choice
    means something). Other forms (co-production, expenses) are never split."""
    return spec.kind == "scores" and any(
        len({i.candidate_letter for i in s.items}) > 1 for s in spec.sections
    )


def _groups(items: tuple[Item, ...]) -> list[tuple[Item, ...]]:
    """Items in runs of the same candidate letter (a score and its notes stay together)."""
    out: list[list[Item]] = []
    for item in items:
        if out and out[-1][-1].candidate_letter == item.candidate_letter:
            out[-1].append(item)
        else:
            out.append([item])
    return [tuple(g) for g in out]


def pages(spec: FormSpec, choice: str = "all") -> list[Page]:
    """Every page of the form, in order, with ``choice`` candidates a page."""
    size = int(choice) if choice.isdigit() and int(choice) > 0 and splits(spec) else 0
    out: list[Page] = []
    for sn, section in enumerate(spec.sections, 1):
        groups = _groups(section.items)
        if not size or len(groups) <= size:
            out.append(Page(len(out) + 1, sn, section, section.items))
            continue
        chunks = [groups[k : k + size] for k in range(0, len(groups), size)]
        for part, chunk in enumerate(chunks, 1):
            items = tuple(i for g in chunk for i in g)
            out.append(Page(len(out) + 1, sn, section, items, part, len(chunks)))
    return out


def first_page_of(all_pages: list[Page]) -> dict[int, int]:
    """Section number -> the number of its first page."""
    out: dict[int, int] = {}
    for p in all_pages:
        out.setdefault(p.section_number, p.number)
    return out


def page_of_item(all_pages: list[Page]) -> dict[str, int]:
    """Item id -> the number of the page it is on."""
    return {i.item_id: p.number for p in all_pages for i in p.items}


def added_since(spec: FormSpec, sent: Collection[str]) -> list[str]:
    """Letters of the candidates on a score form of whom the person's last send
    (``sent``: its item ids) held nothing: applications added since (a late one)."""
    if spec.kind != "scores":
        return []
    had = {i.candidate_letter for i in spec.items() if i.item_id in sent}
    out: list[str] = []
    for i in spec.items():
        if i.candidate_letter and i.candidate_letter not in had | set(out):
            out.append(i.candidate_letter)
    return out


def first_page_with(all_pages: list[Page], letters: Collection[str]) -> int:
    """The first page holding one of these candidates (1 when none does)."""
    return next((p.number for p in all_pages if set(p.letters) & set(letters)), 1)


@dataclass(frozen=True)
class NewMark:
    """A section of the contents list that holds a late candidate: the page it opens on
    (the first with a new candidate) and which new candidates it holds."""

    page: int
    letters: tuple[str, ...]
    whole: bool  # every candidate in the section is new (a page per application)


def new_marks(all_pages: list[Page], letters: Collection[str]) -> dict[int, NewMark]:
    """Section number -> its mark in the contents list, for sections with a new candidate."""
    new = list(dict.fromkeys(letters))
    out: dict[int, NewMark] = {}
    for p in all_pages:
        here = [x for x in p.letters if x in new]
        if not here:
            continue
        sec_letters = {i.candidate_letter for i in p.section.items}
        old = out.get(p.section_number)
        have = old.letters if old else ()
        out[p.section_number] = NewMark(
            old.page if old else p.number,
            (*have, *(x for x in here if x not in have)),
            sec_letters <= set(new),
        )
    return out


__all__ = [
    "PER_PAGE_CHOICES",
    "PER_PAGE_KEY",
    "NewMark",
    "Page",
    "added_since",
    "default_per_page",
    "first_page_of",
    "first_page_with",
    "new_marks",
    "page_of_item",
    "pages",
    "per_page",
    "splits",
]
