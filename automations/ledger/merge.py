"""Three-way merge of one tab: the sheet, the ledger now, the ledger when the sheet was saved.

Pure: no I/O. ``theirs`` is the tab as the workbook holds it, ``ours`` the rows the
ledger holds now, ``base`` the rows the ledger held at the generation stamped in
the workbook (what the sheet held when it was last saved by corecruit).

* A tab whose key is filled in by corecruit (job-owned): the job's columns always
  come from the ledger, a row missing from the sheet comes back (it is never read
  as "not sent" or "not paid"), and a person's column keeps the sheet's value only
  where a person changed it (theirs differs from base).
* An input tab (people type there), when the sheet is older than the ledger: each
  row and cell is merged the same way, so edits made in the newer version and read
  by a run are kept, and so are the older copy's own edits; where both changed a
  cell, the sheet's value is kept and the place is reported (never the values).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..store.cells import Cell, NoSavedValue
from .codec import Tagged, canon, dumps, loads, untag


@dataclass(frozen=True)
class Column:
    """One header position: the column id it maps to and how its cells are read."""

    id: str | None
    type: str = "text"
    as_number: bool = False
    job: bool = False  # filled in by corecruit


@dataclass
class Keyed:
    """A tab's rows by key: each row's canonical cells as JSON, and where it is."""

    where: dict[str, int] = field(default_factory=dict)  # key -> index in the grid rows
    texts: dict[str, str] = field(default_factory=dict)  # key -> the row's cells as JSON
    _cells: dict[str, dict[str, Tagged]] | None = field(default=None, repr=False, compare=False)

    @property
    def rows(self) -> dict[str, dict[str, Tagged]]:
        """Each row's canonical cells by key, decoded when first asked (most tabs are only
        compared by their JSON, and a tab of 160,000 rows as dicts is 50 MB)."""
        if self._cells is None:
            self._cells = {k: loads(t) for k, t in self.texts.items()}
        return self._cells

    def as_ledger(self) -> dict[str, tuple[int, str]]:
        where = self.where
        return {k: (where.get(k, i), t) for i, (k, t) in enumerate(self.texts.items())}

    def same_as(self, rows: Mapping[str, tuple[int, str]]) -> bool:
        """Whether :meth:`as_ledger` would equal ``rows``, without building it (a second
        copy of a tab of 160,000 rows, only to compare)."""
        if len(rows) != len(self.texts):
            return False
        where = self.where
        for i, (k, t) in enumerate(self.texts.items()):
            if rows.get(k) != (where.get(k, i), t):
                return False
        return True


def key_text(values: Sequence[Tagged]) -> str:
    return dumps(list(values))


# Cell types whose equality is exact (equal values read back the same way)
_PLAIN: frozenset[type] = frozenset({str, int, bool, type(None), dt.date, NoSavedValue})
# Types whose equal values can still differ when read (87.50 and 87.5, -0.0 and 0.0,
# two datetimes of the same instant in other zones): a row holding one is told apart
# by their reprs too, which say their exact value
_RISKY: frozenset[type] = frozenset({Decimal, float, dt.datetime})
_KNOWN: frozenset[type] = _PLAIN | _RISKY


@dataclass(frozen=True, slots=True)
class _Row:
    """One row keyed: its cells as JSON ("{}" when empty) and its key's text (None: no key)."""

    text: str
    key: str | None


_Sig = tuple[tuple[Column, ...], tuple[str, ...]]
# The last grid keyed for each header layout and key, row by row: the same tab is keyed
# when read, when written and after a merge (and by each job that reads it), nearly every
# row in the same place and unchanged, so only the rows that differ are read again. One
# grid per layout is kept (grids' rows are never changed in place, only replaced).
_LAST: dict[_Sig, tuple[Sequence[Sequence[Cell]], list[_Row]]] = {}


def _same(a: Sequence[Cell], b: Sequence[Cell]) -> bool:
    """Whether two rows hold the very same cells: equal, of the same types, and for
    numbers and times the same exact value (87.50 is not 87.5 as text, -0.0 not 0.0)."""
    if a is b:
        return True
    try:
        if len(a) != len(b) or a != b:
            return False
    except TypeError:  # a cell that cannot say whether it is equal (pd.NA)
        return False
    types = tuple(map(type, a))
    if types != tuple(map(type, b)):
        return False
    if _PLAIN.issuperset(types):
        return True
    if not _KNOWN.issuperset(types):
        return False
    return all(
        x is y or repr(x) == repr(y) for x, y, t in zip(a, b, types, strict=True) if t in _RISKY
    )


_CanonMemo = dict[tuple[str, bool, type, Any], Tagged]
# kinds whose equal values canon alike (a naive datetime too; see _canon_row)
_SAME = frozenset({str, int, bool, dt.date, dt.datetime})


def _canon_row(
    columns: Sequence[Column], key: Sequence[str], row: Sequence[Cell], memo: _CanonMemo
) -> _Row:
    """One row's canonical cells (:func:`canon` of each; text that is text is itself, and
    each distinct other value of a column kind is canoned once per call of :func:`keyed`)."""
    cells: dict[str, Tagged] = {}
    n = len(row)
    for j, col in enumerate(columns):
        cid = col.id
        if cid is None or cid in cells:
            continue
        v = row[j] if j < n else None
        if v is None:
            continue
        tv = type(v)
        if tv is str and col.type == "text":
            if v:
                cells[cid] = v
            continue
        mk: tuple[str, bool, type, Any] | None = None
        if tv in _SAME and not (isinstance(v, dt.datetime) and v.tzinfo is not None):
            mk = (col.type, col.as_number, tv, v)
        elif isinstance(v, Decimal) and tv is Decimal and v.is_finite():
            # by its text: equal Decimals (87.50, 87.5) are not always canoned alike
            mk = (col.type, col.as_number, tv, str(v))
        if mk is None:
            c = canon(v, col.type, as_number=col.as_number)
        elif mk in memo:
            c = memo[mk]
        else:
            c = memo[mk] = canon(v, col.type, as_number=col.as_number)
        if c is not None:
            cells[cid] = c
    kv = [cells.get(k) for k in key]
    kt = None if all(v is None for v in kv) else key_text(kv)
    return _Row(dumps(cells) if cells else "{}", kt)


