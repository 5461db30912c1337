"""Anonymised shortlisting: candidate letters, identifying columns dropped, answers scrubbed.

Pure functions on DataFrames, no I/O. The job (``automations.jobs.redact``) reads
the staff workbook, calls :func:`assign_letters` and :func:`anonymise`, and writes
the candidate key and report to the staff workbook and the anonymised answers to
the panel workbook.

Letters:

* A … Z, then AA, AB … (:func:`letter_name`).
* A letter once given is kept for good: the candidate key is the record, and
  every run starts from it.
* A withdrawn application keeps its letter, marked retired; a retired letter is
  never given to anyone else (every letter in the key counts as used).
* New applications get the next free letters. With ``letter_order = "submission"``
  in the order they arrived; with ``"shuffled"`` in an order fixed by a keyed hash
  of (campaign, seed, application id), so letters say nothing about who applied
  first, and a rerun, or a run after a crash, gives the same letters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .form_values import letter_sort_key as letter_sort_key  # where it always was
from .scrub import KINDS, Identity, Person, Scrubber, find_values, fold, value_key
from .values import is_true
from .values import text as _t

OWN_NAME_COLUMNS = ("first_name", "last_name", "preferred_name")
REFEREE_NAME_COLUMNS = ("referee_1_name", "referee_2_name")
# Columns whose values are also searched for in the answers in any layout (scrub.find_values).
VALUE_COLUMNS = (
    "email",
    "phone",
    "referee_1_email",
    "referee_1_phone",
    "referee_2_email",
    "referee_2_phone",
    "ni_number",
    "postcode",
)
WITHDRAWN = "withdrawn"


def letter_name(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, 27 -> AB … (like spreadsheet columns)."""
    if n < 0:
        raise ValueError("letter numbers start at 0")
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def letter_number(letter: str) -> int:
    """Inverse of :func:`letter_name`; ValueError for anything that is not A, B … AA."""
    s = letter.strip().upper().removeprefix("CANDIDATE ").strip()
    if not re.fullmatch(r"[A-Z]{1,3}", s):
        raise ValueError("not a candidate letter")
    n = 0
    for ch in s:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def shuffle_key(campaign_id: str, seed: int, application_id: str) -> str:
    """A stable, unguessable-looking order for one application within its campaign."""
    return hashlib.sha256(f"{campaign_id}\x1f{seed}\x1f{application_id}".encode()).hexdigest()


@dataclass
class LetterPlan:
    """The candidate key after this run, and what changed."""

    key: pd.DataFrame  # application_id, candidate_letter, assigned_at, retired
    new: list[str] = field(default_factory=list)  # application ids given a letter now
    retired: list[str] = field(default_factory=list)  # application ids retired now
    restored: list[str] = field(default_factory=list)  # withdrawn, then back

    def active(self) -> dict[str, str]:
        """application_id -> letter for letters not retired."""
        return {
            _t(r["application_id"]): _t(r["candidate_letter"])
            for r in self.key.to_dict("records")
            if not is_true(r["retired"])
        }


KEY_COLUMNS = ["application_id", "candidate_letter", "assigned_at", "retired"]


def assign_letters(
    applications: pd.DataFrame,
    key: pd.DataFrame,
    *,
    campaign_id: str,
    order: str = "shuffled",
    seed: int = 0,
    now: dt.datetime | None = None,
) -> LetterPlan:
    """Give each application a letter, keeping every letter already in ``key``.

    ``applications`` needs ``application_id``, ``status`` and (for submission
    order) ``submitted_at``; ``key`` is the candidate key tab. Rows of the key
    whose application is gone are kept (their letters stay used).
    """
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    by_app: dict[str, int] = {}
    for r in key.to_dict("records"):
        app = _t(r.get("application_id"))
        letter = _t(r.get("candidate_letter")).upper().removeprefix("CANDIDATE ").strip()
        if not app or not letter:
            continue
        retired = r.get("retired")
        rows.append(
            {
                "application_id": app,
                "candidate_letter": letter,
                "assigned_at": r.get("assigned_at"),
                "retired": bool(retired) if retired is not None and retired is not pd.NA else False,
            }
        )
        by_app[app] = len(rows) - 1
        used.add(letter)
    plan = LetterPlan(key=pd.DataFrame())
    waiting: list[tuple[Any, ...]] = []
    for pos, (_, r) in enumerate(records(applications)):
        app = _t(r.get("application_id"))
        if not app:
            continue
        withdrawn = _t(r.get("status")).lower() == WITHDRAWN
        if app in by_app:
            entry = rows[by_app[app]]
            if withdrawn and not entry["retired"]:
                entry["retired"] = True
                plan.retired.append(app)
            elif not withdrawn and entry["retired"]:
                # the same person is back: their own letter, never someone else's
                entry["retired"] = False
                plan.restored.append(app)
            continue
        if withdrawn:
            continue  # withdrawn before a letter was given: nothing to retire
        if order == "submission":
            sub = r.get("submitted_at")
            when = sub if isinstance(sub, dt.datetime) else dt.datetime.max
            waiting.append((when, pos, app))
        else:
            waiting.append((shuffle_key(campaign_id, seed, app), app))
        by_app[app] = -1  # a duplicate id gets one letter only
    waiting.sort()
    n = 0
    for item in waiting:
        app = item[-1]
        while letter_name(n) in used:
            n += 1
        letter = letter_name(n)
        used.add(letter)
        rows.append(
            {
                "application_id": app,
                "candidate_letter": letter,
                "assigned_at": now,
                "retired": False,
            }
        )
        plan.new.append(app)
    plan.key = pd.DataFrame(rows, columns=KEY_COLUMNS)
    if len(plan.key):
        plan.key["retired"] = plan.key["retired"].astype("boolean")
    return plan


