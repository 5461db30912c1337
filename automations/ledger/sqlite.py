"""The ledger in one SQLite file per campaign (standard library, WAL, owner-only).

One connection per ledger object, ``busy_timeout`` so two jobs of one campaign
wait for each other instead of failing, and ``BEGIN IMMEDIATE`` for every
commit: a generation is all there or not there, whatever line a job is killed at.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..files import private_dir, private_fd, private_file
from .base import STAMP_NEW, Event, Generation, Header, Ledger, TabChange, TabRows

LEDGER_NAME = "ledger.sqlite3"
BUSY_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS workbooks (
    name TEXT PRIMARY KEY,
    workbook_id TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS generations (
    workbook TEXT NOT NULL,
    generation INTEGER NOT NULL,
    made_at TEXT NOT NULL,
    sheet_stamp INTEGER,
    exported_at TEXT,
    kind TEXT NOT NULL,
    PRIMARY KEY (workbook, generation)
);
CREATE TABLE IF NOT EXISTS tabs (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    from_gen INTEGER NOT NULL,
    PRIMARY KEY (workbook, tab)
);
CREATE TABLE IF NOT EXISTS rows (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    key TEXT NOT NULL,
    pos INTEGER NOT NULL,
    cells TEXT NOT NULL,
    from_gen INTEGER NOT NULL,
    to_gen INTEGER
);
CREATE INDEX IF NOT EXISTS rows_live ON rows (workbook, tab, key) WHERE to_gen IS NULL;
CREATE INDEX IF NOT EXISTS rows_by_gen ON rows (workbook, tab, from_gen);
CREATE TABLE IF NOT EXISTS headers (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    cells TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (workbook, tab)
);
CREATE TABLE IF NOT EXISTS tab_versions (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    generation INTEGER NOT NULL,
    PRIMARY KEY (workbook, tab)
);
CREATE TABLE IF NOT EXISTS tab_tokens (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    token TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (workbook, tab)
);
CREATE TABLE IF NOT EXISTS tab_contents (
    workbook TEXT NOT NULL,
    tab TEXT NOT NULL,
    token TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (workbook, tab)
);
CREATE TABLE IF NOT EXISTS marks (
    workbook TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (workbook, name)
);
CREATE TABLE IF NOT EXISTS form_records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    workbook TEXT NOT NULL,
    generation INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
);
"""