def keyed(columns: Sequence[Column], key: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Keyed:
    """Each non-empty row's canonical cells under its key (a row with no key or a key seen
    before gets a key by its place, ``["#", n]``, and is never matched across copies)."""
    out = Keyed()
    pos = {c.id for c in columns if c.id is not None}
    no_key = not key or any(x not in pos for x in key)
    sig = (tuple(columns), tuple(key))
    last_rows, last = _LAST.get(sig, ((), []))
    n_last = min(len(last_rows), len(last))
    by_pos: list[_Row] = []
    memo: _CanonMemo = {}
    blanks = 0
    for i, row in enumerate(rows):
        if i < n_last and _same(row, last_rows[i]):
            got = last[i]
        else:
            got = _canon_row(columns, key, row, memo)
        by_pos.append(got)
        if got.text == "{}":
            continue
        k = got.key
        if no_key or k is None or k in out.texts:
            blanks += 1
            k = key_text(["#", blanks])
        out.where[k] = i
        out.texts[k] = got.text
    _LAST[sig] = (rows, by_pos)
    return out


def synthetic(k: str) -> bool:
    return k.startswith('["#",')


def decode(rows: Mapping[str, tuple[int, str]]) -> dict[str, dict[str, Tagged]]:
    """Ledger rows (key -> (position, cells json)) in position order, cells decoded."""
    ordered = sorted(rows.items(), key=lambda kv: kv[1][0])
    return {k: loads(cells) for k, (_, cells) in ordered}


@dataclass
class Outcome:
    """The merged rows (cells as the store writes them) and what the merge did."""

    rows: list[list[Cell]]
    restored: int = 0  # rows the sheet lost that the ledger had when it was saved
    added_back: int = 0  # rows recorded since the sheet was saved
    kept: int = 0  # cells where a person's change in the sheet was kept over the record
    put_back: int = 0  # cells of corecruit's columns that differed from the record
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (grid row index, column)
    dropped: int = 0  # rows the record removed since the sheet was saved


def _row_out(
    columns: Sequence[Column], raw: Sequence[Cell] | None, chosen: Mapping[str, Any]
) -> list[Cell]:
    """A grid row: the sheet's own cell where the sheet's value won, the record's elsewhere."""
    out: list[Cell] = []
    for j, col in enumerate(columns):
        mine = raw[j] if raw is not None and j < len(raw) else None
        if col.id is None or col.id not in chosen:
            out.append(mine)
            continue
        v = chosen[col.id]
        out.append(mine if v is _THEIRS else untag(v))
    return out


_THEIRS = object()


def merge_tab(
    columns: Sequence[Column],
    key: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    sheet: Keyed,
    ours: Mapping[str, tuple[int, str]],
    base: Mapping[str, tuple[int, str]] | None,
    *,
    job_owned: bool,
) -> Outcome:
    """Merge one tab; ``base`` is None when the sheet's generation is not known."""
    o = decode(ours)
    b = decode(base) if base is not None else {}
    ids = [c.id for c in columns if c.id is not None]
    by_id = {c.id: c for c in columns if c.id is not None}
    at_row = {i: k for k, i in sheet.where.items()}
    out = Outcome(rows=[])
    seen: set[str] = set()
    for i, raw in enumerate(rows):
        k = at_row.get(i)
        if k is None:  # an empty row: kept, so every other row keeps its number
            out.rows.append(list(raw))
            continue
        t = sheet.rows[k]
        if synthetic(k) or (k not in o and k not in b):  # the record never had it
            out.rows.append(list(raw))
            continue
        seen.add(k)
        if k not in o:  # the record removed it since the sheet was saved
            if t == b.get(k):
                out.dropped += 1
                out.rows.append([None] * len(raw))
            else:
                out.rows.append(list(raw))
            continue
        mine, was = o[k], b.get(k)
        chosen: dict[str, Any] = {}
        for cid in ids:
            tv, ov = t.get(cid), mine.get(cid)
            bv = was.get(cid) if was is not None else (ov if job_owned else None)
            if job_owned and by_id[cid].job:
                chosen[cid] = ov
                if tv not in (ov, bv):  # what the sheet's generation held was not typed
                    out.put_back += 1
            elif tv in (bv, ov):
                chosen[cid] = _THEIRS if tv == ov else ov
            else:
                chosen[cid] = _THEIRS
                out.kept += 1
                if ov != bv and was is not None:
                    out.conflicts.append((i, cid))
        out.rows.append(_row_out(columns, raw, chosen))
    for k, mine in o.items():
        if k in seen or synthetic(k):
            continue
        was = b.get(k)
        if not job_owned and was is not None and mine == was:
            continue  # deleted in the copy that was saved back, unchanged since: stays deleted
        if was is not None:
            out.restored += 1
        else:
            out.added_back += 1
        out.rows.append(_row_out(columns, None, {cid: mine.get(cid) for cid in ids}))
    return out
