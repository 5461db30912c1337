"""Sheets v4: spreadsheets, values and the batchUpdate requests corecruit (and gspread) send.

The model keeps, per sheet, the cells that hold something (value, formula), the
notes, and formats / data validation as range rules (so a rule over a whole
column costs one entry, not a thousand). Answers follow the recordings in
``../shared/google-api-recordings``: trailing empty cells and rows are left out
of ``values``, ranges come back normalised (``Sheet1!A1:D4``), proto3 defaults
(``0``, ``false``, sheet id ``0``) are left out, errors use Google's envelope.

Values: RAW keeps strings as strings (``=1+1`` stays text). USER_ENTERED parses
as the Sheets UI does: ``=…`` is a formula (simple arithmetic and cell
references are evaluated; FORMULA rendering returns the formula), numbers,
TRUE/FALSE, dates (kept with the text typed, as a serial number underneath),
and a leading apostrophe forces text.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

from . import a1
from .core import ApiError, Emulator, Request, apply_fields, bad_request, parse_fields, route
from .drive import SPREADSHEET, add_file, file_for, files, refuse_service_account_owner, touch

SHEETS_READ = ("spreadsheets", "spreadsheets.readonly", "drive", "drive.readonly", "drive.file")
SHEETS_WRITE = ("spreadsheets", "drive", "drive.file")
CELL_CHAR_LIMIT = 50_000
EPOCH = dt.datetime(1899, 12, 30)

DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme_colour(
    kind: str, r: float | None = None, g: float | None = None, b: float | None = None
) -> dict[str, Any]:
    rgb = {k: v for k, v in (("red", r), ("green", g), ("blue", b)) if v is not None}
    return {"colorType": kind, "color": {"rgbColor": rgb}}


DEFAULT_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        _theme_colour("TEXT"),
        _theme_colour("BACKGROUND", 1, 1, 1),
        _theme_colour("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
        _theme_colour("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
        _theme_colour("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
        _theme_colour("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
        _theme_colour("ACCENT5", 1, 0.42745098, 0.003921569),
        _theme_colour("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
        _theme_colour("LINK", 0.06666667, 0.33333334, 0.8),
    ],
}


# ------------------------------------------------------------------------ model


@dataclass
class Cell:
    kind: str  # "s" string, "n" number, "b" boolean, "e" error
    value: Any
    formula: str | None = None
    text: str | None = None  # how a date/time typed by a person shows (FORMATTED_STRING)


@dataclass
class Rule:
    """A format or validation over a rectangle (half-open bounds)."""

    r0: int
    r1: int
    c0: int
    c1: int
    data: Any

    def covers(self, r: int, c: int) -> bool:
        return self.r0 <= r < self.r1 and self.c0 <= c < self.c1


@dataclass
class Sheet:
    props: dict[str, Any]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    formats: list[Rule] = field(default_factory=list)
    validations: list[Rule] = field(default_factory=list)
    merges: list[dict[str, int]] = field(default_factory=list)
    protected: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    row_groups: list[dict[str, Any]] = field(default_factory=list)
    col_groups: list[dict[str, Any]] = field(default_factory=list)
    row_meta: dict[int, dict[str, Any]] = field(default_factory=dict)
    col_meta: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.props.get("sheetId", 0))

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def rows(self) -> int:
        return int(self.props["gridProperties"]["rowCount"])

    @property
    def cols(self) -> int:
        return int(self.props["gridProperties"]["columnCount"])


@dataclass
class Spreadsheet:
    id: str
    properties: dict[str, Any]
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)

    def ordered(self) -> list[Sheet]:
        return sorted(self.sheets, key=lambda s: s.props.get("index", 0))

    def reindex(self) -> None:
        for i, s in enumerate(self.ordered()):
            s.props["index"] = i

    def by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.id == sheet_id), None)

    def by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        low = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == low), None)


def spreadsheets(emu: Emulator) -> dict[str, Spreadsheet]:
    return emu.state("sheets").setdefault("spreadsheets", {})


def _grid_props(rows: int = 1000, cols: int = 26) -> dict[str, Any]:
    return {"rowCount": rows, "columnCount": cols}


def new_sheet_props(
    sheet_id: int, title: str, index: int, rows: int = 1000, cols: int = 26
) -> dict[str, Any]:
    return {
        "sheetId": sheet_id,
        "title": title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": _grid_props(rows, cols),
    }


def new_spreadsheet(emu: Emulator, ss_id: str, title: str) -> Spreadsheet:
    ss = Spreadsheet(
        ss_id,
        {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        },
        [Sheet(new_sheet_props(0, "Sheet1", 0))],
    )
    spreadsheets(emu)[ss_id] = ss
    return ss


def open_spreadsheet(
    emu: Emulator, req: Request, ss_id: str, *, write: bool = False
) -> Spreadsheet:
    assert req.principal is not None
    file_for(emu, req.principal, ss_id, write=write, via_drive=False)
    ss = spreadsheets(emu).get(ss_id)
    if ss is None:
        raise ApiError(404, "Requested entity was not found.")
    if write:
        touch(files(emu)[ss_id])
    return ss


# ----------------------------------------------------------------------- ranges


@dataclass
class Target:
    sheet: Sheet
    r0: int
    r1: int | None
    c0: int
    c1: int | None
    single: bool = False  # "A1": writes start here and may run past it

    def bounds(self) -> tuple[int, int, int, int]:
        return (
            self.r0,
            self.sheet.rows if self.r1 is None else self.r1,
            self.c0,
            self.sheet.cols if self.c1 is None else self.c1,
        )

    def text(self) -> str:
        r0, r1, c0, c1 = self.bounds()
        return a1.fmt(self.sheet.title, r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))


def resolve(ss: Spreadsheet, text: str) -> Target:
    """A1 text -> sheet and bounds, or Google's 400 'Unable to parse range'."""
    err = bad_request(f"Unable to parse range: {text}")
    try:
        title, cells = a1.split_sheet(text)
    except a1.RangeError:
        raise err from None
    if title is None:
        sheet = ss.by_title(cells)
        if sheet is not None and cells:
            return Target(sheet, 0, None, 0, None)
        named = _named(ss, cells)
        if named is not None:
            return named
        sheet = ss.ordered()[0]
    else:
        found = ss.by_title(title)
        if found is None:
            raise err
        sheet = found
        if cells == "":
            return Target(sheet, 0, None, 0, None)
    try:
        r0, r1, c0, c1 = a1.parse_cells(cells)
    except a1.RangeError:
        named = _named(ss, cells)  # 'Sheet1'!MyRange works too
        if named is not None:
            return named
        raise err from None
    return Target(sheet, r0, r1, c0, c1, single=":" not in cells)


def _named(ss: Spreadsheet, name: str) -> Target | None:
    for nr in ss.named_ranges:
        if nr["name"] == name:
            rng = nr["range"]
            sh = ss.by_id(int(rng.get("sheetId", 0)))
            if sh is None:
                return None
            return Target(
                sh,
                rng.get("startRowIndex", 0),
                rng.get("endRowIndex"),
                rng.get("startColumnIndex", 0),
                rng.get("endColumnIndex"),
            )
    return None