# ----------------------------------------------------------------------- scrubbing


def answer_columns(applications: pd.DataFrame) -> list[str]:
    cols = [c for c in applications.columns if re.fullmatch(r"answer_\d+", str(c))]
    return sorted(cols, key=lambda c: int(c.split("_")[1]))


def other_name_columns(applications: pd.DataFrame) -> list[str]:
    """Extra columns naming a person (an emergency contact, a manager …)."""
    known = set(OWN_NAME_COLUMNS) | set(REFEREE_NAME_COLUMNS)
    return [
        c
        for c in applications.columns
        if str(c) not in known and re.search(r"(?:^|_)name$", str(c)) and "preferred" not in c
    ]


def identity_of(
    row: Mapping[str, Any], label: str, extra_name_cols: Sequence[str] = ()
) -> Identity:
    """Everything the application's own columns say about who wrote it."""
    own = Person(_t(row.get("first_name")), _t(row.get("last_name")), _t(row.get("preferred_name")))
    referees = tuple(
        Person.from_full(_t(row.get(c))) for c in REFEREE_NAME_COLUMNS if _t(row.get(c))
    )
    others = tuple(Person.from_full(_t(row.get(c))) for c in extra_name_cols if _t(row.get(c)))
    dob = row.get("date_of_birth")
    values = tuple(_t(row.get(c)) for c in VALUE_COLUMNS if _t(row.get(c)))
    return Identity(
        own=own,
        label=label,
        referees=referees,
        others=others,
        address=_t(row.get("address")),
        date_of_birth=dob if isinstance(dob, dt.date) else None,
        values=values,
    )


@dataclass
class Anonymised:
    """Result of :func:`anonymise`: one row per active candidate, and the staff report."""

    panel: pd.DataFrame  # candidate_letter, answer_1 …
    report: pd.DataFrame  # application_id, candidate_letter, removed, unsure
    attention: list[str] = field(default_factory=list)  # ids and letters only
    # application id -> what came out of it this run, keyed by its digest (see Reuse)
    done: dict[str, Reuse] = field(default_factory=dict)
    scrubbed: set[str] = field(default_factory=set)  # ids scrubbed afresh (not reused)


@dataclass(frozen=True)
class Reuse:
    """One application's scrubbed answers and report findings, with the digest of all it
    came from (its cells, its letter, the label style and the code and name lists), so
    an application nobody changed is not scrubbed again (issue 17: work in proportion
    to change). Holds anonymised text only, the same the panel workbook gets."""

    digest: str
    answers: dict[str, str]
    removed: str
    unsure: str


def row_digest(row: Mapping[str, Any], letter: str, salt: str) -> str:
    """Digest of everything :func:`anonymise` reads for one application: every cell of
    its row (any column can name the person), its letter and ``salt`` (code version,
    name lists, label style). Equal digests give equal output."""
    h = hashlib.sha256(salt.encode())
    h.update(b"\0" + letter.encode())
    for col, value in sorted(((str(c), v) for c, v in row.items()), key=lambda cv: cv[0]):
        h.update(b"\0" + col.encode() + b"\1" + repr(value).encode())
    return h.hexdigest()


