"""Score forms, pure: who gets which form, what is on it, and which answers count.

``build_specs`` turns the campaign's criteria and questions, the people tab and the
anonymised applications into one :class:`FormSpec` per person per stage.
``validate_responses`` turns fetched responses into ``raw_scores`` rows and
``exceptions`` rows. Both backends (local and Google) go through the same code, so
they accept and refuse the same things, in the same words.

Nothing here reads or writes a workbook, and nothing here puts names, emails or
free text a person typed into an exception: exceptions name the form, the person
id, the candidate letter and the question only.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..config import CampaignConfig, Scale
from .form_values import (
    CommentItem,
    FormSpec,
    Item,
    Response,
    ScaleItem,
    ScalePoint,
    Section,
    Stage,
    cant_score_reason,
    comment_item_id,
    form_key,
    score_item_id,
)
from .values import is_true as _true
from .values import text as _text

SCORING_ROLES = ("chair", "panel member")
# Application statuses that mean the candidate is (or was) on the interview list.
INTERVIEW_STATUSES = ("invited", "interviewed", "offered", "accepted", "declined")
JOB = "forms collect"


def candidate_label(letter: str) -> str:
    """'A' -> 'Candidate A' (a letter already written as 'Candidate A' is kept)."""
    letter = letter.strip()
    return letter if letter.lower().startswith("candidate") else f"Candidate {letter}"


def _letter_sort(letter: str) -> tuple[int, str]:
    core = letter.removeprefix("Candidate ").strip()
    return (len(core), core)


# ------------------------------------------------------------------ who scores


@dataclass(frozen=True)
class Scorer:
    person_id: str
    panel: str  # mixed, council, lived experience
    role: str
    format: str = "standard"  # standard, large print, easy read: how their form looks


FORMATS = ("standard", "large print", "easy read")


def person_format(value: Any) -> str:
    """The people tab's format as one of :data:`FORMATS` (anything else: standard)."""
    fmt = " ".join(_text(value).lower().replace("-", " ").split())
    return fmt if fmt in FORMATS else "standard"


def scorers(people: pd.DataFrame, stage: Stage) -> list[Scorer]:
    """People who score at ``stage``: chairs and panel members marked as shortlisting
    or interviewing. Supporting workers never score, whatever the sheet says."""
    flag = "shortlists" if stage == "shortlisting" else "interviews"
    out = []
    for _, r in people.iterrows():
        pid, role = _text(r.get("person_id")), _text(r.get("role"))
        if not pid or role not in SCORING_ROLES or not _true(r.get(flag)):
            continue
        fmt = person_format(r.get("formats"))
        out.append(Scorer(pid, _text(r.get("panel")) or "mixed", role, fmt))
    return sorted(out, key=lambda s: s.person_id)


# ------------------------------------------------------------------ orders


def order_seed(campaign: CampaignConfig, stage: str, person_id: str) -> str:
    """The recorded seed of one person's candidate order (explainable later)."""
    return f"{campaign.id}|{campaign.campaign.seed}|{stage}|{person_id}"


def candidate_order(seed: str, letters: Iterable[str]) -> tuple[str, ...]:
    """A random-looking order of ``letters`` drawn from ``seed``.

    Each letter's place comes from a hash of (seed, letter), so the order is the
    same on every run, differs between people, and a candidate added later slots
    in without moving everyone else round.
    """

    def rank(letter: str) -> str:
        return hashlib.sha256(f"{seed}|{letter}".encode()).hexdigest()

    return tuple(sorted(set(letters), key=lambda x: (rank(x), x)))


# ------------------------------------------------------------------ specs


@dataclass(frozen=True)
class Candidate:
    """An anonymised application: the letter and the answer to each criterion."""

    letter: str
    answers: Mapping[str, str] = field(default_factory=dict)  # criterion id -> answer text


def panel_candidates(campaign: CampaignConfig, panel_apps: pd.DataFrame) -> list[Candidate]:
    """Candidates from the panel workbook's applications tab (answer_1 … answer_N)."""
    out = []
    for _, r in panel_apps.iterrows():
        letter = _text(r.get("candidate_letter"))
        if not letter:
            continue
        answers = {c.id: _text(r.get(f"answer_{i}")) for i, c in enumerate(campaign.criteria, 1)}
        out.append(Candidate(letter, answers))
    return sorted(out, key=lambda c: _letter_sort(c.letter))


