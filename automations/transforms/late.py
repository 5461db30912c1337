"""Late applications: who has finished shortlisting without a candidate added since. Pure.

A late application gets a letter after some shortlisters have already sent their
scores. Each of them is told once ("a new application, Candidate G, has been added
to your form"), and ``status`` says which results wait for whom. Worked out from
the Raw scores and the candidate key alone (both kept), never from what a job
remembers, so a job killed half way and run again tells each person exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .values import column, is_true, text


def assigned_times(candidate_key: pd.DataFrame) -> dict[str, dt.datetime]:
    """When each live letter was given (retired letters are left out)."""
    out: dict[str, dt.datetime] = {}
    for _, r in candidate_key.iterrows():
        letter, when = text(r.get("candidate_letter")), r.get("assigned_at")
        if letter and not is_true(r.get("retired")) and isinstance(when, dt.datetime):
            out[letter] = when
    return out


# The Raw scores columns that tell who sent shortlisting scores, when, for whom.
SENT_COLUMNS = ("stage", "person_id", "submitted_at", "candidate_letter")


def shortlisting_sent(raw_scores: pd.DataFrame) -> dict[str, tuple[dt.datetime, set[str]]]:
    """For each person who sent shortlisting scores: when they last did, and the letters."""
    if raw_scores.empty:
        return {}
    return sent_from_columns(*(column(raw_scores, c) for c in SENT_COLUMNS))


def sent_from_columns(
    stages: Iterable[Any], people: Iterable[Any], times: Iterable[Any], letters: Iterable[Any]
) -> dict[str, tuple[dt.datetime, set[str]]]:
    """:func:`shortlisting_sent` from Raw scores' four columns, however they were read
    (the Status tab reads only these, never a frame of every score)."""
    # each distinct (stage, person, letter) once, at its last time: a row per question
    # scored repeats them (160,000 rows at 5,000 applications)
    last: dict[tuple[Any, Any, Any], dt.datetime] = {}
    for stage, person, when, letter in zip(stages, people, times, letters, strict=True):
        if not isinstance(when, dt.datetime):
            continue
        k = (stage, person, letter)
        if k not in last or when > last[k]:
            last[k] = when
    out: dict[str, tuple[dt.datetime, set[str]]] = {}
    for (stage, person, letter), when in last.items():
        if text(stage) != "shortlisting":
            continue
        pid = text(person)
        if not pid:
            continue
        was, got = out.get(pid, (when, set()))
        got.add(text(letter))
        out[pid] = (max(was, when), got)
    return out


def late_letters(
    forms: Mapping[str, Sequence[str]],
    raw_scores: pd.DataFrame,
    candidate_key: pd.DataFrame,
) -> dict[str, list[str]]:
    """Letters added to each person's shortlisting form after they sent their scores.

    ``forms``: person id -> the letters on their shortlisting form now. Only people
    who have sent scores count (the others see every candidate when they start), and
    only letters given after their last scores (a candidate they chose to leave is
    not "new").
    """
    given = assigned_times(candidate_key)
    sent = shortlisting_sent(raw_scores)
    out: dict[str, list[str]] = {}
    for pid, letters in forms.items():
        if pid not in sent:
            continue
        last, scored = sent[pid]
        new = [x for x in letters if x not in scored and x in given and given[x] > last]
        if new:
            out[pid] = new
    return out


def waiting_for(
    forms: Mapping[str, Iterable[str]], raw_scores: pd.DataFrame
) -> dict[str, list[str]]:
    """Shortlisting scores still to come: person id -> letters on their form not scored."""
    sent = shortlisting_sent(raw_scores)
    out: dict[str, list[str]] = {}
    for pid, letters in forms.items():
        scored = sent.get(pid, (None, set()))[1]
        missing = [x for x in letters if x and x not in scored]
        if missing:
            out[pid] = missing
    return out
