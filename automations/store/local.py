"""The local table store: one ``.xlsx`` file per workbook.

Staff can open the files in Excel or LibreOffice. Every write goes to a
temporary file that replaces the workbook only once it is complete, under a
lock file, so two jobs never interleave and a crash never leaves half a file.

Reading is python-calamine (a Rust reader, about thirty times faster than openpyxl
and a fraction of its memory), and only when the file changed: the cells read are kept
per file, keyed by its inode, time and size, for every store of the process.

Saving rewrites only the tabs that changed, straight in the file's zip (xlsx_write:
every other part, and each sheet's columns, notes and drop-downs, copied as they are).
openpyxl is loaded only when that path cannot be sure (a header to write, a formula or a
table on the tab, a layout it does not know), by ``init``, and for the rare tab calamine
cannot read exactly as openpyxl does (a formula, an error cell, text holding an
``_xHHHH_`` escape).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
import xml.etree.ElementTree as ET
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import python_calamine
from filelock import FileLock, Timeout

from ..errors import StoreError, WorkbookLockedError
from ..files import private_dir
from ..templates import TabSpec, WorkbookSpec
from .base import TableStore, missing_tab
from .cells import FORMULA_START, NO_SAVED_VALUE, Cell, share_equal_rows
from .record import STAMP
from .shapes import Grid, InitReport

if TYPE_CHECKING:  # loaded when a save or a full init needs them, not by every run
    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
log = logging.getLogger("corecruit.store")


def __getattr__(name: str) -> Any:
    """``openpyxl`` as an attribute of this module, loaded when first asked for: a run
    that saves nothing (and reads with calamine) never loads it."""
    if name == "openpyxl":
        import openpyxl

        return openpyxl
    raise AttributeError(name)


def unescape_text(s: str) -> str:
    if "_x" not in s:
        return s
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), s)


# Parsing an .xlsx with openpyxl is by far the slowest thing a job does, so a workbook
# loaded (or just saved) by this process is kept, keyed by path and checked against
# the file's inode, mtime and size: any write by another process or person makes a new
# file and the cache is bypassed. Only a few are kept (the runner's two per campaign).
_CACHE_SIZE = 4
_CACHE: OrderedDict[str, tuple[tuple[int, ...], openpyxl.Workbook]] = OrderedDict()
_CACHE_LOCK = threading.RLock()

# What calamine read, per file: kept across stores (init, then every job of the run,
# reads the same two workbooks) and dropped as soon as the file's stamp changes.
_READ_CACHE_SIZE = 4
_READS: OrderedDict[str, _Snapshot] = OrderedDict()
# In a worksheet's XML: a formula (<f>), an error cell (t="e"), or text of only spaces
# and line breaks written without xml:space="preserve" (openpyxl writes "\n" so; calamine
# reads it as empty, openpyxl as written): those tabs take the openpyxl path.
_NEEDS_OPENPYXL = re.compile(rb'<(?:\w+:)?f[\s>/]|\st="e"|<(?:\w+:)?t>\s+</(?:\w+:)?t>')
_SHEET = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ALT = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(r'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_ALT = re.compile(r'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
INIT_MARK = "init found nothing missing"  # with what it was found from (see _init_memo)
_MAX_INT_FLOAT = 1e15  # below this a whole float is written without an exponent


def _xml_unescape(s: str) -> str:
    return (
        s.replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its XML part in the zip (from workbook.xml and its relations)."""
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    except KeyError:
        return {}
    targets = {i: t for i, t in _REL.findall(rels)}
    targets.update({i: t for t, i in _REL_ALT.findall(rels)})
    pairs = _SHEET.findall(book) or [(n, i) for i, n in _SHEET_ALT.findall(book)]
    out = {}
    for name, rid in pairs:
        target = targets.get(rid, "")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[_xml_unescape(name)] = os.path.normpath(part).replace(os.sep, "/")
    return out


def _has_match(zf: zipfile.ZipFile, part: str) -> bool:
    """Whether a worksheet's XML needs the openpyxl reader (read in chunks: sheets are big)."""
    try:
        fh = zf.open(part)
    except KeyError:
        return True  # an unusual layout: let openpyxl decide
    with fh:
        tail = b""
        while chunk := fh.read(1 << 20):
            if _NEEDS_OPENPYXL.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


# The first row of a worksheet's XML, read without parsing the rest of the sheet (see
# _Snapshot.first_row): only cells whose text is certain are taken; anything else (a
# number, a formula, a rich-text run, an escape, text of only spaces) is left to calamine.
_ROW_START = re.compile(rb"<(?:\w+:)?row\b[^>]*?(/?)>")
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_DATA_END = re.compile(rb"</(?:\w+:)?sheetData>|<(?:\w+:)?sheetData\s*/>")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_CELL_REF = re.compile(r'\sr="([A-Z]{1,3})\d+"')
_CELL_TYPE = re.compile(r'\st="(\w+)"')
_VALUE = re.compile(r"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_INLINE = re.compile(
    r"^<(?:\w+:)?is>\s*<(?:\w+:)?t(?:\s[^>]*)?>([^<]*)</(?:\w+:)?t>\s*</(?:\w+:)?is>$"
)
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _Unsure(Exception):
    """The first row holds something only calamine reads for sure."""