def interview_letters(
    staff_apps: pd.DataFrame, candidate_key: pd.DataFrame, timetable: pd.DataFrame | None = None
) -> list[str]:
    """Letters of candidates on the interview list, in interview order when timetabled."""
    status = {
        _text(r.get("application_id")): _text(r.get("status")) for _, r in staff_apps.iterrows()
    }
    letters = []
    for _, r in candidate_key.iterrows():
        if _true(r.get("retired")):
            continue
        if status.get(_text(r.get("application_id"))) in INTERVIEW_STATUSES:
            letters.append(_text(r.get("candidate_letter")))
    order: dict[str, tuple[Any, ...]] = {}
    if timetable is not None and len(timetable):
        for _, r in timetable.iterrows():
            letter = _text(r.get("candidate_letter"))
            if letter and letter not in order:
                order[letter] = (str(r.get("day")), _text(r.get("starts")))
    return sorted(letters, key=lambda x: (x not in order, order.get(x, ()), _letter_sort(x)))


def scale_points(scale: Scale) -> tuple[ScalePoint, ...]:
    """The points of a scale; one tuple per distinct scale, shared by every item using it
    (a form has an item per candidate and question, and the points are frozen)."""
    labels = tuple(scale.labels.get(str(v), "") for v in range(scale.min, scale.max + 1))
    return _points(scale.min, labels)


@functools.lru_cache(maxsize=256)
def _points(low: int, labels: tuple[str, ...]) -> tuple[ScalePoint, ...]:
    return tuple(ScalePoint(low + i, label) for i, label in enumerate(labels))


def scale_guide(scale: Scale) -> str:
    points = scale_points(scale)
    if not any(p.label for p in points):
        return f"Score from {scale.min} (lowest) to {scale.max} (highest)."
    return "Scores: " + "; ".join(f"{p.value} = {p.label}" for p in points) + "."


def _criterion_heading(campaign: CampaignConfig, i: int) -> str:
    c = campaign.criteria[i]
    kind = "essential" if c.essential else "desirable"
    return f"Criterion {i + 1} of {len(campaign.criteria)} ({kind}): {c.text}"


