"""A workbook open in LibreOffice or Excel is not written this tick (issue 17).

The office program's own lock file beside the workbook says it is open: the run keeps
the change in corecruit's record and says so (on the command line, in ``status`` and on
the Status tab); the next run after it is closed saves it, merged with what the person
saved meanwhile. Reading still works while it is open (the saved file is read).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_ledger import ATTENDANCE  # one attendance for the ledger stories

from automations.cli import main
from automations.context import Context, make_context
from automations.store import make_frame
from automations.store.local import office_lock

OPEN = (
    "The staff workbook was not saved this time: it is open in a spreadsheet program "
    "(LibreOffice) on finance-pc-7; corecruit will save its changes when it is closed."
)


def fresh(ctx: Context) -> Context:
    return make_context(ctx.settings, ctx.campaign.id, clock=ctx.clock)


def staff_path(ctx: Context) -> Path:
    return Path(ctx.stores.staff.location)


def rows_in_file(path: Path, title: str) -> int:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = wb[title].iter_rows(min_row=2, values_only=True)
        return sum(1 for r in rows if any(v for v in r))
    finally:
        wb.close()


def libreoffice_opens(path: Path) -> Path:
    lock = path.with_name(f".~lock.{path.name}#")
    lock.write_text(
        "Jane Example,jane,finance-pc-7,07.12.2026 10:15,file:///home/jane/.config/lo/4;",
        encoding="utf-8",
    )
    return lock


def test_the_lock_files_of_libreoffice_and_excel_are_read_and_old_ones_ignored(
    tmp_path: Path,
) -> None:
    book = tmp_path / "staff.xlsx"
    book.write_bytes(b"")
    assert office_lock(book) == (None, None)
    lock = libreoffice_opens(book)
    why, say = office_lock(book)
    assert why == (
        "it is open in a spreadsheet program (LibreOffice) on finance-pc-7; corecruit will "
        "save its changes when it is closed."
    )
    assert say is None and "Jane" not in why  # the host only, never the person's name
    lock.unlink()
    excel = tmp_path / "~$staff.xlsx"
    excel.write_bytes(b"\x04Jane" + b" " * 50)
    why, _ = office_lock(book)
    assert why is not None and "(Excel);" in why and "Jane" not in why
    old = time.time() - 13 * 3600  # left behind by a program that stopped
    os.utime(excel, (old, old))
    why, say = office_lock(book)
    assert why is None and say is not None
    assert "~$staff.xlsx, 13 hours old) was ignored" in say
    long = tmp_path / "recruitment.xlsx"  # Excel writes over the first two letters
    long.write_bytes(b"")
    (tmp_path / "~$cruitment.xlsx").write_bytes(b"")
    assert office_lock(long)[0] is not None


def test_a_workbook_open_in_libreoffice_is_saved_on_the_first_run_after_it_is_closed(
    ctx: Context,
) -> None:
    cfg = ["--config", str(ctx.settings.config_dir)]
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server"])
    assert r.exit_code == 0, r.output
    path = staff_path(ctx)
    lock = libreoffice_opens(path)
    seen = (path.stat().st_mtime_ns, path.stat().st_ino)

    staff = fresh(ctx).stores.staff
    staff.read(["attendance"])
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    assert OPEN in staff.notices
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "rewards"])
    assert r.exit_code == 0, r.output
    assert OPEN in r.output and "Jane" not in r.output
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == seen  # the file is untouched
    held = fresh(ctx).stores.staff  # the record holds the change meanwhile, read as it
    assert len(held.read_one("attendance")) == 2 and len(held.read_one("rewards_ledger")) == 2
    s = CliRunner().invoke(main, [*cfg, "status"])
    assert OPEN in s.output, s.output

    # the person types in their open copy and saves it (keeping corecruit's hidden tab)
    wb = openpyxl.load_workbook(path)
    ws = wb["People"]
    col = [c.value for c in ws[1]].index("Access requirements") + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "p02")
    ws.cell(row, col).value = "step-free access"
    wb.save(path)
    lock.unlink()  # and closes it

    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "rewards"])
    assert r.exit_code == 0, r.output
    assert OPEN not in r.output
    assert rows_in_file(path, "Attendance") == 2 and rows_in_file(path, "Rewards ledger") == 2
    people = fresh(ctx).stores.staff.read_one("people").set_index("person_id")
    assert people.loc["p02", "access_requirements"] == "step-free access"  # merged, kept
    assert fresh(ctx).stores.staff.notices == []  # the workbook is current again
    r = CliRunner().invoke(main, [*cfg, "run", "--once", "--no-forms-server", "rewards"])
    assert r.exit_code == 0, r.output  # a quiet run after: status no longer says it is open
    s = CliRunner().invoke(main, [*cfg, "status"])
    assert OPEN not in s.output, s.output


@pytest.mark.parametrize("left", ["LibreOffice", "Excel"])
def test_a_lock_file_left_behind_for_a_day_does_not_stop_saving(ctx: Context, left: str) -> None:
    path = staff_path(ctx)
    lock = libreoffice_opens(path) if left == "LibreOffice" else path.with_name(f"~${path.name}")
    lock.touch()
    old = time.time() - 24 * 3600
    os.utime(lock, (old, old))
    staff = fresh(ctx).stores.staff
    staff.read(["attendance"])
    before = path.stat().st_mtime_ns
    staff.write({"attendance": make_frame(staff.tab("attendance"), ATTENDANCE)})
    assert path.stat().st_mtime_ns != before and rows_in_file(path, "Attendance") == 2
    assert any(f"a lock file {left} left beside" in n for n in staff.notices)
