"""The ledger under a table store: reads see the ledger's truth, writes commit before export.

Jobs keep reading and writing through :class:`~automations.store.base.TableStore`;
this is what a store with a ledger does in between (see ``automations/ledger``):

* **read**: the grids come from the workbook as always, with the hidden stamp tab in
  the same batch. A job-owned tab (its key filled in by corecruit) is rebuilt from
  the ledger: corecruit's columns from the record, a person's columns three-way
  (their change wins), rows missing from the sheet put back. When the workbook is
  an older copy (its stamp is older than the last export), every tab is read and
  input tabs are merged three-way too, so nothing recorded since is lost and the
  copy's own edits are kept. A workbook with no record yet becomes generation 1.
* **write**: tabs equal to what the sheet holds are not written; if none differs,
  no backend call at all (what was read is still taken into the ledger). Otherwise
  the whole state is committed as a new generation first, then exported with the
  stamp, then marked as exported; a local workbook's file is kept in ``backups/``.
* **unchanged tabs**: a tab read with the token (see :meth:`TableStore.tab_tokens`; on
  the local store the CRC-32 and size of its part in the file's zip) and ledger
  version the record last found holding just its rows is taken as it is: not keyed,
  not merged (a job that then writes it has it keyed; one that does not, costs nothing
  more). Any change on either side (a person's save, a deleted row, an older copy, a
  commit) changes one of the two, and the tab is merged as above.
* **headers**: each tab's header row is recorded whenever every column is there, so a
  header a person renamed is recognised by where the column stood (:func:`recognise`):
  read as its column under the person's words, or refused naming the old header. A
  column the record knows is never added back empty by ``init``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..files import private_dir, write_private
from ..ledger import Header, Ledger, TabChange, TabRows
from ..ledger.base import STAMP_NEW
from ..ledger.codec import loads, untag
from ..ledger.merge import Column, Keyed, decode, keyed, merge_tab
from ..templates import TabSpec
from .cells import Cell, to_text
from .shapes import Grid, InitReport, norm_header, number_column

if TYPE_CHECKING:
    from .base import TableStore

log = logging.getLogger("corecruit")

STAMP = "_corecruit"
STAMP_TITLE = "About this workbook"
STAMP_NOTE = "corecruit keeps this tab; please leave it as it is."
# Saved with the next real change, never alone (unless a write asks for at_once)
LAZY_TABS = frozenset({"run_log", "status"})
BACKUPS_KEPT = 5
PRUNE_EVERY = 25  # generations between two prunings of the record
KEEP_GENERATIONS = 200  # an older copy saved back within these (or KEEP_DAYS) is merged
KEEP_DAYS = 60  # against its own content; older ones are merged as edits


def stamp_spec(workbook: str) -> TabSpec:
    """The hidden tab that says which generation of the ledger a workbook holds."""
    return TabSpec(id=STAMP, label=STAMP_TITLE, workbook=workbook, columns=())


def job_owned_tab(spec: TabSpec) -> bool:
    """A tab whose key columns are all filled in by corecruit."""
    return bool(spec.key) and all(spec.column(k).job_owned for k in spec.key)


def now_text() -> str:
    return dt.datetime.now().isoformat(sep=" ", timespec="seconds")


def gone_message(store: TableStore) -> str:
    return (
        f"the {store.spec.name} workbook is not there any more ({store.location}), but "
        "corecruit has a record of it. Nothing was run. Run 'corecruit restore' to rebuild it "
        "from corecruit's record (or put the file back)."
    )


@dataclass
class Recognised:
    """A header row read with what the record knew of it (see :func:`recognise`)."""

    ids: list[str | None]
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, was, now)
    lost: dict[str, str] = field(default_factory=dict)  # column id -> its last header


def recognise(
    template: Sequence[str],
    header: Sequence[str],
    plain: Sequence[str | None],
    last: Header,
) -> Recognised:
    """Find template columns missing from ``plain`` that were in the ``last`` header.

    Pure. ``plain`` is each position's column id by the header's words (unknown words
    stay as they are); ``last`` the header as last seen with every column there. A
    missing column is taken to be an unknown header:

    1. whose words the last header already had for that column (renamed before, and
       recognised then), or
    2. that is the only unknown header between the column's nearest neighbours (as
       they stand now), or
    3. that stands at the column's own position, its neighbours not moved.

    A header the last one had as a column of the person's own is never taken. Any
    other missing column is *lost*: the caller refuses it, naming its old header.
    """
    tmpl = set(template)
    ids = list(plain)
    out = Recognised(ids)
    present = {i for i in ids if i is not None}
    if tmpl <= present:
        return out
    had = {norm_header(t): i for t, i in last if i in tmpl}
    for j, i in enumerate(ids):
        if i is not None and i not in tmpl:
            was = had.get(norm_header(header[j]))
            if was is not None and was not in present:
                ids[j] = was
                present.add(was)
    theirs = {norm_header(t) for t, i in last if i is not None and i not in tmpl}
    used: set[int] = set()

    def unknown(j: int) -> bool:
        i = ids[j]
        return (
            i is not None
            and i not in tmpl
            and j not in used
            and (norm_header(header[j]) not in theirs)
        )

    last_ids = [i for _, i in last]
    for p, m in enumerate(last_ids):
        if m is None or m not in tmpl or m in present:
            continue
        now = {i: j for j, i in enumerate(ids) if i is not None and ids.count(i) == 1}

        left = _anchor(last_ids, now, range(p - 1, -1, -1))
        right = _anchor(last_ids, now, range(p + 1, len(last_ids)))
        lo = left[1] if left else -1
        hi = right[1] if right else len(ids)
        between = [j for j in range(lo + 1, hi) if unknown(j)]
        pick: int | None = None
        if len(between) == 1:
            pick = between[0]
        elif (
            lo < p < min(hi, len(ids))
            and unknown(p)
            and (left is None or left[0] == left[1])
            and (right is None or right[0] == right[1])
        ):
            pick = p
        if pick is None:
            out.lost[m] = last[p][0]
            continue
        ids[pick] = m
        used.add(pick)
        present.add(m)
        out.renamed.append((m, last[p][0], str(header[pick]).strip()))
    return out


def _anchor(
    last_ids: Sequence[str | None], now: Mapping[str, int], steps: range
) -> tuple[int, int] | None:
    """The nearest column of the last header (in ``steps``) that is in the header now:
    (its position then, its position now)."""
    for k in steps:
        a = last_ids[k]
        if a is not None and a in now:
            return k, now[a]
    return None


def lost_column(workbook: str, title: str, old: str) -> str:
    """Why a column the record knows is not read (and is not added back empty)."""
    return (
        f"the column '{old}' is missing from '{title}' (it was there on the last run): if "
        "it was renamed, give it back its name or map your header to it in the campaign's "
        f"header_map; if it was deleted, restore it from the version history or a backup "
        f"(or type the header '{old}' back to start it empty). corecruit does not add it "
        f"back empty, so nothing is read as blank in the {workbook} workbook."
    )


def diff(before: TabRows, after: TabRows) -> TabChange:
    """What turns ``before`` into ``after``: rows new or changed (or moved), rows gone."""
    ch = TabChange()
    for k, v in after.items():
        if before.get(k) != v:
            ch.upserts[k] = v
    ch.removes = set(before) - set(after)
    return ch


class LedgerSync:
    """The state one store keeps between its reads and writes when it has a ledger."""

    def __init__(self, store: TableStore, ledger: Ledger, folder: Path | None = None) -> None:
        self.store = store
        self.ledger = ledger
        self.name = store.spec.name
        self.folder = folder  # the campaign's workspace folder (backups go in it)
        self.raw: dict[str, Grid | None] = {}  # the tabs as the workbook holds them
        self.raw_keyed: dict[str, Keyed] = {}
        self.raw_stamp: Grid | None = None
        self.sheet_gen = 0  # the generation stamped in the workbook (0: none or not ours)
        self.ours_read: dict[str, TabRows] = {}  # the ledger's rows when each tab was read
        self.notices: list[str] = []
        self.said_stale = False
        self._known: dict[str, Header] | None = None  # each tab's last header (the record)
        self._recognised: dict[tuple[str, tuple[str, ...]], Recognised] = {}
        self._new_headers: dict[str, Header] = {}  # to record with the next commit
        self._has_data: dict[str, set[str]] = {}  # tab -> its columns the record has values in
        # Tabs read as the record last found them (same token, same version): taken as they
        # are, not keyed nor merged; keyed only if a job writes them (see :meth:`_parse`)
        self.unparsed: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def forget(self) -> None:
        """The workbook may have changed under us (init, forget): read it afresh."""
        self.raw.clear()
        self.raw_keyed.clear()
        self.ours_read.clear()
        self.unparsed.clear()

    def columns(self, spec: TabSpec, header: Sequence[str]) -> list[Column] | None:
        return self.columns_of(self.store, spec, header)

    @staticmethod
    def columns_of(store: TableStore, spec: TabSpec, header: Sequence[str]) -> list[Column] | None:
        """Each header position's column; None when a column appears twice (not merged)."""

        ids = store._map_header(spec, header)
        known = [i for i in ids if i is not None]
        if len(known) != len(set(known)):
            return None
        by_id = {c.id: c for c in spec.columns}
        out = []
        for cid in ids:
            c = by_id.get(cid or "")
            if c is None:
                out.append(Column(cid))
            else:
                out.append(Column(cid, c.type, number_column(c), c.job_owned))
        return out

    # ------------------------------------------------------------------ headers

    def known_headers(self) -> dict[str, Header]:
        if self._known is None:
            self._known = self.ledger.headers(self.name)
        return self._known

    def recognised(
        self, spec: TabSpec, header: Sequence[str], plain: Sequence[str | None]
    ) -> Recognised:
        """``plain`` with renamed headers recognised (said once, when first found)."""
        key = (spec.id, tuple(header))
        got = self._recognised.get(key)
        if got is not None:
            return got
        last = self.known_headers().get(spec.id)
        got = recognise(spec.column_ids, header, plain, last) if last else Recognised(list(plain))
        got.lost = {k: v for k, v in got.lost.items() if k in self._filled(spec)}
        self._recognised[key] = got
        title = self._title(spec)
        labels = {c.id: c.label for c in spec.columns}
        for cid, was, now in got.renamed:
            self.note(
                "renamed",
                f"In '{title}' ({self.name} workbook) the column '{was}' is now headed "
                f"'{now}'; corecruit reads it as {labels.get(cid, cid)}.",
            )
        return got

    def was_there(self, spec: TabSpec, column: str) -> str | None:
        """A column people fill in that held something: its header on the last run, if the
        record knows it was there. A column corecruit fills in is added back and filled
        from the record; one that was empty everywhere loses nothing when added back."""
        if column not in self._filled(spec):
            return None
        for text, cid in self.known_headers().get(spec.id, []):
            if cid == column:
                return text
        return None

    def loses(self, spec: TabSpec, cols: Sequence[Column]) -> bool:
        """Whether a column people filled in is missing from this header (it is refused,
        and the tab as it stands is not taken into the record, which would lose it)."""
        ids = {c.id for c in cols}
        return any(c not in ids for c in self._filled(spec))

    def _filled(self, spec: TabSpec) -> set[str]:
        """Columns people fill in that hold a value in some row of the record."""
        got = self._has_data.get(spec.id)
        if got is None:
            # Row by row, and not at all for a tab corecruit fills in alone (Raw scores:
            # 160,000 rows decoded at once were 410 MB, the peak of a whole run).
            want = {c.id for c in spec.columns if not c.job_owned}
            got = set()
            if want:
                gen = self.ledger.generation(self.name)
                rows = self.ledger.rows(self.name, [spec.id], gen).get(spec.id, {})
                for _, cells in rows.values():
                    got |= want.intersection(loads(cells))
                    if got == want:
                        break
            self._has_data[spec.id] = got
        return got

    def _title(self, spec: TabSpec) -> str:
        grid = self.store._grids.get(spec.id) or self.raw.get(spec.id)
        return grid.title if grid is not None else spec.label

    def seen_header(self, spec: TabSpec, header: Sequence[str], cols: Sequence[Column]) -> None:
        """Remember a header with every column there, to record with the next commit."""
        ids = [c.id for c in cols]
        if not set(spec.column_ids) <= set(ids):
            return  # a column lost: keep the last good header, so it is still known
        pairs = [(str(h), i) for h, i in zip(header, ids, strict=False)]
        if self.known_headers().get(spec.id) != pairs:
            self._new_headers[spec.id] = pairs
            self.known_headers()[spec.id] = pairs

    def keep_headers(self) -> None:
        if self._new_headers:
            self.ledger.keep_headers(self.name, self._new_headers, now_text())
            self._new_headers = {}

    def note(self, kind: str, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)
            log.warning("workbook=%s ledger=%s", self.name, kind)
        self.ledger.add_event(self.name, kind, text, now_text())

    def _stamp_of(self, grid: Grid | None) -> int:
        if grid is None:
            return 0
        found: dict[str, Cell] = {}
        for row in grid.rows:
            if len(row) >= 2:
                found[to_text(row[0]).strip().casefold()] = row[1]
        try:
            gen = int(float(to_text(found.get("generation")) or 0))
        except ValueError:
            return 0
        if to_text(found.get("workbook id")).strip() != self.ledger.workbook_id(self.name):
            return 0  # another workbook's stamp (a copy of another campaign's file)
        return max(gen, 0)

    def stamp_grid(self, gen: int) -> Grid:

        title = self.raw_stamp.title if self.raw_stamp is not None else STAMP_TITLE
        return Grid(
            title,
            [STAMP_TITLE, STAMP_NOTE],
            [
                ["Generation", gen],
                ["Workbook id", self.ledger.workbook_id(self.name)],
                ["Saved at", now_text()],
            ],
        )

    # ------------------------------------------------------------------ reading

    def read(self, need: Sequence[TabSpec]) -> dict[str, Grid | None]:
        """Read ``need`` (and the stamp) in one batch; return each tab as the ledger sees it."""

        store, led = self.store, self.ledger
        everything = list(store.spec.tabs.values())
        gen = led.generation(self.name)
        specs = list(need) if gen else everything  # the first read takes in every tab
        try:
            raw = store._read_grids([*specs, stamp_spec(self.name)])
        except StoreError:
            if gen and not store.exists():
                raise StoreError(gone_message(store)) from None
            raise
        self.raw_stamp = raw.pop(STAMP, None)
        g = self._stamp_of(self.raw_stamp)
        if not gen:
            gen = self._migrate(raw, g)
        base_gen = led.base_generation(self.name, g)
        exported = led.last_exported(self.name)
        stale = exported > 0 and (base_gen is None or base_gen < exported)
        # The record went on without the workbook (a run killed between its commit and
        # its export, or an export held while the file was open): the sheet's tabs are
        # behind it. Read them all, so the next write saves every tab that is behind and
        # never stamps the workbook with a generation some of its tabs do not hold.
        behind = base_gen is not None and base_gen != gen
        if stale or behind:  # every tab is repaired at once, never some of them
            rest = [s for s in everything if s.id not in raw]
            if rest:
                raw.update(store._read_grids(rest))
        self.sheet_gen = g
        # the workbook holds this content only when no save is still to come (held)
        claim = not stale and not led.pending_export(self.name)
        # A tab whose token and version are those of the last time the record found it
        # holding just the ledger's rows holds them still: taken as it is, not merged.
        tokens: dict[str, str] = {}
        same: set[str] = set()
        versions: dict[str, int] = {}
        if claim and base_gen == gen:
            tokens = store._tokens_of(raw)
            versions = led.tab_versions(self.name)
            known = led.tokens(self.name)
            same = {
                t
                for t, tok in tokens.items()
                if t in versions and known.get(t) == (tok, versions[t])
            }
        clean: set[str] = set()
        tabs = [t for t in raw if t not in same]
        ours = led.rows(self.name, tabs, gen)
        base = ours if base_gen == gen else None
        if base_gen is not None and base_gen != gen:
            base = led.rows(self.name, tabs, base_gen)
        out: dict[str, Grid | None] = {}
        restored: dict[str, int] = {}
        changes: dict[str, TabChange] = {}
        seen: dict[str, TabRows] = {}
        kept = 0
        for tab, grid in raw.items():
            self.raw[tab] = grid
            out[tab] = grid
            if grid is None:
                continue
            if tab in same:
                self.unparsed.add(tab)
                continue
            self.unparsed.discard(tab)
            spec = store.tab(tab)
            cols = self.columns(spec, grid.header)
            if cols is None or self.loses(spec, cols):
                continue  # refused when read; never taken into the record without it
            self.seen_header(spec, grid.header, cols)
            sheet = keyed(cols, spec.key, grid.rows)
            self.raw_keyed[tab] = sheet
            mine = ours.get(tab)
            view = sheet.as_ledger()
            jobs = job_owned_tab(spec)
            merge = mine is not None and (jobs or base is not ours)
            if merge and base is ours and view == mine:
                merge = False  # the sheet holds just what the ledger holds
            if merge and mine is not None:
                res = merge_tab(
                    cols,
                    spec.key,
                    grid.rows,
                    sheet,
                    mine,
                    None if base is None else base.get(tab),
                    job_owned=jobs,
                )
                merged = Grid(grid.title, grid.header, res.rows)
                out[tab] = merged
                view = keyed(cols, spec.key, merged.rows).as_ledger()
                back = res.restored + (res.added_back if stale else 0)
                if back and tab not in LAZY_TABS:
                    restored[grid.title] = back
                if res.put_back and not stale:
                    self.note(
                        "put back",
                        f"corecruit put back {res.put_back} cell(s) of its own columns in "
                        f"'{grid.title}' ({self.name} workbook) from its record: those columns "
                        "are filled in by corecruit (grey headers), so a change typed there is "
                        "not used.",
                    )
                if stale:
                    kept += res.kept
                for i, cid in res.conflicts:
                    self._say_conflict(grid, cols, i, cid)
            else:  # taken as the sheet holds it: the record holds just this once committed
                clean.add(tab)
            seen[tab] = view
            ch = diff(mine or {}, view)
            if ch or mine is None:
                changes[tab] = ch
        if changes:  # the last state of every input read: what people typed is kept
            made = led.commit(
                self.name,
                changes,
                sheet_stamp=g if claim else None,
                kind="read",
                at=now_text(),
            )
            versions.update(dict.fromkeys(changes, made))  # their rows changed just now
        if clean and tokens:  # each now holds just what the sheet holds
            led.keep_tokens(
                self.name, {t: (tokens[t], versions[t]) for t in clean if t in versions}
            )
        self.keep_headers()
        self.ours_read.update(seen)
        if stale:
            if not self.said_stale:  # once per run: the first read counts everything
                self.said_stale = True
                self._say_stale(base_gen, exported, restored, kept)
        else:
            for title, n in restored.items():
                self.note(
                    "restored",
                    f"corecruit put back {n} row(s) deleted from '{title}' in the {self.name} "
                    "workbook from its record (a deleted row is never read as not sent or not "
                    "paid); they are saved back the next time the workbook is written.",
                )
        return out

    def _parse(self, tab: str) -> None:
        """Key a tab read as the record last found it (a job is about to write it): the
        sheet's rows, which are the ledger's rows when it was read."""
        self.unparsed.discard(tab)
        grid = self.raw.get(tab)
        if grid is None:
            return
        spec = self.store.tab(tab)
        cols = self.columns(spec, grid.header)
        if cols is None:
            return
        sheet = keyed(cols, spec.key, grid.rows)
        self.raw_keyed[tab] = sheet
        self.ours_read[tab] = sheet.as_ledger()

    def _say_conflict(self, grid: Grid, cols: Sequence[Column], i: int, cid: str) -> None:
        header = next((h for h, c in zip(grid.header, cols, strict=False) if c.id == cid), cid)
        self.note(
            "conflict",
            f"The {self.name} workbook, tab '{grid.title}', row {i + 2}, column '{header}' was "
            "changed both in the older copy and since; the older copy's value was kept. "
            "Please check it.",
        )

    def _migrate(self, raw: Mapping[str, Grid | None], g: int) -> int:
        """A workbook with no record yet: take it as generation 1, as it is."""
        changes: dict[str, TabChange] = {}
        rows = 0
        for tab, grid in raw.items():
            if grid is None:
                continue
            spec = self.store.tab(tab)
            cols = self.columns(spec, grid.header)
            if cols is None:
                continue
            k = keyed(cols, spec.key, grid.rows)
            changes[tab] = TabChange(upserts=k.as_ledger())
            rows += len(k.texts)
        at = now_text()
        gen = self.ledger.commit(
            self.name, changes, sheet_stamp=g, kind="migrated", at=at, exported=True
        )
        if rows:
            self.ledger.add_event(
                self.name,
                "migrated",
                f"corecruit took the {self.name} workbook as its record ({rows} rows in "
                f"{len(changes)} tabs); nothing in it is sent or paid again.",
                at,
            )
        return gen

    def _say_stale(
        self, base_gen: int | None, exported: int, restored: Mapping[str, int], kept: int
    ) -> None:
        info = self.ledger.info(self.name, base_gen) if base_gen else None
        when = ""
        if info is not None:
            made = dt.datetime.fromisoformat(info.exported_at or info.made_at)
            when = f" (saved before the run at {made:%H:%M}" + (
                "" if made.date() == dt.date.today() else f" on {made:%d %B %Y}"
            )
            when += ")"
        else:
            when = " (one corecruit had not stamped)"
        parts = [f"The {self.name} workbook was replaced by an older copy{when}."]
        what = ", ".join(f"{n} row(s) in {t}" for t, n in restored.items())
        done = "corecruit put back what it had recorded since" + (f" ({what})" if what else "")
        if kept:
            done += f", kept your changes in {kept} cell(s)"
        backup = self.backup_path(exported)
        if backup is not None:
            done += f", and saved the newer version it replaced at {backup}"
        else:
            done += ", and can rebuild the newer version it replaced ('corecruit restore')"
        parts.append(done + ".")
        self.note("stale copy", " ".join(parts))

    def exported_since(self, since: dt.datetime) -> bool:
        """Whether this workbook was saved (exported) at or after ``since`` (local time)."""
        info = self.ledger.info(self.name, self.ledger.last_exported(self.name))
        stamp = since.isoformat(sep=" ")
        return bool(info is not None and info.exported_at and info.exported_at >= stamp)

    # ------------------------------------------------------------------ writing

    def write(self, grids: Mapping[str, tuple[Grid, int]], *, at_once: bool = False) -> None:
        """Commit every tab read (and those written) as a generation, then export what differs."""
        store, led = self.store, self.ledger
        with store.locked():
            store._check_unchanged()
            for tab, (new, _) in grids.items():
                store._grids[tab] = new
            export, changes, now_rows, recorded = self._to_commit(grids)
            at = now_text()
            if not [t for t in export if t not in LAZY_TABS] and not (at_once and export):
                if changes:  # what people typed, read by this run: into the record, no export
                    held = led.pending_export(self.name)
                    on = None if held else self.sheet_gen
                    led.commit(self.name, changes, sheet_stamp=on, kind="read", at=at)
                    self.ours_read.update(now_rows)
                return
            gen = led.commit(self.name, changes, sheet_stamp=STAMP_NEW, kind="write", at=at)
            self.ours_read.update(now_rows)
            del changes, now_rows  # committed: not held through the export
            reason = store.hold_export()
            if reason:
                self.note("held", f"The {self.name} workbook was not saved this time: {reason}")
                return
            stamp = self.stamp_grid(gen)
            export[STAMP] = (stamp, len(self.raw_stamp.rows) if self.raw_stamp else 0)
            carried = self._carried(export)
            store._write_grids(export)
            if not store.saved_others_as_they_were:  # an openpyxl save rewrites every tab
                carried = []
            exact = dt.datetime.now().isoformat(sep=" ")  # to the microsecond: exported_since
            led.mark_exported(self.name, gen, exact)
            self._keep_exported_tokens([*(t for t in export if t in recorded), *carried])
            for tab, (grid, _) in export.items():
                if tab == STAMP:
                    continue
                self.raw[tab] = grid
                self.unparsed.discard(tab)
                spec = store.tab(tab)
                cols = self.columns(spec, grid.header)
                if cols is not None:
                    self.raw_keyed[tab] = keyed(cols, spec.key, grid.rows)
                    self.seen_header(spec, grid.header, cols)
            self.keep_headers()
            self.raw_stamp = stamp
            self.sheet_gen = gen
            self.keep_backup(gen)
            if gen % PRUNE_EVERY == 0:
                since = dt.datetime.now() - dt.timedelta(days=KEEP_DAYS)
                led.prune(
                    self.name, keep_last=KEEP_GENERATIONS, keep_since=since.isoformat(sep=" ")
                )

    def _carried(self, export: Mapping[str, object]) -> list[str]:
        """Tabs this save does not write that held just the ledger's rows before it (their
        token and version as when the record last found so). A save that copies them byte
        for byte (``saved_others_as_they_were``; an openpyxl save does not) leaves those
        rows in the new file too; without this, every tab's token
        moves with the shared strings and formats, and the next read keys every row of
        every tab again (Raw scores: 160,000 rows at 5,000 applications)."""
        known = self.ledger.tokens(self.name)
        tabs = [t for t in known if t not in export and t in self.store.spec.tabs]
        before = (self.store.tab_tokens(tabs) if tabs else None) or {}
        versions = self.ledger.tab_versions(self.name)
        return [
            t
            for t in tabs
            if before.get(t, "missing") != "missing"
            and t in versions
            and known[t] == (before[t], versions[t])
        ]

    def _keep_exported_tokens(self, tabs: Sequence[str]) -> None:
        """Tabs just saved hold the ledger's rows: their tokens in the new file are kept, so
        the next read (the end-of-run Status, the next job) takes them as they are instead
        of keying and merging them again (160,000 rows of Raw scores: 1.5 s and 190 MB)."""
        tokens = self.store.tab_tokens(tabs) if tabs else None
        if not tokens:
            return  # a backend that cannot tell without reading: the next read merges
        versions = self.ledger.tab_versions(self.name)
        self.ledger.keep_tokens(
            self.name,
            {t: (k, versions[t]) for t, k in tokens.items() if k != "missing" and t in versions},
        )

    def _to_commit(
        self, grids: Mapping[str, tuple[Grid, int]]
    ) -> tuple[dict[str, tuple[Grid, int]], dict[str, TabChange], dict[str, TabRows], set[str]]:
        """What to export (tabs that differ from the sheet), the changes to commit, each
        changed tab's rows now, and the tabs whose rows the record takes as written. A
        method of its own so the keyings it makes are let go before the export."""
        store = self.store
        export: dict[str, tuple[Grid, int]] = {}
        changes: dict[str, TabChange] = {}
        now_rows: dict[str, TabRows] = {}
        recorded: set[str] = set()  # tabs whose rows the record takes as written
        for tab, grid in store._grids.items():
            if grid is None or tab not in self.raw:
                continue
            raw = self.raw[tab]
            if tab in self.unparsed:
                if grid is raw:  # as read, and the sheet holds the ledger's rows
                    continue
                self._parse(tab)
            spec = store.tab(tab)
            cols = self.columns(spec, grid.header)
            old_rows = len(raw.rows) if raw is not None else 0
            if cols is None or self.loses(spec, cols):  # a column twice, or one lost:
                if tab in grids:  # written as asked, not recorded
                    export[tab] = (grid, old_rows)
                continue
            recorded.add(tab)
            sheet = self.raw_keyed.get(tab)
            # a tab no job changed is keyed already (when it was read)
            k = sheet if grid is raw and sheet is not None else keyed(cols, spec.key, grid.rows)
            rows = k.as_ledger()
            same = sheet is not None and raw is not None and raw.header == grid.header
            if not same or sheet is None or not sheet.same_as(rows):
                export[tab] = (grid, old_rows)  # only what differs from the sheet is written
            before = self.ours_read.get(tab, {})
            ch = diff(before, rows)
            if ch or tab not in self.ours_read:
                changes[tab] = ch
                now_rows[tab] = rows
        return export, changes, now_rows, recorded

    # ------------------------------------------------------------------ restore

    def restore(self) -> InitReport:
        """Make the workbook again and fill every tab from the ledger's latest generation."""

        store, led = self.store, self.ledger
        gen = led.generation(self.name)
        if not gen:
            raise StoreError(
                f"corecruit has no record of the {self.name} workbook yet, so there is nothing "
                "to restore. Run 'corecruit init' to make a new one."
            )
        if store.exists():
            raise StoreError(
                f"the {self.name} workbook is there ({store.location}); nothing was changed. "
                "The next run puts back anything missing from it."
            )
        report = store._init(True)
        self.forget()
        specs = list(store.spec.tabs.values())
        fresh = store._read_grids([*specs, stamp_spec(self.name)])
        self.raw_stamp = fresh.pop(STAMP, None)
        held = led.rows(self.name, [s.id for s in specs], gen)
        grids: dict[str, tuple[Grid, int]] = {}
        for spec in specs:
            grid = fresh.get(spec.id)
            rows = held.get(spec.id)
            if grid is None or rows is None:
                continue
            header = list(grid.header)
            cells = decode(rows)
            ids = {c for r in cells.values() for c in r}
            mapped = set(store._map_header(spec, header))
            header += sorted(i for i in ids if i not in mapped)  # headers staff had added
            cols = self.columns(spec, header) or []
            out = [[untag(r.get(c.id)) if c.id else None for c in cols] for r in cells.values()]
            grids[spec.id] = (Grid(grid.title, header, out), len(grid.rows))
        new = led.commit(self.name, {}, sheet_stamp=STAMP_NEW, kind="restored", at=now_text())
        stamp = self.stamp_grid(new)
        grids[STAMP] = (stamp, len(self.raw_stamp.rows) if self.raw_stamp else 0)
        store._write_grids(grids)
        led.mark_exported(self.name, new, now_text())
        n = sum(len(g.rows) for t, (g, _) in grids.items() if t != STAMP)
        self.note(
            "restored workbook",
            f"corecruit rebuilt the {self.name} workbook from its record ({n} rows) at "
            f"{store.location}.",
        )
        self.keep_backup(new)
        report.location = store.location
        return report

    # ------------------------------------------------------------------ backups

    def backup_dir(self) -> Path | None:
        return None if self.folder is None else self.folder / "backups"

    def backup_path(self, gen: int) -> Path | None:
        d = self.backup_dir()
        if d is None:
            return None
        p = d / f"{self.name}.{gen}.xlsx"
        return p if p.exists() else None

    def keep_backup(self, gen: int) -> None:
        """A copy of a local workbook's file as written, the last few kept."""
        src = self.store._file()
        d = self.backup_dir()
        if src is None or d is None or not src.exists():
            return
        private_dir(d)
        write_private(d / f"{self.name}.{gen}.xlsx", src.read_bytes())
        mine = sorted(
            (p for p in d.glob(f"{self.name}.*.xlsx") if p.stem.split(".")[-1].isdigit()),
            key=lambda p: int(p.stem.split(".")[-1]),
        )
        for old in mine[:-BACKUPS_KEPT]:
            old.unlink(missing_ok=True)