def shortlisting_spec(
    campaign: CampaignConfig,
    person_id: str,
    candidates: Sequence[Candidate],
    fmt: str = "standard",
    shared: dict[tuple[str, int, str], tuple[Item, Item]] | None = None,
) -> FormSpec:
    """One person's shortlisting form.

    Question by question (the default): one page per criterion, every candidate's
    answer to it in this person's own order. Otherwise one page per candidate, in
    the same personal order. ``fmt`` "easy read" gives short headings and sentences.

    ``shared``: items already made for other people's forms from the same candidates
    (items are frozen, and only their order differs between people): at 5,000
    applications each form has 40,000 items, a copy per person 10 MB and 0.5 s each.
    """
    easy = fmt == "easy read"
    seed = order_seed(campaign, "shortlisting", person_id)
    by_letter = {c.letter: c for c in candidates}
    order = candidate_order(seed, by_letter)
    qbq = campaign.campaign.question_by_question
    sections: list[Section] = []

    def items_for(cand: Candidate, ci: int, title: str) -> tuple[Item, Item]:
        if shared is None:
            return made_for(cand, ci, title)
        k = (cand.letter, ci, title)
        got = shared.get(k)
        if got is None:
            got = shared[k] = made_for(cand, ci, title)
        return got

    def made_for(cand: Candidate, ci: int, title: str) -> tuple[Item, Item]:
        crit = campaign.criteria[ci]
        return (
            ScaleItem(
                score_item_id(cand.letter, crit.id),
                cand.letter,
                crit.id,
                title,
                scale_points(crit.scale),
                context=cand.answers.get(crit.id, ""),
                cant_score=True,
            ),
            CommentItem(
                comment_item_id(cand.letter, crit.id),
                cand.letter,
                crit.id,
                f"Your notes on {candidate_label(cand.letter)} for this criterion (optional)",
            ),
        )

    if qbq:
        for ci, crit in enumerate(campaign.criteria):
            items: list[Item] = []
            for letter in order:
                items.extend(items_for(by_letter[letter], ci, candidate_label(letter)))
            sections.append(
                Section(
                    f"criterion-{crit.id}",
                    crit.text if easy else _criterion_heading(campaign, ci),
                    _EASY_CRITERION[crit.essential]
                    if easy
                    else "Read each candidate's answer to this criterion and give it a score. "
                    + scale_guide(crit.scale),
                    tuple(items),
                )
            )
    else:
        for letter in order:
            items = []
            for ci in range(len(campaign.criteria)):
                heading = campaign.criteria[ci].text if easy else _criterion_heading(campaign, ci)
                items.extend(items_for(by_letter[letter], ci, heading))
            sections.append(
                Section(
                    f"candidate-{letter}",
                    candidate_label(letter),
                    "Read each answer.\nChoose a score for each one."
                    if easy
                    else "Score this candidate's answer to each job criterion.",
                    tuple(items),
                )
            )
    post = campaign.campaign.post
    return FormSpec(
        key=form_key(campaign.id, "shortlisting", person_id),
        campaign_id=campaign.id,
        stage="shortlisting",
        person_id=person_id,
        title=f"Shortlisting for the {post} job",
        intro=_EASY_INTRO["shortlisting"]
        if easy
        else (
            "Thank you for shortlisting. Names and contact details have been taken out of "
            "every application: each person is called Candidate A, Candidate B and so on. "
            "The candidates are shown in your own order, which is different for each "
            "panel member. Score each answer on its own evidence. Other panel members "
            "cannot see your scores, and you will not see theirs until everyone has "
            "finished. You can save and come back at any time, and change a score later: "
            "your latest scores are the ones that count."
        ),
        sections=tuple(sections),
        candidate_order=order,
        question_order=tuple(c.id for c in campaign.criteria),
        order_seed=seed,
        question_by_question=qbq,
        format=fmt,
    )


# Easy read (issue 20): short sentences, one idea a line. The pages' own words (buttons,
# messages, scale meanings) are in the form server's templates, which a team can change.
_EASY_INTRO = {
    "shortlisting": (
        "Thank you for helping us choose who to interview.\n"
        "We took out names.\n"
        "Each person has a letter, like Candidate A.\n"
        "Read each answer.\n"
        "Choose a score for each answer.\n"
        "Nobody else can see your scores.\n"
        "You can stop and come back later."
    ),
    "interview": (
        "Thank you for interviewing.\n"
        "There is a page for each candidate.\n"
        "Choose a score for each answer they gave.\n"
        "Nobody else can see your scores.\n"
        "You can stop and come back later."
    ),
}
_EASY_CRITERION = {
    True: "We must see this in the person we choose.\nRead each answer.\nChoose a score.",
    False: "It is good to see this.\nRead each answer.\nChoose a score.",
}


def questions_for(campaign: CampaignConfig, panel: str) -> list[Any]:
    """The interview questions a member of ``panel`` scores."""
    if campaign.campaign.panel_mode == "mixed" or panel in ("mixed", "", "none"):
        return list(campaign.questions)
    return [q for q in campaign.questions if q.panel in ("all", panel)]