def _xml_text(s: str) -> str:
    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("#x"):
            return chr(int(e[2:], 16))
        if e.startswith("#"):
            return chr(int(e[1:]))
        return _ENTITIES[e]

    return _xml_checked(_ENTITY.sub(one, s) if "&" in s else s)


def _first_row_xml(fh: io.BufferedIOBase | Any) -> bytes | None:
    """The first ``<row>`` element of a worksheet part (b"" when it has no rows), read in
    chunks up to it; None when the part is not laid out as expected."""
    buf = b""
    while True:
        chunk = fh.read(1 << 16)
        buf += chunk
        start = _ROW_START.search(buf)
        if start is not None:
            if start.group(1) == b"/":  # <row .../>: an empty row
                return buf[start.start() : start.end()]
            end = _ROW_END.search(buf, start.end())
            if end is not None:
                return buf[start.start() : end.end()]
        elif _DATA_END.search(buf):
            return b""
        if not chunk:
            return None
        if len(buf) > 1 << 24:  # a first row this long is not a header row
            return None


def _cells_of_row(row: str, shared: Any) -> list[Cell]:
    """The cells of one ``<row>`` element's XML as calamine gives them (see :func:`_cell`);
    ``shared(i)`` is shared string ``i``. Raises :class:`_Unsure` for anything else."""
    from .xlsx_write import column_number  # the save's own reading of a cell reference

    out: list[Cell] = []
    for m in _CELL.finditer(row):
        attrs, body = m.group(1), m.group(2) or ""
        ref = _CELL_REF.search(attrs)
        if ref is None:
            raise _Unsure("a cell without its reference")
        col = column_number(ref.group(1).encode())
        if col <= len(out):
            raise _Unsure("cells out of order")
        out.extend([None] * (col - 1 - len(out)))
        kind = _CELL_TYPE.search(attrs)
        t = kind.group(1) if kind else "n"
        value: Cell
        if "<f" in body or "<x:f" in body:
            raise _Unsure("a formula")
        if t == "s":
            v = _VALUE.search(body)
            if v is None:
                raise _Unsure("a shared string without its number")
            value = shared(int(v.group(1)))
        elif t == "inlineStr":
            inline = _INLINE.match(body.strip())
            if inline is None:
                raise _Unsure("rich text")
            value = _xml_text(inline.group(1))
        elif not body.strip():
            value = None
        else:
            raise _Unsure("a number, a yes/no or an error")
        out.append(value if value != "" else None)
    while out and out[-1] is None:
        out.pop()
    return out


def _cell(v: object) -> Cell:
    """A calamine value as openpyxl reads the same cell (see test_store_local's agreement)."""
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < _MAX_INT_FLOAT else v
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)  # openpyxl reads a date cell as midnight
    return v  # type: ignore[return-value]  # bool, datetime, time, timedelta


