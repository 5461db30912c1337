"""Google Forms backend: one Google Form per person per stage, through the Forms API v1.

How a form is made, so that a job killed at any line and run again never makes a
second form for the same key:

1. Look in the campaign's ledger (``<workspace>/<campaign>/ledger.sqlite3``, the
   record of each form: see :class:`FormState`) for the
   key. If it is not there, ask Drive for a form named ``<title> [<key>]`` (the
   document title carries the key), in case an earlier run created it and was
   stopped before it could write its record down.
2. Only if neither knows it: a Drive ``files.create`` of the form type, named with
   the document title, in ``[google] drive_folder_id`` when set (not
   ``forms.create``, which always puts the form in the caller's own Drive: a service
   account has none). Its id is set aside first (``files.generateIds``) and written
   to the record, so a lost answer, or a run stopped right after the create, is
   settled by looking the id up (``files.get``), never by a search: Drive's search
   can miss a file made moments before, and a miss must not make a second form.
3. Items, title, description and settings go in ONE ``forms.batchUpdate`` per
   form, guarded by ``writeControl.requiredRevisionId``. Before (re)building, a
   form that already holds exactly the spec's questions is adopted as it is, so a
   lost answer to the batchUpdate is settled by reading the form back.
4. Publish (``setPublishSettings``) only if the form is not already accepting
   responses, and give responder access to anyone with the link (a Drive
   permission with ``view: published``): the link is the person's own, which is
   what makes each response attributable; email addresses are not collected.
5. A form made before the folder was set is moved into ``[google] drive_folder_id``
   (staff who can open the folder can see the forms; a shared drive holds them).

Each step is written to the record (one ledger transaction) as soon as it is done; a
form whose record says it is complete costs no API call at all. Responses come from
``responses.list`` with ``filter=timestamp >= since``, 5000 to a page: the calls
grow with the number of forms and pages, never with rows.

Question ids Google assigns are kept in the record (question id -> item id);
ids from earlier builds of a form are kept too, so older responses still map, by
question id and never by position (a part reordered by hand still maps).

A shortlisting form is split into parts of :data:`PART_CANDIDATES` candidates (fewer
for large print and easy read), each its own form and link, listed in order in the
email ("Part 1 of 3: Candidates A to Y"). Which part holds whom is recorded in the ledger
(``parts``) and kept: a late application joins the last part, or a new one, and
no candidate moves between forms (their answers are on that form). Answers from every
part are read as the person's own form's.

A score can be declined: each score question is one choice of the scale's numbers and
"I can't score this one (reason)", mapped back to the ``cant-score:…`` value the local
form sends, so both backends collect it the same way (missing, never zero).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import GoogleAPIError, JobError, RetryLimitReached
from ..google.auth import FORMS_SCOPES, credentials_for, require_scopes
from ..google.http import NO_OWNER, RetryPolicy, build_service, no_storage, scrub
from ..ledger import Ledger, open_ledger
from ..transforms.form_values import letter_sort_key, letters_words
from .base import (
    CANT_SCORE,
    CommentItem,
    FormHandle,
    FormPart,
    FormSpec,
    Item,
    Response,
    ScaleItem,
)

if TYPE_CHECKING:
    from ..context import Context

log = logging.getLogger("corecruit.forms")

FORM_MIME = "application/vnd.google-apps.form"
DRIVE_FILE = "https://www.googleapis.com/auth/drive.file"
# forms.body: create and build the forms; forms.responses.readonly: read the answers;
# drive.file: find the forms corecruit made (after a lost answer) and let people respond.
NEEDED_SCOPES: tuple[str, ...] = (*FORMS_SCOPES, DRIVE_FILE)
PAGE_SIZE = 5000
ID_BATCH = 20  # file ids asked for at once (files.generateIds), for the forms about to be made
OLD_STATE_NAME = "google-forms.json"  # where the record was kept before the ledger
FORM_RECORD, PARTS_RECORD = "google form", "google form parts"  # kinds of ledger record
SETTINGS = {"quizSettings": {"isQuiz": False}, "emailCollectionType": "DO_NOT_COLLECT"}
SETTINGS_MASK = "quizSettings.isQuiz,emailCollectionType"


class _Unsure(Exception):
    """A change was sent and its answer lost: it may or may not have been made."""


# ------------------------------------------------------------------ the form, pure


def document_title(spec: FormSpec) -> str:
    """The Drive name: the responder title plus the key, so a lost form can be found."""
    return f"{spec.title} [{spec.key}]"


def cant_score_words(value: str) -> str:
    """The option text of an "I can't score this one" choice (the words the local form uses)."""
    return f"I can't score this one ({CANT_SCORE[value]})"


def option_texts(item: ScaleItem) -> dict[str, str]:
    """For a choice question: option text -> the value it stands for.

    A labelled choice (an item with a ``legend``, such as "Would you like to be
    involved?") shows its words, and the answer Google returns (the words) is mapped
    back to the value. A score that can be declined (``cant_score``) shows its numbers
    (their meanings are in the description) followed by the "I can't score this one"
    choices, which map to the same ``cant-score:…`` values the local form sends.
    """
    points = sorted(item.points, key=lambda p: p.value)
    if item.cant_score and not item.legend:
        out = {str(p.value): str(p.value) for p in points}
        out.update({cant_score_words(v): v for v in CANT_SCORE})
        return out
    labels = [p.label.strip() for p in points]
    plain = all(labels) and len(set(labels)) == len(labels)
    return {
        (lab if plain else f"{p.value}: {lab}" if lab else str(p.value)): str(p.value)
        for p, lab in zip(points, labels, strict=True)
    }


def _question(item: Item) -> dict[str, Any]:
    if isinstance(item, CommentItem):
        return {"required": item.required, "textQuestion": {"paragraph": True}}
    assert isinstance(item, ScaleItem)
    if item.legend:  # a labelled choice (co-production, expenses), not a score
        options = [{"value": text} for text in option_texts(item)]
        return {"required": item.required, "choiceQuestion": {"type": "RADIO", "options": options}}
    if item.cant_score:
        # One choice: a score, or "I can't score this one" and why (issue 19). A linear
        # scale has no room for the second, and two questions could both be answered.
        options = [{"value": text} for text in option_texts(item)]
        return {"required": item.required, "choiceQuestion": {"type": "RADIO", "options": options}}
    points = sorted(item.points, key=lambda p: p.value)
    if item.min in (0, 1) and 2 <= item.max <= 10 and len(points) == item.max - item.min + 1:
        scale: dict[str, Any] = {"low": item.min, "high": item.max}
        if points[0].label:
            scale["lowLabel"] = points[0].label
        if points[-1].label:
            scale["highLabel"] = points[-1].label
        return {"required": item.required, "scaleQuestion": scale}
    # Google's linear scale runs from 0 or 1 up to at most 10: otherwise one choice per point
    return {
        "required": item.required,
        "choiceQuestion": {"type": "RADIO", "options": [{"value": str(p.value)} for p in points]},
    }


def _one_line(text: str) -> str:
    """Titles in Google Forms are one line: line breaks become spaces."""
    return " ".join(text.split())


def _item_body(item: Item) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": _one_line(item.title),
        "questionItem": {"question": _question(item)},
    }
    if isinstance(item, ScaleItem) and item.legend:
        body["title"] = _one_line(item.legend)
        context = "\n\n".join(x for x in (item.title.strip(), item.context.strip()) if x)
        if context and context != _one_line(item.legend):
            body["description"] = context
    elif isinstance(item, ScaleItem):
        labelled = [p for p in item.points if p.label]
        guide = "; ".join(
            f"{p.value} = {p.label}" for p in sorted(item.points, key=lambda p: p.value)
        )
        parts = [item.context.strip()] if item.context.strip() else []
        if labelled and guide not in item.context:
            parts.append(f"Scores: {guide}.")
        if parts:
            body["description"] = "\n\n".join(parts)
    return body


def item_requests(spec: FormSpec) -> list[dict[str, Any]]:
    """The createItem requests for a spec, in order (pages become sections)."""
    out: list[dict[str, Any]] = []

    def add(item: dict[str, Any]) -> None:
        out.append({"createItem": {"item": item, "location": {"index": len(out)}}})

    for n, section in enumerate(spec.sections):
        head: dict[str, Any] = {"title": _one_line(section.title)}
        if section.description:
            head["description"] = section.description
        if n == 0:
            if section.title or section.description:
                add({**head, "textItem": {}})
        else:
            add({**head, "pageBreakItem": {}})
        for item in section.items:
            add(_item_body(item))
    return out


def spec_hash(spec: FormSpec) -> str:
    data = {
        "title": spec.title,
        "intro": spec.intro,
        "settings": SETTINGS,
        "items": item_requests(spec),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _shape(item: dict[str, Any]) -> tuple[Any, ...]:
    """What matters in an item, with Google's left-out defaults filled in (ids aside)."""
    kind = next((k for k in item if k.endswith("Item")), "")
    base: tuple[Any, ...] = (kind, item.get("title", ""), item.get("description", ""))
    if kind != "questionItem":
        return base
    q = (item.get("questionItem") or {}).get("question") or {}
    qkind = next((k for k in q if k.endswith("Question")), "")
    body = q.get(qkind) or {}
    if qkind == "scaleQuestion":
        detail: tuple[Any, ...] = (
            body.get("low", 0),
            body.get("high", 0),
            body.get("lowLabel", ""),
            body.get("highLabel", ""),
        )
    elif qkind == "choiceQuestion":
        detail = (body.get("type", ""), tuple(o.get("value", "") for o in body.get("options", [])))
    elif qkind == "textQuestion":
        detail = (bool(body.get("paragraph")),)
    else:
        detail = ()
    return (*base, qkind, bool(q.get("required")), detail)


def matching_questions(form: dict[str, Any], spec: FormSpec) -> dict[str, str] | None:
    """question id -> item id when the form already holds exactly this spec, else None."""
    info = form.get("info") or {}
    if info.get("title") != spec.title or (info.get("description") or "") != spec.intro:
        return None
    settings = form.get("settings") or {}
    if (
        settings.get("quizSettings", {}).get("isQuiz")
        or settings.get("emailCollectionType", "DO_NOT_COLLECT") != "DO_NOT_COLLECT"
    ):
        return None
    want = [r["createItem"]["item"] for r in item_requests(spec)]
    have = form.get("items") or []
    if [_shape(i) for i in have] != [_shape(i) for i in want]:
        return None
    qids = [i["questionItem"]["question"]["questionId"] for i in have if "questionItem" in i]
    return {q: item.item_id for q, item in zip(qids, spec.items(), strict=True)}


def _qid(item: dict[str, Any]) -> str:
    return str(((item.get("questionItem") or {}).get("question") or {}).get("questionId") or "")


def update_requests(
    have: list[dict[str, Any]],
    qmap: dict[str, str],
    spec: FormSpec,
    answered: set[str] | None = None,
) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The batchUpdate requests that turn the form's items into the spec's, in place.

    A question that is still wanted keeps its item and question id (moved and updated
    where it changed), so the answers already given to it stay: at Google, deleting a
    question deletes its answers. New questions are created; items no longer wanted
    are deleted, except questions in ``answered`` (answers not yet collected), which
    are kept at the end of the form. Returns (requests, the question id of each spec
    item in order: None where it is created by this batch).
    """
    answered = answered or set()
    want = [r["createItem"]["item"] for r in item_requests(spec)]
    items = iter(spec.items())
    want_ids = [next(items).item_id if "questionItem" in w else None for w in want]
    wanted = {i for i in want_ids if i}
    by_key: dict[str, dict[str, Any]] = {}
    cur: list[str] = []  # the form as it will be: item id, "~qid" (kept answers), "+" (new)
    drop: list[int] = []
    for idx, item in enumerate(have):
        q = _qid(item)
        item_id = qmap.get(q) if q else None
        if item_id and item_id in wanted and item_id not in by_key:
            key = item_id
        elif q and q in answered:
            key = f"~{q}"
        else:
            drop.append(idx)
            continue
        by_key[key] = item
        cur.append(key)
    requests: list[dict[str, Any]] = [
        {"deleteItem": {"location": {"index": idx}}} for idx in reversed(drop)
    ]
    qids: list[str | None] = []
    for i, (w, item_id) in enumerate(zip(want, want_ids, strict=True)):
        if item_id is not None and item_id in by_key:
            j = cur.index(item_id)
            if j != i:
                requests.append(
                    {"moveItem": {"originalLocation": {"index": j}, "newLocation": {"index": i}}}
                )
                cur.insert(i, cur.pop(j))
            old = by_key[item_id]
            q = _qid(old)
            if _shape(old) != _shape(w):
                body = copy.deepcopy(w)
                body["questionItem"]["question"]["questionId"] = q  # keeps its answers
                requests.append(
                    {
                        "updateItem": {
                            "item": body,
                            "location": {"index": i},
                            "updateMask": "title,description,questionItem",
                        }
                    }
                )
            qids.append(q)
            continue
        requests.append({"createItem": {"item": w, "location": {"index": i}}})
        cur.insert(i, "+")
        if item_id is not None:
            qids.append(None)
    return requests, qids


MAX_REQUEST_BYTES = 1_500_000  # Google recommends batchUpdate requests under 2 MB


def in_parts(requests: list[dict[str, Any]], limit: int | None = None) -> list[list[Any]]:
    """The requests in consecutive parts, each part's JSON under ``limit`` bytes.

    Sent one after the other, each on the revision the last one answered, a large
    form (hundreds of candidates) is built without any request near Google's limit.
    """
    limit = limit or MAX_REQUEST_BYTES
    parts: list[list[Any]] = [[]]
    size = 0
    for r in requests:
        n = len(json.dumps(r, ensure_ascii=False).encode("utf-8")) + 2
        if parts[-1] and size + n > limit:
            parts.append([])
            size = 0
        parts[-1].append(r)
        size += n
    return parts


# Candidates a part of a Google shortlisting form. The local form pages them (all, 3 or
# 1 a page; one for large print and easy read) behind one link; a Google Form with every
# candidate's answer to every criterion (4,004 items at 500 applications) is too long to
# complete, so it is split into forms of this many candidates, each its own link.
PART_CANDIDATES = {"standard": 25, "large print": 10, "easy read": 10}


def part_size(spec: FormSpec) -> int:
    return PART_CANDIDATES.get(spec.format, PART_CANDIDATES["standard"])


def plan_parts(
    letters: Iterable[str], recorded: Sequence[Sequence[str]], size: int
) -> list[list[str]]:
    """The candidates each part holds, in letter order.

    What is recorded stays: a candidate never moves to another part, since its answers
    are on that part's form (at Google, deleting a question deletes its answers). A
    candidate not yet in any part (a late application) joins the last part while it has
    room, then a new part.
    """
    parts = [list(p) for p in recorded if p]
    have = {x for p in parts for x in p}
    for letter in sorted(set(letters) - have, key=letter_sort_key):
        if not parts or len(parts[-1]) >= size:
            parts.append([])
        parts[-1].append(letter)
    return parts


def part_key(key: str, number: int) -> str:
    """Part 1 keeps the form's own key (a form made before parts existed is part 1)."""
    return key if number == 1 else f"{key}.part{number}"


def part_spec(spec: FormSpec, letters: Sequence[str], key: str, number: int, of: int) -> FormSpec:
    """The spec of one part: only these candidates, and the intro says which part it is."""
    if of == 1 and set(letters) >= set(spec.candidate_order):
        return spec
    keep = set(letters)
    sections = tuple(
        replace(s, items=tuple(i for i in s.items if i.candidate_letter in keep))
        for s in spec.sections
    )
    order = tuple(x for x in spec.candidate_order if x in keep)
    words = letters_words(order)
    intro = (
        f"Part {number} of {of}: {words}. Each part is a form of its own, with its own "
        f"link: please send each part when you have scored it.\n\n{spec.intro}"
    )
    return replace(
        spec,
        key=key,
        intro=intro,
        sections=tuple(s for s in sections if s.items),
        candidate_order=order,
    )


def letters_of(entry: dict[str, Any] | None) -> list[str]:
    """The candidates a built form holds, from its question map (item ids carry them)."""
    out: set[str] = set()
    for item_id in ((entry or {}).get("questions") or {}).values():
        bits = str(item_id).split("__")
        if len(bits) == 3 and bits[0] == "score":
            out.add(bits[1])
    return sorted(out, key=letter_sort_key)


def to_utc(when: dt.datetime, tz: str) -> dt.datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz))
    return when.astimezone(dt.UTC)


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    """Google's RFC 3339 time (up to nanoseconds, 'Z') as an aware UTC datetime."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = dt.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    micros = int((frac + "000000")[:6]) if frac else 0
    return base + dt.timedelta(microseconds=micros)


# ------------------------------------------------------------------------ state


class FormState:
    """What corecruit knows of each Google form, kept in the campaign's ledger.

    ``forms``: a form's (or part's) key -> its entry (form id, link, question ids, how far
    it is built, published, shared, filed, answers collected up to when). ``parts``: a
    split form's key -> the candidate letters of each part, in order (the record of which
    part holds whom: ``forms[part_key(key, n)]`` is part n's form). :meth:`save` writes
    what changed in one ledger transaction, as soon as each step is done.

    A ``google-forms.json`` left by an earlier version beside the ledger is taken in on
    first use (what the ledger already holds wins, so a rerun after a kill changes
    nothing) and renamed ``google-forms.json.migrated``: it is kept, never deleted.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.ledger: Ledger = open_ledger(self.folder)
        self.forms: dict[str, dict[str, Any]] = {}
        self.parts: dict[str, list[list[str]]] = {}
        self._take_in_old_file()
        self._saved = self.ledger.form_records()
        for (kind, key), value in self._saved.items():
            if kind == FORM_RECORD:
                self.forms[key] = json.loads(value)
            elif kind == PARTS_RECORD:
                self.parts[key] = [list(p) for p in json.loads(value)]

    def _take_in_old_file(self) -> None:
        old = self.folder / OLD_STATE_NAME
        if not old.exists():
            return
        try:
            data = json.loads(old.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            # nothing lost: corecruit finds the forms it made in Drive by their names
            log.warning("%s could not be read; the forms are found in Drive", OLD_STATE_NAME)
            data = {}
        found: dict[tuple[str, str], str | None] = {}
        for key, entry in (data.get("forms") or {}).items():
            found[(FORM_RECORD, str(key))] = _dump(entry)
        for key, parts in (data.get("parts") or {}).items():
            found[(PARTS_RECORD, str(key))] = _dump([list(p) for p in parts])
        have = self.ledger.form_records()
        self.ledger.keep_form_records({k: v for k, v in found.items() if k not in have})
        kept = old.with_name(f"{OLD_STATE_NAME}.migrated")
        n = 1
        while kept.exists():
            n += 1
            kept = old.with_name(f"{OLD_STATE_NAME}.migrated{n}")
        os.replace(old, kept)
        log.info("took the Google forms record into the ledger (the old file is kept)")

    def save(self, *keys: str) -> None:
        """Record these forms' entries and parts (every one, when none is named), in one
        transaction; what did not change is not written."""
        names = set(keys) if keys else {*self.forms, *self.parts, *(k for _, k in self._saved)}
        changes: dict[tuple[str, str], str | None] = {}
        for key in names:
            for kind, held in ((FORM_RECORD, self.forms), (PARTS_RECORD, self.parts)):
                value = _dump(held[key]) if key in held else None
                if self._saved.get((kind, key)) != value:
                    changes[(kind, key)] = value
        if not changes:
            return
        self.ledger.keep_form_records(changes)
        for k, v in changes.items():
            if v is None:
                self._saved.pop(k, None)
            else:
                self._saved[k] = v


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------- provider


class GoogleFormsProvider:
    """The :class:`~automations.forms.base.FormsProvider` on Google Forms."""

    def __init__(
        self,
        forms_service: Any,
        drive_service: Any,
        folder: Path,
        *,
        policy: RetryPolicy | None = None,
        timezone: str = "Europe/London",
        clock: Callable[[], dt.datetime] | None = None,
        folder_id: str = "",
    ) -> None:
        self.forms = forms_service
        self.drive = drive_service
        self.state = FormState(folder)
        self.policy = policy or RetryPolicy()
        self.tz = timezone
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.folder_id = folder_id
        self._seen: dict[str, str] = {}  # response_id -> Google's lastSubmittedTime
        self._part: dict[str, str] = {}  # response_id -> the key of the part form it came from
        self._ids: list[str] = []  # file ids set aside and not used yet

    # ------------------------------------------------------------- calls

    def _run(self, request: Any, what: str) -> Any:
        """Execute one request (the HTTP layer already retries 429s, and 5xx on reads)."""
        from googleapiclient.errors import HttpError
        from httplib2 import HttpLib2Error

        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            status = int(getattr(exc.resp, "status", 0) or 0)
            if status >= 500 or status == 429:
                raise _Unsure(f"HTTP {status}") from None
            raise self._refused(exc, status, what) from None
        except (OSError, HttpLib2Error) as exc:
            raise _Unsure(type(exc).__name__) from None

    def _refused(self, exc: Any, status: int, what: str) -> GoogleAPIError:
        try:
            err = json.loads(exc.content.decode("utf-8")).get("error") or {}
        except (ValueError, AttributeError, UnicodeDecodeError):
            err = {}
        message = str(err.get("message", ""))
        reasons = " ".join(
            str(d.get("reason", "")) for d in (err.get("details") or err.get("errors") or [])
        )
        if status == 403 and no_storage(reasons, message):
            text = f"Google refused {what}. {NO_OWNER}"
        elif status == 403 and ("scope" in message.lower() or "SCOPE" in reasons):
            text = (
                f"Google refused {what}: the credentials lack a permission (scope) the Google "
                "Forms backend needs: forms.body, forms.responses.readonly and drive.file. "
                "See 'Connecting to Google' in the README."
            )
        elif status == 403 and ("SERVICE_DISABLED" in reasons or "has not been used" in message):
            text = (
                f"Google refused {what}: the Google Forms API (or the Drive API) is not turned "
                "on for the service account's Google Cloud project. Turn it on in the Cloud "
                "console (APIs & Services, Library) and run the command again."
            )
        elif status == 401:
            text = (
                f"Google refused {what}: the service account key was not accepted. Download "
                "a new key and check [google] credentials_file."
            )
        elif status == 404:
            text = (
                f"Google could not find the form while {what} (HTTP 404): it may have been "
                "deleted. Run 'corecruit forms push' to make a new one."
            )
        else:
            text = f"Google refused {what} (HTTP {status}): {scrub(message)}".rstrip(": ")
        return GoogleAPIError(text, status=status)

    def _again(self, attempt: int, started: float, what: str, last: str) -> None:
        """Wait before another try, or give up within the configured bounds."""
        pause = self.policy.delay(attempt, None)
        spent = self.policy.clock() - started
        if attempt >= self.policy.max_attempts or spent + pause > self.policy.max_seconds:
            raise RetryLimitReached(
                f"Google did not complete {what} after {attempt} tries (last answer: {last}). "
                "What was done is remembered; run the command again later: it carries on "
                "where it stopped and never makes a second form."
            )
        log.info("Google answered %s to %s; trying again in %.1f s", last, what, pause)
        self.policy.retries += 1
        self.policy.sleep(pause)

    def _retrying(self, make: Callable[[], Any], what: str) -> Any:
        """A change that is safe to repeat: repeat it on a lost answer, within bounds."""
        started, attempt = self.policy.clock(), 0
        while True:
            attempt += 1
            try:
                return self._run(make(), what)
            except _Unsure as exc:
                self._again(attempt, started, what, str(exc))

    # ------------------------------------------------------------- ensure

    def ensure_forms(self, specs: Sequence[FormSpec]) -> dict[str, FormHandle]:
        out: dict[str, FormHandle] = {}
        for spec in specs:
            parts = self.parts_of(spec)
            entries = []
            for part in parts:
                entry = self.state.forms.get(part.key)
                if not self._complete(entry, part):
                    entry = self._ensure_one(part, entry)
                assert entry is not None
                entries.append(entry)
            first = entries[0]
            listed: tuple[FormPart, ...] = ()
            if len(parts) > 1:
                listed = tuple(
                    FormPart(n, len(parts), p.candidate_order, e["form_id"], e["url"])
                    for n, (p, e) in enumerate(zip(parts, entries, strict=True), 1)
                )
            out[spec.key] = FormHandle(
                key=spec.key,
                form_id=first["form_id"],
                url=first["url"],
                created_at=dt.datetime.fromisoformat(first["created_at"]),
                parts=listed,
            )
        return out

    def parts_of(self, spec: FormSpec, *, reading: bool = False) -> list[FormSpec]:
        """The forms a spec is served as: itself, or a shortlisting form split into parts.

        Which part holds which candidate is recorded in the ledger the first time a
        form is split and kept from then on (see :func:`plan_parts`). ``reading``: every
        recorded part, even one whose candidates have all been taken off since, so its
        answers are still read; nothing is recorded.
        """
        if spec.kind != "scores" or spec.stage != "shortlisting":
            return [spec]
        recorded = self.state.parts.get(spec.key)
        if recorded is None:  # one form so far (or none): it holds what it was built with
            had = letters_of(self.state.forms.get(spec.key))
            recorded = [had] if had else []
        plan = recorded if reading else plan_parts(spec.candidate_order, recorded, part_size(spec))
        if len(plan) > 1 and not reading and self.state.parts.get(spec.key) != plan:
            self.state.parts[spec.key] = plan
            self.state.save(spec.key)
        now = set(spec.candidate_order)
        numbered = [(n, p) for n, p in enumerate(plan, 1) if reading or now & set(p)]
        if len(numbered) <= 1 and (not numbered or numbered[0][0] == 1):
            return [spec]
        return [
            part_spec(spec, letters, part_key(spec.key, n), i, len(numbered))
            for i, (n, letters) in enumerate(numbered, 1)
        ]

    def _complete(self, entry: dict[str, Any] | None, spec: FormSpec) -> bool:
        return bool(
            entry
            and entry.get("form_id")
            and entry.get("built") == spec_hash(spec)
            and entry.get("published")
            and entry.get("shared")
            and (entry.get("filed") or not self.folder_id)
        )

    def _ensure_one(self, spec: FormSpec, entry: dict[str, Any] | None) -> dict[str, Any]:
        fresh: dict[str, Any] | None = None
        if not entry or not entry.get("form_id"):
            # The record first: an id set aside before an earlier create (whose answer, or
            # the run, was lost) is looked up by id, never searched for: Drive's search
            # can miss a file made moments ago, and a miss must not make a second form.
            pending = str((entry or {}).get("pending_id") or "")
            found = None if pending else self._find(spec)
            if found is None:
                if not pending:
                    pending = self._new_id(spec)
                    self.state.forms[spec.key] = {"pending_id": pending}
                    self.state.save(spec.key)
                fresh = self._create(spec, pending)
                found = fresh["formId"]
                if not fresh.get("made"):
                    fresh = None  # made by an earlier try: read it before building
            entry = {
                "form_id": found,
                "url": (fresh or {}).get("responderUri", ""),
                "created_at": self.clock().astimezone(dt.UTC).isoformat(),
                "built": "",
                "questions": {},
                "published": False,
                "shared": False,
            }
            if (fresh or {}).get("filed"):
                entry["filed"] = True  # made in the folder
            self.state.forms[spec.key] = entry
            self.state.save(spec.key)
        try:
            self._build(spec, entry, fresh)
        except GoogleAPIError as exc:
            if exc.status != 404 or fresh is not None:
                raise
            # deleted (or trashed) since it was made: forget it and make a new one
            log.warning("the form for %s is gone from Google; making a new one", spec.key)
            del self.state.forms[spec.key]
            self.state.save(spec.key)
            return self._ensure_one(spec, None)
        if not entry.get("published"):
            self._publish(spec, entry)
        if not entry.get("shared"):
            self._share(spec, entry)
        if self.folder_id and not entry.get("filed"):
            self._file(spec, entry)
        return entry

    def _find(self, spec: FormSpec) -> str | None:
        """The form an earlier run made for this key, from Drive (oldest if several)."""
        name = document_title(spec).replace("\\", "\\\\").replace("'", "\\'")
        q = f"name = '{name}' and mimeType = '{FORM_MIME}' and trashed = false"
        what = f"finding the form for {spec.key} in Drive"
        res = self._retrying(
            lambda: self.drive.files().list(
                q=q,
                fields="files(id,createdTime)",
                pageSize=10,
                supportsAllDrives=True,
                includeItemsFromAllDrives=True,
            ),
            what,
        )
        found = sorted(res.get("files") or [], key=lambda f: (f.get("createdTime", ""), f["id"]))
        if len(found) > 1:
            log.warning(
                "Drive holds %d forms for %s; using the oldest, the others get no link",
                len(found),
                spec.key,
            )
        return str(found[0]["id"]) if found else None

    def _new_id(self, spec: FormSpec) -> str:
        """A file id from Drive for a form about to be made (``files.generateIds``)."""
        if not self._ids:
            got = self._retrying(
                lambda: self.drive.files().generateIds(count=ID_BATCH, space="drive"),
                f"setting aside an id for the form for {spec.key}",
            )
            self._ids = [str(i) for i in got.get("ids") or []]
        if not self._ids:
            raise GoogleAPIError("Google gave no file id for a new form; run the command again")
        return self._ids.pop(0)

    def _create(self, spec: FormSpec, file_id: str) -> dict[str, Any]:
        """A new, empty form made through Drive with the id set aside for it.

        Not ``forms.create``: that always puts the form in the caller's own Drive,
        which a service account does not have. The Forms API fills it in after.
        After a lost answer the id is looked up (``files.get`` sees a new file at once,
        where a search may not) before trying again; an id already used is adopted.
        """
        what = f"creating the form for {spec.key}"
        body: dict[str, Any] = {"id": file_id, "name": document_title(spec), "mimeType": FORM_MIME}
        if self.folder_id:
            body["parents"] = [self.folder_id]
        started, attempt = self.policy.clock(), 0
        while True:
            attempt += 1
            try:
                made = self._run(
                    self.drive.files().create(body=body, supportsAllDrives=True, fields="id"),
                    what,
                )
                return {"formId": made["id"], "filed": bool(self.folder_id), "made": True}
            except _Unsure as exc:
                if "id" in body and self._exists(file_id, what):
                    log.info("the form for %s was made before its answer was lost", spec.key)
                    return {"formId": file_id}
                if "id" not in body and (found := self._find(spec)) is not None:
                    return {"formId": found}
                self._again(attempt, started, what, str(exc))
            except GoogleAPIError as exc:
                if exc.status == 409 and "id" in body:  # made by an earlier try or run
                    return {"formId": file_id}
                if exc.status != 400 or "id" not in body:
                    raise
                # the id set aside is not usable (say, it expired): make it without one,
                # settling a lost answer by a search as before
                log.warning("Google would not take the id set aside for %s", spec.key)
                del body["id"]

    def _exists(self, file_id: str, what: str) -> bool:
        try:
            self._retrying(
                lambda: self.drive.files().get(fileId=file_id, fields="id", supportsAllDrives=True),
                what,
            )
        except GoogleAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _get(self, form_id: str, what: str) -> dict[str, Any]:
        form: dict[str, Any] = self._retrying(lambda: self.forms.forms().get(formId=form_id), what)
        return form

    def _build(
        self, spec: FormSpec, entry: dict[str, Any], fresh: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Items, info and settings in one batchUpdate (or adopt a form already built)."""
        want = spec_hash(spec)
        if entry.get("built") == want:
            return None
        what = f"building the form for {spec.key}"
        started, attempt, unsure = self.policy.clock(), 0, False
        # a form this run just made is empty: build it without reading it first
        form: dict[str, Any] | None = {"items": []} if fresh is not None else None
        while True:
            attempt += 1
            if form is None:
                form = self._get(entry["form_id"], what)
            entry["url"] = form.get("responderUri") or entry.get("url", "")
            mapping = matching_questions(form, spec)
            if mapping is not None:
                self._record_build(spec.key, entry, want, mapping, form)
                return form
            have = form.get("items") or []
            qmap: dict[str, str] = entry.get("questions") or {}
            changes, qids_now = update_requests(have, qmap, spec)
            dropped = {
                _qid(have[r["deleteItem"]["location"]["index"]])
                for r in changes
                if "deleteItem" in r
            } - {""}
            answered: set[str] = set()
            if dropped:  # never delete a question whose answers are not collected yet
                answered = self._uncollected(entry, what) & dropped
                if answered:
                    changes, qids_now = update_requests(have, qmap, spec, answered)
                    log.warning(
                        "the form for %s keeps %d question(s) no longer asked until their "
                        "answers are collected",
                        spec.key,
                        len(answered),
                    )
            requests = [
                {
                    "updateFormInfo": {
                        "info": {"title": spec.title, "description": spec.intro},
                        "updateMask": "title,description",
                    }
                },
                {"updateSettings": {"settings": SETTINGS, "updateMask": SETTINGS_MASK}},
                *changes,
            ]
            replies: list[dict[str, Any]] = []
            revision = form.get("revisionId")
            try:
                parts = in_parts(requests)
                for n, part in enumerate(parts):
                    body: dict[str, Any] = {"requests": part}
                    if n == len(parts) - 1:
                        body["includeFormInResponse"] = True
                    if revision:
                        body["writeControl"] = {"requiredRevisionId": revision}
                    out = self._run(
                        self.forms.forms().batchUpdate(formId=entry["form_id"], body=body), what
                    )
                    replies += out.get("replies") or []
                    revision = (out.get("writeControl") or {}).get("requiredRevisionId")
            except _Unsure as exc:
                unsure, form = True, None  # read it back: it may have been built
                self._again(attempt, started, what, str(exc))
                continue
            except GoogleAPIError as exc:
                if unsure and exc.status == 400:
                    form = None  # our own earlier try moved the revision on: read it back
                    self._again(attempt, started, what, "HTTP 400 (revision moved on)")
                    continue
                raise
            made = iter(
                r["createItem"]["questionId"][0]
                for r in replies
                if "createItem" in r and r["createItem"].get("questionId")
            )
            qids = [q if q is not None else next(made, "") for q in qids_now]
            items = spec.items()
            if len(qids) != len(items) or "" in qids:
                raise GoogleAPIError(
                    f"Google answered {what} with {len(qids)} questions for {len(items)} items; "
                    "run the command again"
                )
            built = out.get("form") or {}
            self._record_build(
                spec.key,
                entry,
                want,
                {q: i.item_id for q, i in zip(qids, items, strict=True)},
                built,
            )
            if answered:  # not finished: the next push, once they are collected, removes them
                entry["built"] = ""
                self.state.save(spec.key)
            return built

    def _uncollected(self, entry: dict[str, Any], what: str) -> set[str]:
        """Question ids with answers submitted after the last collection (one list per page)."""
        kw: dict[str, Any] = {"formId": entry["form_id"], "pageSize": PAGE_SIZE}
        if entry.get("collected"):
            kw["filter"] = f"timestamp > {entry['collected']}"
        out: set[str] = set()
        while True:
            page = self._retrying(self._lister(dict(kw)), what)
            for r in page.get("responses") or []:
                out.update((r.get("answers") or {}).keys())
            token = page.get("nextPageToken")
            if not token:
                return out
            kw["pageToken"] = token

    def _record_build(
        self,
        key: str,
        entry: dict[str, Any],
        want: str,
        mapping: dict[str, str],
        form: dict[str, Any],
    ) -> None:
        entry.setdefault("questions", {}).update(mapping)
        entry["built"] = want
        if form.get("responderUri"):
            entry["url"] = form["responderUri"]
        state = (form.get("publishSettings") or {}).get("publishState") or {}
        if state.get("isPublished") and state.get("isAcceptingResponses"):
            entry["published"] = True
        self.state.save(key)

    def _publish(self, spec: FormSpec, entry: dict[str, Any]) -> None:
        body = {
            "publishSettings": {
                "publishState": {"isPublished": True, "isAcceptingResponses": True}
            },
            "updateMask": "publishState",
        }
        self._retrying(
            lambda: self.forms.forms().setPublishSettings(formId=entry["form_id"], body=body),
            f"publishing the form for {spec.key}",
        )
        entry["published"] = True
        self.state.save(spec.key)

    def _share(self, spec: FormSpec, entry: dict[str, Any]) -> None:
        body = {"type": "anyone", "role": "reader", "view": "published"}
        try:
            self._retrying(
                lambda: self.drive.permissions().create(
                    fileId=entry["form_id"], body=body, fields="id", supportsAllDrives=True
                ),
                f"opening the form for {spec.key} to responses",
            )
        except GoogleAPIError as exc:
            if exc.status != 403 or isinstance(exc, RetryLimitReached):
                raise
            raise GoogleAPIError(
                f"Google would not let anyone with the link answer the form for {spec.key} "
                "(HTTP 403). Your Google Workspace may only allow sharing inside your "
                "organisation, and panel members often have no Google account there. Ask "
                "your Google admin to allow it for corecruit's service account, or use the "
                'local forms ([forms] backend = "local"). The form is made and kept; run '
                "'corecruit forms push' again once this is sorted.",
                status=403,
            ) from None
        entry["shared"] = True
        self.state.save(spec.key)

    def _file(self, spec: FormSpec, entry: dict[str, Any]) -> None:
        """Move the form into ``[google] drive_folder_id`` (staff with the folder see it)."""
        what = f"putting the form for {spec.key} in the Drive folder"
        fid = entry["form_id"]
        got = self._retrying(
            lambda: self.drive.files().get(fileId=fid, fields="parents", supportsAllDrives=True),
            what,
        )
        parents = [p for p in got.get("parents") or [] if p != self.folder_id]
        if self.folder_id not in (got.get("parents") or []):
            self._retrying(
                lambda: self.drive.files().update(
                    fileId=fid,
                    addParents=self.folder_id,
                    removeParents=",".join(parents),
                    supportsAllDrives=True,
                    fields="id",
                ),
                what,
            )
        entry["filed"] = True
        self.state.save(spec.key)

    # ------------------------------------------------------------ responses

    def fetch_responses(
        self, specs: Sequence[FormSpec], since: dt.datetime | None = None
    ) -> list[Response]:
        flt = f"timestamp >= {rfc3339(to_utc(since, self.tz))}" if since is not None else None
        out: list[Response] = []
        for whole in specs:
            for spec in self.parts_of(whole, reading=True):
                out += self._read_part(whole, spec, flt)
        out.sort(key=lambda r: (r.submitted_at, r.response_id))
        return out

    def _read_part(self, whole: FormSpec, spec: FormSpec, flt: str | None) -> list[Response]:
        """The responses to one form (the whole form, or one part of it), as ``whole``'s."""
        out: list[Response] = []
        entry = self._entry_for_reading(spec)
        if entry is not None:
            what = f"reading the answers to the form for {spec.key}"
            token: str | None = None
            while True:
                kw: dict[str, Any] = {"formId": entry["form_id"], "pageSize": PAGE_SIZE}
                if flt:
                    kw["filter"] = flt
                if token:
                    kw["pageToken"] = token
                page = self._retrying(self._lister(kw), what)
                for r in page.get("responses") or []:
                    got = replace(self._response(spec, entry, r), form_key=whole.key)
                    self._seen[got.response_id] = str(r.get("lastSubmittedTime") or "")
                    self._part[got.response_id] = spec.key
                    out.append(got)
                token = page.get("nextPageToken")
                if not token:
                    break
        return out

    def mark_collected(self, responses: Sequence[Response]) -> None:
        """Record these answers as safely in the workbook (call only after that write).

        A question kept only for uncollected answers is deleted at the next push, and
        at Google deleting a question deletes its answers: marking them on reading would
        lose them if the job stopped before writing them.
        """
        changed: set[str] = set()
        for r in responses:
            latest = self._seen.get(r.response_id, "")
            key = self._part.get(r.response_id, r.form_key)
            entry = self.state.forms.get(key)
            if entry is not None and latest > str(entry.get("collected") or ""):
                entry["collected"] = latest
                changed.add(key)
        if changed:
            self.state.save(*changed)

    def _lister(self, kw: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self.forms.forms().responses().list(**kw)

    def _entry_for_reading(self, spec: FormSpec) -> dict[str, Any] | None:
        entry = self.state.forms.get(spec.key)
        if entry and entry.get("questions"):
            return entry
        form_id = (entry or {}).get("form_id") or self._find(spec)
        if not form_id:
            return None  # no form yet: nothing to read
        form = self._get(form_id, f"reading the form for {spec.key}")
        mapping = matching_questions(form, spec)
        if mapping is None:
            if not form.get("items"):
                return None  # made but never built: nobody could answer it
            if not spec.items():
                log.warning("skipped the form for %s: its questions are not known", spec.key)
                return None
            raise JobError(
                f"The Google form for {spec.key} does not hold the questions corecruit "
                "expects (it was changed by hand, or corecruit's record of it was lost after the "
                "questions changed). Run 'corecruit forms push' first, then collect again."
            )
        entry = entry or {
            "form_id": form_id,
            "url": form.get("responderUri", ""),
            "created_at": self.clock().astimezone(dt.UTC).isoformat(),
            "built": "",
            "questions": {},
            "published": False,
            "shared": False,
        }
        entry["questions"] = {**entry.get("questions", {}), **mapping}
        entry["built"] = spec_hash(spec)
        self.state.forms[spec.key] = entry
        self.state.save(spec.key)
        return entry

    def _response(self, spec: FormSpec, entry: dict[str, Any], r: dict[str, Any]) -> Response:
        items = {i.item_id for i in spec.items()}
        choices = {
            i.item_id: option_texts(i)
            for i in spec.items()
            if isinstance(i, ScaleItem) and (i.legend or i.cant_score)
        }
        qmap: dict[str, str] = entry.get("questions") or {}
        answers = dict.fromkeys(sorted(items), "")
        for qid, ans in (r.get("answers") or {}).items():
            item_id = qmap.get(qid)
            if item_id is None:
                continue  # a question corecruit did not make (added by hand): not a score
            values = [
                str(a.get("value", "")) for a in (ans.get("textAnswers") or {}).get("answers", [])
            ]
            if item_id in choices:  # the words chosen -> the value they stand for
                values = [choices[item_id].get(v, v) for v in values]
            answers[item_id] = ", ".join(values)
        at = parse_time(str(r.get("lastSubmittedTime") or r.get("createTime")))
        rid = str(r["responseId"])
        return Response(
            # sorts in submission order (ties within a second in the sheets still have a
            # clear latest); an edited response is a new submission with a new id
            response_id=f"G{at:%Y%m%dT%H%M%S%f}Z-{rid}",
            form_key=spec.key,
            person_id=spec.person_id,
            answers=answers,
            submitted_at=at,
            source="google form",
            meta={"form_id": entry["form_id"], "google_response_id": rid},
        )


def google_provider(ctx: Context) -> GoogleFormsProvider:
    """The provider for a context: credentials from config (or ``ctx.seams``).

    ``ctx.seams`` may hold ``google_transport`` (the ``requests.Session`` carrying
    the bytes: tests hand in the emulator's), ``google_credentials`` and
    ``google_retry`` (a :class:`RetryPolicy`).
    """
    settings = ctx.settings
    credentials = ctx.seams.google_credentials
    if credentials is None:
        credentials = credentials_for(settings, NEEDED_SCOPES)
    require_scopes(credentials, NEEDED_SCOPES)
    transport = ctx.seams.google_transport
    policy = ctx.seams.google_retry or RetryPolicy.from_settings(settings)
    forms = build_service("forms", "v1", credentials, transport, policy)
    drive = build_service("drive", "v3", credentials, transport, policy)
    return GoogleFormsProvider(
        forms,
        drive,
        settings.workspace / ctx.campaign.id,
        policy=policy,
        timezone=settings.org.organisation.timezone,
        folder_id=settings.org.google.drive_folder_id,
    )


__all__ = ["NEEDED_SCOPES", "GoogleFormsProvider", "document_title", "google_provider"]