def interview_spec(campaign: CampaignConfig, scorer: Scorer, letters: Sequence[str]) -> FormSpec:
    """One person's interview form: a page per candidate (in interview order), a score
    and a comment box for each question."""
    sections = []
    qs = questions_for(campaign, scorer.panel)
    easy = scorer.format == "easy read"
    for letter in letters:
        items: list[Item] = []
        for n, q in enumerate(qs, 1):
            items.append(
                ScaleItem(
                    score_item_id(letter, q.id),
                    letter,
                    q.id,
                    f"Question {n}: {q.text}",
                    scale_points(q.scale),
                    context="" if easy else scale_guide(q.scale),
                    cant_score=True,
                )
            )
            items.append(
                CommentItem(
                    comment_item_id(letter, q.id),
                    letter,
                    q.id,
                    f"Your notes on {candidate_label(letter)}'s answer to question {n} (optional)",
                )
            )
        sections.append(
            Section(
                f"candidate-{letter}",
                candidate_label(letter),
                "Choose a score for each answer.\nTake the time you need."
                if easy
                else "Score each answer after the interview. Take the time you need.",
                tuple(items),
            )
        )
    return FormSpec(
        key=form_key(campaign.id, "interview", scorer.person_id),
        campaign_id=campaign.id,
        stage="interview",
        person_id=scorer.person_id,
        title=f"Interview scores for the {campaign.campaign.post} job",
        intro=_EASY_INTRO["interview"]
        if easy
        else (
            "Thank you for interviewing. There is a page for each candidate, in interview "
            "order. Score each answer on what the candidate said. Other panel members "
            "cannot see your scores. You can save and come back, and change a score "
            "later: your latest scores are the ones that count."
        ),
        sections=tuple(sections),
        candidate_order=tuple(letters),
        question_order=tuple(q.id for q in qs),
        order_seed="interview order",
        question_by_question=False,
        format=scorer.format,
    )


def build_specs(
    campaign: CampaignConfig,
    people: pd.DataFrame,
    candidates: Sequence[Candidate],
    interview: Sequence[str] = (),
) -> list[FormSpec]:
    """Every form: shortlisting for each shortlister (when there are applications),
    interview for each interviewer (when candidates are on the interview list)."""
    specs: list[FormSpec] = []
    if candidates:
        shared: dict[tuple[str, int, str], tuple[Item, Item]] = {}  # one item for every form
        specs += [
            shortlisting_spec(campaign, s.person_id, candidates, s.format, shared)
            for s in scorers(people, "shortlisting")
        ]
    if interview and campaign.questions:
        specs += [interview_spec(campaign, s, interview) for s in scorers(people, "interview")]
    return specs


# ------------------------------------------------------------------ answers


_SCORE_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def check_score(item: ScaleItem, raw: str) -> tuple[int | None, str]:
    """(score, '') when ``raw`` is a score on the item's scale, else (None, reason)."""
    text = raw.strip()
    if not text:
        return None, "no score was given"
    # Plain digits only: Decimal() alone also takes 'sNaN', 'Infinity', '1e0', '1_0' and
    # non-ASCII digits, and comparing a signalling NaN raises (an HTTP 500 on the server).
    if not _SCORE_TEXT.fullmatch(text):
        return None, "the score is not a number"
    try:
        d = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        return None, "the score is not a number"
    if d != d.to_integral_value():
        return None, "the score is not a whole number"
    if not item.min <= d <= item.max:
        shown = format(d, "f") if len(text) <= 6 else "a number"
        return None, f"the score {shown} is outside the scale ({item.min} to {item.max})"
    return int(d), ""


def answer_errors(answers: Mapping[str, str], items: Iterable[Item]) -> dict[str, str]:
    """Kind messages by item id for a page (or the whole form) before it is saved."""
    errors: dict[str, str] = {}
    for item in items:
        raw = answers.get(item.item_id, "")
        if isinstance(item, ScaleItem):
            if item.cant_score and cant_score_reason(raw):
                continue  # "I can't score this one": an answer, not a missing score
            score, _why = check_score(item, raw)
            if score is None and not raw.strip() and not item.required:
                continue  # an optional choice left blank (co-production forms)
            if score is None and item.legend:
                errors[item.item_id] = f"Please choose an answer for “{item.legend}”."
            elif score is None:
                if not raw.strip():
                    errors[item.item_id] = (
                        f"Please choose a score for {candidate_label(item.candidate_letter)}."
                    )
                else:
                    errors[item.item_id] = (
                        f"Please choose one of the scores shown for "
                        f"{candidate_label(item.candidate_letter)} "
                        f"({item.min} to {item.max})."
                    )
        elif len(raw) > 5000:
            errors[item.item_id] = "Please keep notes under 5,000 characters."
    return errors