@dataclass
class _Snapshot:
    """One version of a workbook file, read lazily tab by tab."""

    stamp: tuple[int, ...]
    data: bytes
    parts: dict[str, str]
    _rows: dict[str, list[list[Cell]] | None] = field(default_factory=dict)
    _book: python_calamine.CalamineWorkbook | None = None
    _infos: dict[str, str] | None = None  # zip part -> "crc:size", read when first asked
    _firsts: dict[str, list[Cell] | None] = field(default_factory=dict)  # see first_row
    _strings: list[str] = field(default_factory=list)  # shared strings parsed so far
    _string_events: Any = None
    _strings_done: bool = False
    _strings_special: bool | None = None  # whether the shared strings need openpyxl
    # Shared by every store of the process: calamine's workbook is not for two threads
    # at once ("Already borrowed"), so one tab is read at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def titles(self) -> list[str]:
        return list(self.parts)

    def rows(self, title: str) -> list[list[Cell]] | None:
        """The tab's cells as openpyxl would give them, or None where only openpyxl can.

        Calamine gives a formula's saved value with no way to tell a formula that was
        never calculated from an empty cell, an error cell as empty, and leaves some
        ``_xHHHH_`` escapes in text; those tabs go through openpyxl instead.
        """
        with self._lock:
            if title not in self._rows:
                self._rows[title] = self._read(title)
            return self._rows[title]

    def _read(self, title: str) -> list[list[Cell]] | None:
        got: list[list[Cell]] | None = None
        with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
            special = _has_match(zf, self.parts[title])
            if not special and "xl/sharedStrings.xml" in zf.namelist():
                if self._strings_special is None:  # the same for every tab: scanned once
                    self._strings_special = _has_match(zf, "xl/sharedStrings.xml")
                special = self._strings_special
        if not special:
            if self._book is None:
                self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.data))
            raw = self._book.get_sheet_by_name(title).to_python(skip_empty_area=False)
            got = []
            for r in raw:
                row = [_cell(v) for v in r]
                if any(isinstance(v, str) and "_x" in v and _ESCAPED.search(v) for v in row):
                    got = None
                    break
                while row and row[-1] is None:
                    row.pop()
                got.append(row)
        return share_equal_rows(got) if got else got

    def token(self, title: str) -> str:
        """The tab's content in a few bytes, without reading its cells: its title, and the
        CRC-32 and size (from the zip's directory) of its sheet part and of the parts every
        tab's cells depend on (shared strings, cell formats, the workbook's own part)."""
        with self._lock:
            if self._infos is None:
                with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                    self._infos = {i.filename: f"{i.CRC:08x}:{i.file_size}" for i in zf.infolist()}
            infos = self._infos
        part = self.parts[title]
        shared = ("xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml")
        return "|".join([title, part, infos.get(part, "-"), *(infos.get(n, "-") for n in shared)])

    def header(self, title: str) -> list[Cell]:
        """Row 1 of a tab, from the kept read, from the sheet's XML up to its first row
        (:meth:`first_row`), or as calamine reads it (a save's check that the header
        stays as it is; text of only spaces reads as empty, so such a header counts as
        changed)."""
        got = self.first_row(title)
        if got is not None:
            return got
        with self._lock:  # calamine's workbook is for one thread at a time
            if self._book is None:
                self._book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.data))
            raw = self._book.get_sheet_by_name(title).to_python(skip_empty_area=False, nrows=1)
            return [_cell(v) for v in raw[0]] if raw else []

    def first_row(self, title: str) -> list[Cell] | None:
        """Row 1 of a tab without reading the rest of it: from the kept read, else from
        the sheet's XML up to the end of its first row (calamine parses a whole sheet
        for one row: 160,000 Raw scores rows for a header). None when the row holds
        something only calamine reads for sure (see :func:`_cells_of_row`), or when the
        tab takes the openpyxl path."""
        with self._lock:
            rows = self._rows.get(title)
            if rows is None and title in self._rows:  # openpyxl reads it: not the XML's way
                return None
            if rows:
                return list(rows[0])
            if title in self._firsts:
                return self._firsts[title]
            got: list[Cell] | None = None
            try:
                with zipfile.ZipFile(io.BytesIO(self.data)) as zf, zf.open(self.parts[title]) as fh:
                    xml = _first_row_xml(fh)
                    if xml is not None:
                        number = _ROW_NUMBER.search(xml[: xml.find(b">") + 1])
                        if xml == b"" or (number is not None and number.group(1) != b"1"):
                            got = []
                        else:
                            got = _cells_of_row(xml.decode("utf-8"), self._shared)
            except (_Unsure, KeyError, IndexError, ValueError, zipfile.BadZipFile, ET.ParseError):
                got = None
            self._firsts[title] = got
            return got

    def _shared(self, i: int) -> str:
        """Shared string ``i``, parsing ``sharedStrings.xml`` only as far as it (kept)."""
        if i < len(self._strings):
            return _xml_checked(self._strings[i])
        if self._strings_done:
            raise IndexError(i)
        ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        if self._string_events is None:
            zf = zipfile.ZipFile(io.BytesIO(self.data))
            self._string_events = ET.iterparse(zf.open("xl/sharedStrings.xml"), ("end",))
        for _, el in self._string_events:
            if el.tag != f"{ns}si":
                continue
            parts = []
            for child in el:
                if child.tag == f"{ns}t":
                    parts.append(child.text or "")
                elif child.tag == f"{ns}r":
                    parts.extend(t.text or "" for t in child.iter(f"{ns}t"))
            text = "".join(parts)
            el.clear()
            self._strings.append(text)
            if i < len(self._strings):
                return _xml_checked(text)
        self._strings_done = True
        raise IndexError(i)


def _xml_checked(text: str) -> str:
    """A shared string as calamine reads it, or :class:`_Unsure`."""
    if "\r" in text or (text and not text.strip()) or (_ESCAPED.search(text) is not None):
        raise _Unsure("text calamine may read otherwise")
    return text


LOCK_FRESH = dt.timedelta(hours=12)  # an office lock file older than this was left behind