def grid_range(ss: Spreadsheet, rng: dict[str, Any], what: str) -> tuple[Sheet, int, int, int, int]:
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    r0 = int(rng.get("startRowIndex", 0))
    r1 = int(rng.get("endRowIndex", sheet.rows))
    c0 = int(rng.get("startColumnIndex", 0))
    c1 = int(rng.get("endColumnIndex", sheet.cols))
    if r1 > sheet.rows or c1 > sheet.cols or r0 < 0 or c0 < 0:
        where = a1.a1(r0, max(r1, r0 + 1), c0, max(c1, c0 + 1))
        raise BuError(
            f"Range ({a1.quote_title(sheet.title)}!{where}) "
            f"exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}"
        )
    return sheet, r0, r1, c0, c1


def out_range(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> dict[str, int]:
    """A GridRange as Google returns it (sheet id 0 left out)."""
    d: dict[str, int] = {}
    if sheet.id:
        d["sheetId"] = sheet.id
    d.update({"startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1})
    return d


# ----------------------------------------------------------------------- values


_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?(?:[eE][+-]?\d+)?$")
_ISO_DATE = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def serial(d: dt.datetime) -> float | int:
    delta = d - EPOCH
    value = delta.days + delta.seconds / 86400
    return int(value) if float(value).is_integer() else value


def _as_number(v: float) -> int | float:
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def parse_entered(v: Any, locale: str, sheet: Sheet, ss: Spreadsheet) -> Cell | None:
    """What the Sheets UI makes of a typed value (USER_ENTERED)."""
    if isinstance(v, bool):
        return Cell("b", v)
    if isinstance(v, (int, float)):
        return Cell("n", _as_number(v))
    s = str(v)
    if s == "":
        return None
    if s.startswith("'"):
        return Cell("s", s[1:])
    if s.startswith("=") and len(s) > 1:
        kind, value = evaluate(s[1:].strip(), sheet, ss)
        return Cell(kind, value, formula=s)
    t = s.strip()
    if t.upper() in ("TRUE", "FALSE"):
        return Cell("b", t.upper() == "TRUE")
    num = t.replace("£", "").replace("$", "").replace("€", "")
    pct = num.endswith("%")
    if pct:
        num = num[:-1]
    if num and _NUMBER.match(num) and any(ch.isdigit() for ch in num):
        value = float(num.replace(",", ""))
        if pct:
            value /= 100
        return Cell("n", _as_number(value), text=t if (pct or num != t or "," in num) else None)
    m = _ISO_DATE.match(t)
    parts: tuple[int, ...] | None = None
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        parts = (y, mo, d, *(int(x or 0) for x in m.groups()[3:]))
    else:
        m = _SLASH_DATE.match(t)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            mo, d = (b, a) if not locale.startswith("en_US") else (a, b)
            parts = (y, mo, d, *(int(x or 0) for x in m.groups()[3:]))
    if parts is not None:
        try:
            when = dt.datetime(*parts)
        except ValueError:
            return Cell("s", s)
        return Cell("n", serial(when), text=t)
    return Cell("s", s)


def parse_raw(v: Any) -> Cell | None:
    if isinstance(v, bool):
        return Cell("b", v)
    if isinstance(v, (int, float)):
        return Cell("n", _as_number(v))
    s = str(v)
    return None if s == "" else Cell("s", s)


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_REF = re.compile(r"\b([A-Z]{1,3})(\d+)\b")


def evaluate(expr: str, sheet: Sheet, ss: Spreadsheet) -> tuple[str, Any]:
    """Evaluate simple arithmetic with cell references; anything else is #NAME?."""

    def ref(m: re.Match[str]) -> str:
        cell = sheet.cells.get((int(m.group(2)) - 1, a1.col_index(m.group(1))))
        if cell is None:
            return "0"
        if cell.kind == "n":
            return repr(cell.value)
        if cell.kind == "b":
            return "1" if cell.value else "0"
        raise ValueError("text in arithmetic")

    try:
        py = _REF.sub(ref, expr.replace("^", "**"))
        tree = ast.parse(py, mode="eval")

        def ev(node: ast.AST) -> float:
            if isinstance(node, ast.Expression):
                return ev(node.body)
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                return float(node.value)
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                v = ev(node.operand)
                return -v if isinstance(node.op, ast.USub) else v
            if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
                return float(_OPS[type(node.op)](ev(node.left), ev(node.right)))
            raise ValueError("unsupported")

        value = ev(tree)
    except ZeroDivisionError:
        return "e", "#DIV/0!"
    except (ValueError, SyntaxError, TypeError, OverflowError):
        return "e", "#NAME?"
    if math.isnan(value) or math.isinf(value):
        return "e", "#NUM!"
    return "n", _as_number(value)


def format_number(v: int | float) -> str:
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    text = f"{v:.10f}".rstrip("0").rstrip(".")
    return text


def render(cell: Cell, value_opt: str, dt_opt: str) -> Any:
    if value_opt == "FORMULA" and cell.formula is not None:
        return cell.formula
    if cell.kind == "s" or cell.kind == "e":
        return cell.value
    if value_opt == "FORMATTED_VALUE":
        if cell.kind == "b":
            return "TRUE" if cell.value else "FALSE"
        return cell.text if cell.text is not None else format_number(cell.value)
    if (
        cell.kind == "n"
        and cell.text is not None
        and dt_opt == "FORMATTED_STRING"
        and _is_date_text(cell.text)
    ):
        return cell.text
    return cell.value


def _is_date_text(t: str) -> bool:
    return bool(_ISO_DATE.match(t) or _SLASH_DATE.match(t))


def read_values(target: Target, value_opt: str, dt_opt: str, major: str) -> dict[str, Any]:
    sheet = target.sheet
    r0, r1, c0, c1 = target.bounds()
    grid: dict[int, dict[int, Any]] = {}
    for (r, c), cell in sheet.cells.items():
        if r0 <= r < r1 and c0 <= c < c1:
            v = render(cell, value_opt, dt_opt)
            if v == "" and cell.kind == "s":
                continue
            if major == "COLUMNS":
                grid.setdefault(c, {})[r] = v
            else:
                grid.setdefault(r, {})[c] = v
    out: dict[str, Any] = {"range": target.text(), "majorDimension": major}
    if grid:
        lo = c0 if major != "COLUMNS" else r0
        first = r0 if major != "COLUMNS" else c0
        values = []
        for i in range(first, max(grid) + 1):
            row = grid.get(i)
            if not row:
                values.append([])
                continue
            values.append([row.get(j, "") for j in range(lo, max(row) + 1)])
        out["values"] = values
    return out


def _check_values(values: Any, where: str) -> list[list[Any]]:
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        shown = (
            values
            if not isinstance(values, list)
            else next(r for r in values if not isinstance(r, list))
        )
        msg = (
            f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.ListValue), "
            f"{_jsonish(shown)}"
        )
        raise ApiError(
            400,
            msg,
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": where, "description": msg}],
                }
            ],
        )
    for row in values:
        for v in row:
            if isinstance(v, (list, dict)):
                msg = f"Invalid values[{values.index(row)}][{row.index(v)}]: {_kind(v)}"
                raise ApiError(400, msg)
            if isinstance(v, str) and len(v) > CELL_CHAR_LIMIT:
                raise ApiError(
                    400,
                    "Your input contains more than the maximum of 50000 "
                    "characters in a single cell.",
                )
    return values