def describe_counts(counts: Counter[str]) -> str:
    """'own name: 3; email: 1' in a fixed order (empty string for nothing)."""
    return "; ".join(f"{KINDS[k][1]}: {counts[k]}" for k in KINDS if counts.get(k))


def own_label(letter: str, style: str = "letter") -> str:
    return "the candidate" if style == "the candidate" else f"Candidate {letter}"


def anonymise(
    applications: pd.DataFrame,
    letters: Mapping[str, str],
    *,
    label_style: str = "letter",
    nicknames: bool = True,
    known: Mapping[str, Reuse] | None = None,
    salt: str = "",
) -> Anonymised:
    """Scrub the answers of every application that has an active letter.

    Identifying columns are never copied: the panel frame is built from the
    letter and the ``answer_n`` columns only. Rows come out in letter order.
    ``known`` is the last run's output (:attr:`Anonymised.done`): an application whose
    digest (:func:`row_digest` with ``salt``) is unchanged is taken from it, not
    scrubbed again.
    """
    salt = f"{salt}\0{label_style}\0{nicknames}"
    done: dict[str, Reuse] = {}
    scrubbed: set[str] = set()
    answers = answer_columns(applications)
    extra = other_name_columns(applications)
    panel_rows: list[dict[str, Any]] = []
    report_rows: list[dict[str, Any]] = []
    attention: list[str] = []
    for _, r in records(applications):
        app = _t(r.get("application_id"))
        letter = letters.get(app)
        if not app or not letter:
            continue
        digest = row_digest(r, letter, salt) if known is not None else ""
        hit = known.get(app) if known is not None else None
        if hit is not None and hit.digest == digest and list(hit.answers) == answers:
            done[app] = hit
            panel_rows.append({"candidate_letter": letter, **hit.answers})
            report_rows.append(
                {
                    "application_id": app,
                    "candidate_letter": letter,
                    "removed": hit.removed,
                    "unsure": hit.unsure,
                }
            )
            if hit.unsure:
                attention.append(
                    f"application {app} (Candidate {letter}): please check the redaction"
                )
            continue
        scrubbed.add(app)
        scrubber = Scrubber.build(
            identity_of(r, own_label(letter, label_style), extra), nicknames=nicknames
        )
        out: dict[str, Any] = {"candidate_letter": letter}
        total: Counter[str] = Counter()
        unsure: list[str] = []
        for col in answers:
            res = scrubber.scrub(_t(r.get(col)))
            out[col] = res.text
            total.update(res.counts)
            if res.unsure:
                words = ", ".join(str(p) for p in res.unsure[:10])
                more = f" and {len(res.unsure) - 10} more" if len(res.unsure) > 10 else ""
                unsure.append(f"{col} word {words}{more}")
        if not _t(r.get("first_name")) or not _t(r.get("last_name")):
            unsure.insert(0, "no first or last name on the form, so names could not be looked for")
        panel_rows.append(out)
        found = {
            "removed": describe_counts(total),
            "unsure": ("maybe a name: " if unsure else "") + "; ".join(unsure),
        }
        report_rows.append({"application_id": app, "candidate_letter": letter, **found})
        if known is not None:
            done[app] = Reuse(digest, {c: out[c] for c in answers}, **found)
        if unsure:
            attention.append(f"application {app} (Candidate {letter}): please check the redaction")
    panel = pd.DataFrame(panel_rows, columns=["candidate_letter", *answers])
    if len(panel):
        panel = panel.sort_values(
            "candidate_letter", key=lambda s: s.map(letter_sort_key)
        ).reset_index(drop=True)
    report = pd.DataFrame(
        report_rows, columns=["application_id", "candidate_letter", "removed", "unsure"]
    )
    return Anonymised(panel, report, attention, done, scrubbed)


