"""The table store seam: read tabs into typed DataFrames, write them back in one batch.

A store is one workbook (``staff`` or ``panel``). Backends implement three
primitives on plain grids of cells; everything about templates, header mapping,
types and validation lives here so the local and Google stores behave the same.

API economy: :meth:`TableStore.read` fetches every tab asked for in one backend
call and :meth:`TableStore.write` saves every tab given in one backend call, so
the number of calls a job makes does not grow with the number of rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ..errors import Problem, SheetProblems, StoreError
from ..templates import ColumnSpec, TabSpec, WorkbookSpec
from .cells import (
    Cell,
    CellError,
    dtype_for,
    is_empty,
    parse_column,
    storable_column,
    to_text,
)
from .frames import append_new, conform, key_part, key_tuples, upsert_rows
from .record import STAMP, LedgerSync, gone_message, lost_column, stamp_spec
from .shapes import Grid, InitReport, norm_header, number_column

if TYPE_CHECKING:
    from ..ledger import Ledger


LETTER = "candidate_letter"
_LETTER = re.compile(r"[a-z]{1,3}", re.IGNORECASE)


def normal_letter(text: str) -> str:
    """A candidate letter as the candidate key writes it: 'b' is 'B'.

    Read the same way by every job, so a letter typed in lower case is never a
    different candidate (other text is left as it is, to be refused as unknown).
    """
    m = _LETTER.fullmatch(text.strip())
    return text.strip().upper() if m else text


def rule_for(column: ColumnSpec, why: str) -> str:
    """What a cell of this column must hold, in words (never the value typed)."""
    if column.type == "decimal" and "score" in column.id:
        return (
            "this is not a score: write a whole number on the question's scale (for example 0 to 4)"
        )
    return why


def missing_tab(spec: TabSpec) -> str:
    """What to do about a tab that is not in the workbook (it is never read as empty)."""
    return (
        "this tab is missing, so nothing was read from it. If it was renamed, give it back "
        f"the name '{spec.label}'; if it was deleted, restore it from the version history or "
        "a backup. Run 'corecruit init' to add it empty only if it never held anything."
    )


def _key(v: Cell) -> object:
    """A cell for comparing what a tab holds with what would be written (type and value)."""
    if v is None or (isinstance(v, str) and v == ""):
        return None
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int | Decimal):
        return ("n", Decimal(v))
    if isinstance(v, float):
        return ("n", Decimal(repr(v)))
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return (type(v).__name__, v)
    return ("?", object())  # a formula with no saved value, or a kind never written: changed


def _blank(row: Sequence[Cell]) -> bool:
    """A row with nothing in it but empty cells and spaces (not read as a row)."""
    return all(is_empty(v) or (isinstance(v, str) and not v.strip()) for v in row)


def _parse_at(
    c: ColumnSpec, rows: Sequence[Sequence[Cell]], j: int
) -> tuple[list[Any], dict[int, CellError]]:
    """Column ``c``'s values, at position ``j`` of each row, as its type reads them (a
    candidate letter in its usual form), and the cells that do not fit, by row index."""
    values, bad = parse_column(
        [row[j] if j < len(row) else None for row in rows], c.type, negative=c.job_owned
    )
    if c.id == LETTER:
        values = [normal_letter(v) if isinstance(v, str) else v for v in values]
    return values, bad


def _trim(cells: Sequence[object]) -> list[object]:
    out = list(cells)
    while out and (out[-1] is None or out[-1] == ""):
        out.pop()
    return out


def _rows(rows: Sequence[Sequence[Cell]], key: Callable[[Cell], object]) -> list[list[object]]:
    """Rows as comparable keys, without trailing empty cells or trailing empty rows."""
    out = [_trim([key(v) for v in r]) for r in rows]
    while out and not out[-1]:
        out.pop()
    return out


def grid_token(grid: Grid | None) -> str:
    """A tab as the store returned it (title, header, every cell with its type), hashed."""
    if grid is None:
        return "missing"
    text = repr((grid.title, list(grid.header), [list(r) for r in grid.rows]))
    return hashlib.sha256(text.encode()).hexdigest()


class TableStore(ABC):
    """One workbook, read and written tab by tab in batches."""

    def __init__(
        self,
        spec: WorkbookSpec,
        header_map: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.spec = spec
        self.header_map = {k: dict(v) for k, v in (header_map or {}).items()}
        self._grids: dict[str, Grid | None] = {}
        self._fresh: set[str] = set()  # read by prefetch: the next read takes them as they are
        self.sync: LedgerSync | None = None  # the ledger underneath, when opened for a campaign
        # Whether the last save left every tab it was not asked to write byte for byte as
        # it was (so a tab's token can be carried over it, see LedgerSync._carried).
        self.saved_others_as_they_were = False

    def attach_ledger(self, ledger: Ledger, folder: Path | None = None) -> None:
        """Keep this workbook's truth in ``ledger`` (see :mod:`automations.store.record`)."""

        self.sync = LedgerSync(self, ledger, folder)

    @property
    def notices(self) -> list[str]:
        """What the ledger put right while reading or writing, in words for people."""
        return list(self.sync.notices) if self.sync is not None else []

    # ------------------------------------------------------------ backend primitives

    @abstractmethod
    def _read_grids(self, tabs: Sequence[TabSpec]) -> dict[str, Grid | None]:
        """Fetch the tabs (by template) in one call; ``None`` for a missing tab."""

    @abstractmethod
    def _write_grids(self, grids: Mapping[str, tuple[Grid, int]]) -> None:
        """Replace each tab's contents with ``grid`` in one call, atomically.

        The int is how many data rows the tab held before, so that rows past the
        new end can be cleared in the same call.
        """

    @abstractmethod
    def _init(self, add_tabs: bool = True) -> InitReport:
        """Create the workbook and its tabs; add missing columns; never clear data.

        With ``add_tabs=False`` a workbook that already exists gets no new tabs: a
        missing tab is listed in ``tabs_missing`` instead (see :meth:`init`).
        """

    @abstractmethod
    def exists(self) -> bool:
        """Whether the workbook exists yet."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the workbook is, for people: a path or a spreadsheet link."""

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the workbook for a read-modify-write. Backends override."""
        yield

    def _check_unchanged(self) -> None:  # noqa: B027 - most backends have nothing to check
        """Refuse to write when the workbook changed since it was read (backends override)."""

    def hold_export(self) -> str | None:
        """Why the workbook must not be written now (e.g. open in an office program), or None.

        The ledger keeps the change and the next write exports it.
        """
        return None

    def _file(self) -> Path | None:
        """The workbook's file, for a store that keeps one (backups copy it)."""
        return None

    def tab_tokens(self, tabs: Sequence[str]) -> dict[str, str] | None:
        """A token per tab id of what the workbook holds now ("missing" for a tab that is
        not there), found without reading the tabs' cells; the same token means the same
        content. None when the backend cannot tell without reading them (on Google the
        read is the one call; the runner then reads, see :mod:`automations.fingerprint`).
        """
        return None

    def _tokens_of(self, grids: Mapping[str, Grid | None]) -> dict[str, str]:
        """The tokens of tabs :meth:`_read_grids` just returned (by default, a hash of each
        grid as read; a backend with a cheaper summary of the same content overrides)."""
        return {t: grid_token(g) for t, g in grids.items() if g is not None}

    # ------------------------------------------------------------------ public API

    def tab(self, tab_id: str) -> TabSpec:

        if tab_id == STAMP:
            return stamp_spec(self.spec.name)
        return self.spec.tab(tab_id)

    def init(self, *, add_tabs: bool = True) -> InitReport:
        """Create or update the workbook. ``add_tabs=False`` is for the start of a run.

        A tab missing from a workbook that exists was renamed or deleted by a person, or
        is new in this version of corecruit; the two cannot be told apart. Adding it
        empty would let a job read "no applications" (or no ledger, no messages sent)
        and carry on as if that were true, so at the start of a run it is left missing
        and every job that needs it stops with a message naming it. ``corecruit init``,
        run by a person, still adds it. A new workbook, or one with none of corecruit's
        tabs yet (made empty by staff), always gets every tab.
        """
        self._grids.clear()
        self._fresh.clear()
        if self.sync is not None:
            if self.sync.ledger.generation(self.spec.name) and not self.exists():
                raise StoreError(gone_message(self))
            self.sync.forget()
        return self._init(add_tabs)

    def restore(self) -> InitReport:
        """Rebuild a workbook that is gone from the ledger's latest generation."""
        if self.sync is None:
            raise StoreError(f"the {self.spec.name} workbook has no record to restore from")
        report = self.sync.restore()
        self._grids.clear()
        self._fresh.clear()
        return report

    def titles_for(self, spec: TabSpec) -> list[str]:
        """Sheet titles that count as this tab: its label, then its id."""
        return [spec.label, spec.id]

    def _map_header(self, spec: TabSpec, header: Sequence[str]) -> list[str | None]:
        """Column id for each header cell (None for blank headers; text for unknown ones)."""
        lookup: dict[str, str] = {}
        for c in spec.columns:
            lookup[norm_header(c.id)] = c.id
            lookup[norm_header(c.label)] = c.id
        for theirs, ours in self.header_map.get(spec.id, {}).items():
            lookup[norm_header(theirs)] = ours
        out: list[str | None] = []
        for h in header:
            text = to_text(h).strip()
            out.append(None if not text else lookup.get(norm_header(text), text))
        if self.sync is None:
            return out
        return list(self.sync.recognised(spec, [to_text(h) for h in header], out).ids)

    def _lost(self, spec: TabSpec, header: Sequence[str]) -> dict[str, str]:
        """Columns the record knows were in this tab, missing now: id -> its last header."""
        if self.sync is None:
            return {}
        ids = self._map_header(spec, header)
        return self.sync.recognised(spec, [to_text(h) for h in header], ids).lost

    def _to_add(
        self, spec: TabSpec, ids: Sequence[str | None], new: bool = False
    ) -> list[ColumnSpec]:
        """The template's columns ``init`` may add to a tab whose header maps to ``ids``.

        Never one the record knows was there (renamed past recognising, or deleted):
        added empty, it would be read as blank answers and copied on as blanks. A ``new``
        tab (or workbook, as ``restore`` makes) gets every column.
        """
        return [
            c
            for c in spec.columns
            if c.id not in ids
            and (new or self.sync is None or self.sync.was_there(spec, c.id) is None)
        ]

    def _withheld(self, spec: TabSpec, ids: Sequence[str | None], new: bool = False) -> list[str]:
        """What ``init`` says of the known columns it did not add (see :meth:`_to_add`)."""
        if self.sync is None or new:
            return []
        title = self.sync._title(spec)
        return [
            lost_column(self.spec.name, title, old)
            for c in spec.columns
            if c.id not in ids and (old := self.sync.was_there(spec, c.id)) is not None
        ]

    def problem(
        self, spec: TabSpec, message: str, row: int | None = None, column: str | None = None
    ) -> Problem:
        """A problem located in the words staff see: the tab's title, the column's header."""
        grid = self._grids.get(spec.id)
        title = grid.title if grid is not None else spec.label
        header = None
        if column is not None:
            known = {c.id: c.label for c in spec.columns}
            header = known.get(column, column)
            if grid is not None:
                for text, cid in zip(grid.header, self._map_header(spec, grid.header), strict=True):
                    if cid == column:
                        header = to_text(text).strip()
                        break
        return Problem(
            self.spec.name, spec.id, message, row=row, column=column, tab_title=title, header=header
        )

    def _fetch(self, specs: Sequence[TabSpec], refresh: bool) -> None:
        need = [
            s for s in specs if s.id not in self._grids or (refresh and s.id not in self._fresh)
        ]
        self._fresh.difference_update(s.id for s in specs)
        if need and self.sync is not None:
            self._grids.update(self.sync.read(need))
        elif need:
            self._grids.update(self._read_grids(need))

    def prefetch(self, tabs: Sequence[str]) -> dict[str, Grid | None]:
        """Read ``tabs`` in one batch now; the next :meth:`read` of each takes it as read here.

        The runner reads a job's inputs to fingerprint them just before the job runs;
        the job's own first read of each tab then costs nothing more (no second file
        read, no second Google call), and it sees exactly what was fingerprinted.
        """
        specs = [self.tab(t) for t in tabs]
        self._fetch(specs, refresh=True)
        self._fresh.update(s.id for s in specs)
        return {s.id: self._grids.get(s.id) for s in specs}

    def read(
        self,
        tabs: Sequence[str],
        *,
        errors: Literal["raise", "collect"] = "raise",
        refresh: bool = True,
    ) -> dict[str, pd.DataFrame]:
        """Read ``tabs`` in one batch into typed DataFrames indexed by sheet row number.

        ``errors="raise"`` raises :class:`SheetProblems` listing every problem;
        ``errors="collect"`` leaves bad cells empty and puts the problems in
        ``df.attrs["problems"]`` so a job can report them and carry on.
        """
        specs = [self.tab(t) for t in tabs]
        self._fetch(specs, refresh)
        out: dict[str, pd.DataFrame] = {}
        problems: list[Problem] = []
        for s in specs:
            df, probs = self._to_frame(s, self._grids.get(s.id))
            structural = [p for p in probs if p.row is None]
            if structural:
                problems.extend(structural)
                continue
            if errors == "raise":
                problems.extend(probs)
            df.attrs["problems"] = probs
            out[s.id] = df
        if problems:
            raise SheetProblems(problems)
        return out

    def read_one(self, tab: str, **kw: Any) -> pd.DataFrame:
        return self.read([tab], **kw)[tab]

    def _structure(
        self, spec: TabSpec, grid: Grid
    ) -> tuple[list[str | None], dict[str, int], list[Problem]]:
        """Each header position's column id, each column's position, and what is wrong
        with the header (a column twice, a column missing): then the tab is not read."""
        ids = self._map_header(spec, grid.header)
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for i, cid in enumerate(ids):
            if cid is None:
                continue
            if cid in seen:
                problems.append(
                    self.problem(spec, "this column appears twice in the header row", column=cid)
                )
            seen[cid] = i
        missing = [c.id for c in spec.columns if c.id not in seen]
        lost = self._lost(spec, grid.header) if missing else {}
        for m in missing:
            if m in lost:  # the record knows it was there: renamed or deleted by a person
                problems.append(
                    Problem(
                        self.spec.name,
                        spec.id,
                        lost_column(self.spec.name, grid.title, lost[m]),
                        column=m,
                        tab_title=grid.title,
                        header=lost[m],
                    )
                )
                continue
            problems.append(
                self.problem(
                    spec,
                    "this column is missing. Run 'corecruit init' to add it, "
                    "or map your own header to it in the campaign's header_map.",
                    column=m,
                )
            )
        return ids, seen, problems

    def _to_frame(self, spec: TabSpec, grid: Grid | None) -> tuple[pd.DataFrame, list[Problem]]:
        if grid is None:
            return pd.DataFrame(), [self.problem(spec, missing_tab(spec))]
        ids, seen, problems = self._structure(spec, grid)
        if problems:
            return pd.DataFrame(), problems
        known = {c.id for c in spec.columns}
        extras = [cid for cid in ids if cid is not None and cid not in known]
        cols: dict[str, list[Any]] = {c.id: [] for c in spec.columns}
        for e in extras:
            cols[e] = []
        kept = [(r, row) for r, row in enumerate(grid.rows) if not _blank(row)]
        index = [r + 2 for r, _ in kept]
        found: list[tuple[int, int, Problem]] = []  # (sheet row, column, problem)
        for ci, c in enumerate(spec.columns):  # column by column, problems in row order
            values, bad = _parse_at(c, [row for _, row in kept], seen[c.id])
            cols[c.id] = values
            for i, exc in bad.items():
                sheet_row = index[i]
                found.append(
                    (
                        sheet_row,
                        ci,
                        self.problem(spec, rule_for(c, str(exc)), row=sheet_row, column=c.id),
                    )
                )
        found.sort(key=lambda f: (f[0], f[1]))
        problems.extend(p for _, _, p in found)
        for e in extras:
            j = seen[e]
            cols[e] = [to_text(row[j]) if j < len(row) else "" for _, row in kept]
        types = {c.id: c.type for c in spec.columns}
        df = pd.DataFrame(
            {k: pd.Series(v, dtype=dtype_for(types.get(k, "text"))) for k, v in cols.items()},
            columns=list(cols),
        )
        df.index = pd.Index(index, name="row")
        if spec.key and len(df):
            firsts: dict[tuple[str, ...], int] = {}
            for sheet_row, k in zip(index, key_tuples(df, spec.key), strict=True):
                if all(x == "" for x in k):
                    continue
                if k in firsts:
                    problems.append(
                        self.problem(
                            spec,
                            f"the same {' + '.join(spec.column(c).label for c in spec.key)} is on "
                            f"row {firsts[k]} too; "
                            "each row needs its own",
                            row=sheet_row,
                            column=spec.key[0],
                        )
                    )
                else:
                    firsts[k] = sheet_row
        return df, problems

    def validate(self, spec: TabSpec, df: pd.DataFrame) -> list[Problem]:
        """Checks beyond types: required cells and allowed values (for ``check``)."""
        probs: list[Problem] = []
        for c in spec.columns:
            if c.id not in df.columns:
                continue
            for row, v in df[c.id].items():
                if c.required and is_empty(v):
                    probs.append(
                        self.problem(
                            spec,
                            "this cell is required but empty",
                            row=int(row),
                            column=c.id,
                        )
                    )
                elif c.allowed and not is_empty(v) and str(v) not in c.allowed:
                    probs.append(
                        self.problem(
                            spec,
                            f"this value is not one of the allowed ones ({', '.join(c.allowed)})",
                            row=int(row),
                            column=c.id,
                        )
                    )
        return probs

    def write(self, frames: Mapping[str, pd.DataFrame], *, at_once: bool = False) -> int:
        """Replace the data rows of each tab in one batch; returns rows written.

        With a ledger, tabs that only record runs (the Run log, the Status tab) wait in
        it for the next real change, so a run with nothing new saves nothing;
        ``at_once`` saves them now (the Status tab when what it asks of people changed).

        Header positions found in the sheet are kept (staff may reorder columns);
        columns the sheet has but the template does not are written back from the
        frame when present, so nothing staff added is lost.
        """
        specs = [self.tab(t) for t in frames]
        self._fetch(specs, refresh=False)
        grids: dict[str, tuple[Grid, int]] = {}
        total = 0
        for s in specs:
            current = self._grids.get(s.id)
            if current is None:
                raise SheetProblems([self.problem(s, missing_tab(s))])
            df = conform(s, frames[s.id])
            header, ids = self._header_ids(s, current)
            types = {c.id: c.type for c in s.columns}
            numbers = {c.id for c in s.columns if number_column(c)}
            unknown = [c for c in df.columns if c not in types and c not in ids]
            if unknown:
                raise StoreError(f"tab '{s.id}': no column '{unknown[0]}' to write to")
            rows: list[list[Cell]] = []
            colvals = []
            for cid in ids:
                if cid is not None and cid in df.columns:
                    t = types.get(cid, "text")
                    num = cid in numbers
                    colvals.append(storable_column(df[cid].tolist(), t, as_number=num))
                else:
                    colvals.append([None] * len(df))
            rows = [list(r) for r in zip(*colvals, strict=True)] if colvals else []
            grid = Grid(current.title, header, rows)
            if self._unchanged(current, grid):
                continue  # the tab already holds exactly this: no save, no API call
            grids[s.id] = (grid, len(current.rows))
            total += len(rows)
        self._save_grids(grids, at_once=at_once)
        return total

    def _save_grids(self, grids: Mapping[str, tuple[Grid, int]], *, at_once: bool = False) -> None:
        """Save changed tabs in one batch: through the ledger (which decides what the
        workbook needs, maybe nothing) or straight to the backend."""
        if self.sync is not None:
            self.sync.write(grids, at_once=at_once)
            return
        if grids:
            self._write_grids(grids)
        for tab_id, (g, _) in grids.items():
            self._grids[tab_id] = g

    def _header_ids(self, spec: TabSpec, current: Grid) -> tuple[list[str], list[str | None]]:
        """The tab's header as it will be written (template columns it lacks added at the
        end) and each position's column id."""
        header = list(current.header)
        ids = self._map_header(spec, header)
        for c in spec.columns:
            if c.id not in ids:
                header.append(c.label)
                ids.append(c.id)
        return header, ids

    def read_columns(self, tab: str, columns: Sequence[str]) -> dict[str, list[Any]]:
        """Some columns of a tab, typed, row by row (a cell that does not fit its type is
        empty, and a row with nothing in it is skipped, as :meth:`read` does).

        For a job that needs two columns of a tab of 160,000 rows: the other columns'
        cells are not parsed and no frame is built. A tab missing, or a column missing or
        twice, raises :class:`SheetProblems` as :meth:`read` does.
        """
        spec = self.tab(tab)
        self._fetch([spec], refresh=True)
        grid = self._grids.get(spec.id)
        if grid is None:
            raise SheetProblems([self.problem(spec, missing_tab(spec))])
        return self._columns_of(spec, grid, columns)

    def _readable(self, spec: TabSpec, grid: Grid) -> Grid:
        """The grid with its cells as the column types read them (backends override:
        Google gives dates as serial numbers or in the sheet's locale)."""
        return grid

    def _columns_of(
        self, spec: TabSpec, grid: Grid, columns: Sequence[str]
    ) -> dict[str, list[Any]]:
        _ids, at, problems = self._structure(spec, grid)
        if problems:  # refused as a read refuses it
            raise SheetProblems(problems)
        rows = [r for r in self._readable(spec, grid).rows if not _blank(r)]
        out: dict[str, list[Any]] = {}
        for cid in columns:
            out[cid], _bad = _parse_at(spec.column(cid), rows, at[cid])
        return out

    def append_rows(
        self, new: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]
    ) -> dict[str, int]:
        """Add the rows whose key is not in the tab yet at the end of each tab, in one
        batch; return how many each tab gained (when none, nothing is written).

        ``new`` holds, per tab, the column ids of its rows and the rows as tuples of typed
        values in that order (template columns not named stay empty). Why not
        :meth:`append`: the rows already there are kept as the sheet holds them and only
        their key columns are read, so adding 160,000 scores does not build frames of
        every old and new row, compare every cell and rebuild the tab from them (seconds
        and hundreds of MB); the ledger and the workbook take the rows added at the end.
        """
        specs = [self.tab(t) for t in new]
        added: dict[str, int] = {}
        with self.locked():
            self._fetch(specs, refresh=True)
            grids: dict[str, tuple[Grid, int]] = {}
            for s in specs:
                current = self._grids.get(s.id)
                if current is None:
                    raise SheetProblems([self.problem(s, missing_tab(s))])
                names, given = new[s.id]
                unknown = [n for n in names if n not in s.column_ids]
                if unknown:
                    raise KeyError(f"tab '{s.id}' has no column '{unknown[0]}'")
                pos = {cid: i for i, cid in enumerate(names)}
                keep = self._new_keys(s, current, pos, given) if s.key else given
                added[s.id] = len(keep)
                if keep:
                    grids[s.id] = (self._appended(s, current, pos, keep), len(current.rows))
            self._save_grids(grids)
        return added

    def _new_keys(
        self, spec: TabSpec, current: Grid, pos: Mapping[str, int], given: Sequence[Sequence[Any]]
    ) -> Sequence[Sequence[Any]]:
        """The rows of ``given`` whose key is neither in ``current`` nor in an earlier row
        (keys as :func:`key_tuples` makes them; only the key columns' cells are read)."""
        key_at = [pos.get(k) for k in spec.key]
        old = self._columns_of(spec, current, spec.key)
        seen = {
            tuple(key_part(v) for v in k) for k in zip(*(old[k] for k in spec.key), strict=True)
        }
        keep = []
        for row in given:
            k = tuple("" if i is None else key_part(row[i]) for i in key_at)
            if k not in seen:
                seen.add(k)
                keep.append(row)
        return keep

    def _appended(
        self, spec: TabSpec, current: Grid, pos: Mapping[str, int], keep: Sequence[Sequence[Any]]
    ) -> Grid:
        """``current`` with ``keep`` (values at ``pos`` of each column id) as cells at its
        end. Its own method so the columns it builds are let go before the save."""
        header, ids = self._header_ids(spec, current)
        types = {c.id: c.type for c in spec.columns}
        numbers = {c.id for c in spec.columns if number_column(c)}
        colvals: list[list[Cell]] = []
        for cid in ids:
            i = pos.get(cid) if cid is not None else None
            if i is None:  # not given, or a column of the sheet's own: left empty
                colvals.append([None] * len(keep))
                continue
            t = types[cid]  # type: ignore[index]
            values = [row[i] for row in keep]
            if t == "text":
                values = ["" if is_empty(v) else str(v) for v in values]
            colvals.append(storable_column(values, t, as_number=cid in numbers))
        rows = [list(r) for r in zip(*colvals, strict=True)]
        end = len(current.rows)
        while end and _blank(current.rows[end - 1]):
            end -= 1  # empty rows at the end: the new ones go in their place
        return Grid(current.title, header, [*current.rows[:end], *rows])

    # ------------------------------------------------------ writing only what changed

    def _as_read(self, v: Cell) -> Cell:
        """A cell about to be written, as this backend will read it back. Backends override."""
        return v

    def _unchanged(self, old: Grid, new: Grid) -> bool:
        """Whether writing ``new`` would leave the tab holding what it holds now.

        Then the tab is not written at all: a run with nothing new leaves the file
        untouched (a person with it open does not lose the race) and makes no Google
        write call. Strict: any doubt (a type, a digit, a header) is a change.
        """
        if _trim(old.header) != _trim(new.header):
            return False
        width, n = len(new.header), len(new.rows)
        a = _rows([r[:width] for r in old.rows[:n]], _key)  # cells past the header are kept
        b = _rows(new.rows, lambda v: _key(self._as_read(v)))
        return a == b and not _rows(old.rows[n:], _key)  # rows past the end would be cleared

    def upsert(self, tab: str, new: pd.DataFrame, key: Sequence[str] | None = None) -> pd.DataFrame:
        """Insert or replace rows by key (one read if not cached, one write)."""
        spec = self.tab(tab)
        with self.locked():
            existing = self.read_one(tab, refresh=False)
            merged = upsert_rows(spec, existing, new, key)
            self.write({tab: merged})
        return merged

    def append(self, tab: str, new: pd.DataFrame, key: Sequence[str] | None = None) -> int:
        """Append rows whose key is not there yet; returns how many were added."""
        spec = self.tab(tab)
        with self.locked():
            existing = self.read_one(tab, refresh=False)
            merged, added = append_new(spec, existing, new, key)
            if added:
                self.write({tab: merged})
        return added

    def forget(self) -> None:
        """Drop cached tabs so the next read goes back to the backend."""
        self._grids.clear()
        self._fresh.clear()
        if self.sync is not None:
            self.sync.forget()