def _jsonish(v: Any) -> str:
    import json

    return json.dumps(v)


def _kind(v: Any) -> str:
    return "list_value {\n}\n" if isinstance(v, list) else "struct_value {\n}\n"


@dataclass
class Write:
    target: Target
    values: list[list[Any]]
    major: str = "ROWS"

    def size(self) -> tuple[int, int]:
        """(rows, columns) the write covers, in sheet orientation."""
        n = len(self.values)
        w = max((len(r) for r in self.values), default=0)
        return (n, w) if self.major != "COLUMNS" else (w, n)

    def check(self) -> None:
        sheet = self.target.sheet
        h, w = self.size()
        if h == 0 or w == 0:
            return
        r0, c0 = self.target.r0, self.target.c0
        if self.target.single:
            pass
        elif self.target.r1 is not None and r0 + h > self.target.r1:
            raise bad_request(
                f"Requested writing within range [{self.target.text()}], but tried writing to row "
                f"[{r0 + h}]"
            )
        elif self.target.c1 is not None and c0 + w > self.target.c1:
            raise bad_request(
                f"Requested writing within range [{self.target.text()}], but tried writing to "
                f"column [{a1.col_letters(c0 + w - 1)}]"
            )
        if r0 + h > sheet.rows or c0 + w > sheet.cols:
            raise bad_request(
                f"Range ({a1.quote_title(sheet.title)}!{a1.a1(r0, r0 + h, c0, c0 + w)}) exceeds "
                f"grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}"
            )

    def apply(self, ss: Spreadsheet, input_opt: str) -> dict[str, Any]:
        sheet = self.target.sheet
        r0, c0 = self.target.r0, self.target.c0
        h, w = self.size()
        locale = str(ss.properties.get("locale", "en_US"))
        cells = 0
        rows_hit: set[int] = set()
        cols_hit: set[int] = set()
        for i, row in enumerate(self.values):
            for j, v in enumerate(row):
                r, c = (r0 + i, c0 + j) if self.major != "COLUMNS" else (r0 + j, c0 + i)
                if v is None:
                    continue  # null leaves the cell as it is (and is not counted)
                cells += 1
                rows_hit.add(r)
                cols_hit.add(c)
                new = parse_raw(v) if input_opt == "RAW" else parse_entered(v, locale, sheet, ss)
                if new is None:
                    sheet.cells.pop((r, c), None)
                else:
                    sheet.cells[(r, c)] = new
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        if h and w:
            out.update(
                {
                    "updatedRange": a1.fmt(sheet.title, r0, r0 + h, c0, c0 + w),
                    "updatedRows": len(rows_hit),
                    "updatedColumns": len(cols_hit),
                    "updatedCells": cells,
                }
            )
        else:
            out["updatedRange"] = self.target.text()
        return out


def _input_option(value: str | None) -> str:
    if value not in ("RAW", "USER_ENTERED"):
        raise bad_request(
            "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED"
            if not value
            else f"Invalid value at 'value_input_option' (type.googleapis.com/"
            f'google.apps.sheets.v4.ValueInputOption), "{value}"'
        )
    return value


def _render_opts(req: Request) -> tuple[str, str, str]:
    return (
        req.arg("valueRenderOption") or "FORMATTED_VALUE",
        req.arg("dateTimeRenderOption") or "SERIAL_NUMBER",
        req.arg("majorDimension") or "ROWS",
    )


SS = r"/v4/spreadsheets/(?P<ss_id>[^/:]+)"


@route(
    "GET",
    SS + r"/values/(?P<rng>[^:]+(?::[^:]+)?)",
    name="sheets.spreadsheets.values.get",
    scopes=SHEETS_READ,
)
def values_get(emu: Emulator, req: Request, ss_id: str, rng: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id)
    value_opt, dt_opt, major = _render_opts(req)
    return read_values(resolve(ss, rng), value_opt, dt_opt, major)


@route(
    "GET", SS + r"/values:batchGet", name="sheets.spreadsheets.values.batchGet", scopes=SHEETS_READ
)
def values_batch_get(emu: Emulator, req: Request, ss_id: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id)
    value_opt, dt_opt, major = _render_opts(req)
    targets = [resolve(ss, r) for r in req.args("ranges")]
    return {
        "spreadsheetId": ss.id,
        "valueRanges": [read_values(t, value_opt, dt_opt, major) for t in targets],
    }