class SqliteLedger(Ledger):
    """The ledger of one campaign in ``workspace/<campaign>/ledger.sqlite3``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False

    def exists(self) -> bool:
        return self.path.exists()

    def _open(self) -> sqlite3.Connection:
        """A fresh connection (one per call: safe across threads, forks and kills)."""
        first = not self._ready or not self.path.exists()
        if first:
            private_dir(self.path.parent)
            os.close(private_fd(self.path, os.O_RDWR))  # 0600 before SQLite opens it
        conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        if first:
            conn.execute("PRAGMA journal_mode = WAL")
            had = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tab_versions'"
            ).fetchone()
            conn.executescript(SCHEMA)
            if not had:  # a ledger made before tab versions: each tab's last change, once
                conn.execute(
                    "INSERT OR IGNORE INTO tab_versions (workbook, tab, generation) "
                    "SELECT workbook, tab, MAX(MAX(from_gen, COALESCE(to_gen, 0))) FROM rows "
                    "GROUP BY workbook, tab"
                )
                conn.execute(
                    "INSERT OR IGNORE INTO tab_versions (workbook, tab, generation) "
                    "SELECT workbook, tab, from_gen FROM tabs"
                )
            for extra in ("-wal", "-shm"):
                private_file(Path(str(self.path) + extra))
            self._ready = True
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def close(self) -> None:
        """Nothing is held open between calls."""

    # ------------------------------------------------------------------ reading

    def _one(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        if not self.path.exists():
            return None
        with self._read() as c:
            row = c.execute(sql, args).fetchone()
        return tuple(row) if row is not None else None

    def workbook_id(self, workbook: str) -> str:
        row = self._one("SELECT workbook_id FROM workbooks WHERE name = ?", (workbook,))
        if row is not None:
            return str(row[0])
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO workbooks (name, workbook_id) VALUES (?, ?)",
                (workbook, secrets.token_hex(8)),
            )
            got = c.execute("SELECT workbook_id FROM workbooks WHERE name = ?", (workbook,))
            return str(got.fetchone()[0])

    def generation(self, workbook: str) -> int:
        row = self._one("SELECT generation FROM workbooks WHERE name = ?", (workbook,))
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    def info(self, workbook: str, generation: int) -> Generation | None:
        row = self._one(
            "SELECT generation, made_at, sheet_stamp, exported_at, kind FROM generations "
            "WHERE workbook = ? AND generation = ?",
            (workbook, generation),
        )
        if row is None:
            return None
        g, made, stamp, exported, kind = row
        return Generation(
            int(g),  # type: ignore[call-overload]
            str(made),
            None if stamp is None else int(stamp),  # type: ignore[call-overload]
            None if exported is None else str(exported),
            str(kind),
        )

    def base_generation(self, workbook: str, stamp: int) -> int | None:
        row = self._one(
            "SELECT MAX(generation) FROM generations WHERE workbook = ? AND sheet_stamp = ?",
            (workbook, stamp),
        )
        return None if row is None or row[0] is None else int(row[0])  # type: ignore[call-overload]

    def last_exported(self, workbook: str) -> int:
        row = self._one(
            "SELECT MAX(generation) FROM generations WHERE workbook = ? "
            "AND exported_at IS NOT NULL",
            (workbook,),
        )
        return 0 if row is None or row[0] is None else int(row[0])  # type: ignore[call-overload]

    def pending_export(self, workbook: str) -> bool:
        row = self._one(
            "SELECT MAX(generation) FROM generations WHERE workbook = ? AND kind = 'write' "
            "AND exported_at IS NULL",
            (workbook,),
        )
        held = 0 if row is None or row[0] is None else int(row[0])  # type: ignore[call-overload]
        return held > self.last_exported(workbook)

    def tracked(self, workbook: str, generation: int) -> set[str]:
        if not self.path.exists():
            return set()
        with self._read() as c:
            cur = c.execute(
                "SELECT tab FROM tabs WHERE workbook = ? AND from_gen <= ?", (workbook, generation)
            )
            return {str(r[0]) for r in cur}

    def rows(self, workbook: str, tabs: list[str], generation: int) -> dict[str, TabRows]:
        out: dict[str, TabRows] = {t: {} for t in self.tracked(workbook, generation) if t in tabs}
        if not out:
            return out
        marks = ",".join("?" * len(out))
        with self._read() as c:
            cur = c.execute(
                f"SELECT tab, key, pos, cells FROM rows WHERE workbook = ? AND tab IN ({marks}) "
                "AND from_gen <= ? AND (to_gen IS NULL OR to_gen > ?)",
                (workbook, *out, generation, generation),
            )
            for tab, key, pos, cells in cur:
                out[str(tab)][str(key)] = (int(pos), str(cells))
        return out

    def tab_versions(self, workbook: str) -> dict[str, int]:
        if not self.path.exists():
            return {}
        with self._read() as c:
            cur = c.execute(
                "SELECT tab, generation FROM tab_versions WHERE workbook = ?", (workbook,)
            )
            return {str(t): int(g) for t, g in cur}

    def tokens(self, workbook: str) -> dict[str, tuple[str, int]]:
        if not self.path.exists():
            return {}
        with self._read() as c:
            cur = c.execute(
                "SELECT tab, token, version FROM tab_tokens WHERE workbook = ?", (workbook,)
            )
            return {str(t): (str(k), int(v)) for t, k, v in cur}

    def keep_tokens(self, workbook: str, tokens: Mapping[str, tuple[str, int]]) -> None:
        if not tokens:
            return
        with self._tx() as c:
            c.executemany(
                "INSERT OR REPLACE INTO tab_tokens (workbook, tab, token, version) "
                "VALUES (?, ?, ?, ?)",
                [(workbook, t, k, v) for t, (k, v) in tokens.items()],
            )

    def contents(self, workbook: str) -> dict[str, tuple[str, str]]:
        if not self.path.exists():
            return {}
        with self._read() as c:
            cur = c.execute(
                "SELECT tab, token, digest FROM tab_contents WHERE workbook = ?", (workbook,)
            )
            return {str(t): (str(k), str(d)) for t, k, d in cur}

    def keep_contents(self, workbook: str, contents: Mapping[str, tuple[str, str]]) -> None:
        if not contents:
            return
        with self._tx() as c:
            c.executemany(
                "INSERT OR REPLACE INTO tab_contents (workbook, tab, token, digest) "
                "VALUES (?, ?, ?, ?)",
                [(workbook, t, k, d) for t, (k, d) in contents.items()],
            )

    def mark(self, workbook: str, name: str) -> str | None:
        row = self._one("SELECT value FROM marks WHERE workbook = ? AND name = ?", (workbook, name))
        return None if row is None else str(row[0])

    def set_mark(self, workbook: str, name: str, value: str | None) -> None:
        with self._tx() as c:
            if value is None:
                c.execute("DELETE FROM marks WHERE workbook = ? AND name = ?", (workbook, name))
            else:
                c.execute(
                    "INSERT OR REPLACE INTO marks (workbook, name, value) VALUES (?, ?, ?)",
                    (workbook, name, value),
                )

    def form_records(self) -> dict[tuple[str, str], str]:
        """Every (kind, key) -> value of the forms backend's own record (Google form ids,
        parts, question ids, build state; JSON made by :mod:`automations.forms.google`)."""
        if not self.path.exists():
            return {}
        with self._read() as c:
            cur = c.execute("SELECT kind, key, value FROM form_records")
            return {(str(k), str(n)): str(v) for k, n, v in cur}

    def keep_form_records(self, changes: Mapping[tuple[str, str], str | None]) -> None:
        """Record (or, with None, forget) form records, all in one transaction."""
        if not changes:
            return
        with self._tx() as c:
            c.executemany(
                "DELETE FROM form_records WHERE kind = ? AND key = ?",
                [k for k, v in changes.items() if v is None],
            )
            c.executemany(
                "INSERT OR REPLACE INTO form_records (kind, key, value) VALUES (?, ?, ?)",
                [(*k, v) for k, v in changes.items() if v is not None],
            )

    # ------------------------------------------------------------------ writing

    def commit(
        self,
        workbook: str,
        changes: Mapping[str, TabChange],
        *,
        sheet_stamp: int | None,
        kind: str,
        at: str,
        exported: bool = False,
    ) -> int:
        self.workbook_id(workbook)
        with self._tx() as c:
            (gen,) = c.execute(
                "SELECT generation FROM workbooks WHERE name = ?", (workbook,)
            ).fetchone()
            new = int(gen) + 1
            stamp = new if sheet_stamp == STAMP_NEW else sheet_stamp
            for tab, change in changes.items():
                fresh = c.execute(
                    "INSERT OR IGNORE INTO tabs (workbook, tab, from_gen) VALUES (?, ?, ?)",
                    (workbook, tab, new),
                ).rowcount
                # Each live row's id, place and whether its cells are already the ones
                # wanted, compared as the rows are read: the stored cells' text is never
                # held for the whole tab (160,000 rows of Raw scores are 60 MB of it).
                ups, removes = change.upserts, change.removes
                live: dict[str, tuple[int, int, bool]] = {}
                for rowid, key, pos, cells in c.execute(
                    "SELECT rowid, key, pos, cells FROM rows "
                    "WHERE workbook = ? AND tab = ? AND to_gen IS NULL",
                    (workbook, tab),
                ):
                    up = ups.get(key)
                    if up is not None:
                        live[key] = (rowid, pos, up[1] == cells)
                    elif key in removes:
                        live[key] = (rowid, pos, False)
                close: list[tuple[int, int]] = []
                move: list[tuple[int, int]] = []
                added = 0
                for key, (pos, _) in ups.items():
                    have = live.get(key)
                    if have is not None and have[2]:
                        if have[1] != pos:
                            move.append((pos, have[0]))
                        continue
                    if have is not None:
                        close.append((new, have[0]))
                    added += 1
                for key in removes:
                    if key not in ups and key in live:
                        close.append((new, live[key][0]))
                c.executemany("UPDATE rows SET to_gen = ? WHERE rowid = ?", close)
                c.executemany("UPDATE rows SET pos = ? WHERE rowid = ?", move)
                if added:  # streamed: the rows to add are not gathered in a list first
                    c.executemany(
                        "INSERT INTO rows (workbook, tab, key, pos, cells, from_gen) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            (workbook, tab, key, pos, cells, new)
                            for key, (pos, cells) in ups.items()
                            if not ((have := live.get(key)) is not None and have[2])
                        ),
                    )
                if fresh or close or move or added:  # the tab's rows are not what they were
                    c.execute(
                        "INSERT OR REPLACE INTO tab_versions (workbook, tab, generation) "
                        "VALUES (?, ?, ?)",
                        (workbook, tab, new),
                    )
            c.execute(
                "INSERT INTO generations (workbook, generation, made_at, sheet_stamp, "
                "exported_at, kind) VALUES (?, ?, ?, ?, ?, ?)",
                (workbook, new, at, stamp, at if exported else None, kind),
            )
            c.execute("UPDATE workbooks SET generation = ? WHERE name = ?", (new, workbook))
        return new

    def mark_exported(self, workbook: str, generation: int, at: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE generations SET exported_at = ? WHERE workbook = ? AND generation = ?",
                (at, workbook, generation),
            )

    def headers(self, workbook: str) -> dict[str, Header]:
        if not self.path.exists():
            return {}
        with self._read() as c:
            cur = c.execute("SELECT tab, cells FROM headers WHERE workbook = ?", (workbook,))
            return {
                str(tab): [(str(t), None if i is None else str(i)) for t, i in json.loads(cells)]
                for tab, cells in cur
            }

    def keep_headers(self, workbook: str, headers: Mapping[str, Header], at: str) -> None:
        if not headers:
            return
        with self._tx() as c:
            c.executemany(
                "INSERT OR REPLACE INTO headers (workbook, tab, cells, at) VALUES (?, ?, ?, ?)",
                [
                    (workbook, tab, json.dumps([list(p) for p in h], ensure_ascii=False), at)
                    for tab, h in headers.items()
                ],
            )

    def prune(self, workbook: str, *, keep_last: int, keep_since: str) -> int:
        if not self.path.exists():
            return 0
        with self._tx() as c:
            (gen,) = c.execute(
                "SELECT COALESCE(MAX(generation), 0) FROM generations WHERE workbook = ?",
                (workbook,),
            ).fetchone()
            (recent,) = c.execute(
                "SELECT MIN(generation) FROM generations WHERE workbook = ? AND made_at >= ?",
                (workbook, keep_since),
            ).fetchone()
            before = int(gen) - keep_last + 1
            if recent is not None:
                before = min(before, int(recent))
            if before <= 1:
                return 0
            gone = c.execute(
                "DELETE FROM rows WHERE workbook = ? AND to_gen IS NOT NULL AND to_gen <= ?",
                (workbook, before),
            ).rowcount
            c.execute(
                "DELETE FROM generations WHERE workbook = ? AND generation < ?", (workbook, before)
            )
        return int(gone)

    def add_event(self, workbook: str, kind: str, text: str, at: str) -> bool:
        gen = self.generation(workbook)
        with self._tx() as c:
            seen = c.execute(
                "SELECT 1 FROM events WHERE workbook = ? AND generation = ? AND text = ?",
                (workbook, gen, text),
            ).fetchone()
            if seen:
                return False
            c.execute(
                "INSERT INTO events (workbook, generation, at, kind, text) VALUES (?, ?, ?, ?, ?)",
                (workbook, gen, at, kind, text),
            )
        return True

    def events(self, workbook: str | None = None, limit: int = 20) -> list[Event]:
        if not self.path.exists():
            return []
        sql = "SELECT workbook, generation, at, kind, text FROM events"
        args: tuple[object, ...] = ()
        if workbook is not None:
            sql += " WHERE workbook = ?"
            args = (workbook,)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._read() as c:
            cur = c.execute(sql, (*args, limit))
            return [Event(str(w), int(g), str(a), str(k), str(t)) for w, g, a, k, t in cur]


_OPEN: dict[str, SqliteLedger] = {}
_OPEN_LOCK = threading.Lock()


def open_ledger(folder: Path) -> SqliteLedger:
    """The campaign's ledger in ``folder`` (one object per file in this process)."""
    path = Path(folder) / LEDGER_NAME
    key = str(path.resolve())
    with _OPEN_LOCK:
        led = _OPEN.get(key)
        if led is None:
            led = _OPEN[key] = SqliteLedger(path)
        return led
