"""Saving a workbook by rewriting only the tabs that changed, straight in the .xlsx zip.

openpyxl loads a whole workbook into objects and writes every part of it again, which is
most of what a run costs on a big campaign. Here every zip entry of the file is copied as
it is (still compressed) except the changed sheets' XML, where everything around
``<sheetData>`` (column widths, frozen header, drop-downs, conditional formats, the link
to the header notes) is kept byte for byte, the header row is kept as it is, and the data
rows are written anew with the values and cell styles the openpyxl path would have given
them (the same text escapes, number text, date serials and number formats).

Whenever something is not as expected (a formula, a table, a missing style, a layout this
writer does not know) :class:`Refused` is raised before anything is written, and the
store saves through openpyxl as before: correctness first, speed where it is sure.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from openpyxl.cell.cell import TIME_FORMATS
from openpyxl.compat import safe_string
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_REVERSE, is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from .cells import FORMULA_START, Cell

XLSX_CELL_LIMIT = 32_767
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_LITERAL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def escape_text(s: str) -> str:
    """Encode what XML cannot hold the way Excel does (``_xHHHH_``).

    Both writers use it, so a text reads back the same whichever path saved it.
    """
    s = _LITERAL_ESCAPE.sub(r"_x005F_\1", s)
    return _ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", s)


def number_format(d: Decimal) -> str:
    """The number format a decimal number cell gets: its own places, so 87.50 shows 87.50."""
    places = max(0, -int(d.as_tuple().exponent))
    return "0." + "0" * places if places else "0"


class Refused(Exception):
    """The fast path cannot be sure of this save; the caller saves through openpyxl.

    The message says why, for a developer (it never holds a cell's value).
    """


@dataclass
class SheetEdit:
    """New data rows for one sheet (``rows`` as the store's grid holds them)."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]


# ----------------------------------------------------------------------------- styles

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _flag(v: str | None) -> bool:
    return v in ("1", "true")


_XF = re.compile(rb"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.S)
_NUMFMT_ID = re.compile(rb'\snumFmtId="[^"]*"')
_QUOTE = re.compile(rb'\squotePrefix="[^"]*"')
_APPLY_NUMFMT = re.compile(rb'\sapplyNumberFormat="[^"]*"')
_COUNT = re.compile(rb'\scount="\d+"')
_EMPTY_NUMFMTS = re.compile(rb"<numFmts\b[^>]*/>")


def _xml_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


class Styles:
    """The cell formats (``cellXfs``) of ``xl/styles.xml``, to find a cell's variants.

    openpyxl changes only a cell's number format (a date, a decimal's places) or its
    quote prefix (text starting with ``=``) and keeps the rest of its style. This finds
    the format in the file that differs from a cell's own in just that way, and when
    the file has none yet adds it as openpyxl would (a copy of the cell's own format
    with that one attribute changed, and the number format's code when it is not
    built in); :meth:`xml` then gives the new ``styles.xml``.
    """

    def __init__(self, xml: bytes) -> None:
        try:
            root = ET.fromstring(xml)
        except ET.ParseError as exc:
            raise Refused("styles.xml cannot be parsed") from exc
        self._raw = xml
        codes: dict[int, str] = dict(BUILTIN_FORMATS)
        self._custom: dict[str, int] = {}
        for nf in root.iter(f"{_MAIN_NS}numFmt"):
            fmt_id, code = int(nf.get("numFmtId", "0")), nf.get("formatCode", "")
            codes[fmt_id] = code
            self._custom.setdefault(code, fmt_id)
        self._next_fmt = max([163, *(i for i in codes if i not in BUILTIN_FORMATS)]) + 1
        xfs = root.find(f"{_MAIN_NS}cellXfs")
        start, end = xml.find(b"<cellXfs"), xml.find(b"</cellXfs>")
        if xfs is None or start < 0 or end < start:
            raise Refused("styles.xml has no cell formats this writer can add to")
        self._raw_xfs = _XF.findall(xml, start, end)
        # Per format: its number format code, quote prefix, and what else it sets.
        self._xfs: list[tuple[str, bool, tuple[object, ...]]] = []
        for xf in xfs.findall(f"{_MAIN_NS}xf"):
            fmt_id = int(xf.get("numFmtId", "0"))
            if fmt_id not in codes:
                raise Refused("a cell format names a number format the file does not define")
            rest = (
                xf.get("fontId", "0"),
                xf.get("fillId", "0"),
                xf.get("borderId", "0"),
                xf.get("xfId", "0"),
                _flag(xf.get("pivotButton")),
                tuple(
                    (child.tag, tuple(sorted(child.attrib.items())))
                    for child in xf
                    if child.tag in (f"{_MAIN_NS}alignment", f"{_MAIN_NS}protection")
                ),
            )
            self._xfs.append((codes[fmt_id], _flag(xf.get("quotePrefix")), rest))
        if len(self._raw_xfs) != len(self._xfs):
            raise Refused("cell formats this writer cannot copy")
        self._index: dict[tuple[str, bool, tuple[object, ...]], int] = {}
        for i, key in enumerate(self._xfs):
            self._index.setdefault(key, i)
        self.memo: dict[tuple[object, int], int] = {}
        self._added: list[bytes] = []
        self._new_fmts: list[bytes] = []

    def __len__(self) -> int:
        return len(self._xfs)

    def _fmt_id(self, code: str) -> int:
        """The id of a number format by its code: built in, in the file, or added."""
        if code in BUILTIN_FORMATS_REVERSE:
            return int(BUILTIN_FORMATS_REVERSE[code])
        got = self._custom.get(code)
        if got is None:
            got = self._custom[code] = self._next_fmt
            self._next_fmt += 1
            self._new_fmts.append(
                f'<numFmt numFmtId="{got}" formatCode="{_xml_attr(code)}"/>'.encode()
            )
        return got

    def _variant(self, s: int, code: str | None = None, quote: bool | None = None) -> int:
        old_code, old_quote, rest = self._xfs[s]
        key = (old_code if code is None else code, old_quote if quote is None else quote, rest)
        got = self._index.get(key)
        if got is not None:
            return got
        xf = self._raw_xfs[s]
        end = xf.index(b"/>") if xf.endswith(b"/>") and b"</xf>" not in xf else xf.index(b">")
        tag, tail = xf[:end], xf[end:]
        if code is not None:
            tag = _NUMFMT_ID.sub(b"", tag) + f' numFmtId="{self._fmt_id(code)}"'.encode()
            if _APPLY_NUMFMT.search(tag):
                tag = _APPLY_NUMFMT.sub(b' applyNumberFormat="1"', tag)
        if quote is not None:
            tag = _QUOTE.sub(b"", tag) + (b' quotePrefix="1"' if quote else b"")
        got = len(self._xfs)
        self._xfs.append(key)
        self._raw_xfs.append(tag + tail)
        self._added.append(tag + tail)
        self._index[key] = got
        return got

    def xml(self) -> bytes | None:
        """The new ``styles.xml`` when formats were added (else None: it stays as it is)."""
        if not self._added:
            return None
        raw = self._raw
        start, end = raw.find(b"<cellXfs"), raw.find(b"</cellXfs>")
        head_end = raw.index(b">", start)
        open_tag = _COUNT.sub(f' count="{len(self._xfs)}"'.encode(), raw[start:head_end], 1)
        raw = raw[:start] + open_tag + raw[head_end:end] + b"".join(self._added) + raw[end:]
        if self._new_fmts:
            n = len(self._new_fmts)
            block = f'<numFmts count="{n}">'.encode() + b"".join(self._new_fmts) + b"</numFmts>"
            at = raw.find(b"</numFmts>")
            if at < 0 and b"<numFmts" in raw:  # an empty one, <numFmts count="0"/>
                raw, found = _EMPTY_NUMFMTS.subn(block, raw, 1)
                if not found:
                    raise Refused("number formats this writer cannot add to")
            elif at >= 0:
                start = raw.find(b"<numFmts")
                head_end = raw.index(b">", start)
                count = _COUNT.search(raw, start, head_end)
                tag = raw[start:head_end]
                if count is not None:
                    old = int(count.group(0).split(b'"')[1])
                    tag = _COUNT.sub(f' count="{old + n}"'.encode(), tag, 1)
                raw = raw[:start] + tag + raw[head_end:at] + b"".join(self._new_fmts) + raw[at:]
            else:  # numFmts comes first in a styleSheet
                at = raw.index(b">", raw.index(b"<styleSheet")) + 1
                raw = raw[:at] + block + raw[at:]
        return raw

    def resolve(self, kind: object, s: int) -> int:
        """The format a cell of format ``s`` gets for a value of ``kind`` (as ``_set`` and
        openpyxl give it): ``"q"`` text starting like a formula (quoted), ``"t"`` other
        text, ``("n", code)`` a decimal number, ``("d", type)`` a date, time or both."""
        got = self.memo.get((kind, s))
        if got is not None:
            return got
        code, quoted, _ = self._xfs[s]
        if kind == "q":
            got = s if quoted else self._variant(s, quote=True)
        elif kind == "t":
            got = self._variant(s, quote=False) if quoted else s
        elif isinstance(kind, tuple) and kind[0] == "n":
            got = s if code == kind[1] else self._variant(s, code=kind[1])
        elif isinstance(kind, tuple) and kind[0] == "d":
            got = s if is_date_format(code) else self._variant(s, code=TIME_FORMATS[kind[1]])
        else:  # pragma: no cover - the writer asks only for the kinds above
            raise Refused("an unknown kind of value")
        self.memo[(kind, s)] = got
        return got


# ----------------------------------------------------------------------------- sheets

_ROW = re.compile(rb'<row r="(\d+)"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"([^>]*?)(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(rb'\bs="(\d+)"')
_SPANS = re.compile(rb'\s+spans="[^"]*"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')
_XML_DECL = re.compile(rb'^\s*<\?xml[^>]*encoding="(?!utf-8|UTF-8)')
_COLS: dict[bytes, int] = {}


def column_number(letters: bytes) -> int:
    """A column's number from its letters (b"A" is 1, b"AA" is 27), kept once worked out."""
    got = _COLS.get(letters)
    if got is None:
        got = 0
        for ch in letters:
            got = got * 26 + ch - 64
        _COLS[letters] = got
    return got


@dataclass
class _OldRow:
    attrs: bytes  # everything after r="N" in the row's start tag, spans left out
    styles: dict[int, int]  # column -> format, for the cells that have one
    extra: list[tuple[int, bytes]]  # cells right of the header: (column, XML as it is)


_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"( s="\d+")?')


_CHUNK = 1 << 20


class _OldSheet:
    """A sheet's XML read in pieces, so a big tab is never held whole.

    ``head`` is everything before the rows; :meth:`rows` gives each ``<row>`` as
    (row number, attributes, content), refused unless the rows are all there is, each
    with its number, in order, and no formula among them; then ``tail`` is everything
    after the rows.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        buf = b""
        while (at := buf.find(b"<sheetData>")) < 0:
            chunk = fh.read(_CHUNK)
            if not chunk:
                raise Refused("no sheetData (an empty sheet, or a prefixed namespace)")
            buf += chunk
        self.head = buf[:at]
        self._buf = buf[at + len(b"<sheetData>") :]
        self.tail = b""

    def rows(self) -> Iterator[tuple[int, bytes, bytes]]:
        buf, last, done = self._buf, 0, False
        self._buf = b""
        while True:
            end = buf.find(b"</sheetData>")
            if end >= 0:
                region, rest, done = buf[:end], buf[end:], True
            else:
                cut = buf.rfind(b"</row>")
                cut = cut + len(b"</row>") if cut >= 0 else 0
                region, rest = buf[:cut], buf[cut:]
            if _FORMULA.search(region):
                raise Refused("a formula on the sheet")
            at = 0
            for m in _ROW.finditer(region):
                if region[at : m.start()].strip():
                    raise Refused("sheetData holds something other than numbered rows")
                r = int(m.group(1))
                if r <= last:
                    raise Refused("rows out of order")
                last, at = r, m.end()
                yield r, m.group(2), m.group(3) or b""
            if done:
                if region[at:].strip():
                    raise Refused("sheetData holds something other than numbered rows")
                self.tail = rest + self.fh.read()
                return
            rest = region[at:] + rest
            chunk = self.fh.read(_CHUNK)
            if not chunk:
                raise Refused("the sheet ends inside its rows")
            buf = rest + chunk


def _parse_row(r: int, attrs: bytes, content: bytes, width: int, n_styles: int) -> _OldRow:
    """An old row's cell formats (and the cells right of the header, kept as they are).

    The common row (each cell's reference first, its format next, nothing right of the
    header) is read with one regex pass; any other is read cell by cell.
    """
    if b"spans=" in attrs:
        attrs = _SPANS.sub(b"", attrs)
    refs = _REF.findall(content)
    rb = str(r).encode()
    styles: dict[int, int] = {}
    simple = True
    for letters, row, style in refs:
        c = _COLS.get(letters) or column_number(letters)
        if row != rb or c > width:
            simple = False
            break
        if style:
            styles[c] = int(style[4:-1])
    # every "<c" a cell with its reference first, every 's="' a format read (counts are
    # upper bounds: rich text or text holding 's="' only sends the row the slow way)
    if simple and len(refs) == content.count(b"<c") and len(styles) == content.count(b's="'):
        if styles and max(styles.values()) >= n_styles:
            raise Refused("a cell names a format the file does not have")
        return _OldRow(attrs, styles, [])
    return _parse_row_slowly(r, attrs, content, width, n_styles)


def _parse_row_slowly(r: int, attrs: bytes, content: bytes, width: int, n_styles: int) -> _OldRow:
    styles: dict[int, int] = {}
    extra: list[tuple[int, bytes]] = []
    at, last = 0, 0
    for m in _CELL.finditer(content):
        c = column_number(m.group(1))
        if content[at : m.start()].strip() or int(m.group(2)) != r or c <= last:
            raise Refused("a cell without its reference, in the wrong row or out of order")
        at, last = m.end(), c
        found = _STYLE.findall(m.group(3))
        if len(found) > 1:
            raise Refused("a cell with two formats")
        style = int(found[0]) if found else 0
        if style >= n_styles:
            raise Refused("a cell names a format the file does not have")
        if style:
            styles[c] = style
        if c > width:
            extra.append((c, m.group(0)))
    if content[at:].strip():
        raise Refused("a row holds something other than cells")
    return _OldRow(attrs, styles, extra)


_NEEDS_ESCAPE = re.compile(
    "[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]|_x[0-9A-Fa-f]{4}_"
)
_DATES = (dt.datetime, dt.date, dt.time)


_TAILS = 100_000  # cell texts kept per save: short values repeat (ids, scores, dates)


class _Rows:
    """The new sheetData, row by row, as openpyxl would save the same values.

    Iterating gives each row's XML; afterwards ``max_row`` and ``max_col`` say how far
    the cells written reach (the sheet's dimension).
    """

    def __init__(
        self,
        old: _OldSheet,
        edit: SheetEdit,
        styles: Styles,
        too_long: Callable[[str, int], Exception],
    ) -> None:
        self.old, self.edit, self.styles, self.too_long = old, edit, styles, too_long
        self.max_row, self.max_col = 1, 1

    def _tail(self, v: Cell, s: int) -> str:
        """A cell's XML after its reference (``<c r="B7"`` + this), as openpyxl would
        write ``v`` in a cell of format ``s``; "" when there is nothing to write."""
        styles = self.styles
        t = type(v)
        if t is str:
            assert isinstance(v, str)
            if _NEEDS_ESCAPE.search(v):
                v = escape_text(v)
            s = styles.resolve("q" if v.startswith(FORMULA_START) else "t", s)
            if not v:
                return f' s="{s}"/>' if s else ""
            if "&" in v or "<" in v or ">" in v:
                v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            style = f' s="{s}"' if s else ""
            return f'{style} t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>'
        if v is None:
            return f' s="{s}"/>' if s else ""
        if t is bool:
            return (f' s="{s}"' if s else "") + f' t="b"><v>{1 if v else 0}</v></c>'
        if t is int:
            return (f' s="{s}"' if s else "") + f' t="n"><v>{safe_string(v)}</v></c>'
        if t is Decimal:
            assert isinstance(v, Decimal)
            if not v.is_finite():
                raise Refused("a number that is not finite")
            s = styles.resolve(("n", number_format(v)), s)
            return (f' s="{s}"' if s else "") + f' t="n"><v>{safe_string(v)}</v></c>'
        if t in _DATES:
            assert isinstance(v, dt.date | dt.time)
            if getattr(v, "tzinfo", None) is not None:
                raise Refused("a date-time with a time zone")
            s = styles.resolve(("d", t), s)
            serial = safe_string(to_excel(v))
            return (f' s="{s}"' if s else "") + f' t="n"><v>{serial}</v></c>'
        raise Refused("a value of a kind this writer does not write")

    def __iter__(self) -> Iterator[bytes]:
        edit, styles = self.edit, self.styles
        tails: dict[tuple[type, object, int], str] = {}
        width, n, n_styles = len(edit.header), len(edit.rows), len(styles)
        letters = [""] + [get_column_letter(c) for c in range(1, width + 1)]
        olds = self.old.rows()
        pending = next(olds, None)
        if pending is None or pending[0] != 1:
            raise Refused("no header row")
        header = _parse_row_slowly(*pending, width=0, n_styles=n_styles)
        if not header.extra or header.extra[-1][0] < width:
            raise Refused("the header row is not where it was read")
        self.max_col = header.extra[-1][0]
        _, attrs1, content1 = pending
        yield b'<row r="1"' + attrs1 + b">" + content1 + b"</row>"
        pending = next(olds, None)
        none: dict[int, int] = {}
        for i in range(n):
            r = i + 2
            prev: _OldRow | None = None
            if pending is not None and pending[0] == r:
                prev = _parse_row(*pending, width=width, n_styles=n_styles)
                pending = next(olds, None)
            kept = prev.styles if prev is not None else none
            values = edit.rows[i]
            lv = len(values)
            rs = str(r)
            parts: list[str] = []
            last = 0
            for c in range(1, width + 1):
                v = values[c - 1] if c <= lv else None
                s = kept.get(c, 0) if kept else 0
                if v is None and not s:
                    continue
                t = type(v)
                key = (t, str(v) if t is Decimal else v, s)
                tail = tails.get(key)
                if tail is None:
                    if isinstance(v, str) and len(v) > XLSX_CELL_LIMIT:
                        raise self.too_long(edit.title, r)
                    tail = self._tail(v, s)
                    if len(tails) < _TAILS and not (isinstance(v, str) and len(v) > 64):
                        tails[key] = tail
                if tail:
                    parts.append(f'<c r="{letters[c]}{rs}"{tail}')
                    last = c
            attrs = prev.attrs if prev is not None else b""
            extra = b""
            if prev is not None and prev.extra:
                extra = b"".join(x for _, x in prev.extra)
                last = prev.extra[-1][0]
            if parts or extra:
                self.max_row = r
                self.max_col = max(self.max_col, last)
            if parts or extra or attrs.strip():
                yield (
                    f'<row r="{rs}"'.encode()
                    + attrs
                    + b">"
                    + "".join(parts).encode()
                    + extra
                    + b"</row>"
                )
        while pending is not None:  # rows past the new end: cleared, their formats kept
            r = pending[0]
            prev = _parse_row_slowly(*pending, width=0, n_styles=n_styles)
            pending = next(olds, None)
            styled = [(c, s) for c, s in sorted(prev.styles.items())]
            if styled:
                self.max_row = r
                self.max_col = max(self.max_col, styled[-1][0])
            if styled or prev.attrs.strip():
                body = "".join(f'<c r="{get_column_letter(c)}{r}" s="{s}"/>' for c, s in styled)
                yield f'<row r="{r}"'.encode() + prev.attrs + b">" + body.encode() + b"</row>"


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of two pieces from theirs (zlib's crc32_combine, which Python lacks)."""

    def times(mat: list[int], vec: int) -> int:
        out, i = 0, 0
        while vec:
            if vec & 1:
                out ^= mat[i]
            vec >>= 1
            i += 1
        return out

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[k]) for k in range(32)]

    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << k for k in range(31)]
    even = square(odd)
    odd = square(even)
    while True:
        even = square(odd)
        if len2 & 1:
            crc1 = times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = square(even)
        if len2 & 1:
            crc1 = times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@dataclass
class _Packed:
    crc: int
    size: int
    data: bytes


def rebuild_sheet(
    src: bytes | IO[bytes],
    edit: SheetEdit,
    styles: Styles,
    too_long: Callable[[str, int], Exception],
    level: int = 6,
) -> _Packed:
    """The sheet's XML with new data rows, deflated; everything outside ``<sheetData>``
    kept as it is but the dimension.

    The old rows are read and the new ones deflated as they are made (a big tab is
    never held whole); the part before them, which holds the dimension known only at
    the end, is deflated last and put in front (two deflate streams join when the first
    ends on a sync flush).
    """
    old = _OldSheet(io.BytesIO(src) if isinstance(src, bytes) else src)
    if _XML_DECL.match(old.head):
        raise Refused("the sheet is not UTF-8")
    rows = _Rows(old, edit, styles, too_long)
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, size, out = 0, 0, []
    batch: list[bytes] = []
    for chunk in rows:
        batch.append(chunk)
        if len(batch) >= 256:
            data = b"".join(batch)
            batch.clear()
            crc, size = zlib.crc32(data, crc), size + len(data)
            out.append(comp.compress(data))
    if b"<sheetData" in old.tail or b"<tableParts" in old.tail:
        raise Refused("a second sheetData, or a table on the sheet")
    data = b"".join(batch) + old.tail
    crc, size = zlib.crc32(data, crc), size + len(data)
    out.append(comp.compress(data))
    out.append(comp.flush())
    dim = f'<dimension ref="A1:{get_column_letter(rows.max_col)}{rows.max_row}"/>'.encode()
    head, found = _DIMENSION.subn(dim, old.head, count=1)
    if not found and b"<dimension" in head:
        raise Refused("a dimension this writer does not read")
    head += b"<sheetData>"
    first = zlib.compressobj(level, zlib.DEFLATED, -15)
    front = first.compress(head) + first.flush(zlib.Z_SYNC_FLUSH)
    return _Packed(
        _crc32_combine(zlib.crc32(head), crc, size),
        len(head) + size,
        front + b"".join(out),
    )


# -------------------------------------------------------------------------------- zip

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_LOCAL_SIG, _CENTRAL_SIG, _END_SIG, _DESC_SIG = 0x04034B50, 0x02014B50, 0x06054B50, 0x08074B50


@dataclass
class _Entry:
    name: bytes
    central: bytes  # the central directory record, as in the file
    local: bytes  # local header + compressed data (+ descriptor), as in the file


def _entries(data: bytes) -> list[_Entry]:
    """The zip's entries in order, each with its bytes to copy (no zip64, no spanning)."""
    end = data.rfind(struct.pack("<I", _END_SIG), max(0, len(data) - 65_557))
    if end < 0 or end + _END.size > len(data):
        raise Refused("no end of central directory")
    _, disk, cd_disk, n_disk, n, cd_size, cd_at, _ = _END.unpack_from(data, end)
    if disk or cd_disk or n != n_disk or 0xFFFF in (n,) or 0xFFFFFFFF in (cd_size, cd_at):
        raise Refused("a split or zip64 archive")
    out: list[_Entry] = []
    at = cd_at
    for _ in range(n):
        if at + _CENTRAL.size > len(data):
            raise Refused("central directory cut short")
        f = _CENTRAL.unpack_from(data, at)
        if f[0] != _CENTRAL_SIG:
            raise Refused("central directory record expected")
        flags, csize, usize = f[3], f[8], f[9]
        nlen, xlen, clen, offset = f[10], f[11], f[12], f[16]
        if flags & 0x1 or 0xFFFFFFFF in (csize, usize, offset):
            raise Refused("an encrypted or zip64 entry")
        rec_end = at + _CENTRAL.size + nlen + xlen + clen
        name = data[at + _CENTRAL.size : at + _CENTRAL.size + nlen]
        lf = _LOCAL.unpack_from(data, offset)
        if lf[0] != _LOCAL_SIG:
            raise Refused("local header expected")
        stop = offset + _LOCAL.size + lf[9] + lf[10] + csize
        if lf[2] & 0x08:  # a data descriptor follows: copied with the data
            sig = data[stop : stop + 4] == struct.pack("<I", _DESC_SIG)
            stop += 16 if sig else 12
        if stop > cd_at:
            raise Refused("an entry runs past the central directory")
        out.append(_Entry(name, data[at:rec_end], data[offset:stop]))
        at = rec_end
    return out


def _replace_entry(e: _Entry, p: _Packed, offset: int) -> tuple[bytes, bytes]:
    """A new local header + data and central record for a rewritten entry."""
    f = list(_CENTRAL.unpack_from(e.central, 0))
    flags = f[3] & 0x0800  # keep only "the name is UTF-8"
    if len(p.data) >= 0xFFFFFFFF or p.size >= 0xFFFFFFFF:
        raise Refused("a sheet too big for a zip without zip64")
    local = _LOCAL.pack(
        _LOCAL_SIG, 20, flags, 8, f[5], f[6], p.crc, len(p.data), p.size, len(e.name), 0
    )
    comment = e.central[_CENTRAL.size + f[10] + f[11] :]
    f[2] = 20  # version needed: deflate
    f[3], f[4], f[7], f[8], f[9] = flags, 8, p.crc, len(p.data), p.size
    f[11], f[16] = 0, offset  # no extra field; where the entry now starts
    central = _CENTRAL.pack(*f) + e.name + comment
    return local + e.name + p.data, central


def save_changed(
    data: bytes,
    parts: Mapping[str, str],
    edits: Mapping[str, SheetEdit],
    too_long: Callable[[str, int], Exception],
    level: int = 6,
) -> bytes:
    """The workbook ``data`` with each edited sheet (by title) rewritten; all else as is.

    ``parts`` maps sheet titles to their XML part in the zip. Raises :class:`Refused`
    (nothing done) when the fast path cannot be sure, and ``too_long(title, row)`` for a
    text longer than a cell can hold.
    """
    entries = _entries(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            book = zf.read("xl/workbook.xml")
            styles = Styles(zf.read("xl/styles.xml"))
        except KeyError as exc:
            raise Refused("no workbook.xml or styles.xml") from exc
        if re.search(rb'date1904="(?:1|true)"', book):
            raise Refused("a workbook counting dates from 1904")
        packed: dict[bytes, _Packed] = {}
        for title, edit in edits.items():
            part = parts.get(title)
            if part is None:
                raise Refused("a tab not in the workbook")
            try:
                fh = zf.open(part)
            except KeyError as exc:
                raise Refused("a sheet part missing") from exc
            with fh:
                packed[part.encode()] = rebuild_sheet(fh, edit, styles, too_long, level)
        new_styles = styles.xml()
        if new_styles is not None:
            comp = zlib.compressobj(level, zlib.DEFLATED, -15)
            packed[b"xl/styles.xml"] = _Packed(
                zlib.crc32(new_styles),
                len(new_styles),
                comp.compress(new_styles) + comp.flush(),
            )
    names = {e.name for e in entries}
    if not set(packed) <= names:
        raise Refused("a sheet part named differently in the zip")
    body: list[bytes] = []
    central: list[bytes] = []
    at = 0
    for e in entries:
        if e.name in packed:
            local, rec = _replace_entry(e, packed[e.name], at)
        else:
            f = list(_CENTRAL.unpack_from(e.central, 0))
            f[16] = at
            local, rec = e.local, _CENTRAL.pack(*f) + e.central[_CENTRAL.size :]
        body.append(local)
        central.append(rec)
        at += len(local)
    cd = b"".join(central)
    if at + len(cd) >= 0xFFFFFFFF:
        raise Refused("a workbook too big for a zip without zip64")
    end = _END.pack(_END_SIG, 0, 0, len(entries), len(entries), len(cd), at, 0)
    return b"".join(body) + cd + end