def local_time(when: dt.datetime, tz: str) -> dt.datetime:
    """A submission time as the sheets show it: local, without tzinfo, whole seconds."""
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return when.replace(microsecond=0)


def exception_id(*parts: str) -> str:
    return "F-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# The raw_scores columns :attr:`Collected.score_rows` holds, in this order
SCORE_COLUMNS = (
    "response_id",
    "person_id",
    "panel",
    "stage",
    "candidate_letter",
    "question_id",
    "score",
    "comment",
    "submitted_at",
    "collected_at",
    "source",
    "cant_score",
)


@dataclass
class Collected:
    """What :func:`validate_responses` made of the responses.

    The scores are tuples in :data:`SCORE_COLUMNS` order: at 5,000 applications a run
    brings 160,000 of them, and a dict per score is over 100 MB (:attr:`raw_scores`
    gives them as dicts, for reading a few)."""

    score_rows: list[tuple[Any, ...]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    accepted_responses: int = 0
    rejected_responses: int = 0

    @property
    def raw_scores(self) -> list[dict[str, Any]]:
        return [dict(zip(SCORE_COLUMNS, r, strict=True)) for r in self.score_rows]


def _refusal(
    spec: FormSpec | None,
    person_id: str,
    known_people: set[str],
    active: Mapping[Stage, set[str]],
) -> tuple[str, str] | None:
    """Why none of a response's scores can be used (the words, the code), or None: it
    came through a known form, from the person the form belongs to, who still scores."""
    if spec is None:
        return (
            "This response is to a form corecruit does not know (perhaps an old form, or "
            "a form for another campaign), so none of its scores were used.",
            "unknown-form",
        )
    if person_id != spec.person_id:
        return (
            f"This response claims to come from {person_id or 'nobody'}, but the form "
            f"belongs to {spec.person_id}. Nobody can score for someone else, so none of "
            "its scores were used.",
            "wrong-person",
        )
    if spec.person_id not in known_people:
        return (
            f"{spec.person_id} is not on the people tab, so their scores were not used.",
            "unknown-person",
        )
    if spec.person_id not in active[spec.stage]:
        return (
            f"{spec.person_id} is not down to score at {spec.stage} (for example a "
            "supporting worker, who takes no part in scoring), so their scores were "
            "not used.",
            "not-a-scorer",
        )
    return None


def validate_responses(
    specs: Mapping[str, FormSpec],
    responses: Iterable[Response],
    people: pd.DataFrame,
    *,
    now: dt.datetime,
    tz: str,
) -> Collected:
    """Raw score rows and exception rows for ``responses``.

    A response counts only when it came through a known form, from the person the
    form belongs to, who still scores at that stage. Each score must be a whole
    number on the item's scale; a blank (an item sent as ''), an out-of-range value,
    or an answer about a candidate or question not on the form becomes an exception
    row, never a score. An item missing from ``answers`` altogether was not on the
    form when it was sent (a candidate added later) and is skipped. Rows are keyed
    (response, candidate, question), so collecting the same response again adds
    nothing; a correction is a new response, and the latest submission for a
    person, candidate and question is the one that counts (:func:`latest_scores`).
    """
    out = Collected()
    stages: tuple[Stage, ...] = ("shortlisting", "interview")
    panel_of = {s.person_id: s for st in stages for s in scorers(people, st)}
    active = {st: {s.person_id for s in scorers(people, st)} for st in stages}
    known_people = {_text(p) for p in people.get("person_id", pd.Series([], dtype=object))}
    seen: set[str] = set()
    decimals: dict[int, Decimal] = {}
    scores_seen: dict[tuple[str, int, int], tuple[int | None, str]] = {}
    for r in sorted(responses, key=lambda r: (r.submitted_at, r.response_id)):
        if r.response_id in seen:
            continue  # the same response fetched twice in one run
        seen.add(r.response_id)
        where = f"form {r.form_key}, response {r.response_id}"

        def reject(
            reason: str, code: str, item: str = "", where: str = where, rid: str = r.response_id
        ) -> None:
            out.exceptions.append(
                {
                    "exception_id": exception_id(rid, code, item),
                    "job": JOB,
                    "source": where,
                    "reason": reason,
                    "raised_at": now,
                }
            )

        spec = specs.get(r.form_key)
        refused = _refusal(spec, r.person_id, known_people, active)
        if refused is not None or spec is None:  # (spec None is always refused)
            reason, code = refused or ("", "unknown-form")
            reject(reason, code)
            out.rejected_responses += 1
            continue
        items = {i.item_id: i for i in spec.items()}
        submitted = local_time(r.submitted_at, tz)
        panel = panel_of[spec.person_id].panel
        if panel not in ("mixed", "council", "lived experience"):
            panel = ""
        rid, pid, stage, source = r.response_id, spec.person_id, spec.stage, r.source
        used = 0
        for item_id in sorted(set(r.answers) - set(items)):
            if not _text(r.answers.get(item_id)):
                continue
            parts = item_id.split("__")
            letter = parts[1] if len(parts) == 3 else "?"
            reject(
                f"This response has a score for {candidate_label(letter)} or a question "
                "that is not on this person's form (a candidate not on the list, or a "
                "withdrawn one). It was not used.",
                "not-on-form",
                item_id,
                where=f"{where}, item {item_id}",
            )
        for item in spec.scale_items():
            if item.item_id not in r.answers:
                continue  # not on the form when it was sent (say, a candidate added later)
            raw = _text(r.answers.get(item.item_id))
            comment = r.answers.get(comment_item_id(item.candidate_letter, item.question_id), "")
            comment = str(comment or "").strip()
            letter, qid = item.candidate_letter, item.question_id
            reason = cant_score_reason(raw) if item.cant_score else ""
            if reason:
                # Recorded with no score (never a zero), and told to staff in fixed words.
                out.score_rows.append(
                    (
                        rid,
                        pid,
                        panel,
                        stage,
                        letter,
                        qid,
                        None,
                        comment,
                        submitted,
                        now,
                        source,
                        reason,
                    )
                )
                reject(
                    f"{spec.person_id} could not score {candidate_label(item.candidate_letter)} "
                    f"on {_question_words(spec, item.question_id)} ({reason}). This is left "
                    "out of the results, not counted as zero.",
                    "cant-score",
                    item.item_id,
                    where=f"{where}, {candidate_label(letter)}, {qid}",
                )
                used += 1
                continue
            ck = (raw, item.min, item.max)  # a handful of distinct answers in 160,000
            checked = scores_seen.get(ck)
            if checked is None:
                checked = scores_seen[ck] = check_score(item, raw)
            score, why = checked
            if score is None:
                reject(
                    f"{spec.person_id}'s {spec.stage} form: {why} for "
                    f"{candidate_label(item.candidate_letter)} on {item.question_id}. "
                    "This score was not used.",
                    "bad-score",
                    item.item_id,
                    where=f"{where}, {candidate_label(letter)}, {qid}",
                )
                continue
            d = decimals.get(score)
            if d is None:
                d = decimals[score] = Decimal(score)  # one object per score, not per row
            out.score_rows.append(
                (rid, pid, panel, stage, letter, qid, d, comment, submitted, now, source, "")
            )
            used += 1
        if used:
            out.accepted_responses += 1
        else:
            out.rejected_responses += 1
    return out


def _question_words(spec: FormSpec, question_id: str) -> str:
    """'criterion 2' or 'question 3': where it is on the form, as the person saw it."""
    word = "criterion" if spec.stage == "shortlisting" else "question"
    if question_id in spec.question_order:
        return f"{word} {spec.question_order.index(question_id) + 1}"
    return f"{word} {question_id}"


def latest_scores(raw: pd.DataFrame) -> pd.DataFrame:
    """The score that counts for each (person, stage, candidate, question): the latest
    submission (ties broken by response id). Earlier rows stay in the raw log."""
    if raw.empty:
        return raw
    df = raw.copy()
    df["_at"] = pd.to_datetime(df["submitted_at"])
    df = df.sort_values(["_at", "response_id"], kind="stable")
    keys = ["person_id", "stage", "candidate_letter", "question_id"]
    return df.drop_duplicates(keys, keep="last").drop(columns="_at").sort_index()
