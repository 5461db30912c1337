"""The local forms inbox: an append-only SQLite file, durable on submit.

Three tables:

- ``forms``: the current spec and link of each form (by key). ``push`` writes it;
  the form server reads it.
- ``submissions``: every submitted form, append-only (triggers refuse UPDATE and
  DELETE). A row is committed with ``synchronous=FULL`` before the person is told
  "saved", so a submission is never lost even if the workbook write fails later.
  Each row has a unique nonce from the page it was sent from, so pressing Send
  twice stores it once; the same answers as the form's latest row are not stored
  again either (Back to the check page, then Send).
- ``drafts``: answers saved part-way ("save and come back"), one row per form.
- ``short_codes``: the short code of each link (form and token id), for letters read
  out or posted; ``code_tries``: each wrong code typed, so guessing is rate-limited.

``forms_version`` counts every change to ``forms`` (triggers, whoever writes), so the form
server can keep each form it has read and read it again only after a change, rather than
read a whole spec (tens of kB) from the file on every request.

Each thread keeps one connection of its own (the server's worker threads never share
one, and a request does not pay for opening one and setting it up); each form's parsed spec
is kept with its text, so a spec changed by ``push`` is parsed again and an unchanged one
never, however many forms are served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import secrets
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import StoreError
from ..files import private_dir, private_file
from .base import CommentItem, FormSpec, Response, ScaleItem, ScalePoint, Section

SCHEMA = """
CREATE TABLE IF NOT EXISTS forms (
    form_key TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    response_id TEXT NOT NULL UNIQUE,
    nonce TEXT NOT NULL UNIQUE,
    form_key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    answers_json TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_form ON submissions (form_key, submitted_at);
CREATE TRIGGER IF NOT EXISTS submissions_no_update BEFORE UPDATE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS submissions_no_delete BEFORE DELETE ON submissions
BEGIN SELECT RAISE(ABORT, 'submissions are append-only'); END;
CREATE TABLE IF NOT EXISTS short_codes (
    code TEXT PRIMARY KEY,
    form_key TEXT NOT NULL,
    token_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (form_key, token_id)
);
CREATE TABLE IF NOT EXISTS code_tries (
    at TEXT NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS code_tries_at ON code_tries (at);
CREATE TABLE IF NOT EXISTS drafts (
    form_key TEXT PRIMARY KEY,
    answers_json TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forms_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER);
CREATE TRIGGER IF NOT EXISTS forms_inserted AFTER INSERT ON forms BEGIN
INSERT INTO forms_version VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS forms_updated AFTER UPDATE ON forms BEGIN
INSERT INTO forms_version VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS forms_deleted AFTER DELETE ON forms BEGIN
INSERT INTO forms_version VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1; END;
"""


def inbox_path(settings: Settings) -> Path:
    """Where the local forms inbox lives (the server and the jobs that read codes)."""
    return settings.workspace / "forms" / "inbox.sqlite3"


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's own fields, one level (``dataclasses.asdict`` copies every nested
    value of a spec of thousands of items, and was most of the time of storing forms)."""
    names = _FIELDS.get(type(obj))
    if names is None:
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {n: getattr(obj, n) for n in names}


def spec_to_json(spec: FormSpec) -> str:
    """The spec as stored: the same JSON ``dataclasses.asdict`` gives, plus each item's kind."""
    points: dict[int, list[dict[str, Any]]] = {}  # items share their scale's points

    def item(i: ScaleItem | CommentItem) -> dict[str, Any]:
        d = _fields(i)
        if isinstance(i, ScaleItem):
            got = points.get(id(i.points))
            if got is None:
                got = points[id(i.points)] = [_fields(p) for p in i.points]
            d["points"] = got
            d["kind"] = "scale"
        else:
            d["kind"] = "comment"
        return d

    data = _fields(spec)
    data["sections"] = [{**_fields(s), "items": [item(i) for i in s.items]} for s in spec.sections]
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _points(pairs: tuple[tuple[int, str], ...]) -> tuple[ScalePoint, ...]:
    """One tuple of points per distinct scale, shared by the items that use it."""
    return tuple(ScalePoint(v, label) for v, label in pairs)


@functools.lru_cache(maxsize=64)
def spec_from_json(text: str) -> FormSpec:
    """A stored spec, parsed once per distinct text (specs are frozen, so sharing is safe)."""
    d = json.loads(text)
    sections = []
    for s in d["sections"]:
        items: list[ScaleItem | CommentItem] = []
        for i in s["items"]:
            kind = i.pop("kind")
            if kind == "scale":
                i["points"] = _points(tuple((p["value"], p["label"]) for p in i["points"]))
                items.append(ScaleItem(**i))
            else:
                items.append(CommentItem(**i))
        sections.append(Section(s["section_id"], s["title"], s["description"], tuple(items)))
    d["sections"] = tuple(sections)
    d["candidate_order"] = tuple(d["candidate_order"])
    d["question_order"] = tuple(d["question_order"])
    return FormSpec(**d)


def _iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class SendLimitReached(Exception):
    """One form was sent more times in an hour than the server allows."""


@dataclasses.dataclass(frozen=True)
class StoredForm:
    spec: FormSpec
    token_id: str
    created_at: dt.datetime
    expires_at: dt.datetime


def _close_all(cons: list[sqlite3.Connection], lock: threading.Lock) -> None:
    with lock:
        for con in cons:
            con.close()
        cons.clear()


class Inbox:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        weakref.finalize(self, _close_all, self._all, self._all_lock)
        self._specs: dict[str, tuple[str, FormSpec]] = {}  # form key -> (its text, parsed)
        # form key -> (forms_version when read, the form then)
        self._read: dict[str, tuple[int, StoredForm | None]] = {}
        try:
            private_dir(self.path.parent)
            if not self.path.exists():
                self.path.touch(mode=0o600)  # scores and notes: readable by corecruit's user only
            private_file(self.path)  # also an inbox made by an older version (WAL files follow it)
            with self._connect() as con:
                con.executescript(SCHEMA)
        except (OSError, sqlite3.Error):
            raise StoreError(
                f"the forms inbox in {self.path.parent} cannot be written: please check that "
                "this folder exists and corecruit's user may write to it"
            ) from None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, opened and set up on its first use."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=FULL")
                con.execute("PRAGMA busy_timeout=60000")
            except BaseException:
                con.close()
                raise
            self._local.con = con
            with self._all_lock:
                self._all.append(con)
        if con.in_transaction:  # left open by an interrupted call: never carried over
            con.execute("ROLLBACK")
        yield con

    def close(self) -> None:
        """Close every thread's connection (also done when the inbox is collected)."""
        _close_all(self._all, self._all_lock)
        self._local = threading.local()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ------------------------------------------------------------ forms

    def _spec(self, key: str, text: str) -> FormSpec:
        """The form's spec, parsed only when its text is not the one parsed last time
        (comparing two equal texts is far cheaper than hashing or parsing one)."""
        got = self._specs.get(key)
        if got is not None and got[0] == text:
            return got[1]
        spec = spec_from_json(text)
        if len(self._specs) >= 10_000:  # bounded; a spec is cheap to parse again
            self._specs.clear()
        self._specs[key] = (text, spec)
        return spec

    def forms(self, keys: Sequence[str] | None = None) -> dict[str, StoredForm]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT form_key, spec_json, token_id, created_at, expires_at FROM forms"
            ).fetchall()
        wanted = set(keys) if keys is not None else None
        return {
            k: StoredForm(self._spec(k, s), t, _from_iso(c), _from_iso(e))
            for k, s, t, c, e in rows
            if wanted is None or k in wanted
        }

    def form(self, key: str) -> StoredForm | None:
        """The form as stored now: read from the file only when some form has changed
        since this inbox last read it (one small row tells)."""
        with self._connect() as con:
            got = con.execute("SELECT n FROM forms_version").fetchone()
            version = int(got[0]) if got else 0
            kept = self._read.get(key)
            if kept is not None and kept[0] == version:
                return kept[1]
            # read after the version: a change in between is seen now or makes the
            # next request read again, never kept under the newer version
            row = con.execute(
                "SELECT spec_json, token_id, created_at, expires_at FROM forms WHERE form_key=?",
                (key,),
            ).fetchone()
        stored = (
            None
            if row is None
            else StoredForm(self._spec(key, row[0]), row[1], _from_iso(row[2]), _from_iso(row[3]))
        )
        if len(self._read) >= 10_000:
            self._read.clear()
        self._read[key] = (version, stored)
        return stored

    def links(self, keys: Sequence[str]) -> dict[str, tuple[str, dt.datetime, dt.datetime]]:
        """Each stored form's link (token id, created, expires) by key, without its spec
        (a spec of a large campaign is tens of MB; pushing only needs the links)."""
        out: dict[str, tuple[str, dt.datetime, dt.datetime]] = {}
        with self._connect() as con:
            for i in range(0, len(keys), 500):  # within SQLite's limit on parameters
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                for k, t, c, e in con.execute(
                    "SELECT form_key, token_id, created_at, expires_at FROM forms "
                    f"WHERE form_key IN ({marks})",
                    part,
                ):
                    out[k] = (t, _from_iso(c), _from_iso(e))
        return out

    def owners(self) -> dict[str, tuple[str, str, dt.datetime]]:
        """Every stored form's person, token id and expiry by key, without its spec."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT form_key, person_id, token_id, expires_at FROM forms"
            ).fetchall()
        return {k: (p, t, _from_iso(e)) for k, p, t, e in rows}

    def put_forms(self, forms: Sequence[StoredForm], now: dt.datetime) -> None:
        """Insert or update forms (spec, link) in one transaction.

        Each spec is turned into JSON only as its row is written (one at a time in
        memory), and a form whose spec and link are what is stored is left as it is."""
        rows = (
            (
                f.spec.key,
                f.spec.person_id,
                f.token_id,
                spec_to_json(f.spec),
                _iso(f.created_at),
                _iso(f.expires_at),
                _iso(now),
            )
            for f in forms
        )
        with self._tx() as con:
            con.executemany(
                "INSERT INTO forms (form_key, person_id, token_id, spec_json, created_at, "
                "expires_at, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(form_key) DO UPDATE "
                "SET spec_json=excluded.spec_json, token_id=excluded.token_id, "
                "expires_at=excluded.expires_at, created_at=excluded.created_at, "
                "updated_at=excluded.updated_at "
                "WHERE spec_json IS NOT excluded.spec_json OR token_id IS NOT excluded.token_id "
                "OR expires_at IS NOT excluded.expires_at "
                "OR created_at IS NOT excluded.created_at",
                rows,
            )

    # ------------------------------------------------------------ short codes

    def put_codes(
        self, wanted: Mapping[tuple[str, str], Sequence[str]], now: dt.datetime
    ) -> dict[tuple[str, str], str]:
        """The short code of each (form key, token id), in one transaction: the one it
        has, else the first of its candidate codes no other link holds. Deterministic
        candidates make a rerun after a kill give the same codes."""
        out: dict[tuple[str, str], str] = {}
        with self._tx() as con:
            for (key, token), candidates in wanted.items():
                row = con.execute(
                    "SELECT code FROM short_codes WHERE form_key=? AND token_id=?", (key, token)
                ).fetchone()
                if row is not None:
                    out[key, token] = row[0]
                    continue
                for code in candidates:
                    if con.execute("SELECT 1 FROM short_codes WHERE code=?", (code,)).fetchone():
                        continue
                    con.execute(
                        "INSERT INTO short_codes (code, form_key, token_id, created_at) "
                        "VALUES (?,?,?,?)",
                        (code, key, token, _iso(now)),
                    )
                    out[key, token] = code
                    break
        return out

    def codes(self) -> dict[tuple[str, str], str]:
        """Every short code, by (form key, token id)."""
        with self._connect() as con:
            rows = con.execute("SELECT form_key, token_id, code FROM short_codes").fetchall()
        return {(k, t): c for k, t, c in rows}

    def by_code(self, code: str) -> tuple[str, str] | None:
        """(form key, token id) of the link with this short code, if any."""
        with self._connect() as con:
            row = con.execute(
                "SELECT form_key, token_id FROM short_codes WHERE code=?", (code,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def code_tries(self, since: dt.datetime, client: str | None = None) -> int:
        """Wrong codes typed since then (by this client, or by anyone)."""
        q, args = "SELECT COUNT(*) FROM code_tries WHERE at > ?", [_iso(since)]
        if client is not None:
            q += " AND client = ?"
            args.append(client)
        with self._connect() as con:
            return int(con.execute(q, args).fetchone()[0])

    def wrong_code(self, client: str, now: dt.datetime) -> None:
        """Count a wrong code (tries older than a day are let go)."""
        with self._tx() as con:
            con.execute("DELETE FROM code_tries WHERE at < ?", (_iso(now - dt.timedelta(days=1)),))
            con.execute("INSERT INTO code_tries (at, client) VALUES (?,?)", (_iso(now), client))

    # ------------------------------------------------------------ drafts

    def draft(self, key: str) -> dict[str, str]:
        with self._connect() as con:
            row = con.execute("SELECT answers_json FROM drafts WHERE form_key=?", (key,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def merge_draft(self, key: str, updates: Mapping[str, str], now: dt.datetime) -> dict[str, str]:
        """Add one page's answers to the draft and return the whole draft.

        Read, merge and write happen in one write transaction, so two pages saved at
        once (two tabs) both keep their answers; writing a draft read earlier would
        lose the other page's."""
        with self._tx() as con:
            row = con.execute("SELECT answers_json FROM drafts WHERE form_key=?", (key,)).fetchone()
            answers = dict(json.loads(row[0])) if row else {}
            answers.update(updates)
            con.execute(
                "INSERT INTO drafts (form_key, answers_json, saved_at) VALUES (?,?,?) "
                "ON CONFLICT(form_key) DO UPDATE SET answers_json=excluded.answers_json, "
                "saved_at=excluded.saved_at",
                (key, json.dumps(answers, ensure_ascii=False), _iso(now)),
            )
        return answers

    def save_draft(self, key: str, answers: Mapping[str, str], now: dt.datetime) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO drafts (form_key, answers_json, saved_at) VALUES (?,?,?) "
                "ON CONFLICT(form_key) DO UPDATE SET answers_json=excluded.answers_json, "
                "saved_at=excluded.saved_at",
                (key, json.dumps(dict(answers), ensure_ascii=False), _iso(now)),
            )

    # ------------------------------------------------------------ submissions

    def submit(
        self,
        *,
        form_key: str,
        person_id: str,
        token_id: str,
        answers: Mapping[str, str],
        nonce: str,
        now: dt.datetime,
        per_hour: int | None = None,
    ) -> tuple[str, dt.datetime, bool]:
        """Store a submission durably. Returns (response id, submitted at, new?).

        The same nonce twice (Send pressed twice, or a browser re-post) returns the
        first submission and stores nothing more; so do the same answers as the form's
        latest submission (Back to the check page and Send again). More than
        ``per_hour`` new submissions of one form in an hour raises
        :class:`SendLimitReached`. Response ids sort in arrival order.
        """
        answers_json = json.dumps(dict(answers), ensure_ascii=False, sort_keys=True)
        with self._tx() as con:
            row = con.execute(
                "SELECT response_id, submitted_at, form_key FROM submissions WHERE nonce=?",
                (nonce,),
            ).fetchone()
            if row is not None and row[2] == form_key:
                return row[0], _from_iso(row[1]), False
            if row is not None:
                nonce = nonce + "|" + secrets.token_hex(4)  # another form's nonce: never merge
            last = con.execute(
                "SELECT response_id, submitted_at, answers_json, person_id FROM submissions "
                "WHERE seq = (SELECT MAX(seq) FROM submissions WHERE form_key=?)",
                (form_key,),
            ).fetchone()
            if last is not None and (last[2], last[3]) == (answers_json, person_id):
                return last[0], _from_iso(last[1]), False
            if per_hour is not None:
                recent = con.execute(
                    "SELECT COUNT(*) FROM submissions WHERE form_key=? AND submitted_at > ?",
                    (form_key, _iso(now - dt.timedelta(hours=1))),
                ).fetchone()[0]
                if recent >= per_hour:
                    raise SendLimitReached(form_key)
            # Ids sort in the order submissions arrived (we hold the write lock), so two
            # sends in the same second still have a clear latest.
            seq = int(
                con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM submissions").fetchone()[0]
            )
            response_id = f"L{seq:08d}{secrets.token_hex(3)}"
            con.execute(
                "INSERT INTO submissions (response_id, nonce, form_key, person_id, token_id, "
                "answers_json, submitted_at) VALUES (?,?,?,?,?,?,?)",
                (
                    response_id,
                    nonce,
                    form_key,
                    person_id,
                    token_id,
                    answers_json,
                    _iso(now),
                ),
            )
            # A correction starts from the last send; an existing draft already holds
            # it (or a page saved since, which must not be overwritten).
            con.execute(
                "INSERT INTO drafts (form_key, answers_json, saved_at) VALUES (?,?,?) "
                "ON CONFLICT(form_key) DO NOTHING",
                (form_key, json.dumps(dict(answers), ensure_ascii=False), _iso(now)),
            )
        return response_id, now, True

    def responses(
        self, keys: Sequence[str] | None = None, since: dt.datetime | None = None
    ) -> list[Response]:
        q = (
            "SELECT response_id, form_key, person_id, token_id, answers_json, submitted_at "
            "FROM submissions"
        )
        args: list[Any] = []
        if since is not None:
            q += " WHERE submitted_at >= ?"
            args.append(_iso(since))
        q += " ORDER BY seq"
        with self._connect() as con:
            rows = con.execute(q, args).fetchall()
        wanted = set(keys) if keys is not None else None
        return [
            Response(
                response_id=rid,
                form_key=key,
                person_id=pid,
                answers=json.loads(ans),
                submitted_at=_from_iso(at),
                source="local form",
                meta={"token_id": tid},
            )
            for rid, key, pid, tid, ans, at in rows
            if wanted is None or key in wanted
        ]

    def answers_version(self) -> str:
        """How many answers there are and the newest one's number. Answers are append-only,
        so this changes with each new answer and only then (the runner's fingerprint of
        a job that brings answers in; a form made or a draft saved does not change it)."""
        with self._connect() as con:
            n, last = con.execute(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM submissions"
            ).fetchone()
        return f"{n} {last}"

    def count(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])

    def latest_submission(self, key: str) -> tuple[str, dt.datetime] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT response_id, submitted_at FROM submissions "
                "WHERE seq = (SELECT MAX(seq) FROM submissions WHERE form_key=?)",
                (key,),
            ).fetchone()
        return (row[0], _from_iso(row[1])) if row else None

    def latest_answers(self, key: str) -> tuple[dt.datetime, dict[str, str]] | None:
        """When the form was last sent and what was sent (the start page compares it
        with the form as it is now: a late application may have been added)."""
        with self._connect() as con:
            row = con.execute(
                "SELECT submitted_at, answers_json FROM submissions "
                "WHERE seq = (SELECT MAX(seq) FROM submissions WHERE form_key=?)",
                (key,),
            ).fetchone()
        return (_from_iso(row[0]), dict(json.loads(row[1]))) if row else None