def office_lock(path: Path, now: dt.datetime | None = None) -> tuple[str | None, str | None]:
    """Whether a spreadsheet program has the workbook open: (why not to save, what to say).

    LibreOffice keeps ``.~lock.<name>#`` beside the file (``name,user,host,date,…``: only
    the host is used, never the person's name); Excel keeps ``~$<name>`` (or ``~$`` over
    the first two letters of a long name). A lock file older than :data:`LOCK_FRESH` is
    one a program left when it stopped: ignored, and said.
    """
    now = now or dt.datetime.now()
    found = [
        (prog, p)
        for prog, p in (
            ("LibreOffice", path.with_name(f".~lock.{path.name}#")),
            ("Excel", path.with_name(f"~${path.name}")),
            ("Excel", path.with_name(f"~${path.name[2:]}")),
        )
        if len(path.name) > 2 and p.is_file()
    ]
    for prog, p in found:
        try:
            age = now - dt.datetime.fromtimestamp(p.stat().st_mtime)
        except OSError:
            continue
        if age > LOCK_FRESH:
            return None, (
                f"a lock file {prog} left beside the {path.name} workbook ({p.name}, "
                f"{age.days * 24 + age.seconds // 3600} hours old) was ignored; it is safe "
                "to delete it when the workbook is not open."
            )
        on = ""
        if prog == "LibreOffice":
            with contextlib.suppress(OSError, UnicodeDecodeError):
                parts = p.read_text(encoding="utf-8").split(",")
                on = f" on {parts[2].strip()}" if len(parts) > 2 and parts[2].strip() else ""
        return (
            f"it is open in a spreadsheet program ({prog}){on}; corecruit will save its "
            "changes when it is closed.",
            None,
        )
    return None, None


