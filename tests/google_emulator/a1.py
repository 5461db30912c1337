"""A1 notation as Google Sheets reads and writes it.

Parsing: ``Sheet1``, ``'My tab'!A1:D4``, ``A:A``, ``A1:1``, ``A2:C``, ``D4:A1``
(reversed ranges are swapped), a named range, or a bare ``A1`` meaning the first
sheet. Formatting: the normalised form Google answers with, ``Sheet1!A1:D4``,
quoting the title only when it needs it (``'My tab'!A1``, ``'D3'!A1``).
"""

from __future__ import annotations

import re

_CELL = re.compile(r"^([A-Za-z]{0,3})(\d{0,7})$")
_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}\d+$|^[Rr]\d+[Cc]\d+$")


class RangeError(ValueError):
    """The text is not a range Google would parse."""


def col_letters(n: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """Quote a sheet title the way Google does in the ranges it returns."""
    if _SIMPLE_TITLE.match(title) and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet(text: str) -> tuple[str | None, str]:
    """``'a''b'!A1`` -> ("a'b", "A1"); ``Sheet1`` -> (None, "Sheet1")."""
    text = text.strip()
    if text.startswith("'"):
        i, out = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(out), ""
                if rest.startswith("!"):
                    return "".join(out), rest[1:]
                raise RangeError(text)
            out.append(ch)
            i += 1
        raise RangeError(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def parse_cells(cells: str) -> tuple[int, int | None, int, int | None]:
    """``A1:D4`` -> (r0, r1, c0, c1), half-open; an open end is None (edge of the grid)."""
    parts = [p.strip() for p in cells.split(":")]
    if len(parts) > 2 or not all(parts):
        raise RangeError(cells)
    parsed: list[tuple[int | None, int | None]] = []
    for p in parts:
        m = _CELL.match(p)
        if not m or (not m.group(1) and not m.group(2)):
            raise RangeError(cells)
        letters, digits = m.groups()
        if digits and int(digits) == 0:
            raise RangeError(cells)
        parsed.append(
            (col_index(letters) if letters else None, int(digits) - 1 if digits else None)
        )
    if len(parsed) == 1:
        c, r = parsed[0]
        if c is None or r is None:  # "A" or "1" alone is not a range
            raise RangeError(cells)
        return r, r + 1, c, c + 1
    (cs, rs), (ce, re_) = parsed
    r0, c0 = rs or 0, cs or 0
    r_end, c_end = re_, ce
    if r_end is not None and r_end < r0:
        r0, r_end = r_end, r0
    if c_end is not None and c_end < c0:
        c0, c_end = c_end, c0
    return r0, None if r_end is None else r_end + 1, c0, None if c_end is None else c_end + 1


def a1(r0: int, r1: int, c0: int, c1: int) -> str:
    """Half-open bounds -> ``A1`` or ``A1:D4``."""
    start = f"{col_letters(c0)}{r0 + 1}"
    if r1 - r0 == 1 and c1 - c0 == 1:
        return start
    return f"{start}:{col_letters(c1 - 1)}{r1}"


def fmt(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    return f"{quote_title(title)}!{a1(r0, r1, c0, c1)}"