@route(
    "PUT",
    SS + r"/values/(?P<rng>[^:]+(?::[^:]+)?)",
    name="sheets.spreadsheets.values.update",
    scopes=SHEETS_WRITE,
)
def values_update(emu: Emulator, req: Request, ss_id: str, rng: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    opt = _input_option(req.arg("valueInputOption"))
    body = req.json() or {}
    values = _check_values(body.get("values", []), "data.values")  # Google checks the body first
    w = Write(resolve(ss, body.get("range") or rng), values, body.get("majorDimension") or "ROWS")
    w.check()
    out = w.apply(ss, opt)
    if req.flag("includeValuesInResponse"):
        out["updatedData"] = read_values(
            resolve(ss, out["updatedRange"]), *_render_opts(req)[:2], "ROWS"
        )
    return out


@route(
    "POST",
    SS + r"/values:batchUpdate",
    name="sheets.spreadsheets.values.batchUpdate",
    scopes=SHEETS_WRITE,
)
def values_batch_update(emu: Emulator, req: Request, ss_id: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    body = req.json() or {}
    opt = _input_option(body.get("valueInputOption"))
    writes = []
    for i, d in enumerate(body.get("data") or []):
        w = Write(
            resolve(ss, d.get("range", "")),
            _check_values(d.get("values", []), f"data[{i}].values"),
            d.get("majorDimension") or "ROWS",
        )
        w.check()
        writes.append(w)
    responses = [w.apply(ss, opt) for w in writes]  # all checked first: all or nothing
    sheets_touched = {w.target.sheet.id for w in writes if w.size()[0] and w.size()[1]}
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if responses:
        out.update(
            {
                "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
                "totalUpdatedColumns": max(r.get("updatedColumns", 0) for r in responses),
                "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                "totalUpdatedSheets": len(sheets_touched),
                "responses": responses,
            }
        )
    return out


@route(
    "POST",
    SS + r"/values/(?P<rng>.+):append",
    name="sheets.spreadsheets.values.append",
    scopes=SHEETS_WRITE,
)
def values_append(emu: Emulator, req: Request, ss_id: str, rng: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    opt = _input_option(req.arg("valueInputOption"))
    body = req.json() or {}
    values = _check_values(body.get("values", []), "data.values")
    target = resolve(ss, rng)
    sheet = target.sheet
    r0, r1, c0, c1 = target.bounds()
    table = _find_table(sheet, r0, r1, c0, c1)
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if table is None:
        start_r, start_c = r0, c0
    else:
        tr0, tr1, tc0, tc1 = table
        out["tableRange"] = a1.fmt(sheet.title, tr0, tr1, tc0, tc1)
        start_r, start_c = tr1, tc0
    write = Write(
        Target(sheet, start_r, None, start_c, None), values, body.get("majorDimension") or "ROWS"
    )
    h, w = write.size()
    if req.arg("insertDataOption") == "INSERT_ROWS" and h:
        _insert(sheet, "ROWS", start_r, start_r + h)
    need = start_r + h - sheet.rows
    if need > 0:
        sheet.props["gridProperties"]["rowCount"] = sheet.rows + need
    if start_c + w > sheet.cols:
        sheet.props["gridProperties"]["columnCount"] = start_c + w
    out["updates"] = write.apply(ss, opt)
    if req.flag("includeValuesInResponse"):
        out["updates"]["updatedData"] = read_values(
            resolve(ss, out["updates"]["updatedRange"]), *_render_opts(req)[:2], "ROWS"
        )
    return out


def _find_table(
    sheet: Sheet, r0: int, r1: int, c0: int, c1: int
) -> tuple[int, int, int, int] | None:
    """The 'table' values.append looks for: data connected to the first filled cell."""
    inside = [(r, c) for (r, c) in sheet.cells if r0 <= r < r1 and c0 <= c < c1]
    if not inside:
        return None
    last = max(inside)  # Google grows the table around the last filled cell
    seen = {last}
    todo = [last]
    while todo:
        r, c = todo.pop()
        for nb in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if nb not in seen and nb in sheet.cells and r0 <= nb[0] < r1 and c0 <= nb[1] < c1:
                seen.add(nb)
                todo.append(nb)
    rows = [r for r, _ in seen]
    cols = [c for _, c in seen]
    return min(rows), max(rows) + 1, min(cols), max(cols) + 1


def _clear(target: Target) -> str:
    r0, r1, c0, c1 = target.bounds()
    sheet = target.sheet
    for key in [k for k in sheet.cells if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
        del sheet.cells[key]
    return target.text()


@route(
    "POST",
    SS + r"/values/(?P<rng>.+):clear",
    name="sheets.spreadsheets.values.clear",
    scopes=SHEETS_WRITE,
)
def values_clear(emu: Emulator, req: Request, ss_id: str, rng: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    return {"spreadsheetId": ss.id, "clearedRange": _clear(resolve(ss, rng))}


@route(
    "POST",
    SS + r"/values:batchClear",
    name="sheets.spreadsheets.values.batchClear",
    scopes=SHEETS_WRITE,
)
def values_batch_clear(emu: Emulator, req: Request, ss_id: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    targets = [resolve(ss, r) for r in (req.json() or {}).get("ranges", [])]
    return {"spreadsheetId": ss.id, "clearedRanges": [_clear(t) for t in targets]}


# ------------------------------------------------------------------ spreadsheets


def _cell_format(sheet: Sheet, r: int, c: int) -> dict[str, Any] | None:
    fmt: dict[str, Any] | None = None
    for rule in sheet.formats:
        if rule.covers(r, c):
            fmt = _merge(copy.deepcopy(fmt) if fmt else {}, rule.data)
    return fmt or None


def _cell_validation(sheet: Sheet, r: int, c: int) -> dict[str, Any] | None:
    found = None
    for rule in sheet.validations:
        if rule.covers(r, c):
            found = rule.data
    return found


def _merge(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)
    return into


def _value_json(cell: Cell) -> tuple[dict[str, Any], dict[str, Any]]:
    eff: dict[str, Any]
    if cell.kind == "s":
        eff = {"stringValue": cell.value}
    elif cell.kind == "b":
        eff = {"boolValue": cell.value}
    elif cell.kind == "e":
        eff = {
            "errorValue": {
                "type": "NAME" if cell.value == "#NAME?" else "ERROR",
                "message": "Unknown function or text in arithmetic.",
            }
        }
    else:
        eff = {"numberValue": cell.value}
    entered = {"formulaValue": cell.formula} if cell.formula else dict(eff)
    if cell.kind == "n" and cell.text and not cell.formula:
        entered = {"numberValue": cell.value}
    return entered, eff


def grid_data(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> dict[str, Any]:
    rows: dict[int, dict[int, dict[str, Any]]] = {}

    def put(r: int, c: int, key: str, value: Any) -> None:
        rows.setdefault(r, {}).setdefault(c, {})[key] = value

    for (r, c), cell in sheet.cells.items():
        if r0 <= r < r1 and c0 <= c < c1:
            entered, eff = _value_json(cell)
            put(r, c, "userEnteredValue", entered)
            put(r, c, "effectiveValue", eff)
            put(r, c, "formattedValue", render(cell, "FORMATTED_VALUE", "FORMATTED_STRING"))
    for (r, c), note in sheet.notes.items():
        if r0 <= r < r1 and c0 <= c < c1:
            put(r, c, "note", note)
    for rule in sheet.formats:
        for r in range(max(r0, rule.r0), min(r1, rule.r1)):
            for c in range(max(c0, rule.c0), min(c1, rule.c1)):
                fmt = _cell_format(sheet, r, c)
                if fmt:
                    put(r, c, "userEnteredFormat", fmt)
    for rule in sheet.validations:
        if rule.data is None:
            continue
        for r in range(max(r0, rule.r0), min(r1, rule.r1)):
            for c in range(max(c0, rule.c0), min(c1, rule.c1)):
                v = _cell_validation(sheet, r, c)
                if v:
                    put(r, c, "dataValidation", v)
    data: dict[str, Any] = {}
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    if rows:
        row_data = []
        for r in range(r0, max(rows) + 1):
            cells = rows.get(r)
            if not cells:
                row_data.append({})
                continue
            row_data.append({"values": [cells.get(c, {}) for c in range(c0, max(cells) + 1)]})
        data["rowData"] = row_data
    data["rowMetadata"] = [{"pixelSize": 21, **sheet.row_meta.get(r, {})} for r in range(r0, r1)]
    data["columnMetadata"] = [
        {"pixelSize": 100, **sheet.col_meta.get(c, {})} for c in range(c0, c1)
    ]
    return data


def sheet_json(sheet: Sheet, data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"properties": copy.deepcopy(sheet.props)}
    if data is not None:
        out["data"] = data
    if sheet.merges:
        out["merges"] = copy.deepcopy(sheet.merges)
    if sheet.protected:
        out["protectedRanges"] = copy.deepcopy(sheet.protected)
    if sheet.basic_filter:
        out["basicFilter"] = copy.deepcopy(sheet.basic_filter)
    if sheet.row_groups:
        out["rowGroups"] = copy.deepcopy(sheet.row_groups)
    if sheet.col_groups:
        out["columnGroups"] = copy.deepcopy(sheet.col_groups)
    return out


def spreadsheet_json(
    ss: Spreadsheet, *, grid: bool = False, ranges: list[str] | None = None
) -> dict[str, Any]:
    sheets = []
    wanted: dict[int, list[tuple[int, int, int, int]]] | None = None
    if ranges:
        wanted = {}
        for r in ranges:
            t = resolve(ss, r)
            wanted.setdefault(t.sheet.id, []).append(t.bounds())
    for s in ss.ordered():
        if wanted is not None and s.id not in wanted:
            continue
        data = None
        if grid:
            bounds = wanted[s.id] if wanted is not None else [(0, s.rows, 0, s.cols)]
            data = [grid_data(s, *b) for b in bounds]
        sheets.append(sheet_json(s, data))
    out: dict[str, Any] = {
        "spreadsheetId": ss.id,
        "properties": copy.deepcopy(ss.properties),
        "sheets": sheets,
    }
    if ss.named_ranges:
        out["namedRanges"] = copy.deepcopy(ss.named_ranges)
    out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    return out


@route("GET", SS, name="sheets.spreadsheets.get", scopes=SHEETS_READ)
def spreadsheets_get(emu: Emulator, req: Request, ss_id: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id)
    fields = req.arg("fields")
    grid = req.flag("includeGridData") or bool(
        fields and re.search(r"sheets[./(]data|\bdata\b", fields)
    )
    out = spreadsheet_json(ss, grid=grid, ranges=req.args("ranges") or None)
    return apply_fields(out, parse_fields(fields)) if fields else out


@route("POST", r"/v4/spreadsheets", name="sheets.spreadsheets.create", scopes=SHEETS_WRITE)
def spreadsheets_create(emu: Emulator, req: Request) -> dict[str, Any]:
    assert req.principal is not None
    body = req.json() or {}
    props = body.get("properties") or {}
    title = props.get("title") or "Untitled spreadsheet"
    refuse_service_account_owner(emu, req.principal, "")  # made in the caller's own Drive
    f = add_file(emu, title, SPREADSHEET, req.principal.email)
    ss = spreadsheets(emu)[f.id]
    for k in ("locale", "timeZone", "autoRecalc"):
        if k in props:
            ss.properties[k] = props[k]
    if body.get("sheets"):
        ss.sheets = []
        for i, sh in enumerate(body["sheets"]):
            p = sh.get("properties") or {}
            gp = p.get("gridProperties") or {}
            sheet = Sheet(
                new_sheet_props(
                    int(p.get("sheetId", 0 if i == 0 else emu.new_int_id())),
                    p.get("title") or f"Sheet{i + 1}",
                    i,
                    gp.get("rowCount", 1000),
                    gp.get("columnCount", 26),
                )
            )
            for k in ("frozenRowCount", "frozenColumnCount"):
                if gp.get(k):
                    sheet.props["gridProperties"][k] = gp[k]
            ss.sheets.append(sheet)
    return spreadsheet_json(ss)


# ----------------------------------------------------------------- batchUpdate


class BuError(Exception):
    """A request inside a batchUpdate failed; nothing of the batch is kept."""


def _is_default(v: Any) -> bool:
    return (v in (0, False, "", None) and not isinstance(v, float)) or v == {} or v == []


def _get_path(obj: dict[str, Any], path: list[str]) -> Any:
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def _set_path(obj: dict[str, Any], path: list[str], value: Any) -> None:
    for p in path[:-1]:
        obj = obj.setdefault(p, {})
    if value is None or (_is_default(value) and not isinstance(value, dict)):
        obj.pop(path[-1], None)
    else:
        obj[path[-1]] = copy.deepcopy(value)


def _mask_paths(fields: str, props: dict[str, Any]) -> list[list[str]]:
    if not fields:
        raise BuError("At least one field must be updated.")
    if fields.strip() == "*":
        return [[k] for k in props]
    return _flatten(parse_fields(fields))


def _flatten(tree: dict[str, Any], prefix: list[str] | None = None) -> list[list[str]]:
    out: list[list[str]] = []
    for k, v in tree.items():
        path = [*(prefix or []), k]
        out.extend([path] if v is True else _flatten(v, path))
    return out


def _colour_style(colour: dict[str, Any]) -> dict[str, Any]:
    return {"rgbColor": {k: _q(v) for k, v in colour.items() if v}}


def _q(v: float) -> float:
    """Colours are kept as 8-bit channels, shown as float32 (0.5 -> 0.49803922)."""
    return float(f"{math.floor(v * 255 + 1e-9) / 255:.8g}") if 0 < v < 1 else v


def bu_add_sheet(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    p = copy.deepcopy(body.get("properties") or {})
    sheet_id = int(p["sheetId"]) if "sheetId" in p else emu.new_int_id()
    if ss.by_id(sheet_id) is not None:
        raise BuError(f"A sheet with the id {sheet_id} already exists. Please enter another id.")
    title = p.get("title")
    if not title:
        n = len(ss.sheets) + 1
        while ss.by_title(f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    if ss.by_title(title) is not None:
        raise BuError(f'A sheet with the name "{title}" already exists. Please enter another name.')
    gp = p.get("gridProperties") or {}
    index = int(p.get("index", len(ss.sheets)))
    for s in ss.sheets:
        if s.props.get("index", 0) >= index:
            s.props["index"] = s.props.get("index", 0) + 1
    props = new_sheet_props(
        sheet_id, title, index, int(gp.get("rowCount", 1000)), int(gp.get("columnCount", 26))
    )
    for k in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
        if gp.get(k):
            props["gridProperties"][k] = gp[k]
    for k in ("hidden", "rightToLeft"):
        if p.get(k):
            props[k] = p[k]
    if p.get("tabColor"):
        props["tabColor"] = {k: _q(v) for k, v in p["tabColor"].items()}
        props["tabColorStyle"] = _colour_style(p["tabColor"])
    ss.sheets.append(Sheet(props))
    ss.reindex()
    return {"addSheet": {"properties": copy.deepcopy(props)}}


def bu_delete_sheet(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet = ss.by_id(int(body.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {body.get('sheetId', 0)}")
    if len(ss.sheets) == 1:
        raise BuError("You can't remove all the sheets in a document.")
    ss.sheets.remove(sheet)
    ss.named_ranges = [n for n in ss.named_ranges if int(n["range"].get("sheetId", 0)) != sheet.id]
    ss.reindex()


def bu_update_sheet_properties(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    p = body.get("properties") or {}
    sheet = ss.by_id(int(p.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {p.get('sheetId', 0)}")
    for path in _mask_paths(body.get("fields", ""), p):
        if path == ["sheetId"]:
            continue
        value = _get_path(p, path)
        if path == ["title"]:
            if not value:
                raise BuError("Sheet title is empty.")
            other = ss.by_title(value)
            if other is not None and other is not sheet:
                raise BuError(
                    f'A sheet with the name "{value}" already exists. Please enter another name.'
                )
            sheet.props["title"] = value
        elif path == ["index"]:
            order = [s for s in ss.ordered() if s is not sheet]
            order.insert(min(int(value or 0), len(order)), sheet)
            for i, s in enumerate(order):
                s.props["index"] = i
        elif path == ["hidden"]:
            if value and all(s.props.get("hidden") or s is sheet for s in ss.sheets):
                raise BuError("You can't hide all the sheets in a document.")
            _set_path(sheet.props, path, bool(value))
        elif path in (["tabColor"], ["tabColorStyle"]):
            if path == ["tabColor"]:
                colour = value or {}
                style = _colour_style(colour) if colour else None
            else:
                style = (
                    {
                        "rgbColor": {
                            k: _q(v) for k, v in ((value or {}).get("rgbColor") or {}).items() if v
                        }
                    }
                    if value
                    else None
                )
                colour = (style or {}).get("rgbColor", {})
            if colour:
                sheet.props["tabColor"] = {k: _q(v) for k, v in colour.items() if v}
                sheet.props["tabColorStyle"] = style
            else:
                sheet.props.pop("tabColor", None)
                sheet.props.pop("tabColorStyle", None)
        elif path[:1] == ["gridProperties"]:
            gp = sheet.props["gridProperties"]
            if path == ["gridProperties"]:
                subs = [[k] for k in (value or {})] or [["frozenRowCount"], ["frozenColumnCount"]]
            else:
                subs = [path[1:]]
            for sub in subs:
                v = (
                    _get_path(value if path == ["gridProperties"] else p["gridProperties"], sub)
                    if (value if path == ["gridProperties"] else p.get("gridProperties"))
                    else None
                )
                if sub == ["rowCount"] or sub == ["columnCount"]:
                    if not v or int(v) < 1:
                        raise BuError(f"Invalid {sub[0]}: {v}")
                    _resize(sheet, "ROWS" if sub == ["rowCount"] else "COLUMNS", int(v))
                elif sub == ["frozenRowCount"] and v and int(v) >= sheet.rows:
                    raise BuError("You can't freeze all visible rows on the sheet.")
                else:
                    _set_path(gp, sub, v)
        else:
            _set_path(sheet.props, path, value)


def _resize(sheet: Sheet, dim: str, n: int) -> None:
    key = "rowCount" if dim == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] = n
    idx = 0 if dim == "ROWS" else 1
    for store in (sheet.cells, sheet.notes):
        for k in [k for k in store if k[idx] >= n]:
            del store[k]


def bu_update_spreadsheet_properties(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    p = body.get("properties") or {}
    for path in _mask_paths(body.get("fields", ""), p):
        value = _get_path(p, path)
        if path == ["title"]:
            if not value:
                raise BuError("Spreadsheet title is empty.")
            files(emu)[ss.id].name = value
        _set_path(ss.properties, path, value)


def _cell_fields(fields: str) -> list[list[str]]:
    if not fields:
        raise BuError("At least one field must be updated.")
    if fields.strip() == "*":
        return [["userEnteredValue"], ["userEnteredFormat"], ["note"], ["dataValidation"]]
    return _flatten(parse_fields(fields))


def _apply_cell(
    emu: Emulator,
    ss: Spreadsheet,
    sheet: Sheet,
    r: int,
    c: int,
    data: dict[str, Any],
    paths: list[list[str]],
) -> None:
    for path in paths:
        head = path[0]
        if head == "note":
            note = data.get("note") or ""
            if note:
                sheet.notes[(r, c)] = note
            else:
                sheet.notes.pop((r, c), None)
        elif head == "userEnteredValue":
            v = data.get("userEnteredValue")
            if not v:
                sheet.cells.pop((r, c), None)
            elif "formulaValue" in v:
                new = parse_entered(v["formulaValue"], str(ss.properties.get("locale")), sheet, ss)
                if new is None:
                    sheet.cells.pop((r, c), None)
                else:
                    sheet.cells[(r, c)] = new
            else:
                kind, val = next(iter(v.items()))
                sheet.cells[(r, c)] = {
                    "stringValue": Cell("s", val),
                    "numberValue": Cell("n", _as_number(val)),
                    "boolValue": Cell("b", val),
                }.get(kind, Cell("s", str(val)))
                if kind == "stringValue" and val == "":
                    sheet.cells.pop((r, c), None)
        elif head == "userEnteredFormat":
            fmt = data.get("userEnteredFormat") or {}
            masked: dict[str, Any] = {}
            if len(path) == 1:
                masked = copy.deepcopy(fmt)
            else:
                v = _get_path(fmt, path[1:])
                _set_path(masked, path[1:], v if v is not None else {})
            sheet.formats.append(Rule(r, r + 1, c, c + 1, _with_styles(masked)))
        elif head == "dataValidation":
            sheet.validations.append(Rule(r, r + 1, c, c + 1, data.get("dataValidation") or None))


def _with_styles(fmt: dict[str, Any]) -> dict[str, Any]:
    """Google mirrors colours into their *Style twins (backgroundColor -> backgroundColorStyle)."""
    rgb = (fmt.get("backgroundColorStyle") or {}).get("rgbColor")
    if isinstance(rgb, dict) and "backgroundColor" not in fmt:
        fmt["backgroundColor"] = dict(rgb)  # and the other way round
    if "backgroundColor" in fmt:
        fmt["backgroundColor"] = {k: _q(v) for k, v in fmt["backgroundColor"].items() if v}
        fmt["backgroundColorStyle"] = {"rgbColor": dict(fmt["backgroundColor"])}
    tf = fmt.get("textFormat")
    if isinstance(tf, dict) and "foregroundColor" in tf:
        tf["foregroundColor"] = {k: _q(v) for k, v in tf["foregroundColor"].items() if v}
        tf["foregroundColorStyle"] = {"rgbColor": dict(tf["foregroundColor"])}
    return fmt


def bu_update_cells(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    paths = _cell_fields(body.get("fields", ""))
    rows = body.get("rows") or []
    if "range" in body:
        sheet, r0, r1, c0, c1 = grid_range(ss, body["range"], "updateCells")
    else:
        start = body.get("start") or {}
        sheet, r0, _, c0, _ = grid_range(
            ss,
            {
                "sheetId": start.get("sheetId", 0),
                "startRowIndex": start.get("rowIndex", 0),
                "startColumnIndex": start.get("columnIndex", 0),
            },
            "",
        )
        r1 = r0 + len(rows)
        c1 = c0 + max((len(r.get("values") or []) for r in rows), default=0)
        if r1 > sheet.rows or c1 > sheet.cols:
            raise BuError(
                f"Range ({a1.quote_title(sheet.title)}!{a1.a1(r0, r1, c0, c1)}) exceeds "
                f"grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}"
            )
    for r in range(r0, r1):
        row = rows[r - r0] if r - r0 < len(rows) else {}
        values = row.get("values") or []
        for c in range(c0, c1):
            data = values[c - c0] if c - c0 < len(values) else {}
            _apply_cell(emu, ss, sheet, r, c, data, paths)


def bu_repeat_cell(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet, r0, r1, c0, c1 = grid_range(ss, body.get("range") or {}, "repeatCell")
    paths = _cell_fields(body.get("fields", ""))
    cell = body.get("cell") or {}
    for path in paths:
        if path[0] == "userEnteredFormat":
            fmt = cell.get("userEnteredFormat") or {}
            if len(path) == 1:
                masked = copy.deepcopy(fmt)
            else:
                masked = {}
                v = _get_path(fmt, path[1:])
                _set_path(masked, path[1:], v if v is not None else {})
            sheet.formats.append(Rule(r0, r1, c0, c1, _with_styles(masked)))
        elif path[0] == "dataValidation":
            sheet.validations.append(Rule(r0, r1, c0, c1, cell.get("dataValidation") or None))
        else:
            for r in range(r0, r1):
                for c in range(c0, c1):
                    _apply_cell(emu, ss, sheet, r, c, cell, [path])


def bu_set_data_validation(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet, r0, r1, c0, c1 = grid_range(ss, body.get("range") or {}, "setDataValidation")
    rule = body.get("rule")
    if rule is not None:
        cond = rule.get("condition") or {}
        if not cond.get("type"):
            raise BuError("Invalid data validation rule: a condition type is required.")
        if cond["type"] == "ONE_OF_LIST" and not cond.get("values"):
            raise BuError(
                "Invalid ConditionValue.userEnteredValue: a list needs at least one item."
            )
        rule = {k: v for k, v in copy.deepcopy(rule).items() if v not in (None, False, "")}
    sheet.validations.append(Rule(r0, r1, c0, c1, rule))


def bu_add_protected_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    pr = copy.deepcopy(body.get("protectedRange") or {})
    rng = pr.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    if rng:
        grid_range(ss, rng, "addProtectedRange")
    out: dict[str, Any] = {"protectedRangeId": int(pr.get("protectedRangeId") or emu.new_int_id())}
    clean_range = {k: v for k, v in rng.items() if not (k == "sheetId" and not v)}
    out["range"] = clean_range if clean_range else ({"sheetId": sheet.id} if sheet.id else {})
    if pr.get("description"):
        out["description"] = pr["description"]
    if pr.get("warningOnly"):
        out["warningOnly"] = True
    out["requestingUserCanEdit"] = True
    reply = copy.deepcopy(out)
    reply["editors"] = {}
    stored = copy.deepcopy(out)
    editors = pr.get("editors") or {}
    owner = files(emu)[ss.id].owner
    stored["editors"] = {"users": sorted({owner, *(editors.get("users") or [])})}
    if editors.get("groups"):
        stored["editors"]["groups"] = editors["groups"]
    sheet.protected.append(stored)
    return {"addProtectedRange": {"protectedRange": reply}}


def bu_delete_protected_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    pid = int(body.get("protectedRangeId", 0))
    for s in ss.sheets:
        for pr in s.protected:
            if pr["protectedRangeId"] == pid:
                s.protected.remove(pr)
                return
    raise BuError(f"No protected range with id: {pid}")


def bu_update_protected_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    pr = body.get("protectedRange") or {}
    pid = int(pr.get("protectedRangeId", 0))
    for s in ss.sheets:
        for stored in s.protected:
            if stored["protectedRangeId"] == pid:
                for path in _mask_paths(body.get("fields", ""), pr):
                    _set_path(stored, path, _get_path(pr, path))
                return
    raise BuError(f"No protected range with id: {pid}")


def bu_add_named_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    nr = copy.deepcopy(body.get("namedRange") or {})
    name = nr.get("name", "")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", name) or any(
        n["name"] == name for n in ss.named_ranges
    ):
        raise BuError(f"Invalid name: {name}")
    rng = nr.get("range") or {}
    grid_range(ss, rng, "addNamedRange")
    out = {
        "namedRangeId": str(nr.get("namedRangeId") or emu.new_int_id()),
        "name": name,
        "range": {k: v for k, v in rng.items() if not (k == "sheetId" and not v)},
    }
    ss.named_ranges.append(out)
    return {"addNamedRange": {"namedRange": copy.deepcopy(out)}}


def bu_delete_named_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    nid = str(body.get("namedRangeId", ""))
    for n in ss.named_ranges:
        if n["namedRangeId"] == nid:
            ss.named_ranges.remove(n)
            return
    raise BuError(f"No named range with id {nid}")


def bu_update_named_range(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    nr = body.get("namedRange") or {}
    nid = str(nr.get("namedRangeId", ""))
    stored = next((n for n in ss.named_ranges if n["namedRangeId"] == nid), None)
    if stored is None:
        raise BuError(f"No named range with id {nid}")
    for path in _mask_paths(body.get("fields", ""), nr):
        value = _get_path(nr, path)
        if path[0] == "range":
            value = {
                k: v for k, v in (nr.get("range") or {}).items() if not (k == "sheetId" and not v)
            }
            stored["range"] = value
        else:
            _set_path(stored, path, value)


def bu_merge_cells(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet, r0, r1, c0, c1 = grid_range(ss, body.get("range") or {}, "mergeCells")
    kind = body.get("mergeType", "MERGE_ALL")
    blocks = []
    if kind == "MERGE_ALL":
        blocks = [(r0, r1, c0, c1)]
    elif kind == "MERGE_ROWS":
        blocks = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    elif kind == "MERGE_COLUMNS":
        blocks = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    for b in blocks:
        if (b[1] - b[0]) * (b[3] - b[2]) < 2:
            continue
        kept = []
        for m in sheet.merges:
            apart = (
                b[1] <= m["startRowIndex"]
                or m["endRowIndex"] <= b[0]
                or b[3] <= m["startColumnIndex"]
                or m["endColumnIndex"] <= b[2]
            )
            inside = (
                b[0] <= m["startRowIndex"]
                and m["endRowIndex"] <= b[1]
                and b[2] <= m["startColumnIndex"]
                and m["endColumnIndex"] <= b[3]
            )
            if not apart and not inside:
                raise BuError("You can't merge cells that partly overlap a merge.")
            if apart:
                kept.append(m)  # merges inside the new one are absorbed
        sheet.merges[:] = kept
        for key in [
            k
            for k in sheet.cells
            if b[0] <= k[0] < b[1] and b[2] <= k[1] < b[3] and k != (b[0], b[2])
        ]:
            del sheet.cells[key]
        sheet.merges.append(out_range(sheet, *b))


def bu_unmerge_cells(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet, r0, r1, c0, c1 = grid_range(ss, body.get("range") or {}, "unmergeCells")
    sheet.merges = [
        m
        for m in sheet.merges
        if not (
            r0 <= m["startRowIndex"]
            and m["endRowIndex"] <= r1
            and c0 <= m["startColumnIndex"]
            and m["endColumnIndex"] <= c1
        )
    ]


def _shift(sheet: Sheet, dim: str, at: int, by: int) -> None:
    idx = 0 if dim == "ROWS" else 1
    for store in (sheet.cells, sheet.notes):
        moved = {}
        for k in list(store):
            if k[idx] >= at:
                v = store.pop(k)
                if by < 0 and k[idx] < at - by:
                    continue  # deleted
                nk = (k[0] + by, k[1]) if idx == 0 else (k[0], k[1] + by)
                moved[nk] = v
        store.update(moved)  # type: ignore[arg-type]
    for rules in (sheet.formats, sheet.validations):
        keep = []
        for rule in rules:
            lo, hi = (rule.r0, rule.r1) if idx == 0 else (rule.c0, rule.c1)
            if by > 0:
                if lo >= at:
                    lo += by
                if hi > at:
                    hi += by
            else:
                end = at - by
                lo = lo if lo < at else (at if lo < end else lo + by)
                hi = hi if hi <= at else (at if hi <= end else hi + by)
                if hi <= lo:
                    continue
            if idx == 0:
                rule.r0, rule.r1 = lo, hi
            else:
                rule.c0, rule.c1 = lo, hi
            keep.append(rule)
        rules[:] = keep


def _insert(sheet: Sheet, dim: str, start: int, end: int) -> None:
    _shift(sheet, dim, start, end - start)
    key = "rowCount" if dim == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] += end - start


def bu_insert_dimension(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    rng = body.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    dim = rng.get("dimension", "ROWS")
    start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
    if end <= start:
        raise BuError("The end index must be greater than the start index.")
    _insert(sheet, dim, start, end)


def bu_delete_dimension(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    rng = body.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    dim = rng.get("dimension", "ROWS")
    start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
    size = sheet.rows if dim == "ROWS" else sheet.cols
    if end - start >= size:
        raise BuError(
            "You can't delete all the rows on the sheet."
            if dim == "ROWS"
            else "You can't delete all the columns on the sheet."
        )
    _shift(sheet, dim, start, -(end - start))
    key = "rowCount" if dim == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] -= end - start


def bu_append_dimension(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet = ss.by_id(int(body.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {body.get('sheetId', 0)}")
    n = int(body.get("length", 0))
    if n < 1:
        raise BuError("length must be at least 1")
    key = "rowCount" if body.get("dimension", "ROWS") == "ROWS" else "columnCount"
    sheet.props["gridProperties"][key] += n


def bu_update_dimension_properties(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    rng = body.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    meta = sheet.row_meta if rng.get("dimension", "ROWS") == "ROWS" else sheet.col_meta
    props = body.get("properties") or {}
    for i in range(int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))):
        for path in _mask_paths(body.get("fields", ""), props):
            _set_path(meta.setdefault(i, {}), path, _get_path(props, path))


def bu_set_basic_filter(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    f = copy.deepcopy(body.get("filter") or {})
    rng = f.get("range") or {}
    sheet, r0, r1, c0, c1 = grid_range(ss, rng, "setBasicFilter")
    f["range"] = out_range(sheet, r0, r1, c0, c1)
    sheet.basic_filter = f


def bu_clear_basic_filter(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> None:
    sheet = ss.by_id(int(body.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {body.get('sheetId', 0)}")
    sheet.basic_filter = None


def _groups(sheet: Sheet, dim: str) -> list[dict[str, Any]]:
    return sheet.row_groups if dim == "ROWS" else sheet.col_groups


def bu_add_dimension_group(emu: Emulator, ss: Spreadsheet, body: dict[str, Any]) -> dict[str, Any]:
    rng = body.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    dim = rng.get("dimension", "ROWS")
    groups = _groups(sheet, dim)
    r = {k: v for k, v in rng.items() if not (k == "sheetId" and not v)}
    depth = 1 + sum(
        1
        for g in groups
        if g["range"]["startIndex"] <= r["startIndex"] and r["endIndex"] <= g["range"]["endIndex"]
    )
    groups.append({"range": r, "depth": depth})
    control = "rowGroupControlAfter" if dim == "ROWS" else "columnGroupControlAfter"
    sheet.props["gridProperties"].setdefault(control, True)
    groups.sort(key=lambda g: (g["depth"], g["range"]["startIndex"]))
    return {"addDimensionGroup": {"dimensionGroups": copy.deepcopy(groups)}}


def bu_delete_dimension_group(
    emu: Emulator, ss: Spreadsheet, body: dict[str, Any]
) -> dict[str, Any]:
    rng = body.get("range") or {}
    sheet = ss.by_id(int(rng.get("sheetId", 0)))
    if sheet is None:
        raise BuError(f"No grid with id: {rng.get('sheetId', 0)}")
    dim = rng.get("dimension", "ROWS")
    groups = _groups(sheet, dim)
    target = [
        g
        for g in groups
        if g["range"]["startIndex"] == rng.get("startIndex")
        and g["range"]["endIndex"] == rng.get("endIndex")
    ]
    if not target:
        raise BuError("No group found for the range.")
    deepest = max(target, key=lambda g: g["depth"])
    groups.remove(deepest)
    reply = {"dimensionGroups": copy.deepcopy(groups)} if groups else {}
    return {"deleteDimensionGroup": reply}


BATCH_UPDATES: dict[str, Any] = {
    "addSheet": bu_add_sheet,
    "deleteSheet": bu_delete_sheet,
    "updateSheetProperties": bu_update_sheet_properties,
    "updateSpreadsheetProperties": bu_update_spreadsheet_properties,
    "updateCells": bu_update_cells,
    "repeatCell": bu_repeat_cell,
    "setDataValidation": bu_set_data_validation,
    "addProtectedRange": bu_add_protected_range,
    "deleteProtectedRange": bu_delete_protected_range,
    "updateProtectedRange": bu_update_protected_range,
    "addNamedRange": bu_add_named_range,
    "deleteNamedRange": bu_delete_named_range,
    "updateNamedRange": bu_update_named_range,
    "mergeCells": bu_merge_cells,
    "unmergeCells": bu_unmerge_cells,
    "insertDimension": bu_insert_dimension,
    "deleteDimension": bu_delete_dimension,
    "appendDimension": bu_append_dimension,
    "updateDimensionProperties": bu_update_dimension_properties,
    "setBasicFilter": bu_set_basic_filter,
    "clearBasicFilter": bu_clear_basic_filter,
    "addDimensionGroup": bu_add_dimension_group,
    "deleteDimensionGroup": bu_delete_dimension_group,
}


def snapshot(ss: Spreadsheet) -> Spreadsheet:
    """A copy to restore if a batch fails (cells are replaced, never changed: shallow will do)."""
    sheets = []
    for sh in ss.sheets:
        sheets.append(
            Sheet(
                copy.deepcopy(sh.props),
                dict(sh.cells),
                dict(sh.notes),
                [copy.copy(r) for r in sh.formats],
                [copy.copy(r) for r in sh.validations],
                copy.deepcopy(sh.merges),
                copy.deepcopy(sh.protected),
                copy.deepcopy(sh.basic_filter),
                copy.deepcopy(sh.row_groups),
                copy.deepcopy(sh.col_groups),
                copy.deepcopy(sh.row_meta),
                copy.deepcopy(sh.col_meta),
            )
        )
    return Spreadsheet(ss.id, copy.deepcopy(ss.properties), sheets, copy.deepcopy(ss.named_ranges))


@route("POST", SS + r":batchUpdate", name="sheets.spreadsheets.batchUpdate", scopes=SHEETS_WRITE)
def spreadsheets_batch_update(emu: Emulator, req: Request, ss_id: str) -> dict[str, Any]:
    ss = open_spreadsheet(emu, req, ss_id, write=True)
    body = req.json() or {}
    requests = body.get("requests") or []
    if not requests:
        raise bad_request("Must specify at least one request.")
    before = snapshot(ss)
    title_before = files(emu)[ss.id].name
    replies: list[dict[str, Any]] = []
    try:
        for i, r in enumerate(requests):
            if not isinstance(r, dict) or len(r) != 1:
                raise ApiError(400, f"Invalid requests[{i}]: exactly one kind of request is needed")
            kind, payload = next(iter(r.items()))
            fn = BATCH_UPDATES.get(kind)
            if fn is None:
                raise ApiError(400, f"Invalid requests[{i}]: the emulator does not support {kind}")
            try:
                reply = fn(emu, ss, payload or {})
            except BuError as exc:
                raise ApiError(400, f"Invalid requests[{i}].{kind}: {exc}") from None
            replies.append(reply or {})
    except ApiError:
        spreadsheets(emu)[ss.id] = before
        files(emu)[ss.id].name = title_before
        raise
    out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = spreadsheet_json(ss)
    return out


def unsupported_requests(body: dict[str, Any]) -> list[str]:
    """batchUpdate request kinds the emulator does not model (for the conformance test)."""
    return [k for r in body.get("requests") or [] for k in r if k not in BATCH_UPDATES]