class LocalStore(TableStore):
    """A workbook kept as an ``.xlsx`` file."""

    # Save by rewriting only the changed tabs in the file where that is sure (xlsx_write);
    # False makes every save go through openpyxl (the tests compare the two).
    fast_saves = True

    def __init__(
        self,
        spec: WorkbookSpec,
        path: str | Path,
        header_map: Mapping[str, Mapping[str, str]] | None = None,
        lock_timeout: float = 30.0,
    ) -> None:
        super().__init__(spec, header_map)
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout, mode=0o600)
        self._stamp: tuple[int, ...] | None = None
        self._read_snap: _Snapshot | None = None  # the file version the last read came from

    @property
    def location(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        private_dir(self.path.parent)
        try:
            with self._lock:
                yield
        except Timeout:
            raise WorkbookLockedError(
                f"the {self.spec.name} workbook is in use by another job; nothing was written. "
                "Try again in a minute."
            ) from None

    def _file_stamp(self) -> tuple[int, ...] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @property
    def _key(self) -> str:
        return str(self.path.resolve())

    def _remember(self, wb: openpyxl.Workbook, stamp: tuple[int, ...] | None) -> None:
        if stamp is None:
            return
        with _CACHE_LOCK:
            _CACHE[self._key] = (stamp, wb)
            _CACHE.move_to_end(self._key)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)

    def _drop_cached(self) -> None:
        with _CACHE_LOCK:
            _CACHE.pop(self._key, None)

    def _full(self) -> openpyxl.Workbook:
        """The whole workbook (styles, notes, validations), from the cache when unchanged."""
        stamp = self._file_stamp()
        with _CACHE_LOCK:
            hit = _CACHE.get(self._key)
            if hit is not None and stamp is not None and hit[0] == stamp:
                _CACHE.move_to_end(self._key)
                return hit[1]
        wb = self._load(read_only=False)
        if self._file_stamp() == stamp:  # not replaced while we read it
            self._remember(wb, stamp)
        return wb

    def _load(self, read_only: bool) -> openpyxl.Workbook:
        import openpyxl

        try:
            return openpyxl.load_workbook(self.path, read_only=read_only, data_only=read_only)
        except (FileNotFoundError, PermissionError) as exc:
            raise self._cannot_open(exc) from None
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise StoreError(
                f"the {self.spec.name} workbook cannot be read: it is not a valid .xlsx file "
                f"({type(exc).__name__}). Restore it from a backup, or move it away and run "
                "'corecruit init'."
            ) from None

    def _cannot_open(self, exc: OSError) -> StoreError:
        """What to tell people when the file is not there or may not be opened."""
        if isinstance(exc, PermissionError):
            return WorkbookLockedError(
                f"the {self.spec.name} workbook cannot be opened (no permission, or open "
                "in another program); nothing was written."
            )
        return StoreError(
            f"the {self.spec.name} workbook does not exist yet. Run 'corecruit init' first."
        )

    def _find_sheet(self, wb: openpyxl.Workbook, spec: TabSpec) -> Worksheet | None:
        for title in self.titles_for(spec):
            if title in wb.sheetnames:
                return wb[title]
        lowered = {n.casefold(): n for n in wb.sheetnames}
        for title in self.titles_for(spec):
            if title.casefold() in lowered:
                return wb[lowered[title.casefold()]]
        return None

    # ---------------------------------------------------------------- primitives

    def _snapshot(self) -> _Snapshot:
        """The file as it is now: from the kept read when its stamp is unchanged."""
        try:
            fh = self.path.open("rb")
        except (FileNotFoundError, PermissionError) as exc:
            raise self._cannot_open(exc) from None
        with fh:
            st = os.fstat(fh.fileno())
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            with _CACHE_LOCK:
                hit = _READS.get(self._key)
                if hit is not None and hit.stamp == stamp:
                    _READS.move_to_end(self._key)
                    return hit
            data = fh.read()
            st = os.fstat(fh.fileno())
            same = stamp == (st.st_ino, st.st_mtime_ns, st.st_size)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                parts = _sheet_parts(zf)
            if not parts:
                raise KeyError("xl/workbook.xml")
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"the {self.spec.name} workbook cannot be read: it is not a valid .xlsx file "
                f"({type(exc).__name__}). Restore it from a backup, or move it away and run "
                "'corecruit init'."
            ) from None
        snap = _Snapshot(stamp, data, parts)
        if same:  # not written to while we read it
            with _CACHE_LOCK:
                _READS[self._key] = snap
                _READS.move_to_end(self._key)
                while len(_READS) > _READ_CACHE_SIZE:
                    _READS.popitem(last=False)
        return snap

    @staticmethod
    def _find_title(titles: Sequence[str], names: Sequence[str]) -> str | None:
        for title in names:
            if title in titles:
                return title
        lowered = {n.casefold(): n for n in titles}
        for title in names:
            if title.casefold() in lowered:
                return lowered[title.casefold()]
        return None

    def _read_grids(self, tabs: Sequence[TabSpec]) -> dict[str, Grid | None]:
        snap = self._snapshot()
        self._stamp = snap.stamp
        out: dict[str, Grid | None] = {}
        try:
            for spec in tabs:
                title = self._find_title(snap.titles, self.titles_for(spec))
                if title is None:
                    out[spec.id] = None
                    continue
                rows = snap.rows(title)
                if rows is None:  # a formula, an error cell or an escape: openpyxl reads it
                    got = self._read_openpyxl(tabs)
                    self._read_snap = snap if self._stamp == snap.stamp else None
                    return got
                out[spec.id] = self._grid(title, rows, unescape=False)
        except python_calamine.CalamineError as exc:
            raise StoreError(
                f"the {self.spec.name} workbook cannot be read: it is not a valid .xlsx file "
                f"({type(exc).__name__}). Restore it from a backup, or move it away and run "
                "'corecruit init'."
            ) from None
        self._read_snap = snap
        return out

    def tab_tokens(self, tabs: Sequence[str]) -> dict[str, str]:
        """Each tab's token from the file's zip directory (no cell is read): a file not
        changed since it was last read is not even read again."""
        snap = self._snapshot()
        out = {}
        for t in tabs:
            title = self._find_title(snap.titles, self.titles_for(self.tab(t)))
            out[t] = "missing" if title is None else snap.token(title)
        return out

    def _tokens_of(self, grids: Mapping[str, Grid | None]) -> dict[str, str]:
        snap = self._read_snap
        if snap is None:
            return super()._tokens_of(grids)
        return {t: snap.token(g.title) for t, g in grids.items() if g is not None}

    def _read_openpyxl(self, tabs: Sequence[TabSpec]) -> dict[str, Grid | None]:
        """The reader of old, for the few tabs calamine cannot read as openpyxl does."""
        with _CACHE_LOCK:
            self._stamp = self._file_stamp()
            wb = self._full()
            out: dict[str, Grid | None] = {}
            formulas: dict[str, set[tuple[int, int]]] = {}
            for spec in tabs:
                ws = self._find_sheet(wb, spec)
                if ws is None:
                    out[spec.id] = None
                    continue
                rows = [list(r) for r in ws.iter_rows(values_only=True)]
                at = {
                    (i, j)
                    for i, r in enumerate(rows)
                    for j, v in enumerate(r)
                    if isinstance(v, str)
                    and v.startswith("=")
                    and ws.cell(i + 1, j + 1).data_type == "f"
                }
                if at:
                    formulas[spec.id] = at
                out[spec.id] = self._grid(ws.title, rows)
        if formulas:  # someone typed a formula: read the values it showed, as before
            return self._read_values(tabs, formulas)
        return out

    @staticmethod
    def _grid(title: str, rows: list[list[Cell]], unescape: bool = True) -> Grid:
        if unescape:  # openpyxl leaves Excel's _xHHHH_ escapes in text; calamine does not
            rows = [[unescape_text(v) if isinstance(v, str) else v for v in r] for r in rows]
        header = [("" if v is None else str(v)) for v in (rows[0] if rows else [])]
        while header and header[-1].strip() == "":
            header.pop()
        return Grid(title, header, rows[1:])

    def _read_values(
        self, tabs: Sequence[TabSpec], formulas: Mapping[str, set[tuple[int, int]]]
    ) -> dict[str, Grid | None]:
        """Read with the values formulas last showed (data only), without the cache.

        A formula whose file holds no saved value (``formulas`` says where they are) is
        marked :data:`NO_SAVED_VALUE`, so it is reported as a bad cell instead of being
        read as an empty one. A formula that was calculated to empty text is saved as a
        text result (type ``str``) and stays an empty cell; one never calculated has no
        result type (openpyxl reads it as a number with no value).
        """
        wb = self._load(read_only=True)
        try:
            out: dict[str, Grid | None] = {}
            for spec in tabs:
                ws = self._find_sheet(wb, spec)
                if ws is None:
                    out[spec.id] = None
                    continue
                at = formulas.get(spec.id, set())
                rows: list[list[Cell]] = []
                unsaved: list[tuple[int, int]] = []
                for i, r in enumerate(ws.iter_rows()):
                    rows.append([c.value for c in r])
                    unsaved.extend(
                        (i, j)
                        for j, c in enumerate(r)
                        if i > 0 and (i, j) in at and c.value is None and c.data_type == "n"
                    )
                for i, j in unsaved:
                    rows[i][j] = NO_SAVED_VALUE
                out[spec.id] = self._grid(ws.title, rows)
            return out
        finally:
            wb.close()

    def _file(self) -> Path | None:
        return self.path

    def hold_export(self) -> str | None:
        """Not while a spreadsheet program has the file open: a save would be lost when the
        person saves theirs (the record keeps the change; the next run saves it)."""
        why, say = office_lock(self.path)
        if say and self.sync is not None:
            self.sync.note("old lock file", say)
        return why

    def _check_unchanged(self) -> None:
        if self._stamp is not None and self._file_stamp() != self._stamp:
            raise StoreError(
                f"the {self.spec.name} workbook was changed by someone else while this job "
                "ran; nothing was written. Run the job again."
            )

    def _as_read(self, v: Cell) -> Cell:
        """A date cell is read back as a date-time at midnight (openpyxl and calamine alike)."""
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            return dt.datetime(v.year, v.month, v.day)
        return v

    def _write_grids(self, grids: Mapping[str, tuple[Grid, int]]) -> None:
        with self.locked():
            self._check_unchanged()
            self.saved_others_as_they_were = False
            if self.fast_saves and self._save_changed_tabs(grids):
                self.saved_others_as_they_were = True  # only the changed tabs' parts rewritten
                return
            with _CACHE_LOCK:
                wb = self._full()
                try:
                    for tab_id, (grid, old_rows) in grids.items():
                        spec = self.tab(tab_id)
                        ws = self._find_sheet(wb, spec)
                        if ws is None and tab_id == STAMP:  # corecruit's own, made when needed
                            ws = wb.create_sheet(grid.title)
                            ws.sheet_state = "hidden"
                        if ws is None:
                            raise StoreError(f"tab '{spec.label}': {missing_tab(spec)}")
                        self._fill(ws, spec, grid, old_rows)
                    self._save(wb)
                except BaseException:
                    self._drop_cached()  # the copy in memory may be half-changed
                    raise
                self._stamp = self._file_stamp()
                self._remember(wb, self._stamp)

    def _save_changed_tabs(self, grids: Mapping[str, tuple[Grid, int]]) -> bool:
        """Save by rewriting only the changed tabs' rows in the file (see xlsx_write).

        False (nothing written) when that path cannot be sure: a tab not found as read,
        a header that changes, a formula, a style the file lacks... openpyxl saves then.
        """
        from .xlsx_write import Refused, SheetEdit, save_changed

        snap = self._snapshot()
        if self._stamp is not None and snap.stamp != self._stamp:
            return False
        edits: dict[str, SheetEdit] = {}
        try:
            for grid, _ in grids.values():
                if grid.title not in snap.parts:
                    raise Refused("a tab not in the file")
                try:
                    header, want = snap.header(grid.title), grid.header
                except python_calamine.CalamineError as exc:
                    raise Refused("calamine cannot read the header") from exc
                if len(header) < len(want) or any(
                    not isinstance(have, str) or have != w
                    for have, w in zip(header, want, strict=False)
                ):
                    raise Refused("the header changes")  # openpyxl writes it, with its notes
                edits[grid.title] = SheetEdit(grid.title, grid.header, grid.rows)
            data = save_changed(snap.data, snap.parts, edits, self._too_long)
        except Refused as why:
            log.debug("the %s workbook is saved through openpyxl: %s", self.spec.name, why)
            return False
        with _CACHE_LOCK:
            self._drop_cached()  # the openpyxl copy is of the old file
            self._save(data)
            self._stamp = self._file_stamp()
            if self._stamp is not None:  # what calamine read of the other tabs still holds
                snap = _Snapshot(
                    self._stamp,
                    data,
                    snap.parts,
                    {t: r for t, r in snap._rows.items() if t not in edits},
                )
                _READS[self._key] = snap
                _READS.move_to_end(self._key)
        return True

    def _too_long(self, title: str, row: int) -> StoreError:
        from .xlsx_write import XLSX_CELL_LIMIT

        return StoreError(
            f"{self.spec.name} workbook, tab '{title}', row {row}: the text is longer "
            f"than a spreadsheet cell can hold ({XLSX_CELL_LIMIT} characters); nothing "
            "was written."
        )

    def _fill(self, ws: Worksheet, spec: TabSpec, grid: Grid, old_rows: int) -> None:
        width = len(grid.header)
        for j, h in enumerate(grid.header, start=1):
            if ws.cell(row=1, column=j).value != h:
                ws.cell(row=1, column=j).value = h
        for i, row in enumerate(grid.rows, start=2):
            for j in range(1, width + 1):
                v = row[j - 1] if j - 1 < len(row) else None
                self._set(ws, spec, i, j, v)
        last = max(old_rows + 1, ws.max_row)
        for i in range(len(grid.rows) + 2, last + 1):
            for j in range(1, max(width, ws.max_column) + 1):
                c = ws.cell(row=i, column=j)
                if c.value is not None:
                    c.value = None

    def _set(self, ws: Worksheet, spec: TabSpec, r: int, c: int, v: Cell) -> None:
        from .xlsx_write import XLSX_CELL_LIMIT, escape_text, number_format

        cell = ws.cell(row=r, column=c)
        if isinstance(v, str):
            if len(v) > XLSX_CELL_LIMIT:
                raise self._too_long(ws.title, r)
            text = escape_text(v)
            cell.value = text
            if len(text) > XLSX_CELL_LIMIT:  # openpyxl would cut the escapes off the end
                cell._value = text
            cell.data_type = "s"  # never a formula, even when it starts with '='
            if text.startswith(FORMULA_START):
                cell.quotePrefix = True  # Excel and LibreOffice keep it as text when edited
            elif cell.has_style and cell.quotePrefix:
                cell.quotePrefix = False
        else:
            cell.value = v
            if isinstance(v, float):  # pragma: no cover - stores never make floats
                raise StoreError("internal: a float reached the store")
            if isinstance(v, Decimal):  # a number cell: the file holds its exact digits
                fmt = number_format(v)
                if cell.number_format != fmt:
                    cell.number_format = fmt

    def _save(self, wb: openpyxl.Workbook | bytes) -> None:
        """Replace the file (with a workbook, or the bytes of one) atomically."""
        private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(wb, bytes):
                    fh.write(wb)
                else:
                    wb.save(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except PermissionError:
            raise WorkbookLockedError(
                f"the {self.spec.name} workbook could not be replaced (is it open in Excel?); "
                "nothing was written."
            ) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _nothing_missing(self) -> InitReport | None:
        """At the start of a run: the report when every tab has every column, else None.

        Only header rows are read, and only those of tabs whose token moved since the
        last check (see :meth:`_init_memo`): a tab the last run saved is read up to the
        end of its first row (:meth:`_Snapshot.first_row`), never in full. So an
        ``init`` with nothing to add neither loads the workbook into openpyxl nor saves
        it, nor parses a sheet of scores to look at its header.
        """
        if not self.path.exists():
            return None
        try:
            memo = self._init_memo()
        except (StoreError, sqlite3.Error):
            memo = None
        led = self.sync.ledger if self.sync is not None else None
        kept: dict[str, Any] = {}
        if memo is not None and led is not None:
            kept = json.loads(led.mark(self.spec.name, INIT_MARK) or "{}")
            if kept.get("key") == memo[0] and kept.get("tokens") == memo[1]:
                # the file and all it was checked against as then
                return InitReport(
                    location=self.location,
                    tabs_missing=list(kept["tabs_missing"]),
                    columns_missing={k: list(v) for k, v in kept["columns_missing"].items()},
                )
        try:
            headers = self._headers(memo[1] if memo else None, kept)
        except StoreError:
            return None  # unreadable: the full init says so
        report = InitReport(location=self.location)
        if not any(h is not None for h in headers.values()):
            return None  # none of our tabs yet: set up in full
        for tab_id, header in headers.items():
            if header is None:
                report.tabs_missing.append(tab_id)
                continue
            ids = self._map_header(self.tab(tab_id), header)
            if self._to_add(self.tab(tab_id), ids):
                return None
            if withheld := self._withheld(self.tab(tab_id), ids):
                report.columns_missing[tab_id] = withheld
        if memo is not None and led is not None:
            value = {
                "key": memo[0],
                "tokens": memo[1],
                "headers": headers,
                "tabs_missing": report.tabs_missing,
                "columns_missing": report.columns_missing,
            }
            led.set_mark(self.spec.name, INIT_MARK, json.dumps(value))
        return report

    def _headers(
        self, tokens: Mapping[str, str] | None, kept: Mapping[str, Any]
    ) -> dict[str, list[str] | None]:
        """Each tab's header row as a read gives it (None: the tab is missing): kept from
        the last check for a tab whose token is the same, else read up to the end of row 1
        (the whole tab only where that row needs calamine or openpyxl)."""
        old_tokens = kept.get("tokens") or {}
        old = kept.get("headers") or {}
        out: dict[str, list[str] | None] = {}
        snap: _Snapshot | None = None
        for tab_id, spec in self.spec.tabs.items():
            if tokens is not None and tab_id in old and old_tokens.get(tab_id) == tokens[tab_id]:
                h = old[tab_id]
                out[tab_id] = None if h is None else [str(x) for x in h]
                continue
            if snap is None:
                snap = self._snapshot()
            title = self._find_title(snap.titles, self.titles_for(spec))
            if title is None:
                out[tab_id] = None
                continue
            try:
                row = snap.first_row(title)
            except python_calamine.CalamineError:
                row = None
            if row is None:  # only a full read is sure of this one
                grid = self._read_grids([spec])[tab_id]
                out[tab_id] = None if grid is None else list(grid.header)
            else:
                out[tab_id] = self._grid(title, [row], unescape=False).header
        return out

    def _init_memo(self) -> tuple[str, dict[str, str]] | None:
        """What :meth:`_nothing_missing` finds depends on, without reading a cell: the
        template and header_map, the record's tab versions and headers (a column it knows
        is never added back empty), and every tab's token (returned apart: a tab whose
        token is the same keeps the header it had). None without a record."""
        if self.sync is None:
            return None
        led = self.sync.ledger
        tokens = self.tab_tokens(list(self.spec.tabs))
        typed = {
            t for t, spec in self.spec.tabs.items() if any(not c.job_owned for c in spec.columns)
        }
        versions = {t: v for t, v in led.tab_versions(self.spec.name).items() if t in typed}
        parts = [
            repr(self.spec),
            repr(sorted(self.header_map.items())),
            repr(sorted(versions.items())),  # tabs with columns people fill in
            repr(sorted(led.headers(self.spec.name).items())),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest(), dict(tokens)

    def _init(self, add_tabs: bool = True) -> InitReport:
        if not add_tabs:
            with self.locked():
                done = self._nothing_missing()
            if done is not None:
                return done
        import openpyxl

        report = InitReport(location=self.location)
        self._drop_cached()
        with self.locked(), _CACHE_LOCK:
            if self.path.exists():
                wb = self._load(read_only=False)
            else:
                wb = openpyxl.Workbook()
                if wb.active is not None:
                    wb.remove(wb.active)
                report.created_workbook = True
            # a workbook with none of our tabs yet (made empty by staff) is set up in full
            fresh = report.created_workbook or not any(
                self._find_sheet(wb, s) for s in self.spec.tabs.values()
            )
            for spec in self.spec.tabs.values():
                ws = self._find_sheet(wb, spec)
                if ws is None and not add_tabs and not fresh:
                    report.tabs_missing.append(spec.id)  # never read as an empty one
                    continue
                if ws is None:
                    ws = wb.create_sheet(spec.label[:31])
                    report.tabs_added.append(spec.id)
                header = (
                    [
                        str(v)
                        for v in next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
                        if v is not None and str(v).strip()
                    ]
                    if ws.max_row >= 1 and ws.cell(1, 1).value is not None
                    else []
                )
                ids = self._map_header(spec, header)
                added = []
                new = fresh or spec.id in report.tabs_added
                if withheld := self._withheld(spec, ids, new):
                    report.columns_missing[spec.id] = withheld
                for col in self._to_add(spec, ids, new):
                    if col.id not in ids:
                        header.append(col.label)
                        ids.append(col.id)
                        ws.cell(row=1, column=len(header)).value = col.label
                        if not report.created_workbook and spec.id not in report.tabs_added:
                            added.append(col.id)
                if added:
                    report.columns_added[spec.id] = added
                self._format(ws, spec, ids)
            self._save(wb)
        self._stamp = None
        return report

    def _format(self, ws: Worksheet, spec: TabSpec, ids: list[str | None]) -> None:
        """Frozen header, notes, drop-downs and grey job-owned headers (idempotent)."""
        from openpyxl.comments import Comment
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation

        job_fill = PatternFill("solid", fgColor="D9D9D9")
        header_font = Font(bold=True)
        job_font = Font(bold=True, italic=True, color="404040")
        ws.freeze_panes = "A2"
        by_id = {c.id: c for c in spec.columns}
        existing = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
        for j, cid in enumerate(ids, start=1):
            col = by_id.get(cid or "")
            if col is None:
                continue
            cell = ws.cell(row=1, column=j)
            cell.font = job_font if col.job_owned else header_font
            if col.job_owned:
                cell.fill = job_fill
            who = {
                "job": "Filled in by corecruit: please don't edit.",
                "form": "Filled in from the forms.",
                "staff": "Filled in by staff.",
            }[col.filled_by]
            note = f"{col.description}\n{who}".strip()
            if cell.comment is None or cell.comment.text != note:
                cell.comment = Comment(note, "corecruit", width=300, height=120)
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(12, min(40, len(col.label) + 4))
            if col.allowed:
                ref = f"{letter}2:{letter}5000"
                if ref not in existing:
                    formula = '"' + ",".join(col.allowed) + '"'
                    if len(formula) <= 255:
                        dv = DataValidation(
                            type="list",
                            formula1=formula,
                            allow_blank=True,
                            showErrorMessage=True,
                            errorTitle="Not one of the choices",
                            error="Please pick a value from the list.",
                        )
                        dv.add(ref)
                        ws.add_data_validation(dv)
            elif col.type == "boolean":
                ref = f"{letter}2:{letter}5000"
                if ref not in existing:
                    dv = DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True)
                    dv.add(ref)
                    ws.add_data_validation(dv)
