"""The Google Sheets table store: the same seam as the local store, on gspread.

API economy (the number of calls never grows with rows):

* read: one ``spreadsheets.get`` for the tab list (cached for the run) and one
  ``values.batchGet`` for every tab asked for;
* write: one ``values.batchUpdate`` (``valueInputOption=RAW``, so text that
  looks like a formula stays text) covering every tab, with blank rows past the
  new end so old trailing rows disappear in the same call; plus one
  ``spreadsheets.batchUpdate`` only when a tab must grow;
* init: find or create the file, one ``spreadsheets.get``, one ``values.batchGet``
  of the header rows and one ``spreadsheets.batchUpdate`` for tabs, frozen
  header, notes, drop-downs and warning-only protection of job-owned columns.

The spreadsheet ids come from the campaign's ``[google]`` settings; otherwise
corecruit looks for its own file by name in Drive and creates it when absent,
and remembers the ids in ``<workspace>/<campaign>/google_ids.json`` so a rerun
never makes a second copy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ConfigError, Problem, StoreError
from ..files import private_dir
from ..google.http import GoogleRefused, RetryingHTTPClient, RetryPolicy
from ..templates import TabSpec, WorkbookSpec
from .base import TableStore, missing_tab
from .cells import Cell, exact_as_number, to_text
from .record import STAMP
from .shapes import Grid, InitReport, Stores

if TYPE_CHECKING:
    from ..config import CampaignConfig, Settings

SHEETS_API = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE_FILES = "https://www.googleapis.com/drive/v3/files"
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
CELL_LIMIT = 50_000
GREY = {"red": 0.85, "green": 0.85, "blue": 0.85}
PROTECT_PREFIX = "corecruit:"
META_FIELDS = (
    "spreadsheetId,properties(title,locale,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,description))"
)


def col_letters(n: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def spreadsheet_url(spreadsheet_id: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"


def to_json(v: Cell) -> Any:
    """A stored cell as the JSON value a RAW write sends (``""`` clears the cell)."""
    if v is None:
        return ""
    if isinstance(v, bool | int):
        return v
    if isinstance(v, Decimal):  # a score column: a JSON number, so Sheets keeps a number
        return float(v) if exact_as_number(v) else format(v, "f")
    if isinstance(v, dt.datetime | dt.date):
        return to_text(v)
    if isinstance(v, float):  # pragma: no cover - stores never make floats
        raise StoreError("internal: a float reached the store")
    return str(v)


SERIAL_EPOCH = dt.datetime(1899, 12, 30)
MONTH_FIRST_LOCALES = ("en_US", "en_PH", "es_US")  # m/d/yyyy
_SLASHED = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(.*)$")


def month_first_to_iso(text: str) -> str:
    """``2/15/2027 10:30`` -> ``2027-02-15 10:30`` (other text unchanged)."""
    m = _SLASHED.match(text)
    if not m:
        return text
    mo, d, y, rest = m.groups()
    return f"{y}-{int(mo):02d}-{int(d):02d}{rest}"


def from_serial(v: Cell) -> Cell:
    """A Sheets date-time serial number (days since 1899-12-30) as a datetime."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return v
    if not 0 < v < 2_958_466:  # up to the year 9999
        return v
    moment = SERIAL_EPOCH + dt.timedelta(days=float(v))
    return moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))


# ------------------------------------------------------------------- id memory