def merge_report(old: pd.DataFrame, new: pd.DataFrame, now: dt.datetime | None) -> pd.DataFrame:
    """The redaction report after this run, keeping what staff typed (``reviewed_by``).

    A row whose findings did not change keeps its time and reviewer, so a rerun
    writes the same report; a row whose findings changed needs a fresh review.
    """
    prev: dict[str, Mapping[str, Any]] = {}
    for r in old.to_dict("records"):
        app = _t(r.get("application_id"))
        if app:
            prev[app] = r
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in new.to_dict("records"):
        app = _t(r["application_id"])
        seen.add(app)
        before = prev.get(app)
        same = before is not None and all(
            _t(before.get(c)) == _t(r[c]) for c in ("candidate_letter", "removed", "unsure")
        )
        rows.append(
            {
                "application_id": app,
                "candidate_letter": r["candidate_letter"],
                "removed": r["removed"],
                "unsure": r["unsure"],
                "redacted_at": before.get("redacted_at") if same and before is not None else now,
                "reviewed_by": _t(before.get("reviewed_by")) if same and before is not None else "",
            }
        )
    # applications no longer shared (withdrawn): keep their line for the record
    for app, r in prev.items():
        if app not in seen:
            rows.append(
                {
                    c: r.get(c)
                    for c in (
                        "application_id",
                        "candidate_letter",
                        "removed",
                        "unsure",
                        "redacted_at",
                        "reviewed_by",
                    )
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "application_id",
            "candidate_letter",
            "removed",
            "unsure",
            "redacted_at",
            "reviewed_by",
        ],
    )


def missing_ids(applications: pd.DataFrame) -> list[int]:
    """Sheet rows with answers but no application id."""
    out = []
    for row, r in records(applications):
        if not _t(r.get("application_id")) and any(_t(v) for v in r.values()):
            out.append(int(row))
    return out


def duplicate_ids(applications: pd.DataFrame) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for row, r in records(applications):
        app = _t(r.get("application_id"))
        if app and app in seen:
            out.append((int(row), app))
        seen.add(app)
    return out


def records(frame: pd.DataFrame) -> Iterable[tuple[Any, dict[str, Any]]]:
    """(index, row as a dict) for each row: what ``iterrows`` gives, without building a
    Series per row (the cost of a run at thousands of applications)."""
    return zip(frame.index, frame.to_dict("records"), strict=True)


def iter_letters(n: int) -> Iterable[str]:
    return (letter_name(i) for i in range(n))


# ----------------------------------------------------------------------- last guard


def _plain_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text)[0].lower())


def _contains_run(words: Sequence[str], seq: Sequence[str]) -> bool:
    n = len(seq)
    return any(list(words[i : i + n]) == list(seq) for i in range(len(words) - n + 1))


def leak_kinds(row: Mapping[str, Any], text: str) -> list[str]:
    """Which of the form's own values are still in ``text`` (kinds only, never values).

    The final check before anything is written: every structured value on the form
    (emails, phone numbers, NI number, postcode, date of birth, each part of the
    address) normalised, so a value in another layout counts too, and the full name
    as written or in capitals.
    """
    if not text:
        return []
    folded = fold(text)[0]
    low = folded.lower()
    digits = re.sub(r"\D", "", folded)
    squeezed = re.sub(r"[^a-z0-9]", "", low)
    out: list[str] = []
    keys: list[tuple[str, str]] = []
    for c in VALUE_COLUMNS:
        got = value_key(_t(row.get(c)))
        if got is None:
            continue
        kind, key = got
        if kind == "email":
            if key in low:
                out.append("email")
        elif kind == "phone":
            if len(key) >= 9 and key in digits:
                out.append("phone")
        elif kind == "ni_number":
            if key[:8] in squeezed:
                out.append("ni_number")
        else:
            keys.append((kind, key))
    dob = row.get("date_of_birth")
    if isinstance(dob, dt.date):
        scan = Scrubber.build(Identity(Person(), date_of_birth=dob, values=()))
        if any(k == "date_of_birth" for _, _, k in scan.find(text)[0]):
            out.append("date_of_birth")
    out += [k for _, _, k in find_values(folded, keys)]
    words = _plain_words(text)
    parts = [p.strip() for p in _t(row.get("address")).split(",") if p.strip()]
    for i, part in enumerate(parts):
        seq = _plain_words(part)
        if not seq or (i == len(parts) - 1 and len(seq) == 1 and not seq[0].isdigit()):
            continue  # the town alone is not an address
        if len(seq) == 1:
            # one word: only written as a name ("Rosewood"), not "an orchard"
            if re.search(rf"(?<![\w]){re.escape(fold(part)[0])}(?![\w])", folded):
                out.append("address")
        elif _contains_run(words, seq):
            out.append("address")
    # the full name as written on the form (or in capitals); in lower case it may be
    # ordinary words ("will hope"), which the scrubber leaves and flags on purpose
    full = " ".join(fold(f"{_t(row.get('first_name'))} {_t(row.get('last_name'))}")[0].split())
    plain = " ".join(folded.split())
    if " " in full and (full in plain or full.upper() in plain):
        out.append("own_name")
    return sorted(set(out))
