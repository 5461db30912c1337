"""A run with nothing new reads no cell it does not need (issue 17, "a run costs what it
changes"), and an edit made after the last run is still seen.

* A skipped job is told unchanged from each tab's token (the CRC-32 and size of its part in
  the file's zip directory) and the tab's version in the ledger: no tab of it is read.
* The Status tab is left as it is (not read, not worked out) when nothing it is made from
  changed; only the Run log, which the run appends to, is read.
* A tab read again with the same token and ledger version is taken as it is: not keyed
  nor merged against the ledger.
* A person's edit saved after the last run (a cell typed, rows deleted from a tab corecruit
  fills in) changes the tokens: the jobs that read it run and see it, deleted rows come
  back, nothing is sent twice. A save that rewrites every part of the file (as a
  spreadsheet program's does) runs only the jobs whose tabs' cells changed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from automations import status as status_mod
from automations.config import Settings
from automations.context import Context, make_context
from automations.runner import Runner
from automations.store import record
from automations.store.local import LocalStore, _sheet_parts, _Snapshot
from automations.store.record import STAMP
from automations.store.shapes import Grid
from tests.review_support import mark_reviewed
from tests.test_ledger import delete_rows
from tests.test_skip_unchanged import ALL, CID, _ran, _settled

NOT_REMIND = [j for j in ALL if j != "remind"]


@pytest.fixture
def settled(ctx: Context, settings: Settings) -> Runner:
    """The example campaign, reviewed, with every job run until nothing is new."""
    runner = Runner(settings, clock=ctx.clock)
    runner.run_once(["redact"])
    mark_reviewed(ctx)
    _settled(runner)
    return runner


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The tabs read from the workbook files, the columns of each tab keyed for the record,
    and how many times the Status tab's rows were worked out."""
    seen: dict[str, Any] = {"read": [], "keyed": [], "status": 0}
    real_read, real_keyed, real_rows = (
        LocalStore._read_grids,
        record.keyed,
        status_mod.status_rows,
    )

    def read(self: LocalStore, tabs: Sequence[Any]) -> dict[str, Grid | None]:
        seen["read"] += [(self.spec.name, t.id) for t in tabs]
        return real_read(self, tabs)

    def keyed(cols: Sequence[record.Column], *a: Any) -> record.Keyed:
        seen["keyed"].append({c.id for c in cols})
        return real_keyed(cols, *a)

    def rows(*a: Any) -> Any:
        seen["status"] += 1
        return real_rows(*a)

    monkeypatch.setattr(LocalStore, "_read_grids", read)
    monkeypatch.setattr(record, "keyed", keyed)
    monkeypatch.setattr(status_mod, "status_rows", rows)
    yield seen


def staff_file(settings: Settings) -> Path:
    return settings.workspace / CID / "staff.xlsx"


def test_a_skipped_job_reads_no_tab_and_the_status_tab_is_left_as_it_is(
    settled: Runner, settings: Settings, spy: dict[str, Any]
) -> None:
    before = staff_file(settings).stat().st_mtime_ns
    recs = settled.run_once(NOT_REMIND)
    assert [r.job for r in recs if r.unchanged] == NOT_REMIND
    # only the Run log (the rows this run appends) and the workbook's stamp were read
    assert {t for _, t in spy["read"]} == {"run_log", STAMP}
    assert all("run_id" in ids for ids in spy["keyed"])  # only Run log rows keyed
    assert spy["status"] == 0  # the Status tab was not worked out
    assert staff_file(settings).stat().st_mtime_ns == before  # and nothing was saved


def test_a_tab_read_again_as_the_record_last_found_it_is_not_merged(
    settled: Runner, settings: Settings, spy: dict[str, Any]
) -> None:
    ctx = make_context(settings, CID, clock=settled.clock)
    staff = ctx.stores.staff
    people = staff.read_one("people")
    assert len(people) and spy["keyed"] == []  # the same token and version: taken as read
    assert staff.sync is not None and "people" in staff.sync.unparsed
    # a job writing the tab keys it then, and what it wrote is in the record
    people.loc[people.index[0], "introduction"] = "Call me Sam"
    staff.write({"people": people})
    assert any("person_id" in ids for ids in spy["keyed"])
    again = make_context(settings, CID, clock=settled.clock).stores.staff.read_one("people")
    assert again.loc[again.index[0], "introduction"] == "Call me Sam"


def test_an_edit_saved_after_the_last_run_is_seen(
    settled: Runner, settings: Settings, spy: dict[str, Any]
) -> None:
    path = staff_file(settings)
    wb = openpyxl.load_workbook(path)  # a person saves the whole workbook, one cell changed
    ws = wb["Campaign dates"]
    col = [c.value for c in ws[1]].index("Venue") + 1
    ws.cell(2, col).value = "Room 2, the Town Hall"
    wb.save(path)
    ran = _ran(settled)
    assert ran == {"forms_push", "rewards", "timetable", "coprod", "remind"}
    assert spy["status"] == 1  # an input of the Status tab changed: worked out again
    ctx = make_context(settings, CID, clock=settled.clock)
    assert "Room 2, the Town Hall" in set(ctx.stores.staff.read_one("dates")["venue"])
    # the record took it in: a fresh read takes the tab as it is, with the edit
    spy["keyed"].clear()
    fresh: Context = make_context(settings, CID, clock=settled.clock)
    assert "Room 2, the Town Hall" in set(fresh.stores.staff.read_one("dates")["venue"])
    assert spy["keyed"] == []