class IdMemory:
    """``google_ids.json``: the spreadsheet ids corecruit created or found."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise StoreError(
                f"{self.path} cannot be read; fix it or move it away and run 'corecruit init'"
            ) from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, workbook: str) -> str:
        return self.load().get(workbook, "")

    def remember(self, workbook: str, spreadsheet_id: str) -> None:
        data = self.load()
        if data.get(workbook) == spreadsheet_id:
            return
        data[workbook] = spreadsheet_id
        private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".google_ids.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


@dataclass
class SheetMeta:
    sheet_id: int
    title: str
    rows: int
    cols: int
    frozen: int = 0
    protected: set[str] = field(default_factory=set)  # descriptions of protected ranges


# ----------------------------------------------------------------------- store


class GoogleStore(TableStore):
    """A workbook kept as a Google spreadsheet."""

    def __init__(
        self,
        spec: WorkbookSpec,
        http: RetryingHTTPClient,
        *,
        title: str,
        spreadsheet_id: str = "",
        ids: IdMemory | None = None,
        folder_id: str = "",
        header_map: Mapping[str, Mapping[str, str]] | None = None,
        locale: str = "en_GB",
        time_zone: str = "Europe/London",
    ) -> None:
        super().__init__(spec, header_map)
        self.http = http
        self.title = title
        self.configured_id = spreadsheet_id
        self.ids = ids
        self.folder_id = folder_id
        self.locale = locale
        self.time_zone = time_zone
        self._id = spreadsheet_id or (ids.get(spec.name) if ids else "")
        self._meta: dict[str, SheetMeta] | None = None
        self._month_first = False
        self._widths: dict[str, int] = {}

    # ------------------------------------------------------------------ ids

    @property
    def spreadsheet_id(self) -> str:
        return self._id

    @property
    def location(self) -> str:
        if not self._id:
            return f"(Google spreadsheet '{self.title}', not created yet)"
        return spreadsheet_url(self._id)

    def _search(self) -> str:
        """corecruit's own file of this name in Drive (the folder, when set), or ''."""
        name = self.title.replace("\\", "\\\\").replace("'", "\\'")
        q = f"name = '{name}' and mimeType = '{SPREADSHEET_MIME}' and trashed = false"
        if self.folder_id:
            q += f" and '{self.folder_id}' in parents"
        resp = self.http.call(
            "GET",
            DRIVE_FILES,
            what="finding the workbook in Drive",
            params={
                "q": q,
                "fields": "files(id,name,createdTime)",
                "orderBy": "createdTime",
                "pageSize": 10,
                "supportsAllDrives": "true",
                "includeItemsFromAllDrives": "true",
            },
        )
        files = resp.json().get("files") or []
        return str(files[0]["id"]) if files else ""

    def _lookup(self) -> str:
        if not self._id:
            self._id = self._search()
            if self._id and self.ids:
                self.ids.remember(self.spec.name, self._id)
        return self._id

    def _create(self) -> str:
        body: dict[str, Any] = {"name": self.title, "mimeType": SPREADSHEET_MIME}
        if self.folder_id:
            body["parents"] = [self.folder_id]

        def settle() -> Any:
            found = self._search()
            return {"id": found} if found else None

        result = self.http.call(
            "POST",
            DRIVE_FILES,
            what=f"creating the {self.spec.name} workbook",
            idempotent=False,
            settle=settle,
            params={"fields": "id", "supportsAllDrives": "true"},
            json=body,
        )
        data = result if isinstance(result, dict) else result.json()
        self._id = str(data["id"])
        if self.ids:
            self.ids.remember(self.spec.name, self._id)
        return self._id

    def _need_id(self) -> str:
        if not self._lookup():
            raise StoreError(
                f"the {self.spec.name} workbook does not exist yet. Run 'corecruit init' first."
            )
        return self._id

    def exists(self) -> bool:
        if not self._lookup():
            return False
        try:
            self._metadata(refresh=True)
        except GoogleRefused as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------ metadata

    def _metadata(self, refresh: bool = False) -> dict[str, SheetMeta]:
        if self._meta is not None and not refresh:
            return self._meta
        sid = self._need_id()
        resp = self.http.call(
            "GET",
            f"{SHEETS_API}/{sid}",
            what=f"reading the {self.spec.name} workbook's tabs (spreadsheets.get)",
            params={"fields": META_FIELDS},
        )
        return self._take_meta(resp.json())

    def _take_meta(self, body: Mapping[str, Any]) -> dict[str, SheetMeta]:
        """Cache the tab list from a spreadsheet resource (a get, or a batchUpdate's answer)."""
        meta: dict[str, SheetMeta] = {}
        locale = str((body.get("properties") or {}).get("locale", ""))
        self._month_first = locale in MONTH_FIRST_LOCALES
        for sh in body.get("sheets") or []:
            p = sh.get("properties") or {}
            g = p.get("gridProperties") or {}
            meta[str(p.get("title", ""))] = SheetMeta(
                int(p.get("sheetId", 0)),
                str(p.get("title", "")),
                int(g.get("rowCount", 0)),
                int(g.get("columnCount", 0)),
                int(g.get("frozenRowCount", 0)),
                {str(pr.get("description", "")) for pr in sh.get("protectedRanges") or []},
            )
        self._meta = meta
        return meta

    def _find(self, spec: TabSpec, meta: Mapping[str, SheetMeta]) -> SheetMeta | None:
        for t in self.titles_for(spec):
            if t in meta:
                return meta[t]
        lowered = {k.casefold(): v for k, v in meta.items()}
        for t in self.titles_for(spec):
            if t.casefold() in lowered:
                return lowered[t.casefold()]
        return None

    def forget(self) -> None:
        super().forget()
        self._meta = None

    # ----------------------------------------------------------- primitives

    def _read_grids(self, tabs: Sequence[TabSpec]) -> dict[str, Grid | None]:
        meta = self._metadata()
        found = {s.id: self._find(s, meta) for s in tabs}
        out: dict[str, Grid | None] = {s.id: None for s in tabs}
        wanted = [(tid, m) for tid, m in found.items() if m is not None]
        if not wanted:
            return out
        resp = self.http.call(
            "GET",
            f"{SHEETS_API}/{self._id}/values:batchGet",
            what=f"reading the {self.spec.name} workbook (values.batchGet)",
            params={
                "ranges": [quote(m.title) for _, m in wanted],
                "valueRenderOption": "UNFORMATTED_VALUE",
                # dates typed in the sheet come as the text they show (so a date in
                # a text column reads as typed); date columns are read in the
                # spreadsheet's locale below (15/02/2027 or 2/15/2027)
                "dateTimeRenderOption": "FORMATTED_STRING",
                "majorDimension": "ROWS",
            },
        )
        ranges = resp.json().get("valueRanges") or []
        for (tid, m), vr in zip(wanted, ranges, strict=True):
            rows: list[list[Cell]] = [list(r) for r in vr.get("values") or []]
            header = [to_text(v) for v in (rows[0] if rows else [])]
            while header and header[-1].strip() == "":
                header.pop()
            self._widths[tid] = max((len(r) for r in rows), default=0)
            out[tid] = Grid(m.title, header, rows[1:])
        return out

    def _to_frame(self, spec: TabSpec, grid: Grid | None) -> tuple[pd.DataFrame, list[Problem]]:
        return super()._to_frame(spec, None if grid is None else self._readable(spec, grid))

    def _readable(self, spec: TabSpec, grid: Grid) -> Grid:
        """Dates in date columns: month-first text in month-first locales, serial numbers."""
        ids = self._map_header(spec, grid.header)
        types = {c.id: c.type for c in spec.columns}
        cols = [j for j, cid in enumerate(ids) if types.get(cid or "") in ("date", "datetime")]
        if cols:
            rows = [list(r) for r in grid.rows]
            for r in rows:
                for j in cols:
                    if j < len(r):
                        v = from_serial(r[j])
                        if self._month_first and isinstance(v, str):
                            v = month_first_to_iso(v)
                        r[j] = v
            grid = Grid(grid.title, grid.header, rows)
        return grid

    def _as_read(self, v: Cell) -> Cell:
        """A cell as Sheets gives it back after a RAW write (dates are the text written)."""
        out = to_json(v)
        return None if out == "" else out

    def _write_grids(self, grids: Mapping[str, tuple[Grid, int]]) -> None:
        meta = self._metadata()
        data: list[dict[str, Any]] = []
        grow: list[dict[str, Any]] = []
        for tab_id, (grid, old_rows) in grids.items():
            m = meta.get(grid.title)
            if m is None and tab_id == STAMP:  # corecruit's own hidden tab, made when needed
                m = SheetMeta(max([x.sheet_id for x in meta.values()] + [0]) + 1, grid.title, 20, 4)
                grow.append(
                    {
                        "addSheet": {
                            "properties": {
                                "sheetId": m.sheet_id,
                                "title": m.title,
                                "hidden": True,
                                "gridProperties": {"rowCount": m.rows, "columnCount": m.cols},
                            }
                        }
                    }
                )
                meta[m.title] = m
            if m is None:
                raise StoreError(f"tab '{grid.title}': {missing_tab(self.tab(tab_id))}")
            width = len(grid.header)
            values: list[list[Any]] = [list(grid.header)]
            for i, row in enumerate(grid.rows, start=2):
                out_row = []
                for j in range(width):
                    v = row[j] if j < len(row) else None
                    if isinstance(v, str) and len(v) > CELL_LIMIT:
                        raise StoreError(
                            f"{self.spec.name} workbook, tab '{grid.title}', row {i}: the text is "
                            f"longer than a Google Sheets cell can hold ({CELL_LIMIT} "
                            "characters); nothing was written."
                        )
                    out_row.append(to_json(v))
                values.append(out_row)
            last = len(values)
            data.append(
                {
                    "range": f"{quote(m.title)}!A1:{col_letters(max(width, 1) - 1)}{last}",
                    "values": values,
                }
            )
            wide = max(width, self._widths.get(tab_id, 0), 1)
            if old_rows > len(grid.rows):  # blank what is left of the old rows, same call
                first = len(grid.rows) + 2
                end = old_rows + 1
                data.append(
                    {
                        "range": f"{quote(m.title)}!A{first}:{col_letters(wide - 1)}{end}",
                        "values": [[""] * wide for _ in range(end - first + 1)],
                    }
                )
            need_rows = max(last, old_rows + 1)
            if need_rows > m.rows or wide > m.cols:
                rows_to = max(m.rows, need_rows + max(100, need_rows // 5))
                cols_to = max(m.cols, wide)
                grow.append(
                    {
                        "updateSheetProperties": {
                            "properties": {
                                "sheetId": m.sheet_id,
                                "gridProperties": {"rowCount": rows_to, "columnCount": cols_to},
                            },
                            "fields": "gridProperties.rowCount,gridProperties.columnCount",
                        }
                    }
                )
                m.rows, m.cols = rows_to, cols_to
        if grow:
            self.http.call(
                "POST",
                f"{SHEETS_API}/{self._id}:batchUpdate",
                what=f"making room in the {self.spec.name} workbook (spreadsheets.batchUpdate)",
                idempotent=not any("addSheet" in r for r in grow),  # a size twice is harmless
                json={"requests": grow},
            )
        self.http.call(
            "POST",
            f"{SHEETS_API}/{self._id}/values:batchUpdate",
            what=f"writing the {self.spec.name} workbook (values.batchUpdate)",
            json={"valueInputOption": "RAW", "data": data},
        )
        for tab_id, (grid, _) in grids.items():
            self._widths[tab_id] = max(len(grid.header), self._widths.get(tab_id, 0))

    # ------------------------------------------------------------------ init

    def _init(self, add_tabs: bool = True) -> InitReport:
        report = InitReport()
        if not self._lookup():
            self._create()
            report.created_workbook = True
        elif self.configured_id and self.ids:
            self.ids.remember(self.spec.name, self._id)
        try:
            meta = self._metadata(refresh=True)
        except GoogleRefused as exc:
            if exc.status != 404 or self.configured_id or report.created_workbook:
                raise
            # the remembered file was deleted: find another by name, or make a new one
            self._id = self._search()
            if not self._id:
                self._create()
                report.created_workbook = True
            elif self.ids:
                self.ids.remember(self.spec.name, self._id)
            meta = self._metadata(refresh=True)
        report.location = self.location
        headers: dict[str, list[str]] = {}
        present = [(s, self._find(s, meta)) for s in self.spec.tabs.values()]
        if not add_tabs and any(m for _, m in present):  # never read as an empty one
            report.tabs_missing = [s.id for s, m in present if m is None]
            present = [(s, m) for s, m in present if m is not None]
        existing = [(s, m) for s, m in present if m is not None]
        if existing:
            resp = self.http.call(
                "GET",
                f"{SHEETS_API}/{self._id}/values:batchGet",
                what=f"reading the {self.spec.name} workbook's header rows",
                params={
                    "ranges": [f"{quote(m.title)}!1:1" for _, m in existing],
                    "valueRenderOption": "FORMATTED_VALUE",
                },
            )
            for (s, _), vr in zip(existing, resp.json().get("valueRanges") or [], strict=True):
                row = (vr.get("values") or [[]])[0] if vr.get("values") else []
                h = [to_text(v) for v in row]
                while h and not h[-1].strip():
                    h.pop()
                headers[s.id] = h
        requests: list[dict[str, Any]] = []
        if report.created_workbook:
            requests.append(
                {
                    "updateSpreadsheetProperties": {
                        "properties": {"locale": self.locale, "timeZone": self.time_zone},
                        "fields": "locale,timeZone",
                    }
                }
            )
        used = {m.sheet_id for m in meta.values()}
        next_id = max(used | {0}) + 1
        added: list[str] = []
        needed = report.created_workbook  # nothing missing: no write call at all
        for spec, m in present:
            header = list(headers.get(spec.id, []))
            ids = self._map_header(spec, header)
            new_cols: list[str] = []
            new = report.created_workbook or m is None
            if withheld := self._withheld(spec, ids, new):
                report.columns_missing[spec.id] = withheld
            for c in self._to_add(spec, ids, new):
                if c.id not in ids:
                    header.append(c.label)
                    ids.append(c.id)
                    new_cols.append(c.id)
            if m is None:
                sheet_id = next_id
                next_id += 1
                requests.append(
                    {
                        "addSheet": {
                            "properties": {
                                "sheetId": sheet_id,
                                "title": spec.label[:100],
                                "gridProperties": {
                                    "rowCount": 1000,
                                    "columnCount": max(26, len(header)),
                                    "frozenRowCount": 1,
                                },
                            }
                        }
                    }
                )
                report.tabs_added.append(spec.id)
                added.append(spec.label[:100])
                protected: set[str] = set()
            else:
                sheet_id = m.sheet_id
                props: dict[str, Any] = {"frozenRowCount": 1}
                fields = ["gridProperties.frozenRowCount"]
                if len(header) > m.cols:
                    props["columnCount"] = len(header)
                    fields.append("gridProperties.columnCount")
                requests.append(
                    {
                        "updateSheetProperties": {
                            "properties": {"sheetId": sheet_id, "gridProperties": props},
                            "fields": ",".join(fields),
                        }
                    }
                )
                protected = m.protected
                if new_cols:
                    report.columns_added[spec.id] = new_cols
                needed = needed or bool(new_cols) or m.frozen != 1 or len(header) > m.cols
                needed = needed or any(
                    f"{PROTECT_PREFIX} {spec.id}.{c.id} is filled in by corecruit" not in protected
                    for c in spec.columns
                    if c.job_owned
                )
            requests.extend(self._format_requests(spec, sheet_id, header, ids, new_cols, protected))
        if report.created_workbook:
            for title, m in meta.items():
                if not any(self._find(s, {title: m}) for s in self.spec.tabs.values()):
                    requests.append({"deleteSheet": {"sheetId": m.sheet_id}})  # the blank Sheet1

        if not needed and not added:
            self._grids.clear()
            return report

        def settle() -> Any:
            now = self._metadata(refresh=True)
            return {} if all(t in now for t in added) and added else None

        result = self.http.call(
            "POST",
            f"{SHEETS_API}/{self._id}:batchUpdate",
            what=f"setting up the {self.spec.name} workbook's tabs (spreadsheets.batchUpdate)",
            idempotent=not added,
            settle=settle,
            json={
                "requests": requests,
                "includeSpreadsheetInResponse": True,  # the new tab list, without another get
                "responseIncludeGridData": False,
            },
        )
        updated = result.get("updatedSpreadsheet") if isinstance(result, dict) else None
        if updated is None and not isinstance(result, dict):
            updated = result.json().get("updatedSpreadsheet")
        if updated:
            self._take_meta(updated)
        elif not isinstance(result, dict):
            self._meta = None
        self._grids.clear()
        return report

    def _format_requests(
        self,
        spec: TabSpec,
        sheet_id: int,
        header: list[str],
        ids: list[str | None],
        new_cols: list[str],
        protected: set[str],
    ) -> list[dict[str, Any]]:
        """Header text for new columns, notes, bold/grey, drop-downs, warnings (idempotent)."""
        by_id = {c.id: c for c in spec.columns}
        out: list[dict[str, Any]] = []
        for j, cid in enumerate(ids):
            col = by_id.get(cid or "")
            if col is None:
                continue
            who = {
                "job": "Filled in by corecruit: please don't edit.",
                "form": "Filled in from the forms.",
                "staff": "Filled in by staff.",
            }[col.filled_by]
            cell: dict[str, Any] = {
                "note": f"{col.description}\n{who}".strip(),
                "userEnteredFormat": {
                    "textFormat": {"bold": True, "italic": col.job_owned},
                    "backgroundColorStyle": {
                        "rgbColor": GREY if col.job_owned else {"red": 1, "green": 1, "blue": 1}
                    },
                },
            }
            fields = "note,userEnteredFormat.textFormat,userEnteredFormat.backgroundColorStyle"
            if cid in new_cols:
                cell["userEnteredValue"] = {"stringValue": header[j]}
                fields = "userEnteredValue," + fields
            out.append(
                {
                    "updateCells": {
                        "rows": [{"values": [cell]}],
                        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": j},
                        "fields": fields,
                    }
                }
            )
            column = {
                "sheetId": sheet_id,
                "startRowIndex": 1,
                "startColumnIndex": j,
                "endColumnIndex": j + 1,
            }
            if col.allowed:
                out.append(
                    {
                        "setDataValidation": {
                            "range": column,
                            "rule": {
                                "condition": {
                                    "type": "ONE_OF_LIST",
                                    "values": [{"userEnteredValue": v} for v in col.allowed],
                                },
                                "inputMessage": "Please pick a value from the list.",
                                "strict": True,
                                "showCustomUi": True,
                            },
                        }
                    }
                )
            elif col.type == "boolean":
                out.append(
                    {
                        "setDataValidation": {
                            "range": column,
                            "rule": {
                                "condition": {
                                    "type": "ONE_OF_LIST",
                                    "values": [
                                        {"userEnteredValue": "TRUE"},
                                        {"userEnteredValue": "FALSE"},
                                    ],
                                },
                                "strict": False,
                                "showCustomUi": True,
                            },
                        }
                    }
                )
            desc = f"{PROTECT_PREFIX} {spec.id}.{col.id} is filled in by corecruit"
            if col.job_owned and desc not in protected:
                out.append(
                    {
                        "addProtectedRange": {
                            "protectedRange": {
                                "range": {
                                    "sheetId": sheet_id,
                                    "startColumnIndex": j,
                                    "endColumnIndex": j + 1,
                                },
                                "description": desc,
                                "warningOnly": True,
                            }
                        }
                    }
                )
        return out


# --------------------------------------------------------------------- opening


def workbook_title(campaign: CampaignConfig, workbook: str) -> str:
    """The file name in Drive: says which campaign and which workbook, never a person."""
    what = "staff (identified: staff only)" if workbook == "staff" else "panel (anonymised)"
    return f"corecruit {campaign.id} {what}"


def open_google_stores(
    settings: Settings,
    campaign: CampaignConfig,
    staff_spec: WorkbookSpec,
    panel_spec: WorkbookSpec,
    *,
    transport: Any = None,
    credentials: Any = None,
    retry: Any = None,
    http: Any = None,
) -> Stores:
    """The campaign's two Google workbooks, sharing one authorised client.

    ``transport`` is the ``requests.Session`` that carries the bytes (tests pass
    the emulator's); ``credentials`` default to the service account key in config;
    ``retry`` is a :class:`RetryPolicy` (tests give one that does not really sleep)
    and ``http`` an already made :class:`RetryingHTTPClient`.
    """
    from ..google.auth import STORE_SCOPES, credentials_for, require_scopes
    from ..google.http import authorized_session

    g = campaign.google
    if g.staff_spreadsheet_id and g.staff_spreadsheet_id == g.panel_spreadsheet_id:
        raise ConfigError(
            f"campaigns/{campaign.id}.toml",
            "google.panel_spreadsheet_id",
            "the staff and panel workbooks must be two different spreadsheets: the staff one "
            "holds names and contact details that the panel must never see",
        )
    if http is None:
        if credentials is None:
            credentials = credentials_for(settings, STORE_SCOPES)
        require_scopes(credentials, STORE_SCOPES)
        session = authorized_session(credentials, transport)
        http = RetryingHTTPClient(
            credentials, session=session, policy=retry or RetryPolicy.from_settings(settings)
        )
    ids = IdMemory(settings.workspace / campaign.id / "google_ids.json")
    common: dict[str, Any] = {
        "ids": ids,
        "folder_id": settings.org.google.drive_folder_id,
        "time_zone": settings.org.organisation.timezone,
    }
    return Stores(
        staff=GoogleStore(
            staff_spec,
            http,
            title=workbook_title(campaign, "staff"),
            spreadsheet_id=g.staff_spreadsheet_id,
            header_map=campaign.header_map,
            **common,
        ),
        panel=GoogleStore(
            panel_spec,
            http,
            title=workbook_title(campaign, "panel"),
            spreadsheet_id=g.panel_spreadsheet_id,
            **common,
        ),
    )