def test_rows_deleted_after_the_last_run_come_back_and_nothing_is_sent_again(
    settled: Runner, settings: Settings
) -> None:
    ctx = make_context(settings, CID, clock=settled.clock)
    sent = len(ctx.stores.staff.read_one("sent_messages"))
    assert sent > 0
    assert delete_rows(staff_file(settings), "Messages sent") == sent
    recs = settled.run_once()
    assert sum(r.messages_sent for r in recs) == 0
    notes = " ".join(n for r in recs for n in r.notes)
    assert f"put back {sent} row(s) deleted from 'Messages sent'" in notes
    again = make_context(settings, CID, clock=settled.clock)
    assert len(again.stores.staff.read_one("sent_messages")) == sent


def excel_like(data: bytes, words: dict[str, str]) -> bytes:
    """The workbook saved as Excel saves text: in one shared table, each cell its index.
    ``words`` renames strings in the table (the sheet's own part stays the same)."""
    inline = re.compile(rb't="inlineStr"><is><t>([^<]*)</t></is>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        table: list[bytes] = []

        def index(m: re.Match[bytes]) -> bytes:
            table.append(m.group(1))
            return b't="s"><v>%d</v>' % (len(table) - 1)

        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.startswith("xl/worksheets/"):
                body = inline.sub(index, body)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(
                    b"</Relationships>",
                    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml" Id="rId9" />'
                    b"</Relationships>",
                )
            elif info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" />'
                    b"</Types>",
                )
            zout.writestr(info, body)
        texts = [words.get(t.decode(), t.decode()).encode() for t in table]
        zout.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'count="%d" uniqueCount="%d">'
            % (len(texts), len(texts))
            + b"".join(b"<si><t>%s</t></si>" % t for t in texts)
            + b"</sst>",
        )
    return out.getvalue()


def test_a_tab_token_changes_with_the_shared_strings_even_when_its_part_does_not(
    tmp_path: Path,
) -> None:
    """Excel keeps text in one shared table: a cell's new words can leave the sheet's own
    part byte for byte the same (the same index into the table)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "People"
    ws.append(["Person ID", "Introduction"])
    ws.append(["p01", "Call me Sam"])
    path = tmp_path / "book.xlsx"
    wb.save(path)

    def snapshot(data: bytes) -> _Snapshot:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _Snapshot((0,), data, _sheet_parts(zf))

    sam = snapshot(excel_like(path.read_bytes(), {}))
    pat = snapshot(excel_like(path.read_bytes(), {"Call me Sam": "Call me Pat"}))
    part = sam.parts["People"]
    with zipfile.ZipFile(io.BytesIO(sam.data)) as a, zipfile.ZipFile(io.BytesIO(pat.data)) as b:
        assert a.read(part) == b.read(part)  # the sheet's own part: byte for byte the same
    assert sam.rows("People") == [["Person ID", "Introduction"], ["p01", "Call me Sam"]]
    assert pat.rows("People") == [["Person ID", "Introduction"], ["p01", "Call me Pat"]]
    assert sam.token("People") != pat.token("People")


def test_a_ledger_from_before_tab_versions_gets_each_tabs_last_change(tmp_path: Path) -> None:
    """A campaign's ledger made by the previous version: each tab's version is found once
    from its rows (its last change), so its tabs can be skipped from the first run on."""
    import sqlite3

    from automations.ledger import SqliteLedger, TabChange

    path = tmp_path / "ledger.sqlite3"
    led = SqliteLedger(path)
    cells = '{"a":1}'
    led.commit("staff", {"people": TabChange(upserts={'["p01"]': (0, cells)})}, sheet_stamp=0,
               kind="read", at="2027-01-25 09:00:00")  # fmt: skip
    led.commit("staff", {"dates": TabChange(upserts={'["d1"]': (0, cells)})}, sheet_stamp=0,
               kind="read", at="2027-01-25 09:01:00")  # fmt: skip
    led.commit("staff", {"people": TabChange(removes={'["p01"]'})}, sheet_stamp=0,
               kind="read", at="2027-01-25 09:02:00")  # fmt: skip
    led.commit("staff", {"empty": TabChange()}, sheet_stamp=0, kind="read",
               at="2027-01-25 09:03:00")  # fmt: skip
    assert led.tab_versions("staff") == {"people": 3, "dates": 2, "empty": 4}
    with sqlite3.connect(path) as c:  # as the previous version left it
        c.execute("DROP TABLE tab_versions")
    again = SqliteLedger(path)
    assert again.tab_versions("staff") == {"people": 3, "dates": 2, "empty": 4}
    # a commit that changes nothing in a tab leaves its version as it is
    again.commit("staff", {"dates": TabChange(upserts={'["d1"]': (0, cells)})}, sheet_stamp=0,
                 kind="read", at="2027-01-25 09:04:00")  # fmt: skip
    assert again.tab_versions("staff")["dates"] == 2
